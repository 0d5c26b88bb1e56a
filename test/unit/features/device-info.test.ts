import assert from 'node:assert/strict';
import { DEVICE_INFO_NODES, deviceInfoHandler } from '../../../lib/features/device-info';
import { type Harness, featureHarness, lastChangeOf } from './fixture';

describe('features/deviceInfo', () => {
  let h: Harness;
  beforeEach(() => {
    h = featureHarness();
  });
  afterEach(() => h.cleanup());

  it('reports every field of the original as a string read from the device, in one batch', async () => {
    const dm = await h.attach([deviceInfoHandler]);
    await h.idle(dm);
    h.mock.calls.length = 0;
    h.link.setDesired({ windows: { deviceInfo: {} } });
    await h.idle(dm);
    assert.equal(lastChangeOf(h, 'deviceInfo').state, 'completed');
    const r = h.section('deviceInfo') ?? {};
    assert.deepEqual(
      Object.keys(r)
        .filter((k) => k !== 'lastChange')
        .sort(),
      [...Object.keys(DEVICE_INFO_NODES)].sort(),
    );
    assert.equal(r.id, 'DEV-0001');
    assert.equal(r.manufacturer, 'Contoso');
    assert.equal(r.osVer, '10.0.17763.1');
    assert.equal(r.totalMemory, '4096');
    assert.equal(r.totalStorage, '65536');
    assert.equal(r.secureBootState, '1');
    assert.equal(r.batteryRuntime, '-1');
    assert.equal(r.processorArchitecture, '9');
    assert.equal(r.commercializationOperator, '');
    for (const [k, v] of Object.entries(r)) {
      if (k !== 'lastChange') assert.equal(typeof v, 'string', k);
    }
    // All 24 Gets travelled in one message.
    const gets = h.mock.calls.filter((c) => c.ops.some((op) => op.verb === 'get'));
    assert.equal(gets.length, 1);
    assert.equal(gets[0]?.ops.length, Object.keys(DEVICE_INFO_NODES).length);
  });

  it('reports "<error>" for one failing node only ("<not set>" for an absent one); the section still completes', async () => {
    h.mock.respond('./DevDetail/Ext/Microsoft/TotalRAM', 500);
    h.mock.respond('./Vendor/MSFT/DeviceStatus/Battery/Status', 404);
    const dm = await h.attach([deviceInfoHandler]);
    h.link.setDesired({ windows: { deviceInfo: {} } });
    await h.idle(dm);
    const r = h.section('deviceInfo') ?? {};
    assert.equal(lastChangeOf(h, 'deviceInfo').state, 'completed');
    assert.equal(r.totalMemory, '<error>');
    assert.equal(r.batteryStatus, '<not set>');
    assert.equal(r.totalStorage, '65536');
    assert.equal(r.model, 'Toaster 2');
    const errors = Object.values(r).filter((v) => v === '<error>');
    assert.equal(errors.length, 1);
  });

  it('refuses desired content other than {} (report-only) with 400', async () => {
    const dm = await h.attach([deviceInfoHandler]);
    h.link.setDesired({ windows: { deviceInfo: { name: 'x' } } });
    await h.idle(dm);
    const lc = lastChangeOf(h, 'deviceInfo');
    assert.equal(lc.state, 'failed');
    assert.equal(lc.errCode, 400);
    assert.match(String(lc.errContext), /name: unknown key/);
  });
});
