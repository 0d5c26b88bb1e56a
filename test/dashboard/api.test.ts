/**
 * The dashboard's JSON API (docs/dashboard-api.md) against a LocalHub with simulated devices
 * (`./api-fleet.ts`), through the real `azure-iothub` SDK the server uses: list and filters (the
 * IoT Hub query built), device and twin, desired patches with If-Match, methods, profile, live
 * events, fleet jobs with per-device outcomes; and that the connection string never leaves.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { Client as DeviceClient } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { startDashboard, type Dashboard } from '../../lib/dashboard';
import { ApiFleet, DM_DEVICE, OFFLINE_DEVICE, PLAIN_DEVICES, eventually } from './api-fleet';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers, checked by the asserts
type Loose = any;

interface Answer {
  status: number;
  headers: Headers;
  body: Loose;
  text: string;
}

describe('dashboard API', function () {
  this.timeout(60000);
  let fleet: ApiFleet;
  let dash: Dashboard;
  let base: string;
  let csrf: string;
  let key: string;
  const seen: string[] = [];
  const logs: string[] = [];

  async function call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const res = await fetch(base + path, {
      method,
      headers: {
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...(method !== 'GET' ? { 'X-Csrf-Token': csrf } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    seen.push(text, JSON.stringify([...res.headers]));
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  }

  /** Opens an event stream, collecting its events; resolves with a function closing it. */
  async function stream(
    path: string,
    events: Array<{ event: string; data: Loose }>,
  ): Promise<() => void> {
    const req = http.get(base + path);
    const res = await new Promise<http.IncomingMessage>((resolve) => req.once('response', resolve));
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buf += chunk;
      seen.push(chunk);
      let at: number;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
    });
    return () => req.destroy();
  }

  before(async () => {
    fleet = await ApiFleet.start();
    const cs = fleet.hub.connectionString;
    key = /SharedAccessKey=([^;]+)/.exec(cs)![1]!;
    dash = await startDashboard({
      connectionString: cs,
      ca: fleet.hub.tls.caCertPem,
      port: 0,
      pollIntervalMs: 100,
      log: (line) => logs.push(line),
    });
    base = dash.url.replace(/\/$/, '');
    const s = await call('GET', '/api/session');
    csrf = s.body.csrf;
  });
  after(async () => {
    await dash?.close();
    await fleet?.close();
  });

  it('session: csrf token and the hub host, on loopback without a token', async () => {
    assert.equal(dash.token, undefined);
    assert.match(dash.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const s = await call('GET', '/api/session');
    assert.equal(s.status, 200);
    assert.equal(typeof s.body.csrf, 'string');
    assert.ok(s.body.csrf.length >= 20);
    assert.equal(s.body.hub.host, fleet.hub.serviceHost);
    assert.equal(s.body.readOnly, false);
    assert.match(s.headers.get('content-security-policy')!, /default-src 'self'/);
    assert.equal(s.headers.get('x-content-type-options'), 'nosniff');
  });

  it('lists devices; filters become the IoT Hub query; paging; search', async () => {
    const all = await call('GET', '/api/devices');
    assert.equal(all.status, 200);
    assert.equal(all.body.query, 'SELECT * FROM devices');
    const ids = all.body.devices.map((d: { deviceId: string }) => d.deviceId).sort();
    assert.deepEqual(ids, [DM_DEVICE, ...PLAIN_DEVICES, OFFLINE_DEVICE].sort());
    const row = all.body.devices.find((d: { deviceId: string }) => d.deviceId === 'dash-02');
    assert.equal(row.connectionState, 'Connected');
    assert.deepEqual(row.sections, { rebootInfo: 'failed' });
    const dm = all.body.devices.find((d: { deviceId: string }) => d.deviceId === DM_DEVICE);
    // Reported before any desired change: no lastChange yet, so no state at a glance.
    assert.deepEqual(dm.sections, {});

    const failed = await call('GET', '/api/devices?section=rebootInfo&state=failed');
    assert.equal(
      failed.body.query,
      "SELECT * FROM devices WHERE properties.reported.windows.rebootInfo.lastChange.state = 'failed'",
    );
    assert.deepEqual(
      failed.body.devices.map((d: { deviceId: string }) => d.deviceId),
      ['dash-02'],
    );
    const offline = await call('GET', '/api/devices?connection=Disconnected');
    assert.equal(
      offline.body.query,
      "SELECT * FROM devices WHERE connectionState = 'Disconnected'",
    );
    assert.deepEqual(
      offline.body.devices.map((d: { deviceId: string }) => d.deviceId),
      [OFFLINE_DEVICE],
    );
    const both = await call(
      'GET',
      '/api/devices?section=rebootInfo&state=completed&connection=Connected',
    );
    assert.equal(both.body.devices.length, PLAIN_DEVICES.length - 1);

    const page1 = await call('GET', '/api/devices?top=3');
    assert.equal(page1.body.devices.length, 3);
    assert.equal(typeof page1.body.continuation, 'string');
    const page2 = await call(
      'GET',
      `/api/devices?top=3&continuation=${encodeURIComponent(page1.body.continuation)}`,
    );
    assert.equal(page2.body.devices.length, 3);
    assert.notDeepEqual(page1.body.devices, page2.body.devices);

    const search = await call('GET', '/api/devices?search=SH-07');
    assert.deepEqual(
      search.body.devices.map((d: { deviceId: string }) => d.deviceId),
      ['dash-07'],
    );
  });

  it('refuses unknown filters and values (never spliced into the query)', async () => {
    for (const q of [
      "section=rebootInfo'%20OR%20'1'='1&state=failed",
      'section=rebootInfo&state=broken',
      'state=failed',
      'connection=maybe',
      'top=0',
      'top=5000',
      'color=red',
    ]) {
      const r = await call('GET', `/api/devices?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.body.error.code, 'BadRequest');
      assert.ok(r.body.error.message.length > 5);
    }
  });

  it('gets one device with its desired and reported windows sections; 404 unknown', async () => {
    const d = await call('GET', `/api/devices/${DM_DEVICE}`);
    assert.equal(d.status, 200);
    assert.equal(d.body.deviceId, DM_DEVICE);
    assert.equal(d.body.connectionState, 'Connected');
    assert.equal(typeof d.body.etag, 'string');
    assert.equal(d.body.reported.windowsTelemetry.level, 'basic');
    assert.deepEqual(d.body.desired, {});
    const missing = await call('GET', '/api/devices/no-such-device');
    assert.equal(missing.status, 404);
    assert.match(missing.body.error.message, /no-such-device/);
    const bad = await call('GET', "/api/devices/bad'id");
    assert.equal(bad.status, 400);
  });

  it('PATCH desired with If-Match: 200 and the device applies it; 412 stale; 400 bad', async () => {
    const before = await call('GET', `/api/devices/${DM_DEVICE}`);
    const ok = await call(
      'PATCH',
      `/api/devices/${DM_DEVICE}/desired`,
      { windows: { windowsTelemetry: { level: 'full' } } },
      { 'If-Match': `"${before.body.etag}"` },
    );
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.body.desired.windowsTelemetry, { level: 'full' });
    assert.notEqual(ok.body.etag, before.body.etag);
    await eventually(
      async () =>
        (await call('GET', `/api/devices/${DM_DEVICE}`)).body.reported.windowsTelemetry?.level ===
        'full',
      8000,
      'reported level full',
    );

    const stale = await call(
      'PATCH',
      `/api/devices/${DM_DEVICE}/desired`,
      { windows: { windowsTelemetry: { level: 'security' } } },
      { 'If-Match': before.body.etag },
    );
    assert.equal(stale.status, 412);
    assert.equal(stale.body.error.code, 'EtagMismatch');

    const etag = (await call('GET', `/api/devices/${DM_DEVICE}`)).body.etag as string;
    const cases: Array<[unknown, RegExp, Record<string, string>?]> = [
      [{ windows: { windowsTelemetry: { level: 'max' } } }, /windowsTelemetry.*level/],
      [{ windows: { windowsTelemetry: { level: 'full', extra: 1 } } }, /extra/],
      [{ windows: { noSuchSection: {} } }, /noSuchSection is not a known section/],
      [{ windows: { rebootCmd: {} } }, /rebootCmd is reported by the device only/],
      [{ windows: {} }, /empty/],
      [{ windows: { windowsTelemetry: { level: 'full' } }, tags: {} }, /unknown field "tags"/],
      [{ windows: { windowsTelemetry: { level: 'full' } } }, /If-Match/, { 'If-Match': '' }],
    ];
    for (const [body, message, headers] of cases) {
      const r = await call('PATCH', `/api/devices/${DM_DEVICE}/desired`, body, {
        'If-Match': etag,
        ...(headers ?? {}),
      });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.error.message, message);
    }
    // Nothing of the refused patches reached the twin.
    assert.equal((await call('GET', `/api/devices/${DM_DEVICE}`)).body.etag, etag);
  });

  it('profile: download the desired windows object; upload applies it with If-Match', async () => {
    const p = await call('GET', `/api/devices/${DM_DEVICE}/profile`);
    assert.equal(p.status, 200);
    assert.match(
      p.headers.get('content-disposition')!,
      /attachment; filename="dash-01-profile.json"/,
    );
    assert.deepEqual(p.body, { windowsTelemetry: { level: 'full' } });
    const etag = (await call('GET', `/api/devices/${DM_DEVICE}`)).body.etag as string;
    const put = await call(
      'PUT',
      `/api/devices/${DM_DEVICE}/profile`,
      { windowsTelemetry: { level: 'basic' } },
      { 'If-Match': etag },
    );
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(put.body.desired.windowsTelemetry, { level: 'basic' });
    const bad = await call(
      'PUT',
      `/api/devices/${DM_DEVICE}/profile`,
      { windowsTelemetry: 'loud' },
      { 'If-Match': put.body.etag },
    );
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /windowsTelemetry/);
  });

  it('methods: 200 answer; 504 offline; unknown method 400; destructive needs confirm', async () => {
    const r = await call('POST', '/api/devices/dash-03/methods/windows.getWifiDetails', {});
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body, {
      status: 200,
      payload: { response: 'accepted', method: 'windows.getWifiDetails' },
    });
    const off = await call(
      'POST',
      `/api/devices/${OFFLINE_DEVICE}/methods/windows.rebootAsync`,
      {},
    );
    assert.equal(off.status, 504);
    assert.equal(off.body.error.code, 'DeviceOffline');
    assert.match(off.body.error.message, /dash-08 is offline/);
    const unknownDevice = await call('POST', '/api/devices/nobody/methods/windows.rebootAsync', {});
    assert.equal(unknownDevice.status, 404);
    const unknown = await call('POST', '/api/devices/dash-03/methods/windows.formatDisk', {});
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /not a known method/);
    const badPayload = await call('POST', '/api/devices/dash-03/methods/windows.rebootAsync', {
      payload: { requestId: 7 },
    });
    assert.equal(badPayload.status, 400);
    const badTimeout = await call('POST', '/api/devices/dash-03/methods/windows.rebootAsync', {
      timeoutSeconds: 1,
    });
    assert.equal(badTimeout.status, 400);

    const before = fleet.calls.length;
    const reset = await call(
      'POST',
      '/api/devices/dash-03/methods/windows.startFactoryResetAsync',
      {},
    );
    assert.equal(reset.status, 400);
    assert.match(reset.body.error.message, /destructive.*confirm/);
    const wrong = await call(
      'POST',
      '/api/devices/dash-03/methods/windows.startFactoryResetAsync',
      {
        confirm: 'dash-04',
      },
    );
    assert.equal(wrong.status, 400);
    assert.equal(fleet.calls.length, before, 'no destructive call reached a device');
    const confirmed = await call(
      'POST',
      '/api/devices/dash-03/methods/windows.startFactoryResetAsync',
      { confirm: 'dash-03' },
    );
    assert.equal(confirmed.status, 200, confirmed.text);
    assert.equal(fleet.calls.at(-1)!.method, 'windows.startFactoryResetAsync');
  });

  it('live: a twin event after a reported change, only for the watched device', async () => {
    const events: Array<{ event: string; data: Loose }> = [];
    const stop = await stream('/api/events?device=dash-04', events);
    try {
      await new Promise((r) => setTimeout(r, 400)); // the watcher's baseline poll
      await fleet.report('dash-05', { wifi: { profiles: {} } });
      await fleet.report('dash-04', { timeInfo: { timeZoneKeyName: 'UTC' } });
      await eventually(() => events.some((e) => e.event === 'twin'), 8000, 'a twin event');
      const twin = events.find((e) => e.event === 'twin')!;
      assert.equal(twin.data.deviceId, 'dash-04');
      assert.deepEqual(twin.data.reported.timeInfo, { timeZoneKeyName: 'UTC' });
      assert.equal(typeof twin.data.etag, 'string');
      assert.ok(!events.some((e) => e.data.deviceId === 'dash-05'));
    } finally {
      stop();
    }
    const bad = await call('GET', "/api/events?device=a'b");
    assert.equal(bad.status, 400);
  });

  it('live, every device: device events when a device connects and disconnects', async () => {
    const events: Array<{ event: string; data: Loose }> = [];
    const stop = await stream('/api/events', events);
    try {
      await new Promise((r) => setTimeout(r, 400)); // the watcher's baseline poll
      const client = DeviceClient.fromConnectionString(
        fleet.hub.deviceConnectionString(OFFLINE_DEVICE),
        Mqtt,
      );
      await client.setOptions({ ca: fleet.hub.tls.caCertPem });
      await client.open();
      const seenState = (state: string): boolean =>
        events.some(
          (e) =>
            e.event === 'device' &&
            e.data.deviceId === OFFLINE_DEVICE &&
            e.data.connectionState === state,
        );
      try {
        await eventually(() => seenState('Connected'), 8000, 'a Connected device event');
      } finally {
        await client.close();
      }
      await eventually(() => seenState('Disconnected'), 8000, 'a Disconnected device event');
      const d = events.find((e) => e.event === 'device')!;
      assert.deepEqual(Object.keys(d.data).sort(), [
        'connectionState',
        'deviceId',
        'lastActivityTime',
      ]);
    } finally {
      stop();
    }
  });

  it('fleet method job over 7 devices: progress and per-device outcomes', async () => {
    const ids = [...PLAIN_DEVICES, OFFLINE_DEVICE];
    const made = await call('POST', '/api/jobs', {
      type: 'method',
      method: {
        name: 'windows.rebootAsync',
        payload: { requestId: 'fleet-1' },
        timeoutSeconds: 10,
      },
      filter: { deviceIds: ids },
    });
    assert.equal(made.status, 200, made.text);
    const jobId = made.body.jobId as string;
    let job: Answer;
    await eventually(
      async () => {
        job = await call('GET', `/api/jobs/${jobId}`);
        return job.body.status === 'completed';
      },
      20000,
      'job completed',
    );
    assert.equal(job!.body.type, 'method');
    assert.deepEqual(job!.body.progress, {
      total: 7,
      succeeded: 6,
      failed: 1,
      running: 0,
      pending: 0,
    });
    const byId = new Map(
      (job!.body.devices as Array<{ deviceId: string; status: string; outcome: Loose }>).map(
        (d) => [d.deviceId, d],
      ),
    );
    assert.equal(byId.size, 7);
    assert.equal(byId.get('dash-02')!.status, 'completed');
    assert.deepEqual(byId.get('dash-02')!.outcome, {
      status: 200,
      payload: { response: 'accepted', method: 'windows.rebootAsync' },
    });
    assert.equal(byId.get(OFFLINE_DEVICE)!.status, 'failed');
    assert.equal(byId.get(OFFLINE_DEVICE)!.outcome.error.code, 'DeviceNotOnline');
    assert.deepEqual(
      fleet.calls.filter((c) => c.method === 'windows.rebootAsync').map((c) => c.payload),
      PLAIN_DEVICES.map(() => ({ requestId: 'fleet-1' })),
    );
    const list = await call('GET', '/api/jobs');
    const mine = list.body.jobs.find((j: { jobId: string }) => j.jobId === jobId);
    assert.equal(mine.status, 'completed');
    assert.equal(mine.progress.total, 7);
  });

  it('fleet twin job: a checked desired patch over a section filter', async () => {
    const made = await call('POST', '/api/jobs', {
      type: 'twin',
      patch: { windows: { windowsTelemetry: { level: 'security' } } },
      filter: { section: 'windowsTelemetry', state: 'completed' },
    });
    assert.equal(made.status, 200, made.text);
    assert.equal(
      made.body.query,
      "properties.reported.windows.windowsTelemetry.lastChange.state = 'completed'",
    );
    await eventually(
      () =>
        (fleet.reportedWindows(DM_DEVICE).windowsTelemetry as { level?: string }).level ===
        'security',
      15000,
      'the DM device applied the job patch',
    );
    const job = await call('GET', `/api/jobs/${made.body.jobId}`);
    assert.equal(job.body.type, 'twin');
    assert.deepEqual(
      job.body.devices.map((d: { deviceId: string }) => d.deviceId),
      [DM_DEVICE],
    );
  });

  it('refuses bad jobs: destructive method, no filter, bad patch, unknown job', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [
        {
          type: 'method',
          method: { name: 'windows.startRemoteWipeAsync' },
          filter: { connection: 'Connected' },
        },
        /destructive/,
      ],
      [{ type: 'method', method: { name: 'windows.rebootAsync' }, filter: {} }, /needs a filter/],
      [
        {
          type: 'twin',
          patch: { windows: { wifi: 'everything' } },
          filter: { deviceIds: ['dash-02'] },
        },
        /wifi/,
      ],
      [
        {
          type: 'twin',
          patch: { windows: { timeInfo: {} } },
          filter: { deviceIds: ["x' OR '1'='1"] },
        },
        /device id/,
      ],
      [{ type: 'reboot' }, /type must be/],
    ];
    for (const [body, message] of cases) {
      const r = await call('POST', '/api/jobs', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.error.message, message);
    }
    assert.equal((await call('GET', '/api/jobs/no-such-job')).status, 404);
  });

  it('unknown API routes, wrong methods, oversized and non-JSON bodies', async () => {
    assert.equal((await call('GET', '/api/nothing')).status, 404);
    assert.equal((await call('DELETE', '/api/devices/dash-02')).status, 405);
    const big = await call('POST', '/api/jobs', { type: 'twin', pad: 'x'.repeat(70 * 1024) });
    assert.equal(big.status, 413);
    const res = await fetch(`${base}/api/jobs`, {
      method: 'POST',
      headers: { 'X-Csrf-Token': csrf, 'Content-Type': 'text/plain' },
      body: 'type=method',
    });
    assert.equal(res.status, 415);
  });

  it('the connection string and its key never appear in any answer or log line', () => {
    assert.ok(seen.length > 50);
    for (const text of [...seen, ...logs]) {
      assert.ok(!text.includes(key), 'the SharedAccessKey leaked');
      assert.ok(!text.includes('SharedAccessKey='), 'a connection string leaked');
    }
    assert.ok(logs.some((l) => /^PATCH \/api\/devices\/dash-01\/desired 412$/.test(l)));
  });
});
