/**
 * A `NativeMdm` that counts native round trips: it wraps a real one (the addon over the CSP
 * emulator in the benchmarks) and forwards every call unchanged; each `apply` or `rawSyncML` is
 * one SyncML message, one round trip.
 */
import type { ApplyOptions, CspOp, CspResult, NativeMdm } from '../lib/native/contract';

export class CountingMdm implements NativeMdm {
  roundTrips = 0;
  ops = 0;

  constructor(private readonly inner: NativeMdm) {}

  apply(ops: readonly CspOp[], options?: ApplyOptions): Promise<CspResult[]> {
    this.roundTrips++;
    this.ops += ops.length;
    return this.inner.apply(ops, options);
  }

  rawSyncML(body: string): Promise<string> {
    this.roundTrips++;
    return this.inner.rawSyncML(body);
  }

  reset(): void {
    this.roundTrips = 0;
    this.ops = 0;
  }
}
