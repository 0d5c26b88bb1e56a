/**
 * The demo's console status: one line per device each time what it reports changes (connection,
 * its model and name from `deviceInfo`, how many `windows` sections it reports and how many of
 * them were applied / failed / pending), read from the hub's own twin and connection events (no
 * polling). A device "reports" once it connected in this run and its `deviceInfo` section was
 * `completed` since the demo started; when all do, one line says how long that took.
 */
import type { LocalHub } from '../hub/hub';

interface Section {
  lastChange?: { state?: string; time?: string };
  [key: string]: unknown;
}

const DEBOUNCE_MS = 400;

export interface StatusWatch {
  /** Device ids that report (see above). */
  reporting(): string[];
  close(): void;
}

function summary(
  hub: LocalHub,
  deviceId: string,
  since: number,
): { line: string; connected: boolean; reporting: boolean } {
  const connected = hub.core.registry.find(deviceId)?.connectionState === 'Connected';
  const reported = (hub.core.getDeviceTwin(deviceId).reported ?? {}) as {
    windows?: Record<string, Section>;
  };
  const windows = reported.windows ?? {};
  const counts = { completed: 0, failed: 0, pending: 0 };
  for (const s of Object.values(windows)) {
    const state = s?.lastChange?.state;
    if (state === 'completed' || state === 'failed' || state === 'pending') counts[state] += 1;
  }
  const info = windows.deviceInfo;
  const what = info ? [info.manufacturer, info.model, info.name].filter(Boolean).join(' ') : '';
  const infoTime = Date.parse(info?.lastChange?.time ?? '');
  // lastChange times have whole seconds.
  const fresh = info?.lastChange?.state === 'completed' && infoTime >= since - 1000;
  const line =
    `${deviceId}: ${connected ? 'connected' : 'disconnected'}` +
    (what ? ` · ${what}` : '') +
    ` · ${Object.keys(windows).length} sections reported, ${counts.completed} applied` +
    (counts.failed ? `, ${counts.failed} failed` : '') +
    (counts.pending ? `, ${counts.pending} pending` : '');
  return { line, connected, reporting: connected && fresh };
}

export function watchStatus(
  hub: LocalHub,
  deviceIds: string[],
  print: (line: string) => void,
  since = Date.now(),
): StatusWatch {
  const ids = new Set(deviceIds);
  const last = new Map<string, string>();
  const seen = new Set<string>();
  const reporting = new Set<string>();
  const timers = new Map<string, NodeJS.Timeout>();
  let allTold = false;
  const show = (deviceId: string): void => {
    timers.delete(deviceId);
    if (!hub.started) return;
    const s = summary(hub, deviceId, since);
    if (s.connected) seen.add(deviceId);
    // Before its first connection, the twin holds what the last run reported.
    if (!seen.has(deviceId)) return;
    if (s.reporting) reporting.add(deviceId);
    if (last.get(deviceId) !== s.line) {
      last.set(deviceId, s.line);
      print(s.line);
    }
    if (!allTold && reporting.size === ids.size) {
      allTold = true;
      print(
        `All ${ids.size} device${ids.size === 1 ? '' : 's'} report (${((Date.now() - since) / 1000).toFixed(1)} s).`,
      );
    }
  };
  const onEvent = (e: { deviceId: string }): void => {
    if (!ids.has(e.deviceId) || timers.has(e.deviceId)) return;
    timers.set(
      e.deviceId,
      setTimeout(() => show(e.deviceId), DEBOUNCE_MS),
    );
  };
  hub.core.on('twin', onEvent);
  hub.core.on('connection', onEvent);
  return {
    reporting: () => [...reporting],
    close: () => {
      hub.core.off('twin', onEvent);
      hub.core.off('connection', onEvent);
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
    },
  };
}
