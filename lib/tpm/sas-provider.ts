/**
 * `TpmSasAuthenticationProvider`: an azure-iot-device `AuthenticationProvider` whose SAS tokens
 * are signed inside the TPM (`LimpetApi.sasToken`, the slot's HMAC key, which never leaves the
 * TPM) for the hub host and device (and module) of the slot's stored URI. Same contract as the
 * SDK's `SharedAccessKeyAuthenticationProvider`: `type` is `AuthenticationType.Token`,
 * `getDeviceCredentials(callback?)` returns the current token (signing a new one when none is
 * valid for at least `tokenRenewalMarginInSeconds`, and starting the renewal timer), and every
 * `tokenValidTimeInSeconds - tokenRenewalMarginInSeconds` seconds a new token is signed and
 * `newTokenAvailable` emitted, on which the MQTT transport sends it to the hub (a reconnect with
 * the new password; the DM client re-reconciles on connect). A signing failure emits `error`
 * and the renewal is tried again after a short delay. `stop()` ends the timers.
 * Use: `Client.fromAuthenticationProvider(await TpmSasAuthenticationProvider.create(tpm, 0), Mqtt)`.
 */
import { EventEmitter } from 'node:events';
import { InvalidArgumentError, TpmError } from '../errors';
import { SLOT_COUNT, type LimpetApi } from './api';
import { splitUri } from './slots';

/** `AuthenticationType.Token` of azure-iot-common (the SDK compares `type` with it). */
const AUTHENTICATION_TYPE_TOKEN = 1;
/** After a failed renewal, the next attempt (seconds; bounded by the margin left). */
const RETRY_SECONDS = 5;

/** The credentials the transports read (azure-iot-common `TransportConfig`, the SAS part). */
export interface TpmTransportConfig {
  host: string;
  deviceId: string;
  moduleId?: string;
  sharedAccessSignature?: string;
}

export interface TpmSasProviderOptions {
  /** Validity of each token (s). Default 3600, as the SDK's provider. */
  tokenValidTimeInSeconds?: number;
  /** Renew this long before expiry (s). Default 900, as the SDK's provider. */
  tokenRenewalMarginInSeconds?: number;
}

type Callback<T> = (err?: Error | null, result?: T) => void;

export class TpmSasAuthenticationProvider extends EventEmitter {
  readonly type = AUTHENTICATION_TYPE_TOKEN;
  readonly slot: number;
  private readonly tpm: Pick<LimpetApi, 'sasToken'>;
  private readonly credentials: TpmTransportConfig;
  private validSeconds: number;
  private marginSeconds: number;
  private expiry: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** The signing in flight: concurrent callers share it. */
  private signing: Promise<TpmTransportConfig> | undefined;
  private stopped = false;

  /**
   * `credentials`: host/device(/module) of the slot's URI (see `create`, which reads it).
   */
  constructor(
    tpm: Pick<LimpetApi, 'sasToken'>,
    slot: number,
    credentials: TpmTransportConfig,
    options: TpmSasProviderOptions = {},
  ) {
    super();
    if (!Number.isInteger(slot) || slot < 0 || slot >= SLOT_COUNT) {
      throw new InvalidArgumentError('slot', `an integer slot 0-${SLOT_COUNT - 1}`, slot);
    }
    this.tpm = tpm;
    this.slot = slot;
    this.credentials = { ...credentials };
    delete this.credentials.sharedAccessSignature;
    this.validSeconds = 3600;
    this.marginSeconds = 900;
    this.setRenewal(
      options.tokenValidTimeInSeconds ?? this.validSeconds,
      options.tokenRenewalMarginInSeconds ?? this.marginSeconds,
    );
  }

