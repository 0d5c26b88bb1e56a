/**
 * What the dashboard's browser tests and the screenshot script share: Debian's chromium through
 * playwright-core (headless, a fresh profile folder per launch, removed on close), the simulated
 * fleet with a dashboard server in front of it, and condition waits (no fixed sleeps).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startDashboard } from '../../lib/dashboard';
import { startFleet, type Fleet, type FleetOptions } from './fleet';

/** Debian's chromium; `IOTDM_TEST_CHROMIUM` names another binary (or a missing one, to check the skip). */
export const CHROMIUM = process.env.IOTDM_TEST_CHROMIUM || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** True when Debian's chromium is installed (the browser tests skip without it). */
export function hasChromium(): boolean {
  return existsSync(CHROMIUM);
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium with a fresh `--user-data-dir` (playwright's persistent context), removed on close. */
export async function launchBrowser(
  viewport: { width: number; height: number } = { width: 1280, height: 900 },
): Promise<Browser> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'wdm-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport,
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface DashboardFleet {
  fleet: Fleet;
  /** The dashboard's base URL (`http://127.0.0.1:<port>/`). */
  url: string;
  stop(): Promise<void>;
}

/** The simulated fleet and a dashboard server (ephemeral port on 127.0.0.1) over its hub. */
export async function startDashboardFleet(options: FleetOptions = {}): Promise<DashboardFleet> {
  const fleet = await startFleet(options);
  try {
    const dashboard = await startDashboard({
      connectionString: fleet.serviceConnectionString,
      ca: fleet.ca,
      host: '127.0.0.1',
      port: 0,
      // Live updates in a test should not wait a second per poll.
      pollIntervalMs: 250,
    });
    return {
      fleet,
      url: dashboard.url,
      async stop() {
        await dashboard.close();
        await fleet.stop();
      },
    };
  } catch (err) {
    await fleet.stop();
    throw err;
  }
}

/**
 * Resolves when `check` returns a truthy value (polled every 50 ms); fails after `ms`, or at once
 * when `check` throws.
 */
export async function until<T>(
  check: () => Promise<T> | T,
  what: string,
  ms = 15000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `[data-testid="<id>"]` */
export function tid(id: string): string {
  return `[data-testid="${id}"]`;
}

/** Opens `hash` (e.g. `#/devices`) of the dashboard in `page` and waits for the view. */
export async function openView(page: Page, base: string, hash: string): Promise<void> {
  await page.goto(new URL(hash, base).toString());
  await page.locator(tid('main')).waitFor();
}

/** `until`, failing at once (with the message) when the page shows its error banner. */
export async function untilOnPage<T>(
  page: Page,
  check: () => Promise<T> | T,
  what: string,
  ms = 15000,
): Promise<NonNullable<T>> {
  return until(
    async () => {
      if (await page.locator(tid('error')).isVisible()) {
        throw new Error(
          `waiting for ${what}, the page shows an error: ${await page.locator(tid('error-text')).innerText()}`,
        );
      }
      return check();
    },
    what,
    ms,
  );
}
