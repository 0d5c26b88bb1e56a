/**
 * Small DOM builders: `h('button', { class, dataset, on: { click } }, ...children)` and helpers
 * for labelled form controls. No innerHTML anywhere: device data is always text.
 */

/** Creates an element; attrs: class, text, dataset, on (events), testid, and plain attributes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'testid') el.dataset.testid = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

let idCounter = 0;
/** A unique element id with a readable prefix. */
export const uid = (prefix) => `${prefix}-${++idCounter}`;

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** A JSON value as readable text ("" for undefined). */
export function show(v) {
  if (v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** A status badge for a section state (completed/failed/pending/unknown). */
export function badge(state, label = state ?? '—') {
  return h(
    'span',
    { class: `badge badge-${state ?? 'none'}`, dataset: { state: state ?? '' } },
    label,
  );
}

/**
 * Marks a button busy (aria-disabled) while `work` runs, ignoring clicks meanwhile. Unlike
 * `disabled`, the button keeps the keyboard focus.
 */
export async function whileBusy(btn, work) {
  if (btn.getAttribute('aria-disabled') === 'true') return undefined;
  btn.setAttribute('aria-disabled', 'true');
  try {
    return await work();
  } finally {
    btn.removeAttribute('aria-disabled');
  }
}
