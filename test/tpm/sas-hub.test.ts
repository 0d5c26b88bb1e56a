/**
 * A SAS token signed inside the TPM is accepted by the local IoT Hub: a device registered with a
 * known key, the key imported into a TPM slot (`importConnectionString`), and the real
 * azure-iot-device client connecting over MQTT with the TPM-made connection string.
 */
import assert from 'node:assert/strict';
import { Client as DeviceClient, Message } from 'azure-iot-device';
import { Mqtt } from 'azure-iot-device-mqtt';
import { LimpetTpm } from '../../lib/tpm/limpet';
import { TcpTpm } from '../../lib/tpm/tcp-transport';
import { startLocalHub } from '../hub/helpers/local-hub';
import { startSwtpm, type SwtpmHandle } from './swtpm';

describe('tpm/limpet SAS token with the local hub', function () {
  this.timeout(60000);
  let sim: SwtpmHandle;
  let channel: TcpTpm;
  let hub: Awaited<ReturnType<typeof startLocalHub>>;

  before(async () => {
    sim = await startSwtpm();
    channel = new TcpTpm({ host: sim.host, port: sim.port });
    hub = await startLocalHub();
  });
  after(async () => {
    await channel?.close();
    await sim?.stop();
    await hub?.close();
  });

  async function connect(connectionString: string): Promise<void> {
    const client = DeviceClient.fromConnectionString(connectionString, Mqtt);
    await client.setOptions({ ca: hub.hub.tls.caCertPem });
    try {
      await client.open();
      await client.sendEvent(new Message('from the TPM'));
    } finally {
      await client.close();
    }
  }

  it('the hub accepts the TPM-signed token and refuses one signed with another key', async () => {
    const limpet = new LimpetTpm(channel);
    hub.hub.core.registry.create('tpm-device');
    const cs = hub.hub.deviceConnectionString('tpm-device');
    await limpet.importConnectionString(3, cs);
    assert.equal(await limpet.readUri(3), `${hub.hub.deviceHost}/tpm-device`);
    const sas = await limpet.sasToken(3, 600);
    assert.match(
      sas.connectionString,
      /^HostName=[^;]+;DeviceId=tpm-device;SharedAccessSignature=SharedAccessSignature sr=/,
    );
    await connect(sas.connectionString);

    // Same URI, a different key in the TPM: the hub refuses the token.
    await limpet.createHmacKey(3, Buffer.alloc(32, 9));
    const wrong = await limpet.sasToken(3, 600);
    await assert.rejects(connect(wrong.connectionString), (e: unknown) => {
      assert.equal((e as Error).name, 'UnauthorizedError');
      return true;
    });
  });
});
