import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DmStateError } from '../../../lib/errors';
import { silentLogger } from '../../../lib/dm/logger';
import {
  contentHash,
  defaultStateDir,
  DmStateStore,
  STATE_FILE,
} from '../../../lib/dm/state-store';
import { captureLogger, TempDirs } from './helpers';

describe('dm/state-store', () => {
  const dirs = new TempDirs();
  afterEach(() => dirs.cleanup());

  it('starts empty in a new folder (creating it)', () => {
    const dir = path.join(dirs.make(), 'nested', 'state');
    const store = DmStateStore.open(dir, silentLogger());
    assert.deepEqual(store.state, { schema: 1, lastVersion: 0, sections: {}, handlers: {} });
    assert.equal(store.file, path.join(dir, STATE_FILE));
    assert.ok(existsSync(dir));
  });

  it('saves and loads back the same state', async () => {
    const dir = dirs.make();
    const store = DmStateStore.open(dir, silentLogger());
    store.state.lastVersion = 42;
    store.state.sections.time = {
      version: 41,
      hash: contentHash({ a: 1 }),
      status: 'applied',
      time: '2026-01-01T00:00:00Z',
    };
    store.state.handlers.time = { counter: 3, nested: { list: [1, 'two'] } };
    await store.save();
    const again = DmStateStore.open(dir, silentLogger());
    assert.deepEqual(again.state, store.state);
  });

  it('writes atomically: no temporary file is left behind', async () => {
    const dir = dirs.make();
    const store = DmStateStore.open(dir, silentLogger());
    store.state.lastVersion = 1;
    await store.save();
    assert.deepEqual(readdirSync(dir), [STATE_FILE]);
    JSON.parse(readFileSync(store.file, 'utf8'));
  });

  it('serializes saves: the last one issued wins', async () => {
    const dir = dirs.make();
    const store = DmStateStore.open(dir, silentLogger());
    const saves: Array<Promise<void>> = [];
    for (let v = 1; v <= 20; v++) {
      store.state.lastVersion = v;
      saves.push(store.save());
    }
    await Promise.all(saves);
    assert.equal(DmStateStore.open(dir, silentLogger()).state.lastVersion, 20);
    assert.deepEqual(readdirSync(dir), [STATE_FILE]);
  });

  it('sets a corrupt file aside, warns and starts fresh', () => {
    const dir = dirs.make();
    writeFileSync(path.join(dir, STATE_FILE), '{"schema":1,"lastVer');
    const log = captureLogger();
    const store = DmStateStore.open(dir, log);
    assert.equal(store.state.lastVersion, 0);
    assert.deepEqual(store.state.sections, {});
    const files = readdirSync(dir);
    assert.equal(files.length, 1);
    assert.match(files[0] ?? '', /^dm-state\.json\.corrupt-\d+$/);
    assert.equal(readFileSync(path.join(dir, files[0] ?? ''), 'utf8'), '{"schema":1,"lastVer');
    assert.ok(log.lines.some((l) => l.level === 'warn'));
  });

  it('sets aside valid JSON of the wrong shape too', async () => {
    const dir = dirs.make();
    writeFileSync(path.join(dir, STATE_FILE), JSON.stringify({ schema: 2, lastVersion: 'x' }));
    const store = DmStateStore.open(dir, silentLogger());
    assert.equal(store.state.lastVersion, 0);
    store.state.lastVersion = 5;
    await store.save();
    assert.equal(DmStateStore.open(dir, silentLogger()).state.lastVersion, 5);
    assert.equal(readdirSync(dir).filter((f) => f.includes('.corrupt-')).length, 1);
  });

  it('reset() forgets everything', () => {
    const store = DmStateStore.open(dirs.make(), silentLogger());
    store.state.lastVersion = 9;
    store.state.handlers.x = { a: 1 };
    store.reset();
    assert.deepEqual(store.state, { schema: 1, lastVersion: 0, sections: {}, handlers: {} });
  });

  it('fails with DmStateError when the folder cannot be created', () => {
    const dir = dirs.make();
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    assert.throws(() => DmStateStore.open(path.join(file, 'sub'), silentLogger()), DmStateError);
  });

  describe('contentHash', () => {
    it('does not depend on key order, at any depth', () => {
      assert.equal(
        contentHash({ a: 1, b: { c: 2, d: [1, { e: 3, f: 4 }] } }),
        contentHash({ b: { d: [1, { f: 4, e: 3 }], c: 2 }, a: 1 }),
      );
    });

    it('differs when a value, a key or array order differs', () => {
      const base = contentHash({ a: 1, b: [1, 2] });
      assert.notEqual(contentHash({ a: 2, b: [1, 2] }), base);
      assert.notEqual(contentHash({ a: 1, c: [1, 2] }), base);
      assert.notEqual(contentHash({ a: 1, b: [2, 1] }), base);
      assert.notEqual(contentHash({ a: '1', b: [1, 2] }), base);
    });

    it('treats undefined as null, and tells strings from objects', () => {
      assert.equal(contentHash(undefined), contentHash(null));
      assert.notEqual(contentHash('no-apply-no-report'), contentHash({}));
      assert.match(contentHash({}), /^[0-9a-f]{64}$/);
    });
  });

  describe('defaultStateDir', () => {
    const saved = process.env.XDG_STATE_HOME;
    afterEach(() => {
      if (saved === undefined) delete process.env.XDG_STATE_HOME;
      else process.env.XDG_STATE_HOME = saved;
    });

    it('follows XDG_STATE_HOME off Windows', function () {
      if (process.platform === 'win32') this.skip();
      process.env.XDG_STATE_HOME = '/tmp/xdg-state-test';
      assert.equal(defaultStateDir(), path.join('/tmp/xdg-state-test', 'windows-iot-dm', 'dm'));
    });
  });
});
