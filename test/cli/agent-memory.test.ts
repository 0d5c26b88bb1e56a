/**
 * What the idle `iotdm agent` holds (docs/memory.md), so that the memory gains cannot regress
 * silently: the agent runs as a child process against the local hub (through tsx, so every lib/
 * module is its own entry of `require.cache`), with a `--require` probe that, on SIGUSR2 once
 * the agent is ready, writes the loaded module files, the state of the SDK's mqtt-packet number
 * cache and whether V8's new space grows under allocation. No memory or time thresholds: memory figures are
 * measured by bench/agent-memory.ts.
 *
 * Also the choice of the young-generation setting (`youngGenerationChoice`), as a unit, and
 * `trimNativeHeap` (never loads the addon; the addon's own answers a boolean).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ENV_AGENT_MEMORY, youngGenerationChoice } from '../../lib/cli/agent-memory';
import { AgentProcess, bundleCli } from '../fault/agent-process';
import { startLocalHub } from '../hub/helpers/local-hub';

const ROOT = path.resolve(__dirname, '../..');
const BRANDING = path.join(ROOT, 'examples/oem/branding-handler.ts');

/** Preloaded into the agent: answers SIGUSR2 by writing what the process holds to $PROBE_OUT. */
const PROBE = `
const fs = require('node:fs');
const v8 = require('node:v8');
const { createRequire } = require('node:module');
const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
process.on('SIGUSR2', () => {
  // Allocation with survivors, which makes V8 grow a young generation that may grow.
  const newSpaceBefore = newSpace();
  let window = [];
  for (let i = 0; i < 2e6; i++) {
    window.push({ i, s: 'x' + i });
    if (window.length > 50000) window = [];
  }
  window = undefined;
  const newSpaceAfter = newSpace();
  const fromRoot = createRequire(require('node:path').join(process.env.PROBE_ROOT, 'package.json'));
  const fromDevice = createRequire(fromRoot.resolve('azure-iot-device-mqtt'));
  const fromBase = createRequire(fromDevice.resolve('azure-iot-mqtt-base'));
  const fromMqtt = createRequire(fromBase.resolve('mqtt'));
  const packetDir = require('node:path').dirname(fromMqtt.resolve('mqtt-packet'));
  const loaded = (f) => require.cache[require('node:path').join(packetDir, f)];
  const writer = loaded('writeToStream.js');
  const numbers = loaded('numbers.js');
  fs.writeFileSync(process.env.PROBE_OUT, JSON.stringify({
    modules: Object.keys(require.cache),
    cacheNumbers: writer ? writer.exports.cacheNumbers : null,
    numberCacheEntries: numbers ? Object.keys(numbers.exports.cache).length : null,
    newSpaceBefore,
    newSpaceAfter,
  }));
});
`;

interface Probe {
  modules: string[];
  cacheNumbers: boolean | null;
  numberCacheEntries: number | null;
  newSpaceBefore: number;
  newSpaceAfter: number;
}

/** What the agent must not load unless used (lib/ folders, packages). */
const LAZY_LIB = ['tpm', 'dashboard', 'service', 'provisioning', 'hub', 'attest', 'demo'];
const LAZY_PACKAGES = [
  'node-forge',
  '@azure/storage-blob',
  'azure-iothub',
  'azure-iot-provisioning-device',
  'azure-iot-provisioning-device-http',
  'aedes',
  'better-sqlite3',
];

const rel = (file: string): string => path.relative(ROOT, file).split(path.sep).join('/');
const libFolder = (file: string): string | undefined => /^lib\/([^/]+)\//.exec(rel(file))?.[1];
const packageOf = (file: string): string | undefined =>
  /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(rel(file))?.[1];

