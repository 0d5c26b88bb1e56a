/**
 * Benchmark: the TPM layer over swtpm (a private simulator on 127.0.0.1, mssim framing over TCP,
 * started by the test fixture): a Limpet SAS token signed in the TPM (`sasToken`: NV_ReadPublic +
 * NV_Read of the slot URI + TPM2_HMAC), the EK read (`endorsementKey`: TPM2_ReadPublic + PEM),
 * a bare TPM2_ReadPublic, TPM HMAC of 5 KB (HMAC sequence), and node:crypto's HMAC / SAS token
 * side by side. Medians of `samples` runs after `warmup` (201 full, 51 quick). Targets (issue 8):
 * token < 10 ms, EK read < 20 ms.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { generateDeviceSasToken } from '../lib/hub/auth/sas';
import { readPublic } from '../lib/tpm/commands';
import { LimpetTpm } from '../lib/tpm/limpet';
import { TcpTpm } from '../lib/tpm/tcp-transport';
import { startSwtpm } from '../test/tpm/swtpm';
import { fromSamples, type BenchOptions, type Figure } from './model';
import type { Target } from './stats';
import { sample } from './stats';

export async function benchTpm(o: BenchOptions): Promise<Figure[]> {
  const samples = o.quick ? 51 : 201;
  const warmup = o.quick ? 10 : 20;
  const sim = await startSwtpm();
  const channel = new TcpTpm({ host: sim.host, port: sim.port });
  try {
    const limpet = new LimpetTpm(channel);
    const key = randomBytes(32);
    const keyB64 = key.toString('base64');
    await limpet.importConnectionString(
      0,
      `HostName=bench-hub.azure-devices.net;DeviceId=bench-device;SharedAccessKey=${keyB64}`,
    );
    const data = Buffer.from('bench-hub.azure-devices.net%2Fdevices%2Fbench-device\n1800000000');
    const big = randomBytes(5000);
    const rows: Array<[string, number[], Target | undefined]> = [
      [
        'SAS token signed in the TPM (`sasToken`)',
        await sample(() => limpet.sasToken(0, 3600), samples, warmup),
        { op: '<', value: 10, source: 'issue 8' },
      ],
      [
        'EK read (`endorsementKey`: ReadPublic + PEM)',
        await sample(() => limpet.endorsementKey(), samples, warmup),
        { op: '<', value: 20, source: 'issue 8' },
      ],
      [
        'TPM2_ReadPublic 0x81010001 alone',
        await sample(() => readPublic(channel, 0x81010001), samples, warmup),
        undefined,
      ],
      [
        'TPM HMAC-SHA256, 60 bytes (`hmac`)',
        await sample(() => limpet.hmac(0, data), samples, warmup),
        undefined,
      ],
      [
        'TPM HMAC-SHA256, 5000 bytes (HMAC sequence)',
        await sample(() => limpet.hmac(0, big), samples, warmup),
        undefined,
      ],
      [
        'node:crypto HMAC-SHA256, 60 bytes',
        await sample(async () => createHmac('sha256', key).update(data).digest(), samples, warmup),
        undefined,
      ],
      [
        'node:crypto SAS token (`generateDeviceSasToken`)',
        await sample(
          async () => generateDeviceSasToken('bench-hub.azure-devices.net', 'bench-device', keyB64),
          samples,
          warmup,
        ),
        undefined,
      ],
    ];
    return rows.map(([name, times, target]) =>
      fromSamples(name, 'ms', times, target ? { target } : {}),
    );
  } finally {
    await channel.close();
    await sim.stop();
  }
}

if (require.main === module) {
  benchTpm({ quick: false })
    .then((out) => console.log(JSON.stringify(out, null, 2)))
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
