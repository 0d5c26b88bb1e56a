/**
 * Start-up and routing: reads the session (hub host), then shows the view named by the URL hash:
 * `#/devices` (list), `#/device/<id>` (one device's panels), `#/jobs` (fleet jobs).
 */
import { getSession } from './api.js';
import { stop as stopLive } from './live.js';
import { initStatus, showError, clearError } from './status.js';
import { renderDevices } from './views/devices.js';
import { renderDevice } from './views/device.js';
import { renderJobs } from './views/jobs.js';

let cleanup = null;

async function route() {
  const main = document.getElementById('main');
  if (cleanup) cleanup();
  cleanup = null;
  stopLive();
  clearError();
  main.replaceChildren();
  const hash = location.hash || '#/devices';
  for (const a of document.querySelectorAll('nav a')) {
    const current = hash.startsWith(a.getAttribute('href'));
    if (current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  try {
    const m = /^#\/device\/(.+)$/.exec(hash);
    if (m) cleanup = await renderDevice(main, decodeURIComponent(m[1]));
    else if (hash.startsWith('#/jobs')) cleanup = await renderJobs(main);
    else cleanup = await renderDevices(main);
  } catch (e) {
    showError(e);
  }
}

async function start() {
  initStatus();
  window.addEventListener('hashchange', () => {
    route().then(() => document.getElementById('main').focus({ preventScroll: true }));
  });
  try {
    const s = await getSession();
    document.getElementById('hub-host').textContent = s.hub?.host ? `hub: ${s.hub.host}` : '';
  } catch (e) {
    showError(e, 'Session');
  }
  await route();
}

start();
