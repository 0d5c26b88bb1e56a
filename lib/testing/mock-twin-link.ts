/**
 * `MockTwinLink`: an in-memory device twin and method router implementing `TwinLink`, for unit
 * tests of the DM engine without a hub. Desired changes bump `$version` and are delivered as
 * patches (or withheld while "offline"); reported patches are merged with twin semantics and
 * recorded; failures can be injected per reported update. Device-to-cloud messages are recorded
 * in `events` (failures injectable with `failEvents`).
 */
import type { Json, JsonObject, MethodResult } from '../dm/handler';
import type { MethodResponder, TwinLink, TwinSnapshot } from '../dm/twin-link';
import { applyTwinPatch } from '../dm/twin-patch';

export class MockTwinLink implements TwinLink {
  desired: JsonObject = { $version: 1 };
  reported: JsonObject = { $version: 1 };
  /** Every reported patch delivered, in order. */
  readonly reportedPatches: JsonObject[] = [];
  /** Number of full twin reads. */
  twinReads = 0;
  connected = true;
  /** Errors thrown by the next reported updates, in order. */
  readonly failReported: unknown[] = [];
  /** Withheld patches (sent while offline, never delivered). */
  readonly missed: JsonObject[] = [];
  /** Every device-to-cloud message sent, in order. */
  readonly events: Array<{ body: Json; properties: Record<string, string> }> = [];
  /** Errors thrown by the next `sendEvent` calls, in order. */
  readonly failEvents: unknown[] = [];

  #patchListeners: Array<(p: JsonObject) => void> = [];
  #connectListeners: Array<() => void> = [];
  #disconnectListeners: Array<() => void> = [];
  #methods = new Map<string, MethodResponder>();
  #unknown: { prefix: string; responder: MethodResponder } | undefined;
  #reportedWaiters: Array<{ test: (r: JsonObject) => boolean; resolve: () => void }> = [];
  #eventWaiters: Array<{ count: number; resolve: () => void }> = [];

  async getTwin(): Promise<TwinSnapshot> {
    if (!this.connected)
      throw Object.assign(new Error('not connected'), { name: 'NotConnectedError' });
    this.twinReads++;
    return { desired: structuredClone(this.desired), reported: structuredClone(this.reported) };
  }

  onDesiredPatch(listener: (patch: JsonObject) => void): void {
    this.#patchListeners.push(listener);
  }

  async updateReported(patch: JsonObject): Promise<void> {
    await Promise.resolve();
    if (this.failReported.length > 0) throw this.failReported.shift();
    if (!this.connected)
      throw Object.assign(new Error('not connected'), { name: 'NotConnectedError' });
    this.reportedPatches.push(structuredClone(patch));
    applyTwinPatch(this.reported, patch);
    this.reported.$version = (this.reported.$version as number) + 1;
    for (const w of this.#reportedWaiters.slice()) {
      if (w.test(this.reported)) {
        this.#reportedWaiters.splice(this.#reportedWaiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  async sendEvent(body: Json, properties: Readonly<Record<string, string>>): Promise<void> {
    await Promise.resolve();
    if (this.failEvents.length > 0) throw this.failEvents.shift();
    if (!this.connected)
      throw Object.assign(new Error('not connected'), { name: 'NotConnectedError' });
    this.events.push({ body: structuredClone(body), properties: { ...properties } });
    for (const w of this.#eventWaiters.slice()) {
      if (this.events.length >= w.count) {
        this.#eventWaiters.splice(this.#eventWaiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }

  onMethod(name: string, responder: MethodResponder): void {
    this.#methods.set(name, responder);
  }

  onUnknownMethod(prefix: string, responder: MethodResponder): boolean {
    this.#unknown = { prefix, responder };
    return true;
  }

  onConnect(listener: () => void): void {
    this.#connectListeners.push(listener);
  }

  onDisconnect(listener: () => void): void {
    this.#disconnectListeners.push(listener);
  }

  close(): void {
    this.#patchListeners = [];
    this.#connectListeners = [];
    this.#disconnectListeners = [];
  }

  // ---------------------------------------------------------------- test controls

  /** The service side changes desired properties: `$version` + 1, patch delivered if online. */
  setDesired(patch: JsonObject): JsonObject {
    applyTwinPatch(this.desired, patch);
    this.desired.$version = (this.desired.$version as number) + 1;
    const sent = { ...structuredClone(patch), $version: this.desired.$version };
    if (this.connected) this.deliver(sent);
    else this.missed.push(sent);
    return sent;
  }

  /** Delivers a patch as is (duplicates, out-of-order, forged versions). */
  deliver(patch: JsonObject): void {
    for (const l of this.#patchListeners) l(structuredClone(patch));
  }

  disconnect(): void {
    this.connected = false;
    for (const l of this.#disconnectListeners) l();
  }

  connect(): void {
    this.connected = true;
    for (const l of this.#connectListeners) l();
  }

  /** Calls a direct method as the service would. */
  async invoke(name: string, payload?: Json): Promise<MethodResult> {
    const m = this.#methods.get(name);
    if (m) return m(name, payload);
    if (this.#unknown && name.startsWith(this.#unknown.prefix))
      return this.#unknown.responder(name, payload);
    throw new Error(`no handler for ${name}: the call would time out`);
  }

  /** Resolves when at least `count` device-to-cloud messages were sent. */
  waitEvents(count: number): Promise<void> {
    if (this.events.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#eventWaiters.push({ count, resolve }));
  }

  /** Resolves when the reported document satisfies `test`. */
  waitReported(test: (reported: JsonObject) => boolean): Promise<void> {
    if (test(this.reported)) return Promise.resolve();
    return new Promise((resolve) => this.#reportedWaiters.push({ test, resolve }));
  }
}