describe('iotdm agent at idle: what it loads and holds', function () {
  this.timeout(120_000);
  let work: string;
  let hubHandle: Awaited<ReturnType<typeof startLocalHub>>;
  let probeFile: string;
  /** The bundled agent's probe with the settings off, compared with the one with them on. */
  let defaults: Probe | undefined;

  before(async () => {
    work = mkdtempSync(path.join(os.tmpdir(), 'iotdm-agent-memory-'));
    probeFile = path.join(work, 'probe.cjs');
    writeFileSync(probeFile, PROBE);
    hubHandle = await startLocalHub({ bindAddress: '127.0.0.1' });
  });
  after(async () => {
    await hubHandle?.close();
    rmSync(work, { recursive: true, force: true });
  });

  /** Starts an agent, probes it once it is ready, stops it. */
  async function probeAgent(
    name: string,
    extraArgs: string[],
    env: NodeJS.ProcessEnv = {},
    bundle?: string,
  ) {
    const hub = hubHandle.hub;
    hub.core.registry.create(name);
    const out = path.join(work, `${name}.json`);
    const agent = new AgentProcess({
      connectionString: hub.deviceConnectionString(name),
      caPath: hub.caPath,
      stateDir: path.join(work, name),
      emulatorState: path.join(work, `${name}-emulator.json`),
      extraArgs,
      nodeArgs: ['--require', probeFile],
      env: { ...env, PROBE_OUT: out, PROBE_ROOT: ROOT },
      ...(bundle ? { bundle } : {}),
    });
    agent.start();
    try {
      await agent.ready;
      agent.child!.kill('SIGUSR2');
      const deadline = Date.now() + 20_000;
      while (!existsSync(out) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(existsSync(out), `the probe did not answer: ${agent.tail()}`);
      // The file is written in one call; read it once its JSON is complete.
      let probe: Probe | undefined;
      while (probe === undefined && Date.now() < deadline) {
        try {
          probe = JSON.parse(readFileSync(out, 'utf8')) as Probe;
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      assert.ok(probe, 'the probe wrote no JSON');
      return probe;
    } finally {
      await agent.stop();
    }
  }

  // Through tsx, so that each lib/ module is its own require.cache entry.
  it('with the built-in features: no TPM, hub, dashboard, service, provisioning or storage SDK code; no MQTT number table', async () => {
    const p = await probeAgent('mem-builtin', []);
    const files = p.modules.map(rel);
    // The probe sees the agent's modules (else the absences below would prove nothing).
    assert.ok(files.includes('lib/dm/client.ts'), 'lib/dm/client.ts loaded');
    assert.ok(files.includes('lib/features/index.ts'), 'lib/features/index.ts loaded');
    assert.ok(p.modules.some((f) => packageOf(f) === 'azure-iot-device-mqtt'));
    const lazyLib = files.filter((f) => LAZY_LIB.includes(libFolder(f) ?? ''));
    assert.deepEqual(lazyLib, [], 'lib/ modules the idle agent does not need');
    const lazyPackages = [...new Set(p.modules.map(packageOf))].filter(
      (n) => n !== undefined && LAZY_PACKAGES.includes(n),
    );
    assert.deepEqual(lazyPackages, [], 'packages the idle agent does not need');
    // The agent is connected, so the SDK's encoder has written packets: without the setting it
    // would have built its 65,536-entry number table.
    assert.equal(p.cacheNumbers, false);
    assert.equal(p.numberCacheEntries, 0);
  });

  // The CLI bundled (bundleCli): main.ts runs first, before tsx compiles anything, as
  // dist/lib/cli/main.js does; through tsx, the young generation may have grown before main.ts.
  // The handler (TypeScript) still loads lib/ through tsx, module by module.
  it('with an OEM handler that imports the package: still no certificate (node-forge) code; IOTDM_AGENT_MEMORY=default keeps the SDK number table', async function () {
    const bundle = bundleCli();
    if (!bundle) this.skip();
    const p = (defaults = await probeAgent(
      'mem-oem',
      ['--handler', BRANDING],
      { [ENV_AGENT_MEMORY]: 'default' },
      bundle,
    ));
    const files = p.modules.map(rel);
    assert.ok(files.includes('lib/index.ts'), 'the handler imported the package');
    assert.ok(!files.includes('lib/hub/tls/index.ts'), 'lib/hub/tls not loaded');
    assert.ok(!p.modules.some((f) => packageOf(f) === 'node-forge'), 'node-forge not loaded');
    // With the settings off, the SDK's own behaviour: the table exists.
    assert.equal(p.cacheNumbers, true);
    assert.equal(p.numberCacheEntries, 65536);
  });

  it('keeps the young generation at its size under allocation with many survivors (it grows with IOTDM_AGENT_MEMORY=default)', async function () {
    const bundle = bundleCli();
    if (!bundle || !defaults) this.skip();
    const p = await probeAgent('mem-young', [], {}, bundle);
    assert.equal(p.newSpaceAfter, p.newSpaceBefore);
    assert.ok(
      defaults.newSpaceAfter > p.newSpaceAfter,
      `with the defaults ${defaults.newSpaceAfter} > ${p.newSpaceAfter}`,
    );
  });
});

describe('youngGenerationChoice', () => {
  it('limits the young generation unless the user chose an option or asked for defaults', () => {
    assert.equal(youngGenerationChoice([], {}), 'limited');
    assert.equal(youngGenerationChoice(['--max-semi-space-size=8'], {}), 'user option');
    assert.equal(youngGenerationChoice(['--max_semi_space_size', '8'], {}), 'user option');
    assert.equal(
      youngGenerationChoice([], { NODE_OPTIONS: '--min-semi-space-size=2' }),
      'user option',
    );
    assert.equal(
      youngGenerationChoice([], { NODE_OPTIONS: '--max-old-space-size=200' }),
      'limited',
    );
    assert.equal(
      youngGenerationChoice(['--inspect'], { [ENV_AGENT_MEMORY]: 'default' }),
      'node default',
    );
  });
});

describe('trimNativeHeap', function () {
  this.timeout(60_000);
  it('does not load the addon; once it is loaded, asks it (a boolean answer)', () => {
    const script = `
      const load = require('./lib/native/load.ts');
      const nativeLoaded = () => Object.keys(require.cache).some((k) => k.endsWith('.node'));
      const out = { before: load.trimNativeHeap(), nativeAfterTrim: nativeLoaded() };
      const addon = load.loadAddon();
      out.nativeAfterLoad = nativeLoaded();
      out.addonHasTrim = typeof addon.trimNativeHeap;
      out.after = typeof load.trimNativeHeap();
      console.log(JSON.stringify(out));`;
    const stdout = execFileSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    const out = JSON.parse(stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
    assert.deepEqual(out, {
      before: false,
      nativeAfterTrim: false,
      nativeAfterLoad: true,
      addonHasTrim: 'function',
      after: 'boolean',
    });
  });
});
