/** HRESULTs the local MDM API is known to return, with what they mean for an operator. */
const HRESULT_TEXT: Readonly<Record<number, string>> = {
  0x80070005: 'access denied: the MDM API needs an elevated (administrator or SYSTEM) process',
  0x80070057: 'invalid argument',
  0x80070490: 'the device is not registered with local MDM management',
  0x8007139f: 'invalid state: embedded mode is not enabled on this Windows edition',
  0x800705b4: 'the MDM API timed out',
  0x80010106: 'the MDM API must be called from a multithreaded (MTA) thread',
  0x80040154: 'the MDM API requires a 64-bit process',
  0x8000ffff: 'catastrophic failure inside the MDM stack',
  // CSP emulator conventions (native/emulator/emulator_abi.h); the emulator's stderr says more.
  0x8007064a: 'the CSP emulator does not start: its device profile or state location is unusable',
  0x8007001d: 'the CSP emulator could not save its state file; the change was rolled back',
  0x8007001e: 'the CSP emulator could not read its state file',
  0x80070021: 'the CSP emulator could not lock its state file',
  // Service control (native/system/service.h).
  0x80070422: 'the service is disabled and cannot be started',
  0x80070424: 'the service does not exist (or may not be controlled)',
  0x8007041d: 'the service did not respond to the start or stop request in time',
};

/** Formats an HRESULT as 0x%08X. */
export function formatHresult(hresult: number): string {
  return '0x' + (hresult >>> 0).toString(16).toUpperCase().padStart(8, '0');
}

export function describeHresult(hresult: number): string {
  return HRESULT_TEXT[hresult >>> 0] ?? 'unknown HRESULT';
}
