/* global document, fetch */
/**
 * The toaster page: polls /api/state twice a second and shows the toaster, the reboot prompt and
 * the DM state; the buttons post to the API with the CSRF token. No inline script (CSP).
 */
const $ = (id) => document.querySelector(`[data-testid="${id}"]`);
let csrf = '';
/** The person picked a telemetry level that is not saved yet: polling leaves it alone. */
let selectTouched = false;

/** Bread colour by darkness (1 light ... 10 dark). */
function breadColour(darkness, toasting, lastToast) {
  if (!toasting && !lastToast) return '#f3dca0';
  const t = (darkness - 1) / 9;
  const mix = (a, b) => Math.round(a + (b - a) * t);
  return `rgb(${mix(230, 90)}, ${mix(190, 50)}, ${mix(120, 20)})`;
}

function showError(message) {
  const el = $('error');
  el.textContent = message;
  el.hidden = !message;
}

async function post(path, body) {
  try {
    const res = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Csrf-Token': csrf },
      body: JSON.stringify(body),
    });
    const data = await res.json();
    if (!res.ok) {
      showError(data.error ?? `the app answered ${res.status}`);
      return;
    }
    showError('');
    render(data);
  } catch (err) {
    showError(`cannot reach the toaster app: ${err.message}`);
  }
}

function cell(text, state) {
  const td = document.createElement('td');
  td.textContent = text ?? '';
  if (state) td.dataset.state = state;
  return td;
}

function render(s) {
  $('device-id').textContent = s.deviceId;
  const conn = $('connection');
  conn.textContent = s.connected ? 'connected' : 'disconnected';
  conn.dataset.state = conn.textContent;

  const t = s.toaster;
  const stateEl = $('toast-state');
  stateEl.textContent = t.toasting
    ? `toasting (darkness ${t.darkness}) until ${new Date(t.doneAt).toLocaleTimeString()}`
    : t.lastToast
      ? `idle (last toast ${t.lastToast.how})`
      : 'idle';
  stateEl.dataset.toasting = String(t.toasting);
  $('toast-start').disabled = t.toasting;
  $('toast-stop').disabled = !t.toasting;
  $('lamp').classList.toggle('on', t.toasting);
  for (const id of ['bread-1', 'bread-2']) {
    $(id).classList.toggle('down', t.toasting);
    $(id).setAttribute('fill', breadColour(t.darkness, t.toasting, t.lastToast));
  }
  const darkness = $('darkness');
  if (document.activeElement !== darkness) darkness.value = String(t.darkness);
  darkness.disabled = t.toasting;

  $('reboot-prompt').hidden = s.prompt?.state !== 'asking';
  $('reboot-waiting').hidden = s.prompt?.state !== 'denied';
  const sent = $('reboot-sent');
  sent.hidden = !s.rebootSent;
  sent.textContent = s.rebootSent
    ? `Reboot sent to the device at ${s.rebootSent.time} (${s.rebootSent.reason}).`
    : '';

  const r = s.reported ?? {};
  const cmd = r.rebootCmd ?? {};
  $('dm-rebootCmd').textContent = cmd.response
    ? `${cmd.response}${cmd.willRetry ? ' (will retry)' : ''}, ${cmd.lastChange?.state ?? ''}`
    : '—';
  $('dm-rebootCmd').dataset.response = cmd.response ?? '';
  $('dm-lastRebootCmdStatus').textContent = r.rebootInfo?.lastRebootCmdStatus ?? '—';
  $('dm-lastBootTime').textContent = r.rebootInfo?.lastBootTime ?? '—';
  $('dm-telemetry-level').textContent = r.windowsTelemetry?.level ?? '—';
  const select = $('telemetry-level');
  const level = r.windowsTelemetry?.level;
  if (!selectTouched && [...select.options].some((o) => o.value === level)) select.value = level;

  const rows = [];
  for (const name of Object.keys(r).sort()) {
    if (typeof r[name] !== 'object' || r[name] === null) continue;
    const lc = r[name].lastChange ?? { state: 'reported', time: '' };
    const tr = document.createElement('tr');
    tr.dataset.section = name;
    const err = lc.state === 'failed' ? `${lc.errSubSystem} ${lc.errCode}: ${lc.errContext}` : '';
    tr.append(cell(name), cell(lc.state, lc.state), cell(lc.time), cell(err));
    rows.push(tr);
  }
  $('sections').replaceChildren(...rows);
}

async function poll() {
  try {
    const res = await fetch('/api/state', { cache: 'no-store' });
    const data = await res.json();
    csrf = data.csrf;
    render(data);
    if ($('error').textContent.startsWith('cannot reach')) showError('');
  } catch (err) {
    showError(`cannot reach the toaster app: ${err.message}`);
  } finally {
    setTimeout(poll, 500);
  }
}

$('toast-start').addEventListener('click', () => post('/api/toast', { action: 'start' }));
$('toast-stop').addEventListener('click', () => post('/api/toast', { action: 'stop' }));
$('reboot-allow').addEventListener('click', () => post('/api/reboot', { answer: 'allow' }));
$('reboot-deny').addEventListener('click', () => post('/api/reboot', { answer: 'deny' }));
$('report-all').addEventListener('click', () => post('/api/report-all', {}));
$('darkness-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const raw = $('darkness').value.trim();
  post('/api/darkness', { level: raw === '' ? null : Number(raw) });
});
$('telemetry-level').addEventListener('change', () => {
  selectTouched = true;
});
$('telemetry-form').addEventListener('submit', (e) => {
  e.preventDefault();
  selectTouched = false;
  post('/api/telemetry', { level: $('telemetry-level').value });
});
poll();
