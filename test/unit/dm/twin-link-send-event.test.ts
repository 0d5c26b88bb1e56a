/**
 * `TwinLink.sendEvent`: `SdkTwinLink` builds an azure-iot-device `Message` (JSON body, content
 * type, application properties) and passes the transport's error on; a client without
 * `sendEvent` is refused; `MockTwinLink` records messages and injects failures; handlers reach it
 * through `ctx.sendMessage`.
 */
import assert from 'node:assert/strict';
import { Message } from 'azure-iot-device';
import { SdkTwinLink, type SdkClientLike } from '../../../lib/dm/twin-link';
import { MockTwinLink } from '../../../lib/testing/mock-twin-link';
import { Harness } from './fixture';

describe('dm/twin-link sendEvent (device-to-cloud messages)', () => {
  it('SdkTwinLink sends a JSON Message with the application properties', async () => {
    const sent: Message[] = [];
    const state: { fail?: Error } = {};
    const client = {
      sendEvent: async (m: Message) => {
        if (state.fail) throw state.fail;
        sent.push(m);
        return {};
      },
    } as unknown as SdkClientLike;
    const link = new SdkTwinLink(client);
    await link.sendEvent({ a: [1, 'x'] }, { MessageType: 'DHA-Nonce', other: 'v' });
    assert.equal(sent.length, 1);
    const m = sent[0]!;
    assert.ok(m instanceof Message);
    assert.deepEqual(JSON.parse(String(m.getData())), { a: [1, 'x'] });
    assert.equal(m.contentType, 'application/json');
    assert.equal(m.contentEncoding, 'utf-8');
    assert.equal(m.properties.getValue('MessageType'), 'DHA-Nonce');
    assert.equal(m.properties.getValue('other'), 'v');
    state.fail = new Error('transport down');
    await assert.rejects(link.sendEvent({}, {}), /transport down/);
    const none = new SdkTwinLink({} as unknown as SdkClientLike);
    await assert.rejects(none.sendEvent({}, {}), /cannot send device-to-cloud messages/);
  });

  it('MockTwinLink records messages, fails on demand and offline', async () => {
    const link = new MockTwinLink();
    await link.sendEvent({ x: 1 }, { k: 'v' });
    assert.deepEqual(link.events, [{ body: { x: 1 }, properties: { k: 'v' } }]);
    link.failEvents.push(new Error('injected'));
    await assert.rejects(link.sendEvent({}, {}), /injected/);
    link.disconnect();
    await assert.rejects(link.sendEvent({}, {}), /not connected/);
    assert.equal(link.events.length, 1);
  });

  it('a handler sends through ctx.sendMessage', async () => {
    const h = new Harness();
    try {
      await h.attach([
        {
          section: 'sender',
          nodes: [],
          methods: [
            {
              name: 'windows.sendIt',
              async invoke(_p, ctx) {
                await ctx.sendMessage({ hello: 'hub' }, { MessageType: 'test' });
                return { sent: true };
              },
            },
          ],
        },
      ]);
      const r = await h.link.invoke('windows.sendIt');
      assert.equal(r.status, 200);
      assert.deepEqual(h.link.events, [
        { body: { hello: 'hub' }, properties: { MessageType: 'test' } },
      ]);
    } finally {
      await h.cleanup();
    }
  });
});
