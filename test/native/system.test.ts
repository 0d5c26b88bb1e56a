/**
 * The addon's system part over the REAL addon and CSP emulator library: the emulated time zone
 * (default, by key name, explicit rules, refused input), its persistence in the emulator's state
 * file across processes, the boot time an emulated RebootNow moves, control of the allowlisted
 * w32time service (and refusal of any other name), and a conformance check that MockSystem and
 * AddonSystem agree on the NativeSystem contract's basic behaviour.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  AddonSystem,
  Csp,
  InvalidArgumentError,
  MdmApiError,
  MdmUnavailableError,
  checkServiceChange,
  checkServiceName,
  checkTimeZone,
  defaultNativeSystem,
  type NativeSystem,
  type TimeZoneInfo,
} from '../../lib';
import { loadAddon } from '../../lib/native/load';
import { MockSystem, UTC_ZONE } from '../../lib/testing';

const ROOT = resolve(__dirname, '../..');

const PACIFIC: TimeZoneInfo = {
  keyName: 'Pacific Standard Time',
  bias: 480,
  standardName: 'Pacific Standard Time',
  standardBias: 0,
  standardDate: { month: 11, week: 1, dayOfWeek: 0, hour: 2, minute: 0 },
  daylightName: 'Pacific Daylight Time',
  daylightBias: -60,
  daylightDate: { month: 3, week: 2, dayOfWeek: 0, hour: 2, minute: 0 },
  dynamicDaylightTimeDisabled: false,
};

const CUSTOM: TimeZoneInfo = {
  keyName: '',
  bias: -345,
  standardName: 'Custom Standard Time',
  standardBias: 0,
  standardDate: { month: 10, week: 5, dayOfWeek: 6, hour: 4, minute: 30 },
  daylightName: 'Custom Daylight Time',
  daylightBias: -30,
  daylightDate: { month: 4, week: 1, dayOfWeek: 1, hour: 1, minute: 15 },
  dynamicDaylightTimeDisabled: true,
};

/** Only the key name: the system looks the rules up. */
function byKey(keyName: string): TimeZoneInfo {
  return { keyName, dynamicDaylightTimeDisabled: false } as TimeZoneInfo;
}

// Runs `steps` (a JS body with `system` in scope, returning a JSON-able value) in a new node
// process on the state file `state`.
const CHILD = `
const { AddonSystem } = require(${JSON.stringify(join(ROOT, 'lib'))});
const system = new AddonSystem();
(async () => {
  try {
    const out = await (async () => { ${'${STEPS}'} })();
    process.stdout.write(JSON.stringify({ ok: out }));
  } catch (e) {
    process.stdout.write(JSON.stringify({ error: e.code, hresult: e.hresult, message: e.message }));
  }
})();
`;

function runChild(steps: string, state: string): Promise<unknown> {
  const env: NodeJS.ProcessEnv = { ...process.env, WINDOWS_IOT_DM_EMULATOR_STATE: state };
  delete env.WINDOWS_IOT_DM_EMULATOR_PROFILE;
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      ['-r', 'tsx/cjs', '-e', CHILD.replace('${STEPS}', steps)],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolvePromise(JSON.parse(stdout));
      } catch {
        reject(new Error(`child exited ${String(code)} without a result; stderr: ${stderr}`));
      }
    });
  });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

