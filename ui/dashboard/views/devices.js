/**
 * The devices view: filters (search, section + state, connection) that the server turns into an
 * IoT Hub query (shown), and a table of devices with connection state, last activity and each
 * section's DM status. Rows update live from the event stream; "Load more" follows the
 * continuation token.
 */
import { listDevices } from '../api.js';
import { h, badge, replace, uid } from '../dom.js';
import { watch } from '../live.js';
import { showError, showStatus } from '../status.js';
import { SECTIONS, STATES, formatAge, sectionStates } from '../lib/twin.js';

/** The sections summarised in the list (the report-only command sections are left out). */
const SUMMARY = SECTIONS;

export async function renderDevices(main) {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const sid = uid('f');
  const search = h('input', {
    id: `${sid}-search`,
    type: 'search',
    testid: 'filter-search',
    value: params.get('search') ?? '',
    placeholder: 'device id contains…',
  });
  const section = h(
    'select',
    { id: `${sid}-section`, testid: 'filter-section' },
    h('option', { value: '' }, 'any section'),
    SECTIONS.map((s) => h('option', { value: s }, s)),
  );
  section.value = params.get('section') ?? '';
  const state = h(
    'select',
    { id: `${sid}-state`, testid: 'filter-state' },
    h('option', { value: '' }, 'any state'),
    STATES.map((s) => h('option', { value: s }, s)),
  );
  state.value = params.get('state') ?? '';
  const connection = h(
    'select',
    { id: `${sid}-conn`, testid: 'filter-connection' },
    h('option', { value: '' }, 'any'),
    h('option', { value: 'Connected' }, 'Connected'),
    h('option', { value: 'Disconnected' }, 'Disconnected'),
  );
  connection.value = params.get('connection') ?? '';

  const form = h(
    'form',
    { class: 'filters', testid: 'device-filters', role: 'search' },
    field('Search', search),
    field('Section', section),
    field('Section state', state),
    field('Connection', connection),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', testid: 'filter-apply' }, 'Apply'),
    ),
  );
  const query = h('code', { testid: 'device-query' });
  const count = h('span', { testid: 'device-count' });
  const tbody = h('tbody', { testid: 'device-rows' });
  const more = h('button', { type: 'button', testid: 'device-more', hidden: true }, 'Load more');
  const table = h(
    'table',
    { class: 'devices', testid: 'device-table' },
    h(
      'caption',
      { class: 'sr-only' },
      'Devices with connection state, last activity and DM status',
    ),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Device'),
        h('th', { scope: 'col' }, 'Connection'),
        h('th', { scope: 'col' }, 'Last activity'),
        h('th', { scope: 'col' }, 'DM status'),
      ),
    ),
    tbody,
  );
  main.append(
    h('h2', {}, 'Devices'),
    form,
    h('p', { class: 'query' }, 'IoT Hub query: ', query, ' ', count),
    h('div', { class: 'table-wrap' }, table),
    more,
  );

  const rows = new Map();
  let continuation;

  const filters = () => ({
    search: search.value.trim(),
    section: section.value,
    state: state.value,
    connection: connection.value,
  });

  async function load(append) {
    showStatus('Loading devices…');
    const f = filters();
    if (section.value === '' && state.value !== '') {
      showError('Pick a section for the state filter', 'Filter');
      return;
    }
    try {
      const res = await listDevices({ ...f, continuation: append ? continuation : undefined });
      if (!append) {
        rows.clear();
        tbody.replaceChildren();
      }
      query.textContent = res.query ?? '';
      for (const d of res.devices ?? []) {
        const row = deviceRow(d);
        rows.set(d.deviceId, row);
        tbody.append(row.tr);
      }
      continuation = res.continuation;
      more.hidden = !continuation;
      count.textContent = `(${rows.size} device${rows.size === 1 ? '' : 's'})`;
      if (rows.size === 0)
        tbody.append(h('tr', {}, h('td', { colspan: 4 }, 'No device matches these filters.')));
      showStatus(`${rows.size} device(s) listed`);
    } catch (e) {
      showStatus('');
      showError(e, 'Devices');
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams(Object.entries(filters()).filter(([, v]) => v));
    history.replaceState(null, '', `#/devices${q.size ? `?${q}` : ''}`);
    load(false);
  });
  more.addEventListener('click', () => load(true));

  await load(false);

  watch(undefined, {
    device: (d) => rows.get(d.deviceId)?.updateDevice(d),
    twin: (t) => rows.get(t.deviceId)?.updateSections(sectionStates(t.reported)),
  });
  const ticker = setInterval(() => {
    for (const r of rows.values()) r.tick();
  }, 10000);
  return () => clearInterval(ticker);
}

function field(label, control) {
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control);
}

/** One table row; returns its element and updaters for live events. */
function deviceRow(d) {
  const conn = h('span', { class: 'conn', testid: 'device-connection' });
  const activity = h('time', { testid: 'device-activity' });
  const statuses = h('ul', { class: 'sections', testid: 'device-sections' });
  let lastActivity = d.lastActivityTime;
  let sections = { ...(d.sections ?? {}) };

  const link = h(
    'a',
    { href: `#/device/${encodeURIComponent(d.deviceId)}`, testid: 'device-link' },
    d.deviceId,
  );
  const tr = h(
    'tr',
    { testid: 'device-row', dataset: { deviceId: d.deviceId } },
    h('th', { scope: 'row' }, link),
    h('td', {}, conn),
    h('td', {}, activity),
    h('td', {}, statuses),
  );
  const paintConn = (state) => {
    conn.textContent = state ?? 'unknown';
    conn.dataset.state = state ?? '';
    tr.dataset.connection = state ?? '';
  };
  const tick = () => {
    activity.textContent = formatAge(lastActivity);
    if (lastActivity) activity.setAttribute('datetime', lastActivity);
    activity.title = lastActivity ?? '';
  };
  const paintSections = () => {
    const names = SUMMARY.filter((s) => sections[s]);
    replace(
      statuses,
      names.length
        ? names.map((s) =>
            h(
              'li',
              { dataset: { section: s }, testid: 'device-section-status' },
              badge(sections[s], `${s}: ${sections[s]}`),
            ),
          )
        : h('li', {}, 'no DM status reported'),
    );
  };
  paintConn(d.connectionState);
  tick();
  paintSections();
  return {
    tr,
    tick,
    updateDevice(u) {
      paintConn(u.connectionState);
      lastActivity = u.lastActivityTime ?? lastActivity;
      tick();
      tr.classList.add('flash');
      setTimeout(() => tr.classList.remove('flash'), 800);
    },
    updateSections(states) {
      sections = { ...sections, ...states };
      paintSections();
    },
  };
}
