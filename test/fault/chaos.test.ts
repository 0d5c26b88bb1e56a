/**
 * Fault injection end to end (docs/reliability.md): `runChaos` (./chaos.ts) with 200 operations
 * and 50 SIGKILLs of the agent, the seed from $WINDOWS_IOT_DM_CHAOS_SEED or a random one. Prints
 * the seed and the counts; a failure names the seed, the diverging sections and the problems.
 */
import assert from 'node:assert/strict';
import { chaosSeed, runChaos, SEED_ENV } from './chaos';

describe('fault injection: chaos (local hub + real SDK + agent child process + emulator)', function () {
  this.timeout(10 * 60_000);

  it('200 operations, 50 SIGKILLs, drops, delays, 429/500: converges, no double execution, no lost report', async () => {
    const seed = chaosSeed();
    console.log(`      chaos seed ${seed} (re-run with ${SEED_ENV}=${seed})`);
    const r = await runChaos({ seed, operations: 200, kills: 50 });
    const faults = Object.values(r.faults).reduce((a, b) => a + b, 0);
    console.log(
      `      ${r.operations.patches} patches, ${r.operations.methods} methods ` +
        `(+${r.operations.duplicates} duplicate deliveries), ${r.restarts} restarts, ` +
        `${faults} faults ${JSON.stringify(r.faults)}, retried ${JSON.stringify(r.retried)}, ` +
        `emulator: ${r.destructive.wipes} wipes, ${r.destructive.reboots} RebootNow; ` +
        `mismatches ${r.mismatches.length}; ${Math.round(r.ms / 1000)} s`,
    );
    const why = `seed ${seed} (${SEED_ENV}=${seed}):\n${[...r.mismatches, ...r.problems].join('\n')}`;
    assert.equal(r.restarts, 50, why);
    assert.equal(r.operations.patches + r.operations.methods + r.operations.duplicates, 200, why);
    assert.deepEqual(r.mismatches, [], why);
    assert.deepEqual(r.problems, [], why);
    // The run did exercise the destructive paths (the counts are from the emulator's state file).
    assert.ok(r.destructive.wipes > 0 && r.destructive.reboots > 0, why);
  });
});