  /** Reads the slot's URI and returns a provider for it (TpmError when the slot has none). */
  static async create(
    tpm: Pick<LimpetApi, 'sasToken' | 'readUri'>,
    slot: number,
    options: TpmSasProviderOptions = {},
  ): Promise<TpmSasAuthenticationProvider> {
    const uri = await tpm.readUri(slot);
    if (uri === undefined) {
      throw new TpmError(
        'TPM2_NV_Read',
        0,
        'NO_URI',
        `Slot ${slot} has no service URI: import a connection string first (iotdm tpm import ${slot})`,
      );
    }
    return new TpmSasAuthenticationProvider(tpm, slot, splitUri(slot, uri), options);
  }

  /** Hub host, device id and module id of the slot (no token). */
  get identity(): { host: string; deviceId: string; moduleId?: string } {
    const { host, deviceId, moduleId } = this.credentials;
    return moduleId ? { host, deviceId, moduleId } : { host, deviceId };
  }

  /** Expiry (Unix seconds) of the current token, if one was signed. */
  get tokenExpiry(): number | undefined {
    return this.expiry;
  }

  getDeviceCredentials(): Promise<TpmTransportConfig>;
  getDeviceCredentials(callback: Callback<TpmTransportConfig>): void;
  getDeviceCredentials(
    callback?: Callback<TpmTransportConfig>,
  ): Promise<TpmTransportConfig> | void {
    const p = this.shouldRenew()
      ? this.renew().then((c) => {
          this.schedule(this.validSeconds - this.marginSeconds);
          return c;
        })
      : Promise.resolve({ ...this.credentials });
    if (!callback) return p;
    p.then(
      (c) => callback(null, c),
      (err: unknown) => callback(err as Error),
    );
  }

  /** As the SDK's: new values; a running renewal timer renews almost at once with them. */
  setTokenRenewalValues(
    tokenValidTimeInSeconds: number,
    tokenRenewalMarginInSeconds: number,
  ): void {
    this.setRenewal(tokenValidTimeInSeconds, tokenRenewalMarginInSeconds);
    if (this.timer) this.schedule(0);
  }

  /** Stops renewing (the SDK's `stop`); `getDeviceCredentials` starts it again. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.expiry = undefined;
    this.stopped = true;
  }

  private setRenewal(valid: number, margin: number): void {
    if (!Number.isInteger(valid) || valid <= 0) {
      throw new InvalidArgumentError('tokenValidTimeInSeconds', 'a positive integer', valid);
    }
    if (!Number.isInteger(margin) || margin < 0 || margin >= valid) {
      throw new InvalidArgumentError(
        'tokenRenewalMarginInSeconds',
        `an integer 0 ≤ margin < tokenValidTimeInSeconds (${valid})`,
        margin,
      );
    }
    this.validSeconds = valid;
    this.marginSeconds = margin;
  }

  private shouldRenew(): boolean {
    if (this.expiry === undefined || this.credentials.sharedAccessSignature === undefined) {
      return true;
    }
    return this.expiry - Math.floor(Date.now() / 1000) < this.marginSeconds;
  }

  private renew(): Promise<TpmTransportConfig> {
    this.stopped = false;
    this.signing ??= this.tpm
      .sasToken(this.slot, this.validSeconds)
      .then((sas) => {
        this.credentials.sharedAccessSignature = sas.token;
        this.expiry = sas.expiry;
        return { ...this.credentials };
      })
      .finally(() => {
        this.signing = undefined;
      });
    return this.signing;
  }

  private schedule(seconds: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, seconds) * 1000);
  }

  private onTimer(): void {
    this.timer = undefined;
    this.renew().then(
      (credentials) => {
        if (this.stopped) return;
        this.schedule(this.validSeconds - this.marginSeconds);
        this.emit('newTokenAvailable', credentials);
      },
      (err: unknown) => {
        if (this.stopped) return;
        // Try again soon, while the current token is still valid if possible.
        const left = (this.expiry ?? 0) - Math.floor(Date.now() / 1000);
        this.schedule(Math.max(1, Math.min(RETRY_SECONDS, left - 1)));
        if (this.listenerCount('error') > 0) this.emit('error', err);
      },
    );
  }
}
