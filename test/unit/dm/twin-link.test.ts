import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { DeviceManagementClient } from '../../../lib/dm/client';
import type { Json, JsonObject } from '../../../lib/dm/handler';
import { silentLogger } from '../../../lib/dm/logger';
import { isTransient } from '../../../lib/dm/report-queue';
import { SdkTwinLink, sdkTwinError, type SdkClientLike } from '../../../lib/dm/twin-link';
import { ALPHA_LEVEL, alphaHandler, Harness } from './fixture';

interface Response {
  requestId: string;
  status: number;
  payload: unknown;
}

/** The parts of azure-iot-device's MQTT transport that SdkTwinLink touches. */
class FakeTransport extends EventEmitter {
  readonly responses: Response[] = [];
  #waiters = new Map<string, (r: Response) => void>();
  sendMethodResponse(response: Response, done: (err?: Error | null) => void): void {
    this.#record(response);
    done(null);
  }
  #record(r: Response): void {
    this.responses.push(r);
    this.#waiters.get(r.requestId)?.(r);
  }
  /** The service calls a method; resolves with the device's answer. */
  call(name: string, body: unknown, requestId: string): Promise<Response> {
    const p = new Promise<Response>((resolve) => this.#waiters.set(requestId, resolve));
    this.emit(`method_${name}`, { requestId, body });
    return p;
  }
  respond(r: Response): void {
    this.#record(r);
  }
}

class FakeTwin extends EventEmitter {
  readonly updates: unknown[] = [];
  failNext: Error | undefined;
  readonly properties: { desired: JsonObject; reported: Record<string, unknown> };
  constructor() {
    super();
    this.properties = {
      desired: { $version: 1 },
      reported: {
        $version: 1,
        update: (patch: unknown, done: (err?: Error) => void) => {
          const err = this.failNext;
          this.failNext = undefined;
          if (!err) this.updates.push(structuredClone(patch));
          setImmediate(() => done(err));
        },
      },
    };
  }
}

class FakeClient extends EventEmitter {
  readonly _transport = new FakeTransport();
  readonly twin = new FakeTwin();
  getTwinCalls = 0;
  onDeviceMethodCalls = 0;
  async getTwin(): Promise<FakeTwin> {
    this.getTwinCalls++;
    return this.twin;
  }
  onDeviceMethod(
    name: string,
    cb: (
      req: { payload?: unknown },
      res: { send(status: number, payload: unknown): Promise<unknown> },
    ) => void,
  ): void {
    this.onDeviceMethodCalls++;
    this._transport.on(`method_${name}`, (msg: { requestId: string; body: unknown }) =>
      cb(
        { payload: msg.body },
        {
          send: async (status, payload) => {
            this._transport.respond({ requestId: msg.requestId, status, payload });
          },
        },
      ),
    );
  }
}

function asSdk(c: FakeClient): SdkClientLike {
  return c as unknown as SdkClientLike;
}

const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

