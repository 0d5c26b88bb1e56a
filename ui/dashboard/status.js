/**
 * The page's status line (aria-live polite) and error banner (role=alert): every view reports
 * progress and failures here so they are visible and announced.
 */
import { ApiError } from './api.js';

const statusEl = () => document.getElementById('status');
const errorEl = () => document.getElementById('error');
const errorText = () => document.getElementById('error-text');

/** Shows a progress/success message (replaces the previous one). */
export function showStatus(text) {
  const el = statusEl();
  if (el) el.textContent = text;
}

/** Shows an error (an ApiError, another Error or a string) in the banner. */
export function showError(err, context = '') {
  const msg =
    err instanceof ApiError ? err.explanation : err instanceof Error ? err.message : String(err);
  const el = errorEl();
  if (!el) return;
  errorText().textContent = context ? `${context}: ${msg}` : msg;
  el.dataset.status = err instanceof ApiError ? String(err.status) : '';
  el.hidden = false;
}

export function clearError() {
  const el = errorEl();
  if (el) {
    el.hidden = true;
    errorText().textContent = '';
  }
}

/** Wires the banner's dismiss button (once, at start-up). */
export function initStatus() {
  document.getElementById('error-dismiss')?.addEventListener('click', clearError);
}
