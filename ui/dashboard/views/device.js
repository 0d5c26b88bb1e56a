/**
 * The device page: a header (connection, last activity, reload, profile load/save), one panel
 * per feature (panels/), and the raw twin view (desired `windows` editable as JSON, validated,
 * sent as a patch of the sections that changed). Saves carry If-Match; a 412 reloads the twin
 * and says it changed meanwhile. Reported values update live from the event stream.
 */
import { ApiError, getDevice, getProfile, patchDesired, putProfile } from '../api.js';
import { h, replace, uid, whileBusy } from '../dom.js';
import { watch } from '../live.js';
import { renderPanel } from '../panels/panel.js';
import { PANELS } from '../panels/index.js';
import { showError, showStatus, clearError } from '../status.js';
import {
  buildPatch,
  formatAge,
  isPlainObject,
  jsonEqual,
  parseProfile,
  validateDesiredWindows,
} from '../lib/twin.js';

export async function renderDevice(main, deviceId) {
  let device = null;
  const conn = h('span', { class: 'conn', testid: 'device-connection' });
  const activity = h('span', { testid: 'device-activity' });
  const etagEl = h('code', { testid: 'device-etag' });
  const reloadBtn = h('button', { type: 'button', testid: 'device-reload' }, 'Reload');
  const saveProfileBtn = h('button', { type: 'button', testid: 'profile-save' }, 'Save profile…');
  const fileId = uid('profile-file');
  const fileInput = h('input', {
    id: fileId,
    type: 'file',
    accept: 'application/json,.json',
    testid: 'profile-load-input',
    class: 'file',
  });
  const loadLabel = h(
    'label',
    { for: fileId, class: 'button', testid: 'profile-load' },
    'Load profile…',
  );

  main.append(
    h(
      'div',
      { class: 'device-head' },
      h('p', {}, h('a', { href: '#/devices' }, '← Devices')),
      h('h2', { testid: 'device-id' }, deviceId),
      h(
        'p',
        { class: 'meta' },
        'Connection: ',
        conn,
        ' · Last activity: ',
        activity,
        ' · etag ',
        etagEl,
      ),
      h('div', { class: 'row' }, reloadBtn, saveProfileBtn, fileInput, loadLabel),
    ),
  );

  const ctx = { deviceId, save: saveSection, device: () => device };
  const panels = PANELS.map((spec) => renderPanel(spec, ctx));
  const nav = h(
    'nav',
    { class: 'panel-nav', 'aria-label': 'Panels' },
    h(
      'ul',
      {},
      PANELS.map((p) =>
        h('li', {}, h('a', { href: `#panel-${p.id}`, dataset: { panel: p.id } }, p.title)),
      ),
      h('li', {}, h('a', { href: '#panel-raw', dataset: { panel: 'raw' } }, 'Raw twin')),
    ),
  );
  // In-page links must not change the route: focus the panel instead.
  nav.addEventListener('click', (e) => {
    const a = e.target instanceof Element ? e.target.closest('a[data-panel]') : null;
    if (!a) return;
    e.preventDefault();
    const target = main.querySelector(`[data-testid="panel-${a.dataset.panel}"]`);
    if (target) {
      target.setAttribute('tabindex', '-1');
      target.scrollIntoView({ block: 'start' });
      target.focus({ preventScroll: true });
    }
  });
  const raw = rawTwinView();
  main.append(
    nav,
    h(
      'div',
      { class: 'panels' },
      panels.map((p) => p.root),
      raw.root,
    ),
  );

  function paintHead() {
    conn.textContent = device.connectionState ?? 'unknown';
    conn.dataset.state = device.connectionState ?? '';
    activity.textContent = formatAge(device.lastActivityTime);
    activity.title = device.lastActivityTime ?? '';
    etagEl.textContent = device.etag ?? '';
  }

  /** Loads the twin; `initial` repaints every desired form. */
  async function load(initial) {
    const previous = device;
    device = await getDevice(deviceId);
    const changedDesired = new Set();
    const before = previous?.desired ?? {};
    const after = device.desired ?? {};
    for (const k of new Set([...Object.keys(before), ...Object.keys(after)]))
      if (!jsonEqual(before[k], after[k])) changedDesired.add(k);
    paintHead();
    for (const p of panels) p.update(device, { initial, desired: changedDesired });
    raw.update(device, initial || changedDesired.size > 0);
  }

  async function reload(initial = false) {
    try {
      await load(initial);
      return true;
    } catch (e) {
      showError(e, 'Loading the twin');
      return false;
    }
  }

  /** Sends `{ windows: patch }` with If-Match; true when the hub took it. */
  async function sendPatch(windows, what) {
    clearError();
    showStatus(`Saving ${what}…`);
    try {
      const res = await patchDesired(deviceId, device.etag, windows);
      if (res && typeof res === 'object' && res.etag) {
        device = res;
        const changed = new Set(Object.keys(windows));
        paintHead();
        for (const p of panels) p.update(device, { desired: changed });
        raw.update(device, true);
      } else await load(false);
      showStatus(`Saved ${what}; waiting for the device to report`);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) {
        showError(
          'The twin changed meanwhile; it was reloaded. Check the values and save again.',
          what,
        );
        await reload(true);
      } else showError(e, `Saving ${what}`);
      showStatus('');
      return false;
    }
  }

  function saveSection(section, value) {
    return sendPatch({ [section]: value }, section);
  }

  reloadBtn.addEventListener('click', async () => {
    if (await reload(true)) showStatus('Twin reloaded');
  });

  saveProfileBtn.addEventListener('click', async () => {
    try {
      const profile = await getProfile(deviceId);
      const blob = new Blob([JSON.stringify(profile, null, 2)], { type: 'application/json' });
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `${deviceId}-profile.json`, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      showStatus(`Profile of ${deviceId} saved as ${deviceId}-profile.json`);
    } catch (e) {
      showError(e, 'Saving the profile');
    }
  });

  fileInput.addEventListener('change', async () => {
    const file = fileInput.files?.[0];
    fileInput.value = '';
    if (!file) return;
    if (file.size > 1024 * 1024)
      return showError(`${file.name} is over 1 MiB`, 'Loading the profile');
    const parsed = parseProfile(await file.text());
    if (parsed.errors) return showError(parsed.errors.join('; '), `Profile ${file.name}`);
    clearError();
    showStatus(`Applying profile ${file.name}…`);
    try {
      device = await putProfile(deviceId, device.etag, parsed.windows);
      if (!device || !device.etag) await load(true);
      else {
        paintHead();
        const all = new Set([...Object.keys(parsed.windows)]);
        for (const p of panels) p.update(device, { desired: all, initial: true });
        raw.update(device, true);
      }
      showStatus(`Profile ${file.name} applied`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 412) {
        showError(
          'The twin changed meanwhile; it was reloaded. Load the profile again.',
          'Profile',
        );
        await reload(true);
      } else showError(e, `Profile ${file.name}`);
    }
  });

  /** The raw twin: reported (read-only) and desired windows (editable JSON). */
  function rawTwinView() {
    const id = uid('raw');
    const editor = h('textarea', {
      id,
      rows: 16,
      class: 'json',
      spellcheck: 'false',
      testid: 'raw-desired',
    });
    const reported = h('pre', { class: 'json', testid: 'raw-reported', tabindex: '0' });
    const problems = h('p', {
      class: 'problems',
      role: 'alert',
      testid: 'raw-problems',
      hidden: true,
    });
    const apply = h('button', { type: 'submit', testid: 'raw-apply' }, 'Apply desired');
    const revert = h(
      'button',
      { type: 'button', class: 'secondary', testid: 'raw-revert' },
      'Revert',
    );
    let dirty = false;
    editor.addEventListener('input', () => (dirty = true));
    const form = h(
      'form',
      { novalidate: true },
      h('label', { for: id }, 'Desired properties.desired.windows (JSON)'),
      editor,
      problems,
      h('div', { class: 'row' }, apply, revert),
    );
    const root = h(
      'section',
      { class: 'panel wide', testid: 'panel-raw', 'aria-labelledby': `${id}-h` },
      h('h3', { id: `${id}-h` }, 'Raw twin'),
      h(
        'div',
        { class: 'cols' },
        h('div', { class: 'col' }, form),
        h('div', { class: 'col' }, h('h4', {}, 'Reported properties.reported.windows'), reported),
      ),
    );
    const fill = () => {
      editor.value = JSON.stringify(device.desired ?? {}, null, 2);
      dirty = false;
    };
    revert.addEventListener('click', fill);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      let next;
      try {
        next = JSON.parse(editor.value);
      } catch (err) {
        problems.hidden = false;
        problems.textContent = `Not valid JSON: ${err instanceof Error ? err.message : err}`;
        return;
      }
      const errs =
        isPlainObject(next) && Object.keys(next).length === 0 ? [] : validateDesiredWindows(next);
      if (errs.length) {
        problems.hidden = false;
        problems.textContent = errs.join('; ');
        return;
      }
      problems.hidden = true;
      const patch = buildPatch(device.desired ?? {}, next);
      if (!patch) return showStatus('Nothing changed in the desired properties');
      await whileBusy(apply, async () => {
        if (await sendPatch(patch.windows, Object.keys(patch.windows).join(', '))) fill();
      });
    });
    return {
      root,
      update(dev, desiredChanged) {
        replace(reported, JSON.stringify(dev.reported ?? {}, null, 2));
        if (desiredChanged && !dirty) fill();
      },
    };
  }

  const ok = await reload(true);
  if (!ok) return undefined;
  showStatus(`Device ${deviceId} loaded`);

  watch(deviceId, {
    device: (d) => {
      if (d.deviceId !== deviceId || !device) return;
      device = {
        ...device,
        connectionState: d.connectionState,
        lastActivityTime: d.lastActivityTime,
      };
      paintHead();
    },
    twin: (t) => {
      if (t.deviceId !== deviceId || !device) return;
      // Reported values come with the event; desired and the etag are read again so a save
      // after a device report does not conflict and a desired change elsewhere is seen.
      device = { ...device, reported: t.reported };
      for (const p of panels) p.update(device, {});
      raw.update(device, false);
      reload(false);
    },
  });
  const ticker = setInterval(() => device && paintHead(), 10000);
  return () => clearInterval(ticker);
}
