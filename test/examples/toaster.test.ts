/**
 * examples/toaster in a real browser (playwright-core + Debian's chromium): a LocalHub, the
 * toaster app (its own azure-iot-device Client, DM client with every built-in handler, over the
 * CSP emulator) with its page, and the DM dashboard over the same hub. While the toaster toasts,
 * "Reboot now" in the dashboard is refused (rejectedByApp, willRetry) and the toaster asks the
 * person; Allow lets the waiting reboot through at once (not at the next `recheckMs`, which is
 * left at its 60 s default): the emulator records one reboot and the twin reports it. Also: Deny
 * keeps the reboot waiting until the toast ends; a local telemetry change shows in the
 * dashboard's reported column; bad input shows a message. Every wait is for a condition.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startDashboard, type Dashboard } from '../../lib/dashboard';
import type { LocalHub } from '../../lib/hub/hub';
import { startToaster, type ToasterApp } from '../../examples/toaster/app';
import { silentLogger } from '../../lib/dm/logger';
import {
  CHROMIUM,
  hasChromium,
  launchBrowser,
  openView,
  tid,
  until,
  untilOnPage,
  type Browser,
} from '../dashboard/browser-env';
import { emulatorCounts } from '../features/reboot-e2e-helpers';
import { startLocalHub } from '../hub/helpers/local-hub';

type Obj = Record<string, unknown>;
const ID = 'toaster-e2e';

describe('examples/toaster in a real browser (local hub, dashboard, emulator)', function () {
  this.timeout(90000);
  let hub: LocalHub;
  let closeHub: (() => Promise<void>) | undefined;
  let app: ToasterApp | undefined;
  let dashboard: Dashboard | undefined;
  let browser: Browser | undefined;
  let stateDir: string | undefined;
  let toasterPage: Page;
  let dashPage: Page;

  before(async function () {
    if (!hasChromium()) {
      console.log(`    skipped: ${CHROMIUM} is missing (Debian's chromium package)`);
      this.skip();
    }
    const h = await startLocalHub();
    hub = h.hub;
    closeHub = h.close;
    hub.core.registry.create(ID);
    stateDir = mkdtempSync(path.join(os.tmpdir(), 'wdm-toaster-'));
    app = await startToaster({
      connectionString: hub.deviceConnectionString(ID),
      ca: hub.tls.caCertPem,
      stateDir,
      port: 0,
      // A toast never ends by itself during the test.
      toastMsPerLevel: 3_600_000,
      logger: silentLogger(),
    });
    dashboard = await startDashboard({
      connectionString: hub.connectionString,
      ca: hub.tls.caCertPem,
      port: 0,
      pollIntervalMs: 250,
    });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await dashboard?.close();
    await app?.close();
    await closeHub?.();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    toasterPage = await browser!.context.newPage();
    dashPage = await browser!.context.newPage();
    await toasterPage.goto(app!.url);
    await toasterPage.locator(`${tid('device-id')}:text("${ID}")`).waitFor();
  });
  afterEach(async () => {
    if (app?.toaster.toasting) app.toaster.stop();
    await toasterPage?.close().catch(() => undefined);
    await dashPage?.close().catch(() => undefined);
  });

  const reported = (section: string): Obj | undefined =>
    ((hub.core.getTwin(ID).properties.reported as Obj).windows as Obj | undefined)?.[section] as
      Obj | undefined;
  const text = async (page: Page, id: string): Promise<string> => {
    const el = page.locator(tid(id)).first();
    return (await el.count()) ? ((await el.textContent()) ?? '').trim() : '';
  };

  async function startToasting(): Promise<void> {
    await toasterPage.locator(tid('toast-start')).click();
    await toasterPage.locator(`${tid('toast-state')}[data-toasting="true"]`).waitFor();
    assert.equal(app!.toaster.toasting, true);
  }

  /** Presses "Reboot now" in the dashboard; resolves with the device's answer shown there. */
  async function rebootFromDashboard(): Promise<string> {
    await openView(dashPage, dashboard!.url, `#/device/${ID}`);
    await dashPage.locator(tid('method-windows.rebootAsync')).click();
    const result = dashPage.locator(
      `${tid('method-windows.rebootAsync-result')}:not([data-outcome="running"])`,
    );
    await result.waitFor();
    return (await result.textContent()) ?? '';
  }

  it('refuses a reboot while toasting, asks the person, and reboots once allowed', async () => {
    const before = emulatorCounts().reboots;
    await startToasting();

    const answer = await rebootFromDashboard();
    assert.match(answer, /status 202/);
    assert.match(answer, /"response": "rejectedByApp"/);
    assert.match(answer, /"willRetry": true/);
    // The dashboard shows the refusal live from the twin.
    await untilOnPage(
      dashPage,
      async () => (await text(dashPage, 'reported-rebootCmd-response')) === 'rejectedByApp',
      'dashboard: rebootCmd.response rejectedByApp',
    );
    await untilOnPage(
      dashPage,
      async () =>
        (await text(dashPage, 'reported-rebootInfo-lastRebootCmdStatus')) === 'rejectedByApp',
      'dashboard: lastRebootCmdStatus rejectedByApp',
    );
    assert.equal((await text(dashPage, 'reported-rebootCmd-willRetry')).toLowerCase(), 'true');

    // The toaster asks the person; nothing was sent to the device.
    await toasterPage.locator(tid('reboot-prompt')).waitFor();
    await until(
      async () => (await text(toasterPage, 'dm-rebootCmd')).startsWith('rejectedByApp'),
      'toaster page: rebootCmd rejectedByApp',
    );
    assert.equal(emulatorCounts().reboots, before);

    await toasterPage.locator(tid('reboot-allow')).click();
    await until(() => emulatorCounts().reboots === before + 1, 'the emulator records a reboot');
    await until(() => reported('rebootCmd')?.response === 'scheduled', 'rebootCmd scheduled');
    const cmd = reported('rebootCmd')!;
    assert.equal(cmd.willRetry, false);
    assert.equal((cmd.lastChange as Obj).state, 'pending');
    await until(
      () => reported('rebootInfo')?.lastRebootCmdStatus === 'pending',
      'rebootInfo.lastRebootCmdStatus pending',
    );
    // Both pages follow.
    await toasterPage.locator(tid('reboot-sent')).waitFor();
    assert.equal(await toasterPage.locator(tid('reboot-prompt')).isVisible(), false);
    await untilOnPage(
      dashPage,
      async () => (await text(dashPage, 'reported-rebootCmd-response')) === 'scheduled',
      'dashboard: rebootCmd.response scheduled',
    );
    await untilOnPage(
      dashPage,
      async () => (await text(dashPage, 'reported-rebootInfo-lastRebootCmdStatus')) === 'pending',
      'dashboard: lastRebootCmdStatus pending',
    );
    // The reboot ended the toast; exactly one reboot.
    assert.equal(app!.toaster.toasting, false);
    assert.equal(emulatorCounts().reboots, before + 1);
  });

  it('"Not now" keeps the reboot waiting until the toast is done', async () => {
    const before = emulatorCounts().reboots;
    await startToasting();
    assert.match(await rebootFromDashboard(), /rejectedByApp/);
    await toasterPage.locator(tid('reboot-prompt')).waitFor();
    await toasterPage.locator(tid('reboot-deny')).click();
    await toasterPage.locator(tid('reboot-waiting')).waitFor();
    assert.equal(await toasterPage.locator(tid('reboot-prompt')).isVisible(), false);
    assert.equal(reported('rebootCmd')?.response, 'rejectedByApp');
    assert.equal(emulatorCounts().reboots, before);

    await toasterPage.locator(tid('toast-stop')).click();
    await until(() => emulatorCounts().reboots === before + 1, 'the reboot after the toast');
    await until(() => reported('rebootCmd')?.response === 'scheduled', 'rebootCmd scheduled');
    await toasterPage.locator(tid('reboot-waiting')).waitFor({ state: 'hidden' });
  });

  it('changes the telemetry level locally: reported in the twin and shown by the dashboard', async () => {
    const current = String(reported('windowsTelemetry')?.level);
    const target = current === 'basic' ? 'security' : 'basic';
    await toasterPage.locator(tid('telemetry-level')).selectOption(target);
    await toasterPage.locator(tid('telemetry-save')).click();
    await until(() => reported('windowsTelemetry')?.level === target, 'reported level');
    await until(
      async () => (await text(toasterPage, 'dm-telemetry-level')) === target,
      'toaster page level',
    );
    await openView(dashPage, dashboard!.url, `#/device/${ID}`);
    await untilOnPage(
      dashPage,
      async () => (await text(dashPage, 'reported-windowsTelemetry-level')) === target,
      'dashboard: reported level',
    );
  });

  it('shows a clear message for bad input and changes nothing', async () => {
    await toasterPage.locator(tid('darkness')).fill('42');
    await toasterPage.locator(tid('darkness-save')).click();
    await toasterPage.locator(tid('error')).waitFor();
    assert.match(await text(toasterPage, 'error'), /darkness must be a whole number from 1 to 10/);
    assert.equal(app!.toaster.state.darkness, 5);
    // Allow with no reboot waiting: refused (409) with a message.
    const res = await toasterPage.evaluate(async () => {
      const s = (await (await fetch('/api/state')).json()) as { csrf: string };
      const r = await fetch('/api/reboot', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Csrf-Token': s.csrf },
        body: JSON.stringify({ answer: 'allow' }),
      });
      return { status: r.status, body: (await r.json()) as { error: string } };
    });
    assert.equal(res.status, 409);
    assert.match(res.body.error, /no reboot is waiting/);
  });
});
