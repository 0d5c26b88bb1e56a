/**
 * The fleet view: a form that schedules an IoT Hub job (a direct method, or a desired-properties
 * update) over a filter (section + state, connection, device ids), the selected job's progress
 * bar and per-device outcomes (polled until it finishes), and the list of jobs.
 */
import { createJob, getJob, listJobs } from '../api.js';
import { h, replace, uid, whileBusy } from '../dom.js';
import { showError, showStatus, clearError } from '../status.js';
import {
  SECTIONS,
  STATES,
  isPlainObject,
  jobFinished,
  jobPercent,
  parseDeviceIds,
  validateDesiredWindows,
} from '../lib/twin.js';

/** The `windows.*` methods a job may run (destructive ones are not offered for fleets). */
const METHODS = [
  'windows.rebootAsync',
  'windows.reportAllAsync',
  'windows.startUsoClientCmdAsync',
  'windows.manageAppLifeCycleAsync',
  'windows.deviceHealthAttestationReportNow',
  'windows.enumDMFolders',
  'windows.enumDMFiles',
  'windows.uploadDMFile',
  'windows.deleteDMFile',
  'windows.getCertificateDetails',
  'windows.getWifiDetails',
];

export async function renderJobs(main) {
  const id = uid('job');
  const typeMethod = h('input', {
    type: 'radio',
    name: `${id}-type`,
    id: `${id}-tm`,
    value: 'method',
    checked: true,
    testid: 'job-type-method',
  });
  const typeTwin = h('input', {
    type: 'radio',
    name: `${id}-type`,
    id: `${id}-tt`,
    value: 'twin',
    testid: 'job-type-twin',
  });
  const method = h(
    'select',
    { id: `${id}-method`, testid: 'job-method' },
    METHODS.map((m) => h('option', { value: m }, m)),
  );
  const payload = h('textarea', {
    id: `${id}-payload`,
    rows: 3,
    class: 'json',
    spellcheck: 'false',
    testid: 'job-payload',
    placeholder: '{}',
  });
  const timeout = h('input', {
    id: `${id}-timeout`,
    type: 'number',
    min: 5,
    max: 300,
    step: 1,
    testid: 'job-timeout',
    placeholder: '30',
  });
  const patch = h('textarea', {
    id: `${id}-patch`,
    rows: 6,
    class: 'json',
    spellcheck: 'false',
    testid: 'job-patch',
    placeholder: '{ "windowsTelemetry": { "level": "basic" } }',
  });
  const section = h(
    'select',
    { id: `${id}-section`, testid: 'job-filter-section' },
    h('option', { value: '' }, 'any section'),
    SECTIONS.map((s) => h('option', { value: s }, s)),
  );
  const state = h(
    'select',
    { id: `${id}-state`, testid: 'job-filter-state' },
    h('option', { value: '' }, 'any state'),
    STATES.map((s) => h('option', { value: s }, s)),
  );
  const connection = h(
    'select',
    { id: `${id}-conn`, testid: 'job-filter-connection' },
    h('option', { value: '' }, 'any'),
    h('option', { value: 'Connected' }, 'Connected'),
    h('option', { value: 'Disconnected' }, 'Disconnected'),
  );
  const deviceIds = h('textarea', {
    id: `${id}-ids`,
    rows: 2,
    spellcheck: 'false',
    testid: 'job-filter-devices',
    placeholder: 'device-1, device-2',
  });
  const problems = h('p', {
    class: 'problems',
    role: 'alert',
    testid: 'job-problems',
    hidden: true,
  });
  const submit = h('button', { type: 'submit', testid: 'job-submit' }, 'Schedule job');

  const methodBox = h(
    'fieldset',
    { class: 'method-box' },
    h('legend', {}, 'Method'),
    fld('Method', method),
    fld('Payload (JSON, optional)', payload),
    fld('Timeout (s, 5-300)', timeout),
  );
  const twinBox = h(
    'fieldset',
    { class: 'twin-box', hidden: true },
    h('legend', {}, 'Desired update'),
    fld('properties.desired.windows patch (JSON)', patch),
  );
  const form = h(
    'form',
    { class: 'job-form', testid: 'job-form', novalidate: true },
    h(
      'fieldset',
      {},
      h('legend', {}, 'Job type'),
      h(
        'div',
        { class: 'field check' },
        typeMethod,
        h('label', { for: typeMethod.id }, 'Direct method'),
      ),
      h(
        'div',
        { class: 'field check' },
        typeTwin,
        h('label', { for: typeTwin.id }, 'Desired properties'),
      ),
    ),
    methodBox,
    twinBox,
    h(
      'fieldset',
      { class: 'filters' },
      h('legend', {}, 'Devices (filter)'),
      fld('Section', section),
      fld('Section state', state),
      fld('Connection', connection),
      fld('Device ids (optional)', deviceIds),
    ),
    problems,
    h('div', { class: 'row' }, submit),
  );
  const syncType = () => {
    methodBox.hidden = !typeMethod.checked;
    twinBox.hidden = !typeTwin.checked;
  };
  typeMethod.addEventListener('change', syncType);
  typeTwin.addEventListener('change', syncType);

  const detail = h('section', {
    class: 'panel wide',
    testid: 'job-detail',
    'aria-labelledby': `${id}-dh`,
    hidden: true,
  });
  const jobsBody = h('tbody', { testid: 'job-rows' });
  const refresh = h('button', { type: 'button', testid: 'jobs-refresh' }, 'Refresh');
  main.append(
    h('h2', {}, 'Fleet jobs'),
    h(
      'section',
      { class: 'panel wide', 'aria-labelledby': `${id}-fh` },
      h('h3', { id: `${id}-fh` }, 'Schedule a job'),
      form,
    ),
    detail,
    h(
      'section',
      { class: 'panel wide', 'aria-labelledby': `${id}-lh` },
      h('h3', { id: `${id}-lh` }, 'Jobs'),
      refresh,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'jobs' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Job', 'Type', 'Status', 'Progress', 'Started', 'Ended'].map((t) =>
                h('th', { scope: 'col' }, t),
              ),
            ),
          ),
          jobsBody,
        ),
      ),
    ),
  );

  let pollTimer = null;
  let watched = null;

  function readSpec() {
    const errors = [];
    const filter = {};
    if (section.value) filter.section = section.value;
    if (state.value) {
      if (!section.value) errors.push('Section state needs a section');
      filter.state = state.value;
    }
    if (connection.value) filter.connection = connection.value;
    const ids = parseDeviceIds(deviceIds.value);
    if (ids.length) filter.deviceIds = ids;
    if (Object.keys(filter).length === 0)
      errors.push(
        'A fleet job needs a filter: a section (and state), a connection state or device ids',
      );
    let spec;
    if (typeMethod.checked) {
      const m = { name: method.value };
      if (payload.value.trim()) {
        try {
          m.payload = JSON.parse(payload.value);
        } catch (e) {
          errors.push(`Payload: not valid JSON (${e instanceof Error ? e.message : e})`);
        }
      }
      if (timeout.value.trim()) {
        const t = Number(timeout.value);
        if (!Number.isInteger(t) || t < 5 || t > 300)
          errors.push('Timeout: a whole number of seconds from 5 to 300');
        else m.timeoutSeconds = t;
      }
      spec = { type: 'method', method: m, filter };
    } else {
      let windows;
      try {
        windows = JSON.parse(patch.value);
      } catch (e) {
        errors.push(`Patch: not valid JSON (${e instanceof Error ? e.message : e})`);
      }
      if (windows !== undefined) {
        if (isPlainObject(windows) && isPlainObject(windows.windows)) windows = windows.windows;
        errors.push(...validateDesiredWindows(windows).map((p) => `Patch: ${p}`));
      }
      spec = { type: 'twin', patch: { windows }, filter };
    }
    return { spec, errors };
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const { spec, errors } = readSpec();
    problems.hidden = errors.length === 0;
    problems.textContent = errors.join('; ');
    if (errors.length) return;
    clearError();
    await whileBusy(submit, async () => {
      showStatus('Scheduling the job…');
      try {
        const { jobId } = await createJob(spec);
        showStatus(`Job ${jobId} scheduled`);
        await loadList();
        follow(jobId);
      } catch (err) {
        showError(err, 'Scheduling the job');
        showStatus('');
      }
    });
  });
  refresh.addEventListener('click', () => loadList());

  async function loadList() {
    try {
      const { jobs } = await listJobs();
      replace(
        jobsBody,
        (jobs ?? []).length
          ? jobs.map((j) =>
              h(
                'tr',
                { testid: 'job-row', dataset: { jobId: j.jobId, status: j.status } },
                h(
                  'th',
                  { scope: 'row' },
                  h(
                    'button',
                    {
                      type: 'button',
                      class: 'link',
                      testid: 'job-open',
                      on: { click: () => follow(j.jobId) },
                    },
                    j.jobId,
                  ),
                ),
                h('td', {}, j.type),
                h('td', { testid: 'job-row-status' }, j.status),
                h('td', {}, progressText(j.progress)),
                h('td', {}, j.startTime ?? ''),
                h('td', {}, j.endTime ?? ''),
              ),
            )
          : h('tr', {}, h('td', { colspan: 6 }, 'No job yet.')),
      );
    } catch (err) {
      showError(err, 'Jobs');
    }
  }

  function follow(jobId) {
    watched = jobId;
    if (pollTimer) clearTimeout(pollTimer);
    poll(jobId);
  }

  async function poll(jobId) {
    if (watched !== jobId) return;
    try {
      const job = await getJob(jobId);
      paintJob(job);
      if (jobFinished(job.status)) {
        showStatus(`Job ${jobId} ${job.status}`);
        loadList();
        return;
      }
    } catch (err) {
      showError(err, `Job ${jobId}`);
    }
    pollTimer = setTimeout(() => poll(jobId), 1000);
  }

  function paintJob(job) {
    detail.hidden = false;
    const pct = jobPercent(job.progress);
    const bar = h(
      'progress',
      {
        max: 100,
        value: pct,
        testid: 'job-progress',
        id: `${id}-bar`,
        dataset: { status: job.status },
      },
      `${pct}%`,
    );
    replace(
      detail,
      h('h3', { id: `${id}-dh` }, `Job ${job.jobId}`),
      h(
        'p',
        {},
        'Type ',
        h('code', {}, job.type),
        ' · status ',
        h('strong', { testid: 'job-status' }, job.status),
      ),
      h('label', { for: bar.id }, `Progress: ${progressText(job.progress)}`),
      bar,
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'outcomes' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Device', 'Status', 'Outcome'].map((t) => h('th', { scope: 'col' }, t)),
            ),
          ),
          h(
            'tbody',
            { testid: 'job-device-rows' },
            (job.devices ?? []).map((d) =>
              h(
                'tr',
                { testid: 'job-device-row', dataset: { deviceId: d.deviceId, status: d.status } },
                h(
                  'th',
                  { scope: 'row' },
                  h('a', { href: `#/device/${encodeURIComponent(d.deviceId)}` }, d.deviceId),
                ),
                h('td', {}, d.status),
                h(
                  'td',
                  {},
                  d.outcome === undefined ? '' : h('code', {}, JSON.stringify(d.outcome)),
                ),
              ),
            ),
          ),
        ),
      ),
    );
  }

  await loadList();
  return () => {
    watched = null;
    if (pollTimer) clearTimeout(pollTimer);
  };
}

function fld(label, control) {
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control);
}

function progressText(p) {
  if (!isPlainObject(p)) return '';
  return `${(p.succeeded ?? 0) + (p.failed ?? 0)} / ${p.total ?? 0} done (${p.succeeded ?? 0} ok, ${p.failed ?? 0} failed, ${p.running ?? 0} running, ${p.pending ?? 0} pending)`;
}
