/**
 * Renders one feature panel from its description (panels/<feature>.js): per section, the desired
 * value (a form, or a JSON editor for map-shaped sections) beside the reported value with its
 * lastChange state, a Save button that sends `{ windows: { <section>: value } }` with If-Match,
 * and the feature's method buttons with their payload forms (destructive ones confirmed by typing
 * the device id).
 */
import { invokeMethod } from '../api.js';
import { confirmByTyping } from '../dialog.js';
import { h, badge, replace, show, uid } from '../dom.js';
import { showError, showStatus } from '../status.js';
import { buildObject, diffSection, isPlainObject, sectionState } from '../lib/twin.js';

/**
 * `ctx`: { deviceId, save(section, value) → Promise, device() → current device }.
 * Returns { root, update(device, { remoteDesiredChanged }) }.
 */
export function renderPanel(spec, ctx) {
  const headingId = uid(`panel-${spec.id}`);
  const root = h('section', {
    class: 'panel',
    testid: `panel-${spec.id}`,
    'aria-labelledby': headingId,
  });
  root.append(h('h3', { id: headingId }, spec.title));
  if (spec.note) root.append(h('p', { class: 'note' }, spec.note));
  const sectionViews = (spec.sections ?? []).map((s) => sectionView(s, ctx));
  for (const v of sectionViews) root.append(v.el);
  if (spec.methods?.length) {
    const box = h('div', { class: 'methods' }, h('h4', {}, 'Methods'));
    for (const m of spec.methods) box.append(methodForm(m, ctx));
    root.append(box);
  }
  return {
    root,
    update(device, changed) {
      for (const v of sectionViews) v.update(device, changed);
    },
  };
}

