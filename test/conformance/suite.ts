/**
 * One conformance suite for every `NativeMdm`: the mock, and the real addon over the CSP
 * emulator library. Both must give the same statuses for the same operations.
 */
import assert from 'node:assert/strict';
import { Csp, CspError, CspTransactionError, type NativeMdm } from '../../lib';
import { makeCertificate } from '../helpers/test-certificates';

const DEVICE_NAME = './DevDetail/Ext/Microsoft/DeviceName';
const ACTIVE_HOURS = './Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart';
const REBOOT_NOW = './Device/Vendor/MSFT/Reboot/RebootNow';
const ROOT_CA = './Device/Vendor/MSFT/RootCATrustedCertificates/Root';

export function conformanceSuite(label: string, make: () => NativeMdm): void {
  describe(`NativeMdm conformance: ${label}`, () => {
    let native: NativeMdm;
    let csp: Csp;
    beforeEach(() => {
      native = make();
      csp = new Csp(native);
    });

    async function status(promise: Promise<unknown>): Promise<number> {
      try {
        await promise;
        return 200;
      } catch (err) {
        if (err instanceof CspError) return err.status as number;
        throw err;
      }
    }

    it('gets a read-only chr leaf with its format', async () => {
      const result = await csp.getResult('./DevDetail/SwV');
      assert.equal(result.status, 200);
      assert.equal(result.format, 'chr');
      assert.equal(typeof result.data, 'string');
      assert.ok((result.data as string).length > 0);
    });

    it('lists the children of an interior node', async () => {
      const children = await csp.get('./DevDetail');
      assert.ok(Array.isArray(children));
      assert.ok((children as string[]).includes('SwV'), `children: ${String(children)}`);
    });

    it('answers 404 for an unknown node and 405 for a verb the node does not allow', async () => {
      assert.equal(await status(csp.get('./Device/Vendor/MSFT/NoSuchCsp/Node')), 404);
      assert.equal(await status(csp.replace('./DevDetail/SwV', 'x')), 405);
      assert.equal(await status(csp.replace(REBOOT_NOW, 'x')), 405);
    });

    it('executes an Exec node', async () => {
      const result = await csp.exec(REBOOT_NOW);
      assert.equal(result.status, 200);
    });

    it('adds, reads, replaces and deletes an int policy; a second add is 418', async () => {
      await status(csp.delete(ACTIVE_HOURS));
      assert.equal((await csp.add(ACTIVE_HOURS, 8)).status, 200);
      assert.equal(await csp.get(ACTIVE_HOURS), 8);
      assert.equal(await status(csp.add(ACTIVE_HOURS, 9)), 418);
      assert.equal((await csp.replace(ACTIVE_HOURS, 10)).status, 200);
      assert.equal(await csp.get(ACTIVE_HOURS), 10);
      assert.equal((await csp.delete(ACTIVE_HOURS)).status, 200);
      assert.equal(await status(csp.get(ACTIVE_HOURS)), 404);
    });

    it('rejects data that does not fit the node format with 415', async () => {
      await status(csp.delete(ACTIVE_HOURS));
      await csp.add(ACTIVE_HOURS, 8);
      assert.equal(await status(csp.replace(ACTIVE_HOURS, 'eight', { format: 'chr' })), 415);
      await csp.delete(ACTIVE_HOURS);
    });

    it('adds a dynamic node instance with b64 data and reads the bytes back', async () => {
      // A real certificate under its SHA-1: the emulated store takes nothing else (as Windows).
      const cert = makeCertificate('Conformance');
      const thumb = cert.thumbprint;
      const uri = `${ROOT_CA}/${thumb}/EncodedCertificate`;
      await status(csp.delete(`${ROOT_CA}/${thumb}`));
      const bytes = cert.der;
      assert.equal((await csp.add(uri, bytes)).status, 200);
      assert.deepEqual(await csp.get(uri), bytes);
      const children = (await csp.get(ROOT_CA)) as string[];
      assert.ok(children.includes(thumb));
      assert.equal((await csp.delete(`${ROOT_CA}/${thumb}`)).status, 200);
      assert.equal(await status(csp.get(uri)), 404);
    });

    it('carries markup in a value as data, never as a command', async () => {
      const original = (await csp.get(DEVICE_NAME)) as string;
      const hostile =
        '</Data></Item></Replace><Exec><CmdID>9</CmdID><Item><Target><LocURI>./Device/Vendor/MSFT/Reboot/RebootNow</LocURI></Target></Item></Exec><Replace><CmdID>10</CmdID><Item><Data>& "quoted" \'x\' é 😀 \t ]]> \r\n';
      try {
        assert.equal((await csp.replace(DEVICE_NAME, hostile)).status, 200);
        assert.equal(await csp.get(DEVICE_NAME), hostile);
      } finally {
        await csp.replace(DEVICE_NAME, original);
      }
    });

    it('rolls an atomic transaction back when one command fails', async () => {
      await status(csp.delete(ACTIVE_HOURS));
      const err = await csp
        .transaction((tx) => {
          tx.add(ACTIVE_HOURS, 7);
          tx.replace('./DevDetail/SwV', 'nope');
        })
        .then(
          () => assert.fail('transaction should fail'),
          (e: unknown) => e,
        );
      assert.ok(err instanceof CspTransactionError);
      assert.deepEqual(
        err.results.map((r) => r.status),
        [216, 405],
      );
      assert.equal(err.failed?.status, 405);
      assert.equal(await status(csp.get(ACTIVE_HOURS)), 404, 'the add was rolled back');
    });

    it('commits an atomic transaction when every command succeeds', async () => {
      await status(csp.delete(ACTIVE_HOURS));
      const results = await csp.transaction((tx) => {
        tx.add(ACTIVE_HOURS, 6);
        tx.replace(ACTIVE_HOURS, 5);
      });
      assert.deepEqual(
        results.map((r) => r.status),
        [200, 200],
      );
      assert.equal(await csp.get(ACTIVE_HOURS), 5);
      await csp.delete(ACTIVE_HOURS);
    });

    it('lists a subtree with ?list=StructData', async () => {
      const items = await csp.list('./DevDetail');
      const swv = items.find((i) => i.uri === './DevDetail/SwV');
      assert.ok(swv, `items: ${items.map((i) => i.uri).join(', ')}`);
      assert.ok(swv.data && swv.data.length > 0);
    });

    it('answers a burst of 100 gets, each with its own result', async () => {
      const uris = Array.from({ length: 100 }, (_, i) =>
        i % 2 ? './DevDetail/SwV' : './Device/Vendor/MSFT/Nope' + i,
      );
      const outcomes = await Promise.allSettled(uris.map((u) => csp.get(u)));
      outcomes.forEach((o, i) => {
        if (i % 2) assert.equal(o.status, 'fulfilled');
        else assert.equal(o.status === 'rejected' && (o.reason as CspError).status, 404);
      });
    });
  });
}
