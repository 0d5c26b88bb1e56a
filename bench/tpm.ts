/**
 * Benchmark: the TPM layer over swtpm (a private simulator on 127.0.0.1, mssim framing over TCP,
 * started by the test fixture): a Limpet SAS token signed in the TPM (`sasToken`: NV_ReadPublic +
 * NV_Read of the slot URI + TPM2_HMAC), the EK read (`endorsementKey`: TPM2_ReadPublic + PEM),
 * a bare TPM2_ReadPublic, TPM HMAC of 5 KB (HMAC sequence), and node:crypto's HMAC / SAS token
 * side by side. Medians of `samples` runs after `warmup`. Targets: token < 10 ms, EK read < 20 ms.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { generateDeviceSasToken } from '../lib/hub/auth/sas';
import { readPublic } from '../lib/tpm/commands';
import { LimpetTpm } from '../lib/tpm/limpet';
import { TcpTpm } from '../lib/tpm/tcp-transport';
import { startSwtpm } from '../test/tpm/swtpm';
import { median, percentile, sample, table } from './stats';

export async function benchTpm(samples = 201, warmup = 20): Promise<string> {
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
    const rows: Array<[string, number[], string]> = [
      [
        'SAS token signed in the TPM (`sasToken`)',
        await sample(() => limpet.sasToken(0, 3600), samples, warmup),
        '< 10 ms',
      ],
      [
        'EK read (`endorsementKey`: ReadPublic + PEM)',
        await sample(() => limpet.endorsementKey(), samples, warmup),
        '< 20 ms',
      ],
      [
        'TPM2_ReadPublic 0x81010001 alone',
        await sample(() => readPublic(channel, 0x81010001), samples, warmup),
        '',
      ],
      [
        'TPM HMAC-SHA256, 60 bytes (`hmac`)',
        await sample(() => limpet.hmac(0, data), samples, warmup),
        '',
      ],
      [
        'TPM HMAC-SHA256, 5000 bytes (HMAC sequence)',
        await sample(() => limpet.hmac(0, big), samples, warmup),
        '',
      ],
      [
        'node:crypto HMAC-SHA256, 60 bytes',
        await sample(async () => createHmac('sha256', key).update(data).digest(), samples, warmup),
        '',
      ],
      [
        'node:crypto SAS token (`generateDeviceSasToken`)',
        await sample(
          async () => generateDeviceSasToken('bench-hub.azure-devices.net', 'bench-device', keyB64),
          samples,
          warmup,
        ),
        '',
      ],
    ];
    return table(
      ['operation', 'median ms', 'p95 ms', 'target'],
      rows.map(([name, times, target]) => [
        name,
        median(times).toFixed(3),
        percentile(times, 95).toFixed(3),
        target,
      ]),
    );
  } finally {
    await channel.close();
    await sim.stop();
  }
}

if (require.main === module) {
  benchTpm()
    .then((out) => console.log(out))
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
