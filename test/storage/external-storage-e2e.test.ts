/**
 * The `externalStorage` section end to end: real device SDK over the local hub, the DM engine
 * over the real addon + CSP emulator, and a real Azurite account. The section configures the
 * storage before the other sections of the same patch use it, reports the account without the
 * secret, fails alone on a bad connection string, unconfigures on `null`, and is applied again
 * after a restart without the connection string ever reaching the state folder.
 */
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { FeatureHandler, Json } from '../../lib/dm/handler';
import { s } from '../../lib/dm/schema';
import { createExternalStorage } from '../../lib/features/external-storage';
import type { ExternalStorage } from '../../lib/storage/contract';
import { AZURITE_KEY, type AzuriteHandle, useAzurite } from './azurite';
import {
  DmEnv,
  PERSONALIZATION,
  leafHandler,
  nextEvent,
  readNode,
  unique,
  useDmEnv,
} from '../dm/helpers';

type Obj = Record<string, unknown>;
/** Generous: the machine running the suite may be busy. */
const WAIT_MS = 20_000;
const LEAF = `${PERSONALIZATION}/LockScreenImageUrl`;

/** A section (default order) that downloads `{ blob }` and writes its text to a CSP leaf. */
function blobConsumer(storage: ExternalStorage): FeatureHandler {
  return {
    section: 'blobConsumer',
    nodes: [LEAF],
    desired: s.object({ blob: s.string({ maxLength: 200 }) }, { required: ['blob'] }),
    async apply(desired, ctx) {
      const file = await storage.download(desired.blob as string, { maxBytes: 1024 });
      try {
        await ctx.csp.put(LEAF, (await fsp.readFile(file.path, 'utf8')).trim());
      } finally {
        await file.remove();
      }
    },
    async report(ctx) {
      return { value: (await ctx.csp.get(LEAF).catch(() => '<not set>')) as Json };
    },
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

describe('externalStorage section (real SDK, local hub, CSP emulator, Azurite)', function () {
  this.timeout(60000);
  let env!: DmEnv;
  let azurite!: AzuriteHandle;
  useDmEnv((e) => (env = e));
  useAzurite((a) => (azurite = a));

  function assertNoSecret(id: string): void {
    const twin = JSON.stringify(env.hub.core.getTwin(id).properties.reported);
    assert.ok(!twin.includes(AZURITE_KEY), 'reported properties hold the account key');
    assert.ok(!twin.includes('AccountKey'), 'reported properties hold the connection string');
  }

  it('configures the storage before the other sections of the patch and hides the secret', async () => {
    const id = 'xs-apply';
    const { handler, storage } = createExternalStorage({
      retry: { delayMs: 5 },
      downloadDir: path.join(env.stateDir(), 'downloads'),
    });
    const text = unique('from-blob');
    // Seed the blob with a storage of its own (the section's is not configured yet).
    await createExternalStorage().storage.upload('assets/lock.txt', Buffer.from(text), {
      connectionString: azurite.connectionString,
    });
    const client = await env.openDevice(id);
    const dm = await env.attach(client, { handlers: [blobConsumer(storage), handler] });
    await env.waitForSubscriptions(id);
    assert.equal(storage.configured, false);

    env.setWindows(id, {
      blobConsumer: { blob: 'lock.txt' },
      externalStorage: { connectionString: azurite.connectionString, container: 'assets' },
    });
    const consumer = await env.waitForState(id, 'blobConsumer', 'completed', WAIT_MS);
    const section = await env.waitForState(id, 'externalStorage', 'completed', WAIT_MS);
    await dm.settled();
    assert.equal(await readNode(LEAF), text);
    assert.equal(consumer.value, text);
    assert.deepEqual(
      { ...section, lastChange: undefined },
      {
        container: 'assets',
        account: 'devstoreaccount1',
        connectionString: '<set>',
        lastChange: undefined,
      },
    );
    assert.equal(storage.configured, true);
    assertNoSecret(id);
  });

  it('a bad connection string fails the section alone, without the secret; null unconfigures', async () => {
    const id = 'xs-bad';
    const { handler, storage } = createExternalStorage();
    const leaf = leafHandler('xsLeaf');
    const client = await env.openDevice(id);
    const dm = await env.attach(client, { handlers: [handler, leaf] });
    await env.waitForSubscriptions(id);
    const secretKey = Buffer.alloc(64, 9).toString('base64');
    const url = `https://example.com/${unique('logo')}.png`;
    env.setWindows(id, {
      externalStorage: {
        connectionString: `AccountName=devstoreaccount1;AccountKey=${secretKey}x;BlobEndpoint=${azurite.blobEndpoint}`,
        container: 'assets',
      },
      xsLeaf: { url },
    });
    const failed = await env.waitForState(id, 'externalStorage', 'failed', WAIT_MS);
    await env.waitForState(id, 'xsLeaf', 'completed', WAIT_MS);
    await dm.settled();
    const lc = failed.lastChange as Obj;
    assert.equal(lc.errSubSystem, 'Storage');
    assert.equal(lc.errCode, 400);
    assert.match(String(lc.errContext), /AccountKey that is not base64/);
    assert.equal(failed.connectionString, '<not set>');
    assert.equal(failed.account, '<not set>');
    assert.equal(storage.configured, false);
    assert.equal(await readNode(`${PERSONALIZATION}/CompanyLogoUrl`), url);
    const twin = JSON.stringify(env.hub.core.getTwin(id).properties.reported);
    assert.ok(!twin.includes(secretKey.slice(0, 40)), 'the key reached the reported properties');

    // A good one, then null.
    // A twin patch merges: `container: null` removes the earlier one.
    env.setWindows(id, {
      externalStorage: { connectionString: azurite.connectionString, container: null },
    });
    const ok = await env.waitForState(id, 'externalStorage', 'completed', WAIT_MS);
    assert.equal(ok.container, '<not set>');
    assert.equal(storage.configured, true);
    await dm.settled();
    // Matched by version: the hub may show `completed` before the engine's `applied` event of
    // the previous patch fires. The patch reaches the device over MQTT, after this turn.
    const version = env.setWindows(id, { externalStorage: null });
    await nextEvent(
      dm,
      'applied',
      (e) => e.section === 'externalStorage' && e.version === version,
      WAIT_MS,
    );
    await dm.settled();
    await dm.flushReports();
    assert.equal(storage.configured, false);
    assert.equal(env.section(id, 'externalStorage'), undefined);
    assertNoSecret(id);
  });

  it('is applied again after a restart; the connection string is never in the state folder', async () => {
    const id = 'xs-restart';
    const stateDir = env.stateDir();
    const first = createExternalStorage();
    const client = await env.openDevice(id);
    const dm = await env.attach(client, { handlers: [first.handler], stateDir });
    await env.waitForSubscriptions(id);
    env.setWindows(id, {
      externalStorage: { connectionString: azurite.connectionString, container: 'assets' },
    });
    await env.waitForState(id, 'externalStorage', 'completed', WAIT_MS);
    await dm.settled();
    await dm.detach(500);

    const second = createExternalStorage();
    const dm2 = await env.attach(client, { handlers: [second.handler], stateDir });
    await dm2.settled();
    assert.equal(second.storage.configured, true);
    assert.equal(second.storage.container, 'assets');
    for (const file of await filesUnder(stateDir)) {
      const content = await fsp.readFile(file, 'utf8');
      assert.ok(!content.includes(AZURITE_KEY), `${file} holds the account key`);
    }
  });
});
