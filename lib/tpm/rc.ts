/**
 * TPM_RC decoding (TPM 2.0 Part 2 §6.6): format-zero (TPM 2.0 errors, warnings, vendor, TPM 1.2)
 * and format-one codes (with the parameter, handle or session they concern), TCG names, and the
 * one place a TPM response code becomes a `TpmError`.
 */
import { TpmError } from '../errors';

const FMT0: Record<number, [string, string]> = {
  0x100: ['TPM_RC_INITIALIZE', 'TPM not initialized by TPM2_Startup'],
  0x101: ['TPM_RC_FAILURE', 'the TPM is in failure mode'],
  0x103: ['TPM_RC_SEQUENCE', 'improper use of a sequence handle'],
  0x10b: ['TPM_RC_PRIVATE', 'private area error'],
  0x119: ['TPM_RC_HMAC', 'HMAC error'],
  0x120: ['TPM_RC_DISABLED', 'the command is disabled'],
  0x121: ['TPM_RC_EXCLUSIVE', 'the command failed because audit sequence required exclusivity'],
  0x124: ['TPM_RC_AUTH_TYPE', 'authorization handle is not correct for the command'],
  0x125: ['TPM_RC_AUTH_MISSING', 'the command requires an authorization session'],
  0x126: ['TPM_RC_POLICY', 'policy failure in math operation or an invalid authPolicy value'],
  0x127: ['TPM_RC_PCR', 'PCR check fail'],
  0x128: ['TPM_RC_PCR_CHANGED', 'PCR have changed since checked'],
  0x12d: ['TPM_RC_UPGRADE', 'the TPM is in field upgrade mode'],
  0x12e: ['TPM_RC_TOO_MANY_CONTEXTS', 'context ID counter is at maximum'],
  0x12f: ['TPM_RC_AUTH_UNAVAILABLE', 'authValue or authPolicy is not available for the entity'],
  0x130: ['TPM_RC_REBOOT', 'a _TPM_Init and Startup(CLEAR) is required'],
  0x131: ['TPM_RC_UNBALANCED', 'the protection algorithms (hash and symmetric) are not balanced'],
  0x142: ['TPM_RC_COMMAND_SIZE', 'command size is inconsistent with the data'],
  0x143: ['TPM_RC_COMMAND_CODE', 'command code not supported'],
  0x144: ['TPM_RC_AUTHSIZE', 'authorizationSize is wrong'],
  0x145: [
    'TPM_RC_AUTH_CONTEXT',
    'an entity that cannot have an authorization session was given one',
  ],
  0x146: ['TPM_RC_NV_RANGE', 'NV offset and size is out of range'],
  0x147: ['TPM_RC_NV_SIZE', 'requested allocation size is larger than allowed'],
  0x148: ['TPM_RC_NV_LOCKED', 'NV access locked'],
  0x149: ['TPM_RC_NV_AUTHORIZATION', 'NV access authorization fails'],
  0x14a: ['TPM_RC_NV_UNINITIALIZED', 'the NV index has not been written'],
  0x14b: ['TPM_RC_NV_SPACE', 'insufficient space for NV allocation'],
  0x14c: ['TPM_RC_NV_DEFINED', 'the NV index or persistent object is already defined'],
  0x150: ['TPM_RC_BAD_CONTEXT', 'context in TPM2_ContextLoad is not valid'],
  0x151: ['TPM_RC_CPHASH', 'cpHash value already set or not correct for use'],
  0x152: ['TPM_RC_PARENT', 'the handle is not a parent'],
  0x153: ['TPM_RC_NEEDS_TEST', 'some function needs testing'],
  0x154: ['TPM_RC_NO_RESULT', 'an internal function cannot process a request'],
  0x155: ['TPM_RC_SENSITIVE', 'the sensitive area did not unmarshal correctly after decryption'],
};

