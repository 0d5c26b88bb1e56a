import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HubError } from '../../lib/hub/errors';
import Database from 'better-sqlite3';
import { HubStore, SCHEMA_VERSION } from '../../lib/hub/store';
import { deviceRecord } from './fixtures';
import { createTwin, patchReported } from '../../lib/hub/twin';

const T = '2026-01-01T00:00:00.000Z';

describe('hub store (SQLite)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-store-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keeps devices, twins, settings, jobs and messages across close and reopen', () => {
    let s = new HubStore(dir);
    assert.equal(s.schemaVersion, SCHEMA_VERSION);
    s.setMeta('policies', [{ keyName: 'iothubowner' }]);
    s.insertDevice(deviceRecord('a'), createTwin(T));
    s.insertDevice(deviceRecord('b', { status: 'disabled' }), createTwin(T));
    s.putTwin('a', patchReported(createTwin(T), { x: 1 }, T).twin);
    s.updateDevice({ ...deviceRecord('a'), etagVersion: 2 });
    s.putJob({
      jobId: 'j1',
      type: 'scheduleUpdateTwin',
      status: 'queued',
      createdTime: T,
      doc: { jobId: 'j1' },
    });
    s.appendD2C({
      deviceId: 'a',
      body: Buffer.from([0, 1, 2]),
      properties: { p: '1' },
      systemProperties: { messageId: 'm' },
      enqueuedTime: T,
    });
    s.enqueueC2D({
      deviceId: 'a',
      messageId: 'c1',
      body: Buffer.from('hi'),
      properties: {},
      systemProperties: {},
      enqueuedTime: T,
    });
    s.close();
    s.close();
    assert.equal(s.isOpen, false);

    s = new HubStore(dir);
    assert.ok(fs.existsSync(path.join(dir, 'hub.db')));
    assert.deepEqual(s.getMeta('policies'), [{ keyName: 'iothubowner' }]);
    assert.equal(s.getMeta('nothing'), undefined);
    assert.equal(s.countDevices(), 2);
    assert.deepEqual(
      s.listDevices().map((d) => d.deviceId),
      ['a', 'b'],
    );
    assert.equal(s.getDevice('a')!.etagVersion, 2);
    assert.equal(s.getDevice('b')!.status, 'disabled');
    assert.equal(s.getDevice('zz'), undefined);
    assert.deepEqual(s.getTwin('a')!.reported.props, { x: 1 });
    assert.equal(s.listTwins().length, 2);
    assert.deepEqual(s.getJob('j1')!.doc, { jobId: 'j1' });
    assert.equal(s.listJobs().length, 1);
    assert.equal(s.getJob('nope'), undefined);
    const [m] = s.listD2C();
    assert.deepEqual(m!.body, Buffer.from([0, 1, 2]));
    assert.deepEqual(m!.properties, { p: '1' });
    assert.equal(s.listC2D('a')[0]!.state, 'queued');
    assert.equal(s.getDevice('a')!.cloudToDeviceMessageCount, 1);
    assert.equal(s.deleteDevice('a'), true);
    assert.equal(s.deleteDevice('a'), false);
    assert.equal(s.getTwin('a'), undefined);
    assert.deepEqual(s.listC2D('a'), []);
    s.close();
  });

  it('keeps a bounded number of D2C messages and filters by device and sequence', () => {
    const s = new HubStore(dir, { d2cRetention: 3 });
    for (let i = 0; i < 5; i++) {
      s.appendD2C({
        deviceId: i % 2 ? 'odd' : 'even',
        body: Buffer.from(String(i)),
        properties: {},
        systemProperties: {},
        enqueuedTime: T,
      });
    }
    const all = s.listD2C();
    assert.deepEqual(
      all.map((m) => m.body.toString()),
      ['2', '3', '4'],
    );
    assert.deepEqual(
      s.listD2C({ deviceId: 'even' }).map((m) => m.body.toString()),
      ['2', '4'],
    );
    assert.deepEqual(
      s.listD2C({ afterSeq: all[1]!.seq, limit: 5 }).map((m) => m.body.toString()),
      ['4'],
    );
    s.close();
  });

  it('C2D queue: lock, complete, reject, abandon, lock lost, expiry, queue depth, unlock', () => {
    const s = new HubStore(dir, { c2dQueueDepth: 3 });
    s.insertDevice(deviceRecord('d'), createTwin(T));
    const q = (id: string, expiryTime?: string) =>
      s.enqueueC2D({
        deviceId: 'd',
        messageId: id,
        body: Buffer.from(id),
        properties: { k: id },
        systemProperties: {},
        enqueuedTime: T,
        expiryTime: expiryTime ?? null,
      });
    q('m1');
    q('m2', '2000-01-01T00:00:00.000Z');
    q('m3');
    const full = (() => {
      try {
        q('m4');
      } catch (e) {
        return e;
      }
    })();
    assert.ok(full instanceof HubError && full.errorCode === 403004);
    const first = s.lockNextC2D('d')!;
    assert.equal(first.messageId, 'm1');
    assert.equal(first.deliveryCount, 1);
    assert.equal(first.state, 'locked');
    s.settleC2D('d', first.lockToken!, 'abandoned');
    const again = s.lockNextC2D('d')!;
    assert.equal(again.messageId, 'm1');
    assert.equal(again.deliveryCount, 2);
    assert.notEqual(again.lockToken, first.lockToken);
    assert.throws(
      () => s.settleC2D('d', first.lockToken!, 'completed'),
      (e: HubError) => e.errorCode === 412002,
    );
    assert.equal(s.settleC2D('d', again.lockToken!, 'completed').state, 'completed');
    assert.throws(() => s.settleC2D('d', again.lockToken!, 'completed'), HubError);
    const third = s.lockNextC2D('d')!; // m2 expired
    assert.equal(third.messageId, 'm3');
    assert.equal(s.unlockC2D('d'), 1);
    const fourth = s.lockNextC2D('d')!;
    assert.equal(fourth.messageId, 'm3');
    s.settleC2D('d', fourth.lockToken!, 'rejected');
    assert.equal(s.lockNextC2D('d'), undefined);
    assert.deepEqual(
      s.listC2D('d').map((m) => m.state),
      ['completed', 'expired', 'rejected'],
    );
    s.close();
  });

  it('refuses a database from a newer schema; runs every write in a transaction', () => {
    const s = new HubStore(dir);
    assert.throws(
      () =>
        s.transaction(() => {
          s.setMeta('x', 1);
          throw new Error('rollback');
        }),
      /rollback/,
    );
    assert.equal(s.getMeta('x'), undefined);
    s.close();
    const db = new Database(path.join(dir, 'hub.db'));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    assert.throws(
      () => new HubStore(dir),
      (e: HubError) => e.errorCode === 500001 && /newer/.test(e.message),
    );
  });
});
