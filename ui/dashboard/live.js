/**
 * Live updates: one EventSource on /api/events (for one device or the whole list), dispatching
 * the server's `twin` and `device` events to the current view. Shows the stream's state in the
 * header; the browser reconnects by itself after an error.
 */
import { eventsUrl } from './api.js';

let source = null;

function setState(state) {
  const el = document.getElementById('live-state');
  if (!el) return;
  el.dataset.state = state;
  el.textContent = `live: ${state}`;
}

/**
 * Opens the stream (closing the previous one). `handlers.twin` / `handlers.device` get the
 * parsed event data.
 */
export function watch(deviceId, handlers) {
  stop();
  if (typeof EventSource === 'undefined') return;
  const es = new EventSource(eventsUrl(deviceId));
  source = es;
  setState('connecting');
  es.addEventListener('open', () => setState('on'));
  es.addEventListener('error', () => setState(es.readyState === 2 ? 'off' : 'reconnecting'));
  for (const type of ['twin', 'device']) {
    es.addEventListener(type, (ev) => {
      let data;
      try {
        data = JSON.parse(ev.data);
      } catch {
        return;
      }
      handlers[type]?.(data);
    });
  }
}

export function stop() {
  if (source) source.close();
  source = null;
  setState('off');
}
