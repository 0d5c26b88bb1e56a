/**
 * The DM dashboard end to end in a real browser: playwright-core driving Debian's chromium against
 * the dashboard server, the local hub and 20 simulated devices (test/dashboard/fleet.ts; 3 with
 * every built-in handler, 17 light). One fleet, one server and one browser for the whole file;
 * every wait is for a condition on the page or the hub, never a fixed sleep.
 *
 * Covered: list + filter (section + state → the shown IoT Hub query, only matching rows), a desired
 * change applied in a panel and its reported value updated live, reboot now and rebootInfo updated
 * live, a fleet job over 20 devices to 100 % with per-device outcomes, a bad input refused with a
 * visible message and nothing sent, a destructive method confirmed by typing the device id,
 * keyboard-only use (Tab + Enter), a server-side refusal shown in the page, the device list
 * following a device going offline, and the screenshot function.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page, Request } from 'playwright-core';
import { captureScreenshots, SCREENSHOTS } from '../../scripts/dashboard-screenshots';
import {
  CHROMIUM,
  hasChromium,
  launchBrowser,
  openView,
  startDashboardFleet,
  tid,
  untilOnPage,
  type Browser,
  type DashboardFleet,
} from './browser-env';
import { reportedSection, seedTelemetryFailures } from './fleet';

const FAILING = ['dev-05', 'dev-11'];
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

type Obj = Record<string, unknown>;

describe('dashboard in a real browser (chromium, local hub, 20 simulated devices)', function () {
  this.timeout(90000);
  let env: DashboardFleet | undefined;
  let browser: Browser | undefined;
  let page: Page;
  /** The requests of the current page that change something (not GET/HEAD). */
  let changes: Request[] = [];

  before(async function () {
    if (!hasChromium()) {
      console.log(
        `    skipped: ${CHROMIUM} is missing (Debian's chromium package; .ci/run installs it)`,
      );
      this.skip();
    }
    env = await startDashboardFleet({ devices: 20, full: 3 });
    await seedTelemetryFailures(env.fleet, FAILING);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await env?.stop();
  });
  beforeEach(async () => {
    page = await browser!.context.newPage();
    changes = [];
    page.on('request', (r) => {
      if (!['GET', 'HEAD'].includes(r.method())) changes.push(r);
    });
  });
  afterEach(async () => {
    await page?.close().catch(() => undefined);
  });

  const E = (): DashboardFleet => env!;
  /** The element's text, '' while it is not there (never waits). */
  const text = async (id: string): Promise<string> => {
    const el = page.locator(tid(id)).first();
    return (await el.count()) ? ((await el.textContent()) ?? '').trim() : '';
  };
  const until = <T>(check: () => Promise<T> | T, what: string, ms?: number) =>
    untilOnPage(page, check, what, ms);
  const rowIds = async (): Promise<string[]> =>
    page
      .locator(tid('device-row'))
      .evaluateAll((rows) =>
        rows.map((r) => String((r as unknown as { dataset: Obj }).dataset.deviceId)),
      );
  /** Sets a flag in the page: still there later means the page was never reloaded. */
  const markPage = (): Promise<unknown> => page.evaluate('window.__notReloaded = true');
  const notReloaded = async (): Promise<boolean> =>
    (await page.evaluate('window.__notReloaded === true')) as boolean;
  async function deviceTwin(id: string): Promise<Obj> {
    const { responseBody } = await E().fleet.registry.getTwin(id);
    return responseBody as unknown as Obj;
  }

  it('lists the fleet and filters by section + state into the shown IoT Hub query', async () => {
    await openView(page, E().url, '#/devices');
    await until(async () => (await rowIds()).length === 20, '20 device rows');
    assert.deepEqual(
      (await rowIds()).sort(),
      E().fleet.devices.map((d) => d.deviceId),
    );

    await page.locator(tid('filter-section')).selectOption('windowsTelemetry');
    await page.locator(tid('filter-state')).selectOption('failed');
    await page.locator(tid('filter-apply')).click();
    await until(async () => (await rowIds()).length === FAILING.length, 'only the failing rows');
    assert.deepEqual((await rowIds()).sort(), FAILING);

    const query = await text('device-query');
    assert.match(query, /^SELECT \* FROM devices WHERE /);
    assert.ok(
      query.includes("properties.reported.windows.windowsTelemetry.lastChange.state = 'failed'"),
      query,
    );
    // Each shown row says why it matched.
    for (const id of FAILING) {
      const badge = page
        .locator(`${tid('device-row')}[data-device-id="${id}"]`)
        .locator(`${tid('device-section-status')}[data-section="windowsTelemetry"]`);
      assert.match((await badge.textContent()) ?? '', /failed/);
    }
    // The same query on the hub gives the same devices.
    const q = E().fleet.registry.createQuery(query, 100);
    const { result } = await q.nextAsTwin();
    assert.deepEqual(result.map((t) => t.deviceId).sort(), FAILING);
  });

  it('applies a desired change in a panel and shows the reported value live', async () => {
    const id = 'dev-01';
    await openView(page, E().url, `#/device/${id}`);
    await page.locator(tid('reported-windowsTelemetry-state')).locator('*').first().waitFor();
    await markPage();
    const before = await reportedSection(E().fleet, id, 'windowsTelemetry');
    const target = before?.level === 'basic' ? 'security' : 'basic';

    await page.locator(tid('desired-windowsTelemetry-level')).selectOption(target);
    await page.locator(tid('save-windowsTelemetry')).click();

    await until(
      async () => (await text('reported-windowsTelemetry-level')) === target,
      `reported level ${target} on the page`,
    );
    assert.match(await text('reported-windowsTelemetry-state'), /completed/);
    assert.ok(await notReloaded(), 'the page was reloaded');
    // It went to the hub as a desired patch and came back from the device.
    const twin = await deviceTwin(id);
    const props = twin.properties as { desired: Obj; reported: Obj };
    assert.equal(
      (props.desired.windows as Obj & { windowsTelemetry: Obj }).windowsTelemetry.level,
      target,
    );
    assert.equal((await reportedSection(E().fleet, id, 'windowsTelemetry'))?.level, target);
    assert.ok(
      changes.some((r) => r.method() === 'PATCH' && r.url().endsWith(`/api/devices/${id}/desired`)),
    );
  });

  it('reboots a device (windows.rebootAsync) and shows rebootInfo change live', async () => {
    const id = 'dev-02';
    await openView(page, E().url, `#/device/${id}`);
    await page.locator(tid('reported-rebootInfo-lastBootTime')).waitFor();
    await markPage();
    assert.equal(await page.locator(tid('reported-rebootInfo-lastRebootCmdTime')).count(), 0);

    await page.locator(tid('method-windows.rebootAsync')).click();
    const result = page.locator(`${tid('method-windows.rebootAsync-result')}[data-outcome="ok"]`);
    await result.waitFor();
    assert.match((await result.textContent()) ?? '', /status 200/);

    await page.locator(tid('reported-rebootInfo-lastRebootCmdTime')).waitFor();
    const shownTime = await text('reported-rebootInfo-lastRebootCmdTime');
    assert.match(shownTime, ISO);
    await until(
      async () => (await text('reported-rebootInfo-lastRebootCmdStatus')) !== '',
      'lastRebootCmdStatus',
    );
    const shownStatus = await text('reported-rebootInfo-lastRebootCmdStatus');
    assert.ok(await notReloaded(), 'the page was reloaded');
    const info = await reportedSection(E().fleet, id, 'rebootInfo');
    assert.equal(info?.lastRebootCmdTime, shownTime);
    assert.equal(info?.lastRebootCmdStatus, shownStatus);
    assert.ok(['pending', 'completed'].includes(shownStatus), shownStatus);
  });

  it('schedules a fleet method job over 20 devices: progress to 100 % and per-device outcomes', async () => {
    await openView(page, E().url, '#/jobs');
    await page.locator(tid('job-type-method')).check();
    await page.locator(tid('job-method')).selectOption('windows.rebootAsync');
    // The server wants a filter (never "every device" by accident): all 20 are connected.
    await page.locator(tid('job-filter-connection')).selectOption('Connected');
    await page.locator(tid('job-submit')).click();

    await page.locator(tid('job-progress')).waitFor();
    await until(
      async () =>
        (await page.locator(tid('job-progress')).getAttribute('value')) === '100' &&
        (await text('job-status')) === 'completed',
      'the progress bar at 100 % and the job completed',
      60000,
    );
    const rows = page.locator(tid('job-device-row'));
    await until(async () => (await rows.count()) === 20, '20 per-device outcomes');
    const outcomes = await rows.evaluateAll((trs) =>
      trs.map((tr) => ({
        id: (tr as unknown as { dataset: Obj }).dataset.deviceId,
        status: (tr as unknown as { dataset: Obj }).dataset.status,
        text: (tr as unknown as { textContent: string }).textContent,
      })),
    );
    assert.deepEqual(
      outcomes.map((o) => o.id).sort(),
      E().fleet.devices.map((d) => d.deviceId),
    );
    for (const o of outcomes) {
      assert.equal(o.status, 'completed', `${String(o.id)}: ${o.text}`);
      assert.match(o.text, /"status":200/, String(o.id));
    }
    // The job is in the list, completed; every device reported its reboot command.
    await until(
      async () => (await page.locator(`${tid('job-row')}[data-status="completed"]`).count()) >= 1,
      'the completed job in the list',
    );
    for (const d of E().fleet.devices) {
      const info = await reportedSection(E().fleet, d.deviceId, 'rebootInfo');
      assert.match(String(info?.lastRebootCmdTime), ISO, d.deviceId);
    }
  });

  it('refuses an out-of-range value with a visible message and sends nothing', async () => {
    const id = 'dev-01';
    await openView(page, E().url, `#/device/${id}`);
    await page.locator(tid('reported-timeInfo-state')).locator('*').first().waitFor();
    const version = ((await deviceTwin(id)).properties as { desired: Obj }).desired.$version;

    await page.locator(tid('desired-timeInfo-timeZoneBias')).fill('5000');
    await page.locator(tid('save-timeInfo')).click();
    const problems = page.locator(tid('desired-timeInfo-problems'));
    await problems.waitFor({ state: 'visible' });
    const message = (await problems.textContent()) ?? '';
    assert.match(message, /timeZoneBias|Bias/);
    assert.match(message, /1440/);
    assert.deepEqual(
      changes.map((r) => `${r.method()} ${r.url()}`),
      [],
      'a request was sent',
    );
    const after = ((await deviceTwin(id)).properties as { desired: Obj }).desired.$version;
    assert.equal(after, version);
  });

  it('asks to type the device id before a destructive method (factory reset)', async () => {
    const id = 'dev-03';
    await openView(page, E().url, `#/device/${id}`);
    const button = page.locator(tid('method-windows.startFactoryResetAsync'));
    const dialog = page.locator(tid('confirm-dialog'));
    const ok = page.locator(tid('confirm-ok'));
    const methodCalls = (): string[] =>
      changes.filter((r) => r.url().includes('/methods/')).map((r) => r.url());

    await button.click();
    await dialog.waitFor({ state: 'visible' });
    assert.ok(await ok.isDisabled());
    await page.locator(tid('confirm-input')).fill('dev-0');
    assert.ok(await ok.isDisabled());
    await page.locator(tid('confirm-input')).fill('dev-02');
    assert.ok(await ok.isDisabled(), 'another device id enables Confirm');
    await page.locator(tid('confirm-cancel')).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.deepEqual(methodCalls(), [], 'cancelled, yet a method was sent');

    await button.click();
    await dialog.waitFor({ state: 'visible' });
    await page.locator(tid('confirm-input')).fill(id);
    assert.ok(await ok.isEnabled());
    await ok.click();
    await dialog.waitFor({ state: 'hidden' });
    const result = page.locator(tid('method-windows.startFactoryResetAsync-result'));
    await until(
      async () => ['ok', 'failed'].includes((await result.getAttribute('data-outcome')) ?? ''),
      'the device answer',
    );
    assert.equal(methodCalls().length, 1);
    const sent = changes.find((r) => r.url().includes('/methods/'))!;
    assert.ok(sent.url().endsWith(`/api/devices/${id}/methods/windows.startFactoryResetAsync`));
    assert.equal((sent.postDataJSON() as Obj).confirm, id);
    assert.equal(
      await result.getAttribute('data-outcome'),
      'ok',
      (await result.textContent()) ?? '',
    );
    await until(
      async () => (await reportedSection(E().fleet, id, 'factoryReset')) !== undefined,
      'factoryReset reported',
    );
  });

  it('works from the keyboard: Tab reaches the device list and a Save button, Enter operates them', async () => {
    /** Presses Tab until the focused element has `testid` (at most `max` times). */
    async function tabTo(testid: string, max = 250): Promise<void> {
      for (let i = 0; i < max; i += 1) {
        await page.keyboard.press('Tab');
        const focused = await page.evaluate('document.activeElement?.dataset?.testid ?? null');
        if (focused === testid) return;
      }
      throw new Error(`Tab never reached ${testid}`);
    }
    await openView(page, E().url, '#/devices');
    await until(async () => (await rowIds()).length === 20, '20 device rows');
    await tabTo('filter-search');
    await page.keyboard.type('dev-01');
    await page.keyboard.press('Enter');
    await until(async () => (await rowIds()).join() === 'dev-01', 'only dev-01 listed');
    await tabTo('device-link');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#\/device\/dev-01$/);
    await page.locator(tid('reported-windowsTelemetry-state')).locator('*').first().waitFor();

    const current = (await reportedSection(E().fleet, 'dev-01', 'windowsTelemetry'))?.level;
    const target = current === 'full' ? 'security' : 'full';
    await tabTo('desired-windowsTelemetry-level');
    await page.keyboard.type(target.slice(0, 1)); // type-ahead picks the option
    assert.equal(await page.locator(tid('desired-windowsTelemetry-level')).inputValue(), target);
    await tabTo('save-windowsTelemetry');
    await page.keyboard.press('Enter');
    await until(
      async () => (await text('reported-windowsTelemetry-level')) === target,
      `reported level ${target}`,
    );
    assert.equal((await reportedSection(E().fleet, 'dev-01', 'windowsTelemetry'))?.level, target);
  });

  it('shows the server refusing a bad method payload in a fleet job, and schedules nothing', async () => {
    const jobsNow = async (): Promise<number> => {
      const res = await page.request.get(new URL('/api/jobs', E().url).toString());
      assert.equal(res.status(), 200);
      return ((await res.json()) as { jobs: unknown[] }).jobs.length;
    };
    await openView(page, E().url, '#/jobs');
    const before = await jobsNow();
    await page.locator(tid('job-method')).selectOption('windows.rebootAsync');
    await page.locator(tid('job-filter-connection')).selectOption('Connected');
    // Well-formed JSON (the page sends it), but not a request id the method accepts.
    await page.locator(tid('job-payload')).fill('{ "requestId": "not an id!" }');
    await page.locator(tid('job-submit')).click();
    const banner = page.locator(tid('error'));
    await banner.waitFor({ state: 'visible' });
    assert.match(await page.locator(tid('error-text')).innerText(), /requestId/);
    assert.equal(await banner.getAttribute('data-status'), '400');
    assert.equal(await jobsNow(), before);
  });

  it('captureScreenshots writes the PNGs (scripts/dashboard-screenshots.ts)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wdm-shots-'));
    try {
      const files = await captureScreenshots({
        url: E().url,
        devices: 20,
        deviceId: 'dev-01',
        outDir: dir,
        browser: browser!,
      });
      assert.deepEqual(
        files.map((f) => path.basename(f)),
        [...SCREENSHOTS],
      );
      for (const f of files) {
        assert.ok(existsSync(f), f);
        const png = readFileSync(f);
        assert.ok(png.length > 5000, `${f}: ${png.length} bytes`);
        assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG', f);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('updates the device list live when a device goes offline', async () => {
    await openView(page, E().url, '#/devices');
    await until(async () => (await rowIds()).length === 20, '20 device rows');
    await markPage();
    const row = page.locator(`${tid('device-row')}[data-device-id="dev-20"]`);
    assert.equal(await row.getAttribute('data-connection'), 'Connected');
    const device = E().fleet.devices.find((d) => d.deviceId === 'dev-20')!;
    await device.dm.detach(500);
    await device.client.close();
    await until(
      async () => (await row.getAttribute('data-connection')) === 'Disconnected',
      'dev-20 shown Disconnected',
    );
    assert.equal(await row.locator(tid('device-connection')).innerText(), 'Disconnected');
    assert.ok(await notReloaded(), 'the page was reloaded');
  });
});