describe('dm/twin-link SdkTwinLink', () => {
  it('reads the twin as plain JSON (no functions), with $version', async () => {
    const client = new FakeClient();
    client.twin.properties.desired = { $version: 4, windows: { a: { b: 1 } } };
    const link = new SdkTwinLink(asSdk(client));
    const snap = await link.getTwin();
    assert.deepEqual(snap.desired, { $version: 4, windows: { a: { b: 1 } } });
    assert.deepEqual(snap.reported, { $version: 1 });
  });

  it('passes desired patches on, ignoring the full document re-fired by a read', async () => {
    const client = new FakeClient();
    const link = new SdkTwinLink(asSdk(client));
    const seen: JsonObject[] = [];
    link.onDesiredPatch((p) => seen.push(p));
    await link.getTwin();
    client.twin.emit('properties.desired', client.twin.properties.desired);
    client.twin.emit('properties.desired', { $version: 2, windows: { a: 1 } });
    assert.deepEqual(seen, [{ $version: 2, windows: { a: 1 } }]);
    link.close();
    client.twin.emit('properties.desired', { $version: 3 });
    assert.equal(seen.length, 1);
  });

  it('sends reported patches and rejects with the transport error', async () => {
    const client = new FakeClient();
    const link = new SdkTwinLink(asSdk(client));
    await link.updateReported({ windows: { a: 1 } });
    assert.deepEqual(client.twin.updates, [{ windows: { a: 1 } }]);
    client.twin.failNext = new Error('nope');
    await assert.rejects(link.updateReported({ b: 1 }), /nope/);
  });

  it('marks throttling and server errors from the SDK as retryable', async () => {
    assert.equal(isTransient(sdkTwinError(new Error('Throttling: slow down'))), true);
    assert.equal(
      (sdkTwinError(new Error('error 429001 too many')) as { statusCode?: number }).statusCode,
      429,
    );
    assert.equal(
      (sdkTwinError(new Error('503003 service unavailable')) as { statusCode?: number }).statusCode,
      503,
    );
    assert.equal(isTransient(sdkTwinError(new Error('400004 bad request'))), false);
    const client = new FakeClient();
    const link = new SdkTwinLink(asSdk(client));
    client.twin.failNext = new Error('Throttled');
    await assert.rejects(link.updateReported({ a: 1 }), (err: unknown) => isTransient(err));
  });

  describe('methods', () => {
    it('answers with the responder, parsing a JSON Buffer payload', async () => {
      const client = new FakeClient();
      const link = new SdkTwinLink(asSdk(client));
      const got: Array<Json | undefined> = [];
      link.onMethod('windows.x', async (_n, payload) => {
        got.push(payload);
        return { status: 200, body: { ok: true } };
      });
      const r = await client._transport.call('windows.x', json({ a: 1 }), 'r1');
      assert.deepEqual(r, { requestId: 'r1', status: 200, payload: { ok: true } });
      await client._transport.call('windows.x', Buffer.alloc(0), 'r2');
      assert.deepEqual(got, [{ a: 1 }, undefined]);
    });

    it('answers 400 to a payload that is not JSON, without calling the responder', async () => {
      const client = new FakeClient();
      const link = new SdkTwinLink(asSdk(client));
      let calls = 0;
      link.onMethod('windows.x', async () => {
        calls++;
        return { status: 200, body: null };
      });
      const r = await client._transport.call('windows.x', Buffer.from('{nope'), 'r1');
      assert.equal(r.status, 400);
      assert.equal(calls, 0);
    });

    it('answers 503 after close, and the next link on the same client takes over', async () => {
      const client = new FakeClient();
      const first = new SdkTwinLink(asSdk(client));
      first.onMethod('windows.x', async () => ({ status: 200, body: 'first' }));
      first.close();
      assert.equal((await client._transport.call('windows.x', undefined, 'r1')).status, 503);
      const second = new SdkTwinLink(asSdk(client));
      second.onMethod('windows.x', async () => ({ status: 200, body: 'second' }));
      const r = await client._transport.call('windows.x', undefined, 'r2');
      assert.deepEqual([r.status, r.payload], [200, 'second']);
      assert.equal(client.onDeviceMethodCalls, 1);
    });

    it('answers unknown methods under the prefix, and leaves other methods alone', async () => {
      const client = new FakeClient();
      const link = new SdkTwinLink(asSdk(client));
      link.onMethod('windows.known', async () => ({ status: 200, body: 'known' }));
      const unknown: string[] = [];
      assert.equal(
        link.onUnknownMethod('windows.', async (name) => {
          unknown.push(name);
          return { status: 404, body: { name } };
        }),
        true,
      );
      const r = await client._transport.call('windows.nope', json({}), 'r1');
      assert.deepEqual([r.status, r.payload], [404, { name: 'windows.nope' }]);
      const k = await client._transport.call('windows.known', undefined, 'r2');
      assert.equal(k.payload, 'known');
      assert.equal(client._transport.emit('method_other', { requestId: 'r3' }), false);
      assert.deepEqual(unknown, ['windows.nope']);
      assert.equal(client._transport.responses.length, 2);
    });

    it('says so when the transport gives no way to see unknown methods', () => {
      const client = new FakeClient();
      (client as unknown as { _transport?: unknown })._transport = undefined;
      const link = new SdkTwinLink(asSdk(client));
      assert.equal(
        link.onUnknownMethod('windows.', async () => ({ status: 404, body: null })),
        false,
      );
    });
  });

  it('reports connect and disconnect (the transport’s disconnect too) until closed', () => {
    const client = new FakeClient();
    const link = new SdkTwinLink(asSdk(client));
    const events: string[] = [];
    link.onConnect(() => events.push('connect'));
    link.onDisconnect(() => events.push('disconnect'));
    client._transport.emit('disconnect');
    client.emit('connect');
    client.emit('disconnect');
    link.close();
    client.emit('connect');
    client._transport.emit('disconnect');
    assert.deepEqual(events, ['disconnect', 'connect', 'disconnect']);
  });

  describe('the engine over an SDK client', () => {
    let h: Harness;
    beforeEach(() => {
      h = new Harness();
    });
    afterEach(() => h.cleanup());

    it('attaches to a Client-shaped object: applies, reports and answers methods', async () => {
      const client = new FakeClient();
      client.twin.properties.desired = { $version: 2, windows: { alpha: { level: 4 } } };
      const dm = await DeviceManagementClient.attach(asSdk(client), {
        handlers: [alphaHandler()],
        csp: h.csp,
        logger: silentLogger(),
        stateDir: h.stateDir,
      });
      h.clients.push(dm);
      await dm.flushReports();
      assert.equal(h.mock.node(ALPHA_LEVEL)?.value, '4');
      const alphaOf = (u: unknown): JsonObject | undefined =>
        ((u as JsonObject).windows as JsonObject | undefined)?.alpha as JsonObject | undefined;
      assert.ok(
        client.twin.updates.some(
          (u) =>
            alphaOf(u)?.level === 4 &&
            (alphaOf(u)?.lastChange as JsonObject | undefined)?.state === 'completed',
        ),
        JSON.stringify(client.twin.updates),
      );
      client.twin.emit('properties.desired', { $version: 3, windows: { alpha: { level: 6 } } });
      await dm.settled();
      await dm.flushReports();
      assert.equal(h.mock.node(ALPHA_LEVEL)?.value, '6');
      const r = await client._transport.call('windows.nope', undefined, 'm1');
      assert.equal(r.status, 404);
      const all = await client._transport.call('windows.reportAllAsync', undefined, 'm2');
      assert.equal(all.status, 200);
    });

    it('refuses something that is not a client', async () => {
      await assert.rejects(
        DeviceManagementClient.attach(null as unknown as SdkClientLike),
        /expected an azure-iot-device Client/,
      );
    });
  });
});
