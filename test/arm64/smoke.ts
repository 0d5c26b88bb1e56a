/**
 * The linux-arm64 prebuild smoke, run by scripts/test-arm64.sh under qemu-aarch64 with the arm64
 * Node from npm (compiled to JS first: no esbuild for arm64 here). Not a mocha file.
 *
 *   node smoke.js <tpm-socket>
 *
 * Checks: node-gyp-build picks prebuilds/linux-arm64/windows-iot-dm.node (no build/ exists);
 * CSP smoke over the shipped arm64 emulator library through AddonMdm (register, Get
 * ./DevDetail/SwV, Add/Replace/Get/Delete a policy); TPM smoke through AddonTpm over swtpm's Unix
 * socket (read the EK at 0x81010001, GetRandom). Prints one line per step with its time; exits 1
 * on the first failure.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { Csp } from '../../lib/csp/csp';
import { AddonMdm } from '../../lib/native/addon-mdm';
import { AddonTpm } from '../../lib/native/addon-tpm';
import { resolveMdmLibrary } from '../../lib/native/load';
import { packageRoot } from '../../lib/native/package-root';
import { getRandom, readPublic } from '../../lib/tpm/commands';

const POLICY = './Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart';
const EK_HANDLE = 0x81010001;

async function step<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
  const started = process.hrtime.bigint();
  const value = await fn();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(`arm64-smoke: ${name.padEnd(44)} ${ms.toFixed(0).padStart(6)} ms`);
  return value;
}

async function main(): Promise<void> {
  const tpmSocket = process.argv[2];
  assert.ok(tpmSocket, 'usage: smoke.js <tpm-socket>');
  assert.equal(process.arch, 'arm64', `expected an arm64 node, got ${process.arch}`);
  const root = packageRoot();
  const runtimeDir = path.join(root, 'prebuilds', 'linux-arm64');

  await step('node-gyp-build picks prebuilds/linux-arm64', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodeGypBuild = require('node-gyp-build') as { resolve: (dir: string) => string };
    assert.equal(nodeGypBuild.resolve(root), path.join(runtimeDir, 'windows-iot-dm.node'));
    assert.equal(resolveMdmLibrary(), path.join(runtimeDir, 'mdm_emulator.so'));
  });

  const csp = new Csp(new AddonMdm());
  const swv = await step('load + register + Get ./DevDetail/SwV', () => csp.get('./DevDetail/SwV'));
  assert.equal(typeof swv, 'string');
  assert.ok(String(swv).length > 0);
  await step('Add/Get/Replace/Get/Delete a policy', async () => {
    await csp.delete(POLICY).catch(() => undefined); // absent on a fresh device
    assert.equal((await csp.add(POLICY, 8)).status, 200);
    assert.equal(await csp.get(POLICY), 8);
    assert.equal((await csp.replace(POLICY, 10)).status, 200);
    assert.equal(await csp.get(POLICY), 10);
    assert.equal((await csp.delete(POLICY)).status, 200);
    await assert.rejects(csp.get(POLICY), (err: { status?: number }) => err.status === 404);
  });

  const tpm = new AddonTpm({ path: tpmSocket });
  try {
    const ek = await step('TPM2_ReadPublic EK 0x81010001', () => readPublic(tpm, EK_HANDLE));
    assert.ok(ek.name.length > 0, 'EK has a name');
    const random = await step('TPM2_GetRandom 16', () => getRandom(tpm, 16));
    assert.equal(random.length, 16);
    assert.notDeepEqual(random, Buffer.alloc(16));
    console.log(
      `arm64-smoke: ok (SwV ${String(swv)}, EK name ${Buffer.from(ek.name).toString('hex').slice(0, 16)}..., random ${random.toString('hex')})`,
    );
  } finally {
    await tpm.close();
  }
}

main().catch((err: unknown) => {
  console.error('arm64-smoke: FAILED', err);
  process.exit(1);
});
