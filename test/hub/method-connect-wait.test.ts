/**
 * Direct methods with `connectTimeoutInSeconds` on an offline device: many calls may wait for the
 * device at once (the chaos test, test/fault/, has a dozen): no MaxListenersExceededWarning, and
 * the waiting listeners are gone once the calls end.
 */
import assert from 'node:assert/strict';
import { NoRetry } from 'azure-iot-common';
import { Client as ServiceClient } from 'azure-iothub';
import { startLocalHub, trustHub } from './helpers/local-hub';

describe('hub: method calls waiting for a device to connect', () => {
  it('a dozen concurrent waits: no listener-leak warning, no listener left', async () => {
    const { hub, close } = await startLocalHub();
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      if (w.name === 'MaxListenersExceededWarning') warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      hub.core.registry.create('sleeper');
      const service = trustHub(ServiceClient.fromConnectionString(hub.connectionString), hub);
      service.setRetryPolicy(new NoRetry());
      const before = hub.core.listenerCount('connection');
      const calls = Array.from({ length: 12 }, () =>
        service
          .invokeDeviceMethod('sleeper', {
            methodName: 'm',
            payload: {},
            responseTimeoutInSeconds: 5,
            connectTimeoutInSeconds: 1,
          })
          .then(
            () => 'answered',
            (err: { responseBody?: string }) => String(err.responseBody),
          ),
      );
      const results = await Promise.all(calls);
      for (const r of results) assert.match(r, /DeviceNotOnline|404103/);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(warnings, []);
      assert.equal(hub.core.listenerCount('connection'), before);
    } finally {
      process.off('warning', onWarning);
      await close();
    }
  });
});
