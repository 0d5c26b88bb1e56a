/**
 * A `TwinLink` around the SDK link that keeps a copy of the twin's `properties.reported.windows`
 * (the full read, then every reported patch the DM client sends) and of `desired.windows`, so the
 * toaster's page can show the DM state (each section's `lastChange`, the reboot request) without
 * reading the twin again.
 */
import {
  SdkTwinLink,
  type Json,
  type JsonObject,
  type MethodResponder,
  type SdkClientLike,
  type TwinLink,
  type TwinSnapshot,
} from '../../lib';

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Merges a twin patch into `target` (null removes a key), as IoT Hub does. */
function merge(target: JsonObject, patch: JsonObject): void {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete target[k];
    else if (isObject(v) && isObject(target[k])) merge(target[k] as JsonObject, v);
    else target[k] = structuredClone(v) as Json;
  }
}

export class ReportedMirror implements TwinLink {
  readonly #inner: TwinLink;
  reported: JsonObject = {};
  desired: JsonObject = {};
  connected = true;

  constructor(client: SdkClientLike | TwinLink) {
    this.#inner = 'updateReported' in client ? client : new SdkTwinLink(client);
  }

  async getTwin(): Promise<TwinSnapshot> {
    const t = await this.#inner.getTwin();
    this.reported = isObject(t.reported.windows) ? structuredClone(t.reported.windows) : {};
    this.desired = isObject(t.desired.windows) ? structuredClone(t.desired.windows) : {};
    return t;
  }

  onDesiredPatch(listener: (patch: JsonObject) => void): void {
    this.#inner.onDesiredPatch((patch) => {
      const w = patch.windows;
      if (w === null) this.desired = {};
      else if (isObject(w)) merge(this.desired, w);
      listener(patch);
    });
  }

  async updateReported(patch: JsonObject): Promise<void> {
    await this.#inner.updateReported(patch);
    const w = patch.windows;
    if (w === null) this.reported = {};
    else if (isObject(w)) merge(this.reported, w);
  }

  sendEvent(body: Json, properties: Readonly<Record<string, string>>): Promise<void> {
    return this.#inner.sendEvent(body, properties);
  }

  onMethod(name: string, responder: MethodResponder): void {
    this.#inner.onMethod(name, responder);
  }

  onUnknownMethod(prefix: string, responder: MethodResponder): boolean {
    return this.#inner.onUnknownMethod(prefix, responder);
  }

  onConnect(listener: () => void): void {
    this.#inner.onConnect(() => {
      this.connected = true;
      listener();
    });
  }

  onDisconnect(listener: () => void): void {
    this.#inner.onDisconnect(() => {
      this.connected = false;
      listener();
    });
  }

  close(): void {
    this.#inner.close();
  }
}
