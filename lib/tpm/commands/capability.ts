/** TPM2_GetCapability (properties, handles), TPM2_GetRandom, TPM2_Clear. */
import type { NativeTpm } from '../../native/contract';
import { passwordAuth, runCommand, TPM_RH } from '../command';

export const TPM_CAP = { HANDLES: 1, TPM_PROPERTIES: 6 } as const;

export const TPM_PT = {
  FAMILY_INDICATOR: 0x100,
  LEVEL: 0x101,
  REVISION: 0x102,
  MANUFACTURER: 0x105,
  VENDOR_STRING_1: 0x106,
  VENDOR_STRING_2: 0x107,
  VENDOR_STRING_3: 0x108,
  VENDOR_STRING_4: 0x109,
  FIRMWARE_VERSION_1: 0x10b,
  FIRMWARE_VERSION_2: 0x10c,
  INPUT_BUFFER: 0x10d,
  NV_BUFFER_MAX: 0x12c,
  PERMANENT: 0x200,
  STARTUP_CLEAR: 0x201,
} as const;

/** TPMA_PERMANENT bits. */
export const TPMA_PERMANENT = {
  ownerAuthSet: 1 << 0,
  endorsementAuthSet: 1 << 1,
  lockoutAuthSet: 1 << 2,
  disableClear: 1 << 8,
  inLockout: 1 << 9,
} as const;

/** TPM_CAP_TPM_PROPERTIES from `first`, up to `count`: property → value. */
export async function getProperties(
  tpm: NativeTpm,
  first: number,
  count: number,
): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  let next = first;
  for (;;) {
    const { params } = await runCommand(tpm, 'GetCapability', {
      params: Buffer.concat([u32(TPM_CAP.TPM_PROPERTIES), u32(next), u32(count)]),
    });
    const more = params.u8('moreData');
    params.u32('capability');
    const items = params.list(
      'TPML_TAGGED_TPM_PROPERTY',
      (r) => [r.u32('property'), r.u32('value')] as const,
      8,
    );
    for (const [p, v] of items) out.set(p, v);
    const last = items[items.length - 1];
    if (!more || !last || last[0] >= first + count - 1) return out;
    next = last[0] + 1;
  }
}

/** One TPM property (undefined when the TPM does not report it). */
export async function getProperty(tpm: NativeTpm, property: number): Promise<number | undefined> {
  return (await getProperties(tpm, property, 1)).get(property);
}

/** Handles in a range: persistent (0x81000000), NV (0x01000000), transient (0x80000000). */
export async function getHandles(tpm: NativeTpm, first: number, max = 256): Promise<number[]> {
  const out: number[] = [];
  let next = first;
  const top = (first & 0xff000000) >>> 0;
  for (;;) {
    const { params } = await runCommand(tpm, 'GetCapability', {
      params: Buffer.concat([u32(TPM_CAP.HANDLES), u32(next), u32(max)]),
    });
    const more = params.u8('moreData');
    params.u32('capability');
    const handles = params.list('TPML_HANDLE', (r) => r.u32('handle'), 4);
    for (const h of handles) if ((h & 0xff000000) >>> 0 === top) out.push(h);
    const last = handles[handles.length - 1];
    if (!more || last === undefined || (last & 0xff000000) >>> 0 !== top) return out;
    next = last + 1;
  }
}

export async function getRandom(tpm: NativeTpm, bytes: number): Promise<Buffer> {
  const { params } = await runCommand(tpm, 'GetRandom', { params: u16(bytes) });
  return params.tpm2b('randomBytes');
}

/** TPM2_Clear with the lockout (default) or platform hierarchy and its password. */
export async function clear(
  tpm: NativeTpm,
  authHandle: number = TPM_RH.LOCKOUT,
  password?: Buffer,
): Promise<void> {
  await runCommand(tpm, 'Clear', { handles: [authHandle], auths: [passwordAuth(password)] });
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}

function u16(v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
}
