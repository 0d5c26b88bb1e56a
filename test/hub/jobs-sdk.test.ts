/**
 * IoT Hub jobs v2 on the local hub, driven by the real `azure-iothub` `JobClient`, with real
 * `azure-iot-device` MQTT clients as the devices.
 */
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { JobClient, Registry } from 'azure-iothub';
import { Client as DeviceClient } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import type { LocalHub } from '../../lib/hub/hub';
import { HUB_STOPPED_MESSAGE, type DeviceJobRecord, type JobDoc } from '../../lib/hub/jobs';
import { startLocalHub, trustHub } from './helpers/local-hub';
import { waitFor } from './helpers/mqtt-fixture';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function settled(jobs: JobClient, jobId: string, ms = 20000): Promise<JobDoc> {
  const start = Date.now();
  for (;;) {
    const { jobStatus } = await jobs.getJob(jobId);
    const doc = jobStatus as unknown as JobDoc;
    if (!['queued', 'running'].includes(doc.status)) return doc;
    if (Date.now() - start > ms) throw new Error(`job ${jobId} still ${doc.status}`);
    await sleep(50);
  }
}

describe('local hub jobs v2 with the real azure-iothub JobClient', function () {
  this.timeout(60000);
  let hub: LocalHub;
  let closeHub: () => Promise<void>;
  let registry: Registry;
  let jobs: JobClient;
  const devices: DeviceClient[] = [];

  before(async () => {
    ({ hub, close: closeHub } = await startLocalHub());
    registry = trustHub(Registry.fromConnectionString(hub.connectionString), hub);
    jobs = trustHub(JobClient.fromConnectionString(hub.connectionString), hub);
  });
  after(async () => {
    await closeHub();
  });
  afterEach(async () => {
    const all = devices.splice(0);
    await Promise.all(all.map((d) => d.close().catch(() => undefined)));
  });

  function addDevice(deviceId: string, tags: Record<string, unknown>): void {
    hub.core.putDevice(deviceId, { deviceId });
    hub.core.updateTwin(deviceId, { tags }, '*');
  }

  async function openDevice(deviceId: string): Promise<DeviceClient> {
    const client = DeviceClient.fromConnectionString(hub.deviceConnectionString(deviceId), Mqtt);
    devices.push(client);
    await client.setOptions({ ca: hub.tls.caCertPem });
    await client.open();
    return client;
  }

  it('runs a device method job over 100 connected devices (and fails the offline ones)', async () => {
    const t0 = Date.now();
    const online = Array.from({ length: 100 }, (_, i) => `m-${i}`);
    const offline = ['m-off-1', 'm-off-2', 'm-off-3'];
    for (const id of [...online, ...offline]) addDevice(id, { fleet: 'methods' });
    addDevice('m-other', { fleet: 'elsewhere' });
    const calls = new Map<string, unknown>();
    for (let i = 0; i < online.length; i += 25) {
      await Promise.all(
        online.slice(i, i + 25).map(async (id) => {
          const c = await openDevice(id);
          c.onDeviceMethod('reboot', (req, res) => {
            calls.set(id, req.payload);
            void res.send(200, { rebooted: id });
          });
        }),
      );
    }
    // onDeviceMethod subscribes asynchronously: wait until every device answers.
    await Promise.all(
      online.map(async (id) => {
        for (let i = 0; ; i++) {
          const ok = await hub.core
            .invokeMethod(id, 'reboot', 'probe', 5)
            .then(() => true)
            .catch(() => false);
          if (ok) return;
          if (i > 100) throw new Error(`${id} never answered`);
          await sleep(20);
        }
      }),
    );
    calls.clear();
    const opened = Date.now() - t0;

    const { jobStatus } = await jobs.scheduleDeviceMethod('method-job', "tags.fleet = 'methods'", {
      methodName: 'reboot',
      payload: { delay: 1 },
      responseTimeoutInSeconds: 10,
    });
    const scheduled = jobStatus as unknown as JobDoc;
    assert.equal(scheduled.jobId, 'method-job');
    assert.equal(scheduled.type, 'scheduleDeviceMethod');
    assert.ok(['queued', 'running'].includes(scheduled.status));

    const done = await settled(jobs, 'method-job');
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.deviceJobStatistics, {
      deviceCount: 103,
      failedCount: 3,
      succeededCount: 100,
      runningCount: 0,
      pendingCount: 0,
    });
    assert.ok(done.endTime && done.createdTime && done.startTime);
    assert.equal(calls.size, 100);
    assert.deepEqual(calls.get('m-42'), { delay: 1 });

    // Per-device outcomes through the SDK's query (IoT Hub's `FROM devices.jobs`).
    const q = registry.createQuery(
      "SELECT * FROM devices.jobs WHERE devices.jobs.jobId = 'method-job'",
      1000,
    );
    const rows = (await q.next()).result as unknown as DeviceJobRecord[];
    assert.equal(rows.length, 103);
    const byId = new Map(rows.map((r) => [r.deviceId, r]));
    assert.equal(byId.get('m-7')!.status, 'completed');
    assert.equal(byId.get('m-7')!.jobType, 'scheduleDeviceMethod');
    assert.deepEqual(byId.get('m-7')!.outcome, {
      deviceMethodResponse: { status: 200, payload: { rebooted: 'm-7' } },
    });
    assert.equal(byId.get('m-off-2')!.status, 'failed');
    assert.equal(byId.get('m-off-2')!.error!.code, 'DeviceNotOnline');
    const failed = await registry
      .createQuery(
        "SELECT deviceId FROM devices.jobs WHERE jobs.jobId = 'method-job' AND jobs.status = 'failed'",
      )
      .next();
    assert.deepEqual(
      (failed.result as unknown as { deviceId: string }[]).map((r) => r.deviceId).sort(),
      offline,
    );
    console.log(
      `      (100 clients opened in ${opened} ms, job in ${Date.now() - t0 - opened} ms)`,
    );
  });

  it('runs a twin update job: tags and desired of the queried devices, pushed to connected ones', async () => {
    for (const id of ['tw-1', 'tw-2', 'tw-3']) addDevice(id, { fleet: 'twins' });
    addDevice('tw-other', { fleet: 'no' });
    const patches = new Map<string, Record<string, unknown>>();
    for (const id of ['tw-1', 'tw-2']) {
      const c = await openDevice(id);
      const twin = await c.getTwin();
      twin.on('properties.desired', (p: Record<string, unknown>) => {
        if (p.interval !== undefined) patches.set(id, p);
      });
    }
    await jobs.scheduleTwinUpdate('twin-job', "tags.fleet = 'twins'", {
      etag: '*',
      tags: { updated: true },
      properties: { desired: { interval: 42 } },
    });
    const done = await settled(jobs, 'twin-job');
    assert.equal(done.status, 'completed');
    assert.equal(done.type, 'scheduleUpdateTwin');
    assert.equal(done.deviceJobStatistics.deviceCount, 3);
    assert.equal(done.deviceJobStatistics.succeededCount, 3);
    assert.equal(done.deviceJobStatistics.failedCount, 0);
    for (const id of ['tw-1', 'tw-2', 'tw-3']) {
      const { responseBody: t } = await registry.getTwin(id);
      assert.equal(t.tags.updated, true);
      assert.equal(t.properties.desired.interval, 42);
    }
    const { responseBody: other } = await registry.getTwin('tw-other');
    assert.equal(other.tags.updated, undefined);
    await waitFor(() => patches.size === 2, 5000, 'desired patches');
    assert.equal(patches.get('tw-1')!.interval, 42);
  });

  it('cancels a queued job; get, query with paging and filters; errors', async () => {
    const later = new Date(Date.now() + 3600_000);
    await jobs.scheduleDeviceMethod(
      'later-job',
      "tags.fleet = 'methods'",
      { methodName: 'reboot' },
      later,
      600,
    );
    const got = (await jobs.getJob('later-job')).jobStatus as unknown as JobDoc;
    assert.equal(got.status, 'queued');
    assert.equal(got.startTime, later.toISOString());
    assert.equal(got.maxExecutionTimeInSeconds, 600);
    const cancelled = (await jobs.cancelJob('later-job')).jobStatus as unknown as JobDoc;
    assert.equal(cancelled.status, 'cancelled');
    assert.equal(
      ((await jobs.getJob('later-job')).jobStatus as unknown as JobDoc).status,
      'cancelled',
    );

    await assert.rejects(
      jobs.scheduleDeviceMethod('later-job', "tags.x = 'y'", { methodName: 'm' }),
      { name: 'DeviceAlreadyExistsError' }, // the SDK's class for every 409
    );
    await assert.rejects(
      jobs.scheduleDeviceMethod('bad-cond', 'tags.x = = 1', { methodName: 'm' }),
      { name: 'ArgumentError' },
    );
    await assert.rejects(jobs.getJob('no-such-job'), /Not found/);

    const query = jobs.createQuery('scheduleDeviceMethod', undefined, 1);
    const ids: string[] = [];
    // Promise-style `next()` without an argument would restart from the first page (the SDK
    // only falls back to its own token in the callback form), so the token is passed.
    for (let n = 0; query.hasMoreResults; n++) {
      assert.ok(n < 10, 'paging does not end');
      const page = await query.next(query.continuationToken as string);
      assert.ok((page.result as unknown[]).length <= 1);
      ids.push(...(page.result as JobDoc[]).map((j) => j.jobId));
    }
    assert.ok(ids.includes('method-job') && ids.includes('later-job'));
    assert.ok(!ids.includes('twin-job'));
    const byStatus = await jobs.createQuery(undefined, 'cancelled').next();
    assert.deepEqual(
      (byStatus.result as JobDoc[]).map((j) => j.jobId),
      ['later-job'],
    );
  });

  it('keeps job records across a restart; a job running at shutdown is marked failed', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'wdm-jobs-'));
    try {
      let local = await startLocalHub({ dataDir });
      let client = trustHub(JobClient.fromConnectionString(local.hub.connectionString), local.hub);
      local.hub.core.putDevice('r-1', { deviceId: 'r-1' });
      await client.scheduleTwinUpdate('done-job', "deviceId = 'r-1'", { tags: { a: 1 } });
      await settled(client, 'done-job');
      await client.scheduleDeviceMethod(
        'queued-job',
        "deviceId = 'r-1'",
        { methodName: 'm' },
        new Date(Date.now() + 3600_000),
        60,
      );
      const running = local.hub.core.jobs.get('done-job');
      local.hub.core.store.putJob({
        jobId: 'running-job',
        type: 'scheduleUpdateTwin',
        status: 'running',
        createdTime: running.createdTime,
        doc: { ...running, jobId: 'running-job', status: 'running' } as unknown as Record<
          string,
          unknown
        >,
      });
      // Its per-device rows as the hub left them: one done, one in progress, one not reached.
      const row = (deviceId: string, status: DeviceJobRecord['status']): DeviceJobRecord => ({
        deviceId,
        jobId: 'running-job',
        jobType: 'scheduleUpdateTwin',
        status,
        createdDateTimeUtc: running.createdTime,
        lastUpdatedDateTimeUtc: running.createdTime,
      });
      local.hub.core.store.setMeta('deviceJobs:running-job', [
        row('r-1', 'completed'),
        row('r-2', 'running'),
        row('r-3', 'scheduled'),
      ]);
      await local.close();

      local = await startLocalHub({ dataDir });
      client = trustHub(JobClient.fromConnectionString(local.hub.connectionString), local.hub);
      const done = (await client.getJob('done-job')).jobStatus as unknown as JobDoc;
      assert.equal(done.status, 'completed');
      assert.equal(done.deviceJobStatistics.succeededCount, 1);
      const queued = (await client.getJob('queued-job')).jobStatus as unknown as JobDoc;
      assert.equal(queued.status, 'queued');
      const failed = (await client.getJob('running-job')).jobStatus as unknown as JobDoc;
      assert.equal(failed.status, 'failed');
      assert.equal(failed.statusMessage, HUB_STOPPED_MESSAGE);
      const rows = (
        await trustHub(Registry.fromConnectionString(local.hub.connectionString), local.hub)
          .createQuery("SELECT * FROM devices.jobs WHERE devices.jobs.jobId = 'running-job'")
          .next()
      ).result as unknown as DeviceJobRecord[];
      assert.deepEqual(
        rows.map((r) => [r.deviceId, r.status, r.error?.description]),
        [
          ['r-1', 'completed', undefined],
          ['r-2', 'failed', HUB_STOPPED_MESSAGE],
          ['r-3', 'canceled', undefined],
        ],
      );
      await local.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
