/** Per-caller rate limit of the service: a token bucket (refilled continuously, capped). */
export class TokenBucket {
  #tokens: number;
  #last: number;
  readonly #rate: number;
  readonly #burst: number;

  constructor(ratePerSecond: number, burst: number, now = performance.now()) {
    this.#rate = ratePerSecond;
    this.#burst = burst;
    this.#tokens = burst;
    this.#last = now;
  }

  /** Takes `n` tokens if there are that many; returns whether it did. */
  take(n: number, now = performance.now()): boolean {
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#rate);
    this.#last = now;
    if (n > this.#tokens) return false;
    this.#tokens -= n;
    return true;
  }
}

/** One bucket per key (the caller's uid), created on first use. */
export class RateLimiter {
  readonly #buckets = new Map<string, TokenBucket>();
  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
  ) {}

  take(key: string, n: number): boolean {
    let bucket = this.#buckets.get(key);
    if (!bucket) this.#buckets.set(key, (bucket = new TokenBucket(this.ratePerSecond, this.burst)));
    return bucket.take(n);
  }
}