const WARN: Record<number, [string, string]> = {
  0x901: ['TPM_RC_CONTEXT_GAP', 'gap for context ID is too large'],
  0x902: ['TPM_RC_OBJECT_MEMORY', 'out of memory for object contexts'],
  0x903: ['TPM_RC_SESSION_MEMORY', 'out of memory for session contexts'],
  0x904: ['TPM_RC_MEMORY', 'out of shared object/session memory'],
  0x905: ['TPM_RC_SESSION_HANDLES', 'out of session handles'],
  0x906: ['TPM_RC_OBJECT_HANDLES', 'out of object handles'],
  0x907: ['TPM_RC_LOCALITY', 'bad locality'],
  0x908: ['TPM_RC_YIELDED', 'the TPM has suspended operation on the command'],
  0x909: ['TPM_RC_CANCELED', 'the command was canceled'],
  0x90a: ['TPM_RC_TESTING', 'the TPM is performing self-tests'],
  0x920: ['TPM_RC_NV_RATE', 'the TPM is rate-limiting accesses to prevent wearout of NV'],
  0x921: [
    'TPM_RC_LOCKOUT',
    'authorizations for objects subject to DA protection are not allowed (DA lockout)',
  ],
  0x922: ['TPM_RC_RETRY', 'the TPM was not able to start the command'],
  0x923: [
    'TPM_RC_NV_UNAVAILABLE',
    'the command may require writing of NV and NV is not accessible',
  ],
  0x97f: ['TPM_RC_NOT_USED', 'this value is reserved and shall not be returned by the TPM'],
};
for (let i = 0; i <= 6; i += 1) {
  WARN[0x910 + i] = [`TPM_RC_REFERENCE_H${i}`, `the handle ${i} is not loaded`];
  WARN[0x918 + i] = [`TPM_RC_REFERENCE_S${i}`, `the session ${i} is not loaded`];
}

const FMT1: Record<number, [string, string]> = {
  0x01: ['TPM_RC_ASYMMETRIC', 'asymmetric algorithm not supported or not correct'],
  0x02: ['TPM_RC_ATTRIBUTES', 'inconsistent attributes'],
  0x03: ['TPM_RC_HASH', 'hash algorithm not supported or not appropriate'],
  0x04: ['TPM_RC_VALUE', 'value is out of range or is not correct for the context'],
  0x05: ['TPM_RC_HIERARCHY', 'hierarchy is not enabled or is not correct for the use'],
  0x07: ['TPM_RC_KEY_SIZE', 'key size is not supported'],
  0x08: ['TPM_RC_MGF', 'mask generation function not supported'],
  0x09: ['TPM_RC_MODE', 'mode of operation not supported'],
  0x0a: ['TPM_RC_TYPE', 'the type of the value is not appropriate for the use'],
  0x0b: ['TPM_RC_HANDLE', 'the handle is not correct for the use'],
  0x0c: ['TPM_RC_KDF', 'unsupported key derivation function or function not appropriate for use'],
  0x0d: ['TPM_RC_RANGE', 'value was out of allowed range'],
  0x0e: ['TPM_RC_AUTH_FAIL', 'the authorization HMAC check failed and DA counter incremented'],
  0x0f: ['TPM_RC_NONCE', 'invalid nonce size or nonce value mismatch'],
  0x10: ['TPM_RC_PP', 'authorization requires assertion of PP'],
  0x12: ['TPM_RC_SCHEME', 'unsupported or incompatible scheme'],
  0x15: ['TPM_RC_SIZE', 'structure is the wrong size'],
  0x16: [
    'TPM_RC_SYMMETRIC',
    'unsupported symmetric algorithm or key size, or not appropriate for instance',
  ],
  0x17: ['TPM_RC_TAG', 'incorrect structure tag'],
  0x18: ['TPM_RC_SELECTOR', 'union selector is incorrect'],
  0x1a: [
    'TPM_RC_INSUFFICIENT',
    'the TPM was unable to unmarshal a value because there were not enough octets',
  ],
  0x1b: ['TPM_RC_SIGNATURE', 'the signature is not valid'],
  0x1c: ['TPM_RC_KEY', 'key fields are not compatible with the selected use'],
  0x1d: ['TPM_RC_POLICY_FAIL', 'a policy check failed'],
  0x1f: ['TPM_RC_INTEGRITY', 'integrity check failed'],
  0x20: ['TPM_RC_TICKET', 'invalid ticket'],
  0x21: ['TPM_RC_RESERVED_BITS', 'reserved bits not set to zero as required'],
  0x22: ['TPM_RC_BAD_AUTH', 'authorization failure without DA implications'],
  0x23: ['TPM_RC_EXPIRED', 'the policy has expired'],
  0x24: ['TPM_RC_POLICY_CC', 'the commandCode in the policy is not the commandCode of the command'],
  0x25: [
    'TPM_RC_BINDING',
    'public and sensitive portions of an object are not cryptographically bound',
  ],
  0x26: ['TPM_RC_CURVE', 'curve not supported'],
  0x27: ['TPM_RC_ECC_POINT', 'point is not on the required curve'],
};

