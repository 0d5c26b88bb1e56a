/**
 * Who is calling: the peer of a service connection. On Linux and macOS the kernel says (the
 * addon's `getPeerCredentials(fd)`: SO_PEERCRED + SO_PEERGROUPS, getpeereid); names come from
 * /etc/passwd and /etc/group. On Windows the named pipe's client is not identified yet (see
 * docs/service.md): the caller is recorded as unknown and only the "*" policy applies.
 */
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { loadAddon } from '../native/load';

export interface Caller {
  uid: number;
  gid: number;
  pid: number;
  /** User name (undefined when not in /etc/passwd). */
  user?: string;
  /** Primary and supplementary group ids. */
  gids: number[];
  groupNames: string[];
  /** How it was learned: `kernel` (peer credentials) or `unknown`. */
  source: 'kernel' | 'unknown';
}

interface PeerCredentialsBinding {
  getPeerCredentials?: (fd: number) => { uid: number; gid: number; pid: number; groups?: number[] };
}

function readTable(file: string): string[][] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

/** Name of a uid (/etc/passwd). */
export function userName(uid: number): string | undefined {
  return readTable('/etc/passwd').find((f) => Number(f[2]) === uid)?.[0];
}

/** Id of a group name (/etc/group). */
export function groupId(name: string): number | undefined {
  const row = readTable('/etc/group').find((f) => f[0] === name);
  return row ? Number(row[2]) : undefined;
}

/** Group names for ids; supplementary groups from /etc/group when the kernel did not say. */
function groupsOf(
  user: string | undefined,
  gid: number,
  gids?: number[],
): { ids: number[]; names: string[] } {
  const table = readTable('/etc/group');
  const ids = new Set<number>([gid, ...(gids ?? [])]);
  if (gids === undefined && user !== undefined) {
    for (const row of table) {
      if ((row[3] ?? '').split(',').includes(user)) ids.add(Number(row[2]));
    }
  }
  const names = [...ids]
    .map((id) => table.find((r) => Number(r[2]) === id)?.[0])
    .filter((n): n is string => n !== undefined);
  return { ids: [...ids], names };
}

/** The caller at the other end of `socket` (a Unix domain socket connection). */
export function peerOf(socket: Socket, addonPath?: string): Caller {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (process.platform === 'win32' || typeof fd !== 'number' || fd < 0) {
    return { uid: -1, gid: -1, pid: 0, gids: [], groupNames: [], source: 'unknown' };
  }
  const binding = loadAddon(addonPath) as unknown as PeerCredentialsBinding;
  if (typeof binding.getPeerCredentials !== 'function') {
    throw new Error(
      'the loaded addon has no getPeerCredentials; rebuild it with "npm run build:native"',
    );
  }
  const cred = binding.getPeerCredentials(fd);
  const user = userName(cred.uid);
  const groups = groupsOf(user, cred.gid, cred.groups);
  return {
    uid: cred.uid,
    gid: cred.gid,
    pid: cred.pid,
    ...(user !== undefined ? { user } : {}),
    gids: groups.ids,
    groupNames: groups.names,
    source: 'kernel',
  };
}

/** Name of a group id (/etc/group). */
export function groupName(gid: number): string | undefined {
  return readTable('/etc/group').find((f) => Number(f[2]) === gid)?.[0];
}
