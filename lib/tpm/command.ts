/**
 * Running one TPM 2.0 command: header, handle area, authorization area (password or policy
 * sessions), parameters; the response checked (tag, size, rc → `TpmError` via rc.ts) and split
 * into response handles and parameters.
 */
import type { NativeTpm } from '../native/contract';
import { TpmError } from '../errors';
import { TPM_CC, type CommandName } from './cc';
import { MALFORMED, Reader, Writer } from './marshal';
import { tpmRcError } from './rc';

export const TPM_ST_NO_SESSIONS = 0x8001;
export const TPM_ST_SESSIONS = 0x8002;
/** The password authorization session handle. */
export const TPM_RS_PW = 0x40000009;

export const TPM_RH = {
  OWNER: 0x40000001,
  NULL: 0x40000007,
  LOCKOUT: 0x4000000a,
  ENDORSEMENT: 0x4000000b,
  PLATFORM: 0x4000000c,
} as const;

/** One authorization: a password (TPM_RS_PW) or a session handle with its HMAC/password. */
export interface Authorization {
  sessionHandle: number;
  nonceCaller?: Buffer;
  /** TPMA_SESSION; continueSession = 0x01. */
  attributes?: number;
  hmac?: Buffer;
}

/** A password authorization (empty password by default). */
export function passwordAuth(password: Buffer = Buffer.alloc(0)): Authorization {
  return { sessionHandle: TPM_RS_PW, hmac: password };
}

/** A policy session authorization (no HMAC: unbound, unsalted, no PolicyAuthValue). */
export function policyAuth(sessionHandle: number, continueSession = false): Authorization {
  return { sessionHandle, attributes: continueSession ? 1 : 0 };
}

export interface CommandSpec {
  handles?: number[];
  auths?: Authorization[];
  params?: Buffer;
  /** How many handles the response carries before its parameters. */
  responseHandles?: number;
  /** What is being done, for error messages (never secrets). */
  context?: string;
}

export interface CommandResult {
  handles: number[];
  /** The response parameters (without the parameterSize of session responses). */
  params: Reader;
}

export async function runCommand(
  tpm: NativeTpm,
  name: CommandName,
  spec: CommandSpec = {},
): Promise<CommandResult> {
  const cc = TPM_CC[name];
  const command = `TPM2_${name}`;
  const auths = spec.auths ?? [];
  const body = new Writer();
  for (const h of spec.handles ?? []) body.u32(h);
  if (auths.length > 0) {
    const area = new Writer();
    for (const a of auths) {
      area
        .u32(a.sessionHandle)
        .tpm2b(a.nonceCaller)
        .u8(a.attributes ?? 0)
        .tpm2b(a.hmac);
    }
    body.u32(area.size).bytes(area.toBuffer());
  }
  if (spec.params) body.bytes(spec.params);
  const full = new Writer()
    .u16(auths.length > 0 ? TPM_ST_SESSIONS : TPM_ST_NO_SESSIONS)
    .u32(10 + body.size)
    .u32(cc)
    .bytes(body.toBuffer())
    .toBuffer();
  const response = await tpm.submit(full);
  const r = new Reader(response, `${command} response`, command);
  const tag = r.u16('tag');
  const size = r.u32('responseSize');
  const rc = r.u32('responseCode');
  if (size !== response.length) {
    throw new TpmError(
      command,
      0,
      MALFORMED,
      `${command} response declares ${size} bytes but has ${response.length}`,
    );
  }
  if (rc !== 0) throw tpmRcError(command, rc, spec.context);
  if (tag !== TPM_ST_NO_SESSIONS && tag !== TPM_ST_SESSIONS) {
    throw new TpmError(command, 0, MALFORMED, `${command} response has tag 0x${tag.toString(16)}`);
  }
  const handles: number[] = [];
  for (let i = 0; i < (spec.responseHandles ?? 0); i += 1) handles.push(r.u32('handle'));
  if (tag === TPM_ST_SESSIONS) {
    const paramSize = r.u32('parameterSize');
    return {
      handles,
      params: new Reader(r.bytes(paramSize, 'parameters'), `${command} response`, command),
    };
  }
  return { handles, params: new Reader(r.rest(), `${command} response`, command) };
}
