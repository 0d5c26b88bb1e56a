/**
 * Captures real TPM 2.0 responses from a private swtpm as fuzzing seeds (docs/fuzzing.md):
 * LimpetTpm's everyday work (info, EK/SRK, registration id, URI slots, HMAC key, SAS HMAC) plus a
 * few error answers, each response written to test/fuzz/tpm_response_fuzz/corpus/<n>-<command>.bin
 * (the libFuzzer seeds) and all of them, with the command they answer, to
 * test/fuzz/tpm-responses.json (the seeds of the TypeScript unmarshaler property test).
 *
 *   npx tsx test/fuzz/capture-tpm-seeds.ts        (rerun only to refresh the seeds deliberately)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { NativeTpm } from '../../lib/native/contract';
import { LimpetTpm } from '../../lib/tpm/limpet';
import { TcpTpm } from '../../lib/tpm/tcp-transport';
import { getRandom, readPublic } from '../../lib/tpm/commands';
import { startSwtpm } from '../tpm/swtpm';

interface Captured {
  command: string;
  response: string;
}

async function main(): Promise<void> {
  const swtpm = await startSwtpm();
  const captured: Captured[] = [];
  const inner = new TcpTpm({ host: swtpm.host, port: swtpm.port });
  const recording: NativeTpm = {
    async submit(command: Uint8Array): Promise<Uint8Array> {
      const response = await inner.submit(command);
      captured.push({
        command: Buffer.from(command).toString('hex'),
        response: Buffer.from(response).toString('hex'),
      });
      return response;
    },
    info: () => inner.info(),
    close: () => inner.close(),
  };
  try {
    const limpet = new LimpetTpm(recording);
    await limpet.info();
    await limpet.endorsementKey();
    await limpet.storageRootKey();
    await limpet.registrationId();
    await limpet.storeUri(0, 'contoso.azure-devices.net/device-1');
    await limpet.readUri(0);
    await limpet.createHmacKey(0, Buffer.alloc(32, 7));
    await limpet.hmac(0, Buffer.from('contoso.azure-devices.net%2Fdevices%2Fdevice-1\n1767236400'));
    await limpet.destroyUri(0);
    await getRandom(recording, 16);
    // Error answers: a handle that does not exist.
    await readPublic(recording, 0x81ffffff).catch(() => undefined);
  } finally {
    await inner.close();
    await swtpm.stop();
  }
  const dir = path.join(__dirname, 'tpm_response_fuzz', 'corpus');
  mkdirSync(dir, { recursive: true });
  const seen = new Set<string>();
  const kept: Captured[] = [];
  for (const entry of captured) {
    if (seen.has(entry.response)) continue;
    seen.add(entry.response);
    kept.push(entry);
  }
  kept.forEach((entry, i) => {
    const cc = entry.command.slice(12, 20);
    writeFileSync(
      path.join(dir, `${String(i).padStart(2, '0')}-cc${cc}.bin`),
      Buffer.from(entry.response, 'hex'),
    );
  });
  writeFileSync(path.join(__dirname, 'tpm-responses.json'), `${JSON.stringify(kept, null, 2)}\n`);
  console.log(`captured ${captured.length} exchanges, kept ${kept.length} distinct responses`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
