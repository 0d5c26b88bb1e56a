/**
 * The confirmation dialog for destructive methods (factory reset, remote wipe): a modal <dialog>
 * whose Confirm button stays disabled until the operator types the device id. Focus moves into
 * the dialog and returns to the button that opened it.
 */

/**
 * Asks to confirm `text` by typing `deviceId`. Resolves true when confirmed, false on cancel
 * or Escape.
 */
export function confirmByTyping(deviceId, text) {
  const dlg = document.getElementById('confirm');
  const input = document.getElementById('confirm-input');
  const ok = document.getElementById('confirm-ok');
  const cancel = document.getElementById('confirm-cancel');
  const form = document.getElementById('confirm-form');
  const opener = document.activeElement;
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-id').textContent = deviceId;
  input.value = '';
  ok.disabled = true;
  return new Promise((resolve) => {
    const onInput = () => {
      ok.disabled = input.value !== deviceId;
    };
    const finish = (result) => {
      input.removeEventListener('input', onInput);
      form.removeEventListener('submit', onSubmit);
      cancel.removeEventListener('click', onCancel);
      dlg.removeEventListener('close', onClose);
      if (dlg.open) dlg.close();
      if (opener instanceof HTMLElement) opener.focus();
      resolve(result);
    };
    const onSubmit = (e) => {
      e.preventDefault();
      if (input.value === deviceId) finish(true);
    };
    const onCancel = () => finish(false);
    const onClose = () => finish(false);
    input.addEventListener('input', onInput);
    form.addEventListener('submit', onSubmit);
    cancel.addEventListener('click', onCancel);
    dlg.addEventListener('close', onClose);
    dlg.showModal();
    input.focus();
  });
}