export const TPM_RC_SUCCESS = 0;

export interface DecodedRc {
  rc: number;
  /** The TCG name without position (`TPM_RC_HANDLE`), or `TPM_RC_0x...` when unknown. */
  name: string;
  /** The base code the name stands for (`rc` with the position bits removed). */
  base: number;
  format: 'success' | 'format-zero' | 'format-one' | 'warning' | 'vendor' | 'tpm12' | 'layer';
  description: string;
  /** Format one: the 1-based parameter, handle or session the error is about. */
  parameter?: number;
  handle?: number;
  session?: number;
  /** Codes with a TSS/TBS layer in bits 16-23 (e.g. 0x8028xxxx from Windows TBS). */
  layer?: number;
}

function hex(rc: number): string {
  return `0x${(rc >>> 0).toString(16)}`;
}

export function decodeRc(code: number): DecodedRc {
  const rc = code >>> 0;
  if (rc === 0)
    return { rc, name: 'TPM_RC_SUCCESS', base: 0, format: 'success', description: 'success' };
  if (rc > 0xffff) {
    return {
      rc,
      name: `TPM_RC_${hex(rc)}`,
      base: rc,
      format: 'layer',
      layer: (rc >>> 16) & 0xff,
      description: `error ${hex(rc & 0xffff)} from software layer ${(rc >>> 16) & 0xff}`,
    };
  }
  if (rc & 0x80) {
    const number = rc & 0x3f;
    const [name, description] = FMT1[number] ?? [
      `TPM_RC_${hex(0x80 + number)}`,
      'unknown format-one error',
    ];
    const out: DecodedRc = { rc, name, base: 0x80 + number, format: 'format-one', description };
    const n = (rc >>> 8) & 0xf;
    if (rc & 0x40) out.parameter = n;
    else if (n & 0x8) out.session = n - 8;
    else if (n !== 0) out.handle = n;
    return out;
  }
  if (!(rc & 0x100)) {
    return {
      rc,
      name: `TPM_RC_${hex(rc)}`,
      base: rc,
      format: 'tpm12',
      description: 'TPM 1.2 error',
    };
  }
  if (rc & 0x400) {
    return {
      rc,
      name: `TPM_RC_${hex(rc)}`,
      base: rc,
      format: 'vendor',
      description: 'vendor-defined error',
    };
  }
  const table = rc & 0x800 ? WARN : FMT0;
  const [name, description] = table[rc] ?? [`TPM_RC_${hex(rc)}`, 'unknown response code'];
  return { rc, name, base: rc, format: rc & 0x800 ? 'warning' : 'format-zero', description };
}

/** `TPM_RC_HANDLE (0x18b, handle 1): the handle is not correct for the use`. */
export function describeRc(code: number): string {
  const d = decodeRc(code);
  const where =
    d.parameter !== undefined
      ? `, parameter ${d.parameter}`
      : d.handle !== undefined
        ? `, handle ${d.handle}`
        : d.session !== undefined
          ? `, session ${d.session}`
          : '';
  return `${d.name} (${hex(d.rc)}${where}): ${d.description}`;
}

/** The TpmError for a failed command; `context` says what was being done (no secrets). */
export function tpmRcError(command: string, rc: number, context?: string): TpmError {
  const d = decodeRc(rc);
  const prefix = context ? `${command} (${context})` : command;
  return new TpmError(command, d.rc, d.name, `${prefix} failed: ${describeRc(rc)}`);
}

/** True when `rc` (with any position bits) is the named code. */
export function rcIs(rc: number, name: string): boolean {
  return decodeRc(rc).name === name;
}