describe('AddonSystem over the CSP emulator library', function () {
  this.timeout(60000);
  const system = new AddonSystem();

  after(async () => {
    await system.setTimeZone(UTC_ZONE); // the mocha process shares one emulated device
  });

  it('sets a time zone by key name (ASCII case ignored) and reads the rules back', async () => {
    await system.setTimeZone(byKey('pacific standard TIME'));
    assert.deepEqual(await system.getTimeZone(), PACIFIC);
    await system.setTimeZone(byKey('Tokyo Standard Time'));
    const tokyo = await system.getTimeZone();
    assert.equal(tokyo.keyName, 'Tokyo Standard Time');
    assert.equal(tokyo.bias, -540);
    assert.equal(tokyo.standardDate.month, 0);
    assert.equal(tokyo.daylightDate.month, 0);
  });

  it('keeps explicit rules exactly as given', async () => {
    await system.setTimeZone(CUSTOM);
    assert.deepEqual(await system.getTimeZone(), CUSTOM);
    // A key name with dynamic DST disabled is explicit too: the fields are used as given.
    const named = { ...CUSTOM, keyName: 'My Zone' };
    await system.setTimeZone(named);
    assert.deepEqual(await system.getTimeZone(), named);
  });

  it('refuses an unknown key name with HRESULT 0x80070490 and a reason; nothing changes', async () => {
    await system.setTimeZone(PACIFIC);
    const err = await rejection(system.setTimeZone(byKey('Mars Standard Time')));
    assert.ok(err instanceof MdmApiError);
    assert.equal(err.hresult, 0x80070490);
    assert.equal(err.api, 'MdmEmulatorSystemSetTimeZone');
    assert.match(err.message, /no time zone has the key name "Mars Standard Time"/);
    assert.deepEqual(await system.getTimeZone(), PACIFIC);
  });

  it('refuses invalid input in TS with InvalidArgumentError', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /for timeZone but received null/],
      [{ ...CUSTOM, bias: 1441 }, /integer from -1440 to 1440 for timeZone.bias/],
      [{ ...CUSTOM, daylightBias: 2.5 }, /timeZone.daylightBias/],
      [{ ...CUSTOM, standardName: 'x'.repeat(32) }, /at most 31 UTF-16 code units/],
      [{ ...CUSTOM, keyName: 'k'.repeat(128) }, /at most 127 UTF-16 code units/],
      [{ ...CUSTOM, daylightName: 'a\0b' }, /without U\+0000/],
      [{ ...CUSTOM, daylightName: '\uD800' }, /well-formed UTF-16/],
      [{ ...CUSTOM, standardDate: { ...CUSTOM.standardDate, month: 13 } }, /standardDate.month/],
      [{ ...CUSTOM, standardDate: { ...CUSTOM.standardDate, week: 0 } }, /from 1 to 5 for timeZone.standardDate.week/],
      [{ ...CUSTOM, daylightDate: { ...CUSTOM.daylightDate, dayOfWeek: 7 } }, /dayOfWeek/],
      [{ ...CUSTOM, daylightDate: { ...CUSTOM.daylightDate, hour: 24 } }, /daylightDate.hour/],
      [{ ...CUSTOM, daylightDate: { ...CUSTOM.daylightDate, minute: 60 } }, /daylightDate.minute/],
      [{ ...CUSTOM, daylightDate: [] }, /a transition date object/],
      [
        { ...CUSTOM, daylightDate: { month: 0, week: 0, dayOfWeek: 0, hour: 0, minute: 0 } },
        /set exactly when standardDate is set/,
      ],
      [{ keyName: 'UTC' }, /a boolean for timeZone.dynamicDaylightTimeDisabled/],
      [{ keyName: '', dynamicDaylightTimeDisabled: false }, /timeZone.bias/],
      [{ ...byKey('UTC'), bias: 5000 }, /timeZone.bias/],
    ];
    for (const [input, message] of cases) {
      const err = await rejection(system.setTimeZone(input as TimeZoneInfo));
      assert.ok(err instanceof InvalidArgumentError, `${JSON.stringify(input)}: ${String(err)}`);
      assert.equal(err.code, 'ERR_INVALID_ARG');
      assert.match(err.message, message);
    }
    assert.doesNotThrow(() => checkTimeZone(byKey('UTC')));
    assert.doesNotThrow(() => checkTimeZone(PACIFIC));
  });

  it('refuses invalid input in C++ too (TypeError, code ERR_INVALID_ARG)', () => {
    const { SystemSession } = loadAddon();
    assert.ok(SystemSession);
    const session = new SystemSession({});
    const cases: Array<[unknown, RegExp]> = [
      [undefined, /^timeZone must be an object$/],
      [{ ...CUSTOM, bias: 2000 }, /^timeZone.bias must be an integer from -1440 to 1440 \(got 2000\)$/],
      [{ ...CUSTOM, bias: 1.5 }, /^timeZone.bias must be an integer$/],
      [{ ...CUSTOM, standardName: 'x'.repeat(32) }, /^timeZone.standardName is longer than 31 UTF-16 code units$/],
      [{ ...CUSTOM, keyName: 'k'.repeat(128) }, /^timeZone.keyName is longer than 127/],
      [{ ...CUSTOM, daylightName: '\uDC00' }, /^timeZone.daylightName is not well-formed UTF-16/],
      [{ ...CUSTOM, daylightName: 'a\0' }, /^timeZone.daylightName contains U\+0000/],
      [{ ...CUSTOM, standardDate: { ...CUSTOM.standardDate, month: 13 } }, /standardDate.month must be an integer from 0 to 12/],
      [{ ...CUSTOM, standardDate: null }, /^timeZone.standardDate must be an object$/],
      [{ ...CUSTOM, daylightDate: { month: 1 } }, /^timeZone.daylightDate.week is missing/],
      [{ ...CUSTOM, keyName: 5 }, /^timeZone.keyName must be a string$/],
      [{ ...CUSTOM, dynamicDaylightTimeDisabled: 'no' }, /dynamicDaylightTimeDisabled must be a boolean/],
      [{ keyName: '', dynamicDaylightTimeDisabled: true }, /^timeZone.bias is missing \(every field is needed unless/],
      [{ ...CUSTOM, daylightDate: { ...CUSTOM.daylightDate, month: 0, week: 0 } }, /must both be set/],
    ];
    for (const [input, message] of cases) {
      assert.throws(
        () => session.setTimeZone(input as TimeZoneInfo),
        (err: Error & { code?: string }) =>
          err instanceof TypeError && err.code === 'ERR_INVALID_ARG' && message.test(err.message),
        JSON.stringify(input),
      );
    }
    const throwing = {
      ...CUSTOM,
      get bias(): number {
        throw new Error('getter threw');
      },
    };
    assert.throws(() => session.setTimeZone(throwing), /getter threw/);
  });

  it('moves the boot time to an emulated RebootNow', async () => {
    const before = await system.bootTime();
    assert.equal(typeof before, 'number');
    assert.ok(before > Date.UTC(2000, 0, 1) && before <= Date.now(), String(before));
    const start = Math.floor(Date.now() / 1000) * 1000;
    await new Csp().exec('./Device/Vendor/MSFT/Reboot/RebootNow');
    const after = await system.bootTime();
    assert.ok(after >= start && after <= Date.now(), `${after} not in [${start}, now]`);
    assert.ok(after >= before);
    assert.equal(await defaultNativeSystem().bootTime(), after);
  });

  it('runs concurrent calls off the JS thread', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 ? system.getTimeZone() : system.setTimeZone(i % 4 ? PACIFIC : CUSTOM),
      ),
    );
    assert.equal(results.length, 20);
    assert.ok([PACIFIC, CUSTOM].some((tz) => JSON.stringify(tz) === JSON.stringify(results[19])));
  });

  it('reports a missing emulator library and an addon without the system part', async () => {
    const missing = new AddonSystem({ libraryPath: join(tmpdir(), 'no-such-emulator.so') });
    const err = await rejection(missing.getTimeZone());
    assert.ok(err instanceof MdmUnavailableError);
    assert.match(err.message, /Cannot load the CSP emulator library/);
    const old = new AddonSystem({ load: () => ({ ...loadAddon(), SystemSession: undefined }) });
    await assert.rejects(old.bootTime(), (e: unknown) => e instanceof MdmUnavailableError && /older version/.test(e.message));
    const notEmulator = new AddonSystem({ libraryPath: '/lib/x86_64-linux-gnu/libc.so.6' });
    if (process.platform === 'linux') {
      await assert.rejects(notEmulator.setTimeZone(PACIFIC), (e: unknown) => e instanceof MdmUnavailableError && /does not export/.test(e.message));
    }
  });
});

