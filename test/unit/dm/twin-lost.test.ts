/**
 * Twin requests whose answer never comes, and twin reads that fail transiently (found by the
 * chaos run, test/fault/chaos.test.ts): the SDK keeps a QoS-0 twin request waiting for ever when
 * the connection drops under it, and a full read that hits a 429 used to leave the device on an
 * old desired state (a `$version` gap) or stop the agent (at attach).
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { JsonObject } from '../../../lib/dm/handler';
import { isTransient } from '../../../lib/dm/report-queue';
import { SdkTwinLink, type SdkClientLike, type TwinSnapshot } from '../../../lib/dm/twin-link';
import { MockTwinLink } from '../../../lib/testing/mock-twin-link';
import { ALPHA_LEVEL, alphaHandler, counters, Harness } from './fixture';

/** An SDK client whose twin requests are never answered (the response was lost). */
class SilentClient extends EventEmitter {
  readonly _transport = new EventEmitter();
  gets = 0;
  getTwin(): Promise<never> {
    this.gets++;
    return new Promise<never>(() => undefined);
  }
  onDeviceMethod(): void {}
}

class ThrottledClient extends SilentClient {
  override getTwin(): Promise<never> {
    this.gets++;
    // What azure-iot-device-mqtt makes of `$iothub/twin/res/429`: a plain Error.
    return Promise.reject(new Error('ThrottlingException: 429001 Injected fault'));
  }
}

/** A MockTwinLink whose next `failGets` full reads fail with a throttling error. */
class FlakyLink extends MockTwinLink {
  failGets = 0;
  override async getTwin(): Promise<TwinSnapshot> {
    if (this.failGets > 0) {
      this.failGets--;
      throw Object.assign(new Error('throttled'), { statusCode: 429 });
    }
    return super.getTwin();
  }
}

describe('dm: lost twin answers and transient twin-read failures', () => {
  it('a twin GET in flight when the transport disconnects is rejected at once, as transient', async () => {
    const client = new SilentClient();
    const link = new SdkTwinLink(client as unknown as SdkClientLike, { twinTimeoutMs: 60_000 });
    const pending = link.getTwin();
    await new Promise((r) => setImmediate(r));
    client._transport.emit('disconnect');
    await assert.rejects(pending, (err: Error) => {
      assert.equal(err.name, 'NotConnectedError');
      assert.equal(isTransient(err), true);
      return true;
    });
    link.close();
  });

  it('a twin request with no answer is rejected after twinTimeoutMs, as transient', async () => {
    const client = new SilentClient();
    const link = new SdkTwinLink(client as unknown as SdkClientLike, { twinTimeoutMs: 30 });
    await assert.rejects(link.getTwin(), (err: Error) => {
      assert.equal(err.name, 'TimeoutError');
      assert.match(err.message, /no answer in 30 ms/);
      assert.equal(isTransient(err), true);
      return true;
    });
    link.close();
  });

  it('a throttled twin GET (a plain Error from the SDK) is marked transient', async () => {
    const link = new SdkTwinLink(new ThrottledClient() as unknown as SdkClientLike);
    await assert.rejects(link.getTwin(), (err: unknown) => isTransient(err));
    link.close();
  });

  it('a reported patch sent before the first read, whose own twin GET is throttled, is retryable', async () => {
    // The report queue drops a patch on a failure it takes for permanent: a method answered
    // while attach still reads the twin lost its report this way.
    const link = new SdkTwinLink(new ThrottledClient() as unknown as SdkClientLike);
    await assert.rejects(link.updateReported({ windows: { a: 1 } }), (err: unknown) =>
      isTransient(err),
    );
    link.close();
  });

  describe('DeviceManagementClient', () => {
    let h: Harness;
    beforeEach(() => {
      h = new Harness();
    });
    afterEach(() => h.cleanup());

    it('attach retries a first twin read that fails transiently', async () => {
      const link = new FlakyLink();
      link.failGets = 2;
      h.link = link;
      const dm = await h.attach([alphaHandler()]);
      assert.equal(link.twinReads, 1);
      await h.idle(dm);
    });

    it('a $version-gap re-read that is throttled is tried again: the change is applied without a reconnect', async () => {
      const link = new FlakyLink();
      h.link = link;
      const count = counters();
      const dm = await h.attach([alphaHandler(count)]);
      await h.idle(dm);
      // One notification is lost: the next one shows a gap, and the full read is throttled.
      link.connected = false;
      link.setDesired({ windows: { alpha: { level: 3 } } });
      link.connected = true;
      link.failGets = 1;
      link.setDesired({ windows: { alpha: { level: 4 } } });
      const deadline = Date.now() + 5000;
      while (h.mock.node(ALPHA_LEVEL)?.value !== '4' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
        await dm.settled();
      }
      assert.equal(h.mock.node(ALPHA_LEVEL)?.value, '4');
      assert.equal(link.failGets, 0);
      const alpha = h.section('alpha') as JsonObject;
      assert.equal((alpha.lastChange as JsonObject).state, 'completed');
    });
  });
});
