/** OMA-DM status codes as Windows CSPs return them (Microsoft's "OMA DM protocol support" table). */
const OMA_STATUS_TEXT: Readonly<Record<number, string>> = {
  200: 'command completed successfully',
  202: 'accepted for processing',
  212: 'authentication accepted',
  214: 'operation cancelled',
  215: 'not executed (user cancelled)',
  216: 'rolled back (another command in the Atomic failed)',
  400: 'bad request (malformed syntax)',
  401: 'invalid credentials',
  403: 'forbidden',
  404: 'node not found',
  405: 'command not allowed on this node',
  406: 'optional feature not supported',
  415: 'unsupported type or format',
  418: 'node already exists',
  425: 'permission denied',
  500: 'command failed',
  507: 'Atomic failed (a command in it failed)',
  516: 'Atomic roll back failed',
};

/** A short English description of an OMA-DM status code. */
export function describeOmaStatus(status: number): string {
  return OMA_STATUS_TEXT[status] ?? (isOmaSuccess(status) ? 'success' : 'unknown status');
}

/** 2xx codes other than 216 (rolled back) mean the command took effect. */
export function isOmaSuccess(status: number): boolean {
  return status >= 200 && status < 300 && status !== 216 && status !== 215 && status !== 214;
}
