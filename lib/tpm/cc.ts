/** TPM 2.0 command codes (TPM_CC) this package sends, and their TCG names for errors. */

export const TPM_CC = {
  NV_UndefineSpace: 0x122,
  EvictControl: 0x120,
  Clear: 0x126,
  NV_DefineSpace: 0x12a,
  CreatePrimary: 0x131,
  NV_Write: 0x137,
  Create: 0x153,
  Load: 0x157,
  Import: 0x156,
  HMAC: 0x155,
  HMAC_Start: 0x15b,
  SequenceUpdate: 0x15c,
  SequenceComplete: 0x13e,
  NV_Read: 0x14e,
  PolicySecret: 0x151,
  ActivateCredential: 0x147,
  ContextSave: 0x162,
  FlushContext: 0x165,
  NV_ReadPublic: 0x169,
  ReadPublic: 0x173,
  StartAuthSession: 0x176,
  GetCapability: 0x17a,
  GetRandom: 0x17b,
  PolicyGetDigest: 0x189,
  Startup: 0x144,
} as const;

export type CommandName = keyof typeof TPM_CC;

const NAMES = new Map<number, string>(
  Object.entries(TPM_CC).map(([name, code]) => [code, `TPM2_${name}`]),
);

/** `TPM2_<Name>` for a command code, or `TPM_CC 0x...` when not one of ours. */
export function commandName(code: number): string {
  return NAMES.get(code) ?? `TPM_CC 0x${code.toString(16).padStart(8, '0')}`;
}

/** The command name of a marshaled command (its header's commandCode). */
export function commandNameOf(command: Uint8Array): string {
  if (command.length < 10) return 'TPM2_(malformed command)';
  const view = new DataView(command.buffer, command.byteOffset, command.byteLength);
  return commandName(view.getUint32(6));
}