function sectionView(sec, ctx) {
  const name = sec.name;
  const el = h('div', { class: 'section', testid: `section-${name}`, dataset: { section: name } });
  const stateEl = h('span', { testid: `reported-${name}-state` });
  el.append(h('h4', {}, h('code', {}, name), ' ', stateEl));
  const cols = h('div', { class: 'cols' });
  el.append(cols);

  // Desired column.
  const desiredCol = h('div', { class: 'col desired' }, h('h5', {}, 'Desired'));
  const reportedCol = h('div', { class: 'col reported' }, h('h5', {}, 'Reported'));
  const reportedBody = h('div', { testid: `reported-${name}` });
  reportedCol.append(reportedBody);
  const errContext = h('p', {
    class: 'err-context',
    testid: `reported-${name}-error`,
    hidden: true,
  });
  reportedCol.append(errContext);
  cols.append(desiredCol, reportedCol);

  const inputs = new Map();
  let jsonArea = null;
  let dirty = false;
  const notice = h('p', { class: 'notice', testid: `desired-${name}-notice`, hidden: true });
  const problems = h('p', {
    class: 'problems',
    testid: `desired-${name}-problems`,
    role: 'alert',
    hidden: true,
  });

  if (sec.reportOnly) {
    desiredCol.append(h('p', { class: 'muted' }, 'Report-only: driven by the methods below.'));
  } else {
    const form = h('form', {
      class: 'desired-form',
      testid: `desired-${name}-form`,
      novalidate: true,
    });
    if (sec.json) {
      const id = uid(`d-${name}`);
      jsonArea = h('textarea', {
        id,
        rows: 8,
        spellcheck: 'false',
        class: 'json',
        testid: `desired-${name}-json`,
      });
      form.append(
        h('label', { for: id }, `${name} (JSON)`),
        sec.hint ? h('p', { class: 'hint', id: `${id}-hint` }, sec.hint) : null,
        jsonArea,
      );
      if (sec.hint) jsonArea.setAttribute('aria-describedby', `${id}-hint`);
      jsonArea.addEventListener('input', () => (dirty = true));
    } else {
      for (const f of sec.fields ?? []) {
        const control = fieldControl(f, `desired-${name}-${f.key}`);
        control.addEventListener('input', () => (dirty = true));
        inputs.set(f.key, control);
        form.append(labelled(f, control));
      }
      if (!sec.fields?.length)
        form.append(
          h('p', { class: 'muted' }, 'No settings: saving asks the device for a fresh report.'),
        );
    }
    const saveBtn = h(
      'button',
      { type: 'submit', testid: `save-${name}` },
      sec.saveLabel ?? 'Save',
    );
    const clearBtn = h(
      'button',
      { type: 'button', class: 'secondary', testid: `clear-${name}` },
      'Stop managing',
    );
    form.append(problems, notice, h('div', { class: 'row' }, saveBtn, clearBtn));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const r = readDesired();
      if (r.errors.length) return showProblems(r.errors);
      showProblems([]);
      await send(saveBtn, r.value);
    });
    clearBtn.addEventListener('click', () => send(clearBtn, null));
    desiredCol.append(form);
  }

  let saving = false;
  async function send(btn, value) {
    if (saving) return;
    saving = true;
    btn.setAttribute('aria-disabled', 'true');
    try {
      const ok = await ctx.save(name, value);
      if (ok) {
        dirty = false;
        notice.hidden = true;
      }
    } finally {
      saving = false;
      btn.removeAttribute('aria-disabled');
    }
  }

  function showProblems(list) {
    problems.hidden = list.length === 0;
    problems.textContent = list.join('; ');
  }

  function readDesired() {
    if (jsonArea) {
      const text = jsonArea.value.trim();
      if (text === '') return { value: null, errors: [] };
      try {
        const v = JSON.parse(text);
        if (!(isPlainObject(v) || typeof v === 'string' || v === null))
          return { errors: [`${name}: expected a JSON object, a string switch or null`] };
        return { value: v, errors: [] };
      } catch (e) {
        return { errors: [`${name}: not valid JSON (${e instanceof Error ? e.message : e})`] };
      }
    }
    const raw = {};
    for (const [k, c] of inputs) raw[k] = c.type === 'checkbox' ? c.checked : c.value;
    return buildObject(sec.fields ?? [], raw);
  }

  function paintDesired(desired) {
    if (jsonArea) {
      jsonArea.value = desired === undefined ? '' : JSON.stringify(desired, null, 2);
      return;
    }
    const obj = isPlainObject(desired) ? desired : {};
    for (const [k, c] of inputs) {
      const v = obj[k];
      if (c.type === 'checkbox') c.checked = Boolean(v);
      else c.value = v === undefined || v === null ? '' : String(v);
    }
  }

  function paintReported(reported, desired) {
    const state = sectionState(reported);
    replace(stateEl, badge(state, state ?? 'no status'));
    const lc = isPlainObject(reported) ? reported.lastChange : undefined;
    if (isPlainObject(lc) && lc.state === 'failed') {
      errContext.hidden = false;
      errContext.textContent = `${lc.errSubSystem || 'error'} ${lc.errCode ?? ''}: ${lc.errContext ?? ''}`;
    } else errContext.hidden = true;
    if (reported === undefined) {
      replace(reportedBody, h('p', { class: 'muted' }, 'nothing reported'));
      return;
    }
    if (!isPlainObject(reported)) {
      replace(reportedBody, h('code', { testid: `reported-${name}-value` }, show(reported)));
      return;
    }
    const differs = new Set(
      diffSection(desired, reported)
        .filter((d) => !d.same)
        .map((d) => d.key),
    );
    const dl = h('dl', { class: 'kv' });
    for (const [k, v] of Object.entries(reported)) {
      if (k === 'lastChange') continue;
      const complex = typeof v === 'object' && v !== null;
      dl.append(
        h('dt', {}, k),
        h(
          'dd',
          { testid: `reported-${name}-${k}`, class: differs.has(k) ? 'differs' : undefined },
          complex ? h('pre', {}, JSON.stringify(v, null, 2)) : show(v),
          differs.has(k) ? h('span', { class: 'sr-only' }, ' (differs from desired)') : null,
        ),
      );
    }
    if (isPlainObject(lc) && lc.time)
      dl.append(h('dt', {}, 'last change'), h('dd', {}, String(lc.time)));
    replace(reportedBody, dl);
  }

  return {
    el,
    update(device, changed = {}) {
      const desired = device.desired?.[name];
      const reported = device.reported?.[name];
      if (changed.initial || (changed.desired?.has(name) && !dirty)) paintDesired(desired);
      else if (changed.desired?.has(name) && dirty) {
        notice.hidden = false;
        notice.textContent =
          'The desired value changed meanwhile on the hub: Save would overwrite it.';
      }
      paintReported(reported, desired);
    },
  };
}

