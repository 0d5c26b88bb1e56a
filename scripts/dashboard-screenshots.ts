/**
 * Screenshots of the DM dashboard's main pages for the docs, taken in Debian's chromium against
 * the local hub and a simulated fleet (test/dashboard/fleet.ts): the device list, a device page,
 * the fleet job page after a job over every device, and the device list at phone width.
 *
 *   npx tsx scripts/dashboard-screenshots.ts [outDir]     (default docs/images)
 *
 * writes `dashboard-devices.png`, `dashboard-device.png`, `dashboard-job.png` and
 * `dashboard-phone.png`, then exits. `captureScreenshots` is also run by the browser tests (into
 * a temporary folder) so it keeps working.
 */
// First: the CSP emulator's state goes to a temporary file, not the user's own (as in the tests).
import '../test/helpers/emulator-state';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import {
  launchBrowser,
  openView,
  startDashboardFleet,
  tid,
  until,
  untilOnPage,
  type Browser,
} from '../test/dashboard/browser-env';
import { applyDesired, seedTelemetryFailures } from '../test/dashboard/fleet';

export const SCREENSHOTS = [
  'dashboard-devices.png',
  'dashboard-device.png',
  'dashboard-job.png',
  'dashboard-phone.png',
] as const;

export interface CaptureOptions {
  /** The dashboard's base URL. */
  url: string;
  /** How many devices the list shows (waited for). */
  devices: number;
  /** A device with every built-in handler (the device page). */
  deviceId: string;
  outDir: string;
  /** A browser to reuse (its context gets new pages); default one launched and closed here. */
  browser?: Browser;
}

async function rows(page: Page, n: number): Promise<void> {
  await until(async () => (await page.locator(tid('device-row')).count()) === n, `${n} rows`);
}

/** Takes the screenshots into `outDir`; resolves with the files written. */
export async function captureScreenshots(o: CaptureOptions): Promise<string[]> {
  mkdirSync(o.outDir, { recursive: true });
  const own = o.browser ? undefined : await launchBrowser();
  const browser = (o.browser ?? own)!;
  const files: string[] = [];
  const page = await browser.context.newPage();
  try {
    await page.setViewportSize({ width: 1280, height: 900 });
    const file = (name: string): string => {
      const f = path.join(o.outDir, name);
      files.push(f);
      return f;
    };

    await openView(page, o.url, '#/devices');
    await rows(page, o.devices);
    await page.screenshot({ path: file('dashboard-devices.png'), fullPage: true });

    await openView(page, o.url, `#/device/${encodeURIComponent(o.deviceId)}`);
    await page.locator(tid('reported-deviceInfo-state')).locator('*').first().waitFor();
    await page.locator(tid('reported-rebootInfo-lastBootTime')).waitFor();
    await page.screenshot({ path: file('dashboard-device.png') });

    await openView(page, o.url, '#/jobs');
    await page.locator(tid('job-method')).selectOption('windows.rebootAsync');
    await page.locator(tid('job-filter-connection')).selectOption('Connected');
    await page.locator(tid('job-submit')).click();
    await untilOnPage(
      page,
      async () => {
        const status = page.locator(tid('job-status'));
        return (await status.count()) > 0 && (await status.textContent()) === 'completed';
      },
      'the job completed',
      60000,
    );
    await until(
      async () => (await page.locator(tid('job-device-row')).count()) === o.devices,
      'every device outcome',
    );
    await page.screenshot({ path: file('dashboard-job.png'), fullPage: true });

    await page.setViewportSize({ width: 390, height: 844 });
    await openView(page, o.url, '#/devices');
    await rows(page, o.devices);
    await page.screenshot({ path: file('dashboard-phone.png') });
  } finally {
    await page.close().catch(() => undefined);
    await own?.close();
  }
  return files;
}

async function main(): Promise<void> {
  const outDir = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'docs', 'images'));
  const env = await startDashboardFleet({ devices: 20, full: 3 });
  try {
    // Something to see: two devices whose telemetry level failed, a managed device page.
    await seedTelemetryFailures(env.fleet, ['dev-05', 'dev-11']);
    await applyDesired(env.fleet, 'dev-01', {
      deviceInfo: {},
      windowsTelemetry: { level: 'basic' },
      rebootInfo: { singleRebootTime: '', dailyRebootTime: '2030-05-01T03:30:00Z' },
    });
    const files = await captureScreenshots({
      url: env.url,
      devices: 20,
      deviceId: 'dev-01',
      outDir,
    });
    for (const f of files) console.log(`wrote ${path.relative(process.cwd(), f)}`);
  } finally {
    await env.stop();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
