/**
 * A tour of the CSP layer (`npm run csp-tour`): reads device
 * facts, sets a policy, runs an atomic transaction that rolls back, and shows batching. On
 * Linux it talks to the CSP emulator library through the real addon.
 */
import {
  Csp,
  CspError,
  CspTransactionError,
  defaultNativeMdm,
  type CspOp,
  type NativeMdm,
} from '../lib';

/** Counts native round trips, to show batching at work. */
function counting(native: NativeMdm): NativeMdm & { messages: number } {
  const wrapper = {
    messages: 0,
    apply(ops: readonly CspOp[], options?: { atomic?: boolean }) {
      wrapper.messages++;
      return native.apply(ops, options);
    },
    rawSyncML: (body: string) => native.rawSyncML(body),
  };
  return wrapper;
}

async function main(): Promise<void> {
  const native = counting(defaultNativeMdm());
  const csp = new Csp(native);

  const [swv, oem, name, devId] = await Promise.all([
    csp.get('./DevDetail/SwV'),
    csp.get('./DevDetail/OEM'),
    csp.get('./DevDetail/Ext/Microsoft/DeviceName'),
    csp.get('./DevInfo/DevId'),
  ]);
  console.log(`device ${String(devId)}: "${String(name)}" by ${String(oem)}, OS ${String(swv)}`);
  console.log(`  (4 gets in ${native.messages} SyncML message)`);

  const policy = './Device/Vendor/MSFT/Policy/Config/Update/ActiveHoursStart';
  await csp.delete(policy).catch(() => undefined);
  await csp.add(policy, 8);
  console.log(`policy ActiveHoursStart = ${String(await csp.get(policy))}`);

  try {
    await csp.transaction((tx) => {
      tx.replace(policy, 9);
      tx.replace('./DevDetail/SwV', 'tampered');
    });
  } catch (err) {
    if (!(err instanceof CspTransactionError)) throw err;
    console.log(`atomic transaction refused: ${err.message}`);
    console.log(
      `  statuses ${err.results.map((r) => r.status).join(', ')}; policy still ${String(await csp.get(policy))}`,
    );
  }

  try {
    await csp.get('./Device/Vendor/MSFT/NoSuchCsp');
  } catch (err) {
    if (err instanceof CspError) console.log(`unknown node: ${err.code} status ${err.status}`);
  }

  const children = await csp.get('./DevDetail');
  console.log(
    `./DevDetail has ${(children as string[]).length} children: ${(children as string[]).join(', ')}`,
  );
  await csp.delete(policy);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