describe('AddonSystem services over the CSP emulator library', function () {
  this.timeout(60000);
  const system = new AddonSystem();
  const W32TIME_DEFAULT = { name: 'w32time', startup: 'auto', running: true };

  beforeEach(async () => {
    await system.setService('w32time', { startup: 'auto', running: true });
  });
  after(async () => {
    await system.setService('w32time', { startup: 'auto', running: true });
  });

  it('reads w32time, changes its startup type and state, and reads them back', async () => {
    assert.deepEqual(await system.getService('w32time'), W32TIME_DEFAULT);
    await system.setService('w32time', { startup: 'manual' });
    assert.deepEqual(await system.getService('w32time'), { ...W32TIME_DEFAULT, startup: 'manual' });
    await system.setService('w32time', { running: false });
    await system.setService('w32time', { running: false }); // stopping a stopped one is fine
    assert.deepEqual(await system.getService('w32time'), {
      name: 'w32time',
      startup: 'manual',
      running: false,
    });
    await system.setService('w32time', {});
    await system.setService('w32time', { startup: 'auto', running: true });
    assert.deepEqual(await system.getService('w32time'), W32TIME_DEFAULT);
  });

  it('refuses to start a disabled service (HRESULT 0x80070422 with a reason); nothing changes', async () => {
    await system.setService('w32time', { running: false });
    const err = await rejection(system.setService('w32time', { startup: 'disabled', running: true }));
    assert.ok(err instanceof MdmApiError, String(err));
    assert.equal(err.hresult, 0x80070422);
    assert.equal(err.api, 'MdmEmulatorSystemSetService');
    assert.match(err.message, /startup type is disabled/);
    assert.deepEqual(await system.getService('w32time'), {
      name: 'w32time',
      startup: 'auto',
      running: false,
    });
  });

  it('refuses any other service name and bad changes in TS (InvalidArgumentError), calling nothing', async () => {
    for (const name of ['wuauserv', 'W32Time', 'w32time ', '', 'WinDefend']) {
      await assert.rejects(system.getService(name), InvalidArgumentError, name);
      await assert.rejects(system.setService(name, { running: false }), InvalidArgumentError, name);
    }
    const bad: unknown[] = [
      null,
      [],
      'auto',
      { startup: 'boot' },
      { startup: 'Auto' },
      { running: 'yes' },
      { running: false, extra: 1 },
    ];
    for (const change of bad) {
      await assert.rejects(
        system.setService('w32time', change as never),
        InvalidArgumentError,
        JSON.stringify(change),
      );
    }
    assert.throws(() => checkServiceName(42), InvalidArgumentError);
    assert.doesNotThrow(() => checkServiceChange({ startup: 'disabled', running: false }));
    assert.deepEqual(await system.getService('w32time'), W32TIME_DEFAULT);
  });

  it('refuses any other service name in C++ too (TypeError, code ERR_INVALID_ARG)', () => {
    const { SystemSession } = loadAddon();
    assert.ok(SystemSession);
    const session = new SystemSession({});
    const isInvalid = (message: RegExp) => (err: Error & { code?: string }) =>
      err instanceof TypeError && err.code === 'ERR_INVALID_ARG' && message.test(err.message);
    for (const name of ['wuauserv', 'W32Time', '']) {
      assert.throws(
        () => session.getService(name),
        isInvalid(/^name must be a service that may be controlled \(w32time\)/),
        name,
      );
      assert.throws(
        () => session.setService(name, { running: false }),
        isInvalid(/^name must be a service that may be controlled/),
        name,
      );
    }
    assert.throws(() => session.getService(5 as never), isInvalid(/^name must be a string$/));
    assert.throws(
      () => session.setService('w32time', { startup: 'boot' as never }),
      isInvalid(/^change.startup must be "auto", "manual" or "disabled"$/),
    );
    assert.throws(
      () => session.setService('w32time', { running: 1 as never }),
      isInvalid(/^change.running must be a boolean$/),
    );
    assert.throws(
      () => session.setService('w32time', null as never),
      isInvalid(/^change must be an object$/),
    );
  });
});