function labelled(f, control) {
  if (control.type === 'checkbox')
    return h('div', { class: 'field check' }, control, h('label', { for: control.id }, f.label));
  const hintId = f.hint ? `${control.id}-hint` : undefined;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h(
    'div',
    { class: 'field' },
    h('label', { for: control.id }, f.label, f.required ? ' *' : ''),
    control,
    f.hint ? h('small', { id: hintId, class: 'hint' }, f.hint) : null,
  );
}

/** The input element for a field description; `testid` names it for the browser tests. */
export function fieldControl(f, testid) {
  const id = uid(testid);
  if (f.type === 'select' || f.type === 'boolean') {
    const options = f.type === 'boolean' ? ['true', 'false'] : f.options;
    return h(
      'select',
      { id, testid, name: f.key },
      h('option', { value: '' }, f.required ? 'choose…' : '(not set)'),
      options.map((o) => h('option', { value: o }, o)),
    );
  }
  if (f.type === 'checkbox') return h('input', { id, testid, type: 'checkbox', name: f.key });
  if (f.type === 'json')
    return h('textarea', { id, testid, name: f.key, rows: 4, class: 'json', spellcheck: 'false' });
  const type =
    f.type === 'integer' || f.type === 'number'
      ? 'number'
      : f.type === 'secret'
        ? 'password'
        : 'text';
  return h('input', {
    id,
    testid,
    type,
    name: f.key,
    inputmode: f.type === 'integer' ? 'numeric' : undefined,
    step: f.type === 'integer' ? '1' : f.type === 'number' ? 'any' : undefined,
    min: f.min,
    max: f.max,
    placeholder: f.placeholder,
    autocomplete: 'off',
    spellcheck: 'false',
  });
}

/** A method's form: payload fields, a button, the device's answer. */
function methodForm(m, ctx) {
  const fields = m.fields ?? [];
  const inputs = new Map();
  const form = h('form', {
    class: `method${m.destructive ? ' destructive' : ''}`,
    testid: `method-form-${m.name}`,
    novalidate: true,
  });
  for (const f of fields) {
    const c = fieldControl(f, `method-${m.name}-${f.key}`);
    inputs.set(f.key, c);
    form.append(labelled(f, c));
  }
  const btn = h(
    'button',
    { type: 'submit', testid: `method-${m.name}`, class: m.destructive ? 'danger' : undefined },
    m.label,
  );
  const out = h('output', {
    class: 'result',
    testid: `method-${m.name}-result`,
    'aria-live': 'polite',
  });
  form.append(h('div', { class: 'row' }, btn), out);
  // The button is marked busy rather than disabled, so it keeps the focus (the dialog returns it).
  let busy = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    const raw = {};
    for (const [k, c] of inputs) raw[k] = c.type === 'checkbox' ? c.checked : c.value;
    const { value, errors } = buildObject(fields, raw);
    if (errors.length) {
      out.dataset.outcome = 'invalid';
      out.textContent = errors.join('; ');
      showError(errors.join('; '), m.label);
      return;
    }
    const body = {};
    if (fields.length || m.sendEmptyPayload) body.payload = value;
    if (m.timeoutSeconds) body.timeoutSeconds = m.timeoutSeconds;
    if (m.destructive) {
      const ok = await confirmByTyping(
        ctx.deviceId,
        `${m.label} on ${ctx.deviceId}? ${m.warning ?? 'This cannot be undone.'}`,
      );
      if (!ok) {
        showStatus(`${m.label} cancelled`);
        return;
      }
      body.confirm = ctx.deviceId;
    }
    busy = true;
    btn.setAttribute('aria-disabled', 'true');
    out.dataset.outcome = 'running';
    out.textContent = 'waiting for the device…';
    showStatus(`${m.label}: invoking ${m.name}…`);
    try {
      const res = await invokeMethod(ctx.deviceId, m.name, body);
      const okStatus = typeof res.status === 'number' && res.status >= 200 && res.status < 300;
      out.dataset.outcome = okStatus ? 'ok' : 'failed';
      out.dataset.status = String(res.status);
      replace(
        out,
        h('span', { class: 'status-code' }, `status ${res.status}`),
        h('pre', {}, JSON.stringify(res.payload, null, 2)),
      );
      showStatus(`${m.label}: the device answered ${res.status}`);
    } catch (err) {
      out.dataset.outcome = 'error';
      out.textContent = '';
      showError(err, m.label);
      showStatus('');
    } finally {
      busy = false;
      btn.removeAttribute('aria-disabled');
    }
  });
  return form;
}