describe('AddonSystem persistence across processes', function () {
  this.timeout(60000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wdm-system-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('starts at UTC, keeps a set zone in the state file, and a new process reads it back', async () => {
    const state = join(dir, 'state.json');
    assert.deepEqual(await runChild('return system.getTimeZone();', state), { ok: UTC_ZONE });
    assert.deepEqual(
      await runChild(
        `await system.setTimeZone({ keyName: 'W. Europe Standard Time', dynamicDaylightTimeDisabled: false });
         return system.getTimeZone();`,
        state,
      ),
      {
        ok: {
          keyName: 'W. Europe Standard Time',
          bias: -60,
          standardName: 'W. Europe Standard Time',
          standardBias: 0,
          standardDate: { month: 10, week: 5, dayOfWeek: 0, hour: 3, minute: 0 },
          daylightName: 'W. Europe Daylight Time',
          daylightBias: -60,
          daylightDate: { month: 3, week: 5, dayOfWeek: 0, hour: 2, minute: 0 },
          dynamicDaylightTimeDisabled: false,
        },
      },
    );
    const file = JSON.parse(readFileSync(state, 'utf8')) as {
      events: { system?: { timeZone?: TimeZoneInfo } };
    };
    assert.equal(file.events.system?.timeZone?.keyName, 'W. Europe Standard Time');
    const read = (await runChild('return system.getTimeZone();', state)) as { ok: TimeZoneInfo };
    assert.equal(read.ok.keyName, 'W. Europe Standard Time');
    const refused = (await runChild(
      `return system.setTimeZone({ keyName: 'Nowhere', dynamicDaylightTimeDisabled: false });`,
      state,
    )) as { error: string; hresult: number };
    assert.equal(refused.error, 'ERR_MDM_HRESULT');
    assert.equal(refused.hresult, 0x80070490);
  });

  it('keeps a service change in the state file, and a new process reads it back', async () => {
    const state = join(dir, 'state.json');
    assert.deepEqual(await runChild(`return system.getService('w32time');`, state), {
      ok: { name: 'w32time', startup: 'auto', running: true },
    });
    assert.deepEqual(
      await runChild(
        `await system.setService('w32time', { startup: 'manual', running: false });
         return system.getService('w32time');`,
        state,
      ),
      { ok: { name: 'w32time', startup: 'manual', running: false } },
    );
    const file = JSON.parse(readFileSync(state, 'utf8')) as {
      events: { system?: { services?: Record<string, { startup: string; running: boolean }> } };
    };
    assert.equal(file.events.system?.services?.w32time?.startup, 'manual');
    assert.equal(file.events.system?.services?.w32time?.running, false);
    assert.deepEqual(await runChild(`return system.getService('w32time');`, state), {
      ok: { name: 'w32time', startup: 'manual', running: false },
    });
    const refused = (await runChild(
      `return system.setService('w32time', { startup: 'disabled', running: true });`,
      state,
    )) as { error: string; hresult: number };
    assert.equal(refused.error, 'ERR_MDM_HRESULT');
    assert.equal(refused.hresult, 0x80070422);
    const other = (await runChild(`return system.getService('wuauserv');`, state)) as {
      error: string;
    };
    assert.equal(other.error, 'ERR_INVALID_ARG');
  });

  it('keeps the emulated boot time of a RebootNow for later processes', async () => {
    const state = join(dir, 'state.json');
    const first = (await runChild('return system.bootTime();', state)) as { ok: number };
    const start = Math.floor(Date.now() / 1000) * 1000;
    const rebooted = (await runChild(
      `const { Csp } = require(${JSON.stringify(join(ROOT, 'lib'))});
       await new Csp().exec('./Device/Vendor/MSFT/Reboot/RebootNow');
       return system.bootTime();`,
      state,
    )) as { ok: number };
    assert.ok(rebooted.ok >= start && rebooted.ok >= first.ok, JSON.stringify({ first, rebooted }));
    assert.deepEqual(await runChild('return system.bootTime();', state), rebooted);
  });
});

/** The contract's basic behaviour, the same for the mock and the real addon. */
function systemConformance(label: string, make: () => NativeSystem): void {
  describe(`NativeSystem conformance: ${label}`, () => {
    let system: NativeSystem;
    beforeEach(() => {
      system = make();
    });
    after(async () => {
      await make().setTimeZone(UTC_ZONE);
    });

    it('answers a complete TimeZoneInfo', async () => {
      const tz = await system.getTimeZone();
      assert.deepEqual(Object.keys(tz).sort(), Object.keys(UTC_ZONE).sort());
      for (const key of ['standardDate', 'daylightDate'] as const) {
        assert.deepEqual(Object.keys(tz[key]).sort(), Object.keys(UTC_ZONE[key]).sort());
      }
    });

    it('reads back explicit rules and the UTC zone exactly', async () => {
      await system.setTimeZone(CUSTOM);
      assert.deepEqual(await system.getTimeZone(), CUSTOM);
      await system.setTimeZone(UTC_ZONE);
      assert.deepEqual(await system.getTimeZone(), UTC_ZONE);
    });

    it('answers a past boot time in ms since the epoch', async () => {
      const boot = await system.bootTime();
      assert.ok(Number.isInteger(boot) && boot > Date.UTC(2000, 0, 1) && boot <= Date.now());
    });

    it('hands out copies, not its own state', async () => {
      const tz = await system.getTimeZone();
      tz.bias = 12;
      tz.standardDate.month = 7;
      assert.notEqual((await system.getTimeZone()).bias, 12);
      const service = await system.getService('w32time');
      service.running = !service.running;
      assert.notEqual((await system.getService('w32time')).running, service.running);
    });

    it('controls w32time only: set, read back, a disabled service does not start', async () => {
      await system.setService('w32time', { startup: 'manual', running: false });
      assert.deepEqual(await system.getService('w32time'), {
        name: 'w32time',
        startup: 'manual',
        running: false,
      });
      await assert.rejects(system.setService('w32time', { startup: 'disabled', running: true }), {
        code: 'ERR_MDM_HRESULT',
        hresult: 0x80070422,
      });
      await assert.rejects(system.getService('wuauserv'), InvalidArgumentError);
      await system.setService('w32time', { startup: 'auto', running: true });
      assert.deepEqual(await system.getService('w32time'), {
        name: 'w32time',
        startup: 'auto',
        running: true,
      });
    });
  });
}

systemConformance('MockSystem', () => new MockSystem());
systemConformance('AddonSystem', () => new AddonSystem());
