/**
 * Wi-Fi profiles, with the original client's names (docs/features/wifi.md):
 *
 *   - section `wifi`: `{ <profileName>: { profile: "container/file.xml" } | "uninstall" }` under
 *     the usual switches (`"no-apply-no-report"`, `"no-apply-yes-report"`,
 *     `{ applyProperties, reportProperties }`); reported `{ <profileName>: "" }` for every profile
 *     the WiFi CSP lists;
 *   - method `windows.getWifiDetails` `{ profileName, connectionString?, containerName, output }`:
 *     the profile's WLAN XML uploaded to `containerName/output`, answered `{ response, reason }`.
 *
 * A profile is downloaded through the `ExternalStorage` (at most 64 KiB), checked strictly
 * (well-formed, no DTD/entities, root `WLANProfile`, `SSIDConfig/SSID/name` equal to the profile
 * name) and written to `./Vendor/MSFT/WiFi/Profile/<name>/WlanXml`; `"uninstall"` deletes
 * `./Vendor/MSFT/WiFi/Profile/<name>`. Each profile is handled on its own: one that fails does not
 * stop the others, and the section is then reported `failed` naming every profile that failed.
 */
import { promises as fsp } from 'node:fs';
import { CspError, InvalidValueError } from '../errors';
import type { FeatureHandler, HandlerContext, Json, JsonObject, MethodResult } from '../dm/handler';
import { s } from '../dm/schema';
import { errorStatus } from '../dm/status';
import { cspUri } from '../csp/uri';
import type { ExternalStorage } from '../storage/contract';
import { combineFailures, type ItemFailure } from './util-failures';
import { child, parseStrictXml } from './util-xml';

export const WIFI_PROFILES = './Vendor/MSFT/WiFi/Profile';
/** Largest WLAN profile downloaded (real profiles are a few KiB). */
export const MAX_PROFILE_BYTES = 64 * 1024;
/**
 * A profile name: the SSID it configures (1-32 octets on air; names of up to 64 characters are
 * taken as Windows does not limit the profile name to the SSID's length), no control characters.
 */
// eslint-disable-next-line no-control-regex
export const PROFILE_NAME = /^(?!\.{1,2}$)[^\u0000-\u001f\u007f]{1,64}$/;

const profileSchema = s.oneOf(
  s.object({ profile: s.string({ maxLength: 1024 }) }, { required: ['profile'] }),
  s.enum('uninstall'),
);

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A profile name as a twin key. Twin property names may not hold a space, `.`, `$` or control
 * characters, which SSIDs may: those (and `%` itself) are written `%XX` (hex of the character),
 * e.g. the profile "Contoso Devices" is the key "Contoso%20Devices", in desired and reported.
 */
export function twinKey(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[%\s.$\u0000-\u001f\u007f]/g, (c) =>
    c.charCodeAt(0) > 0xff
      ? encodeURIComponent(c)
      : `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

/** The profile name a twin key stands for (the reverse of `twinKey`). */
export function profileFromKey(key: string): string {
  return key.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex: string) =>
    String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

/** `./Vendor/MSFT/WiFi/Profile/<name>` with the name %-escaped. */
export function profileUri(name: string, leaf?: 'WlanXml'): string {
  return leaf ? cspUri(WIFI_PROFILES, name, leaf) : cspUri(WIFI_PROFILES, name);
}

/** Text of a downloaded profile: UTF-8, or UTF-16 with its byte-order mark. */
function decodeProfile(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    const swapped = Buffer.from(bytes.subarray(2));
    swapped.swap16();
    return swapped.toString('utf16le');
  }
  const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  try {
    return text.decode(bytes);
  } catch {
    throw new InvalidValueError('the profile is not UTF-8 (nor UTF-16 with a byte-order mark)');
  }
}

/**
 * Checks a WLAN profile document for profile `name`; returns it unchanged. Throws
 * `InvalidValueError` with the reason.
 */
export function checkWlanProfile(xml: string, name: string): string {
  const root = parseStrictXml(xml);
  if (root.local !== 'WLANProfile') {
    throw new InvalidValueError(`the root element is <${root.name}>, not <WLANProfile>`);
  }
  const ssidName = child(child(child(root, 'SSIDConfig'), 'SSID'), 'name');
  if (!ssidName) throw new InvalidValueError('the profile has no SSIDConfig/SSID/name');
  if (ssidName.text.trim() !== name) {
    throw new InvalidValueError(
      `the SSID in the profile (${JSON.stringify(ssidName.text.trim().slice(0, 64))}) is not the profile name`,
    );
  }
  return xml;
}

/** Profile names from a `?list=StructData` answer (the first segment below `Profile`). */
export function profileNames(items: readonly { uri: string }[]): string[] {
  const names = new Set<string>();
  const prefixes = [`${WIFI_PROFILES}/`, `./Device${WIFI_PROFILES.slice(1)}/`];
  for (const item of items) {
    const prefix = prefixes.find((p) => item.uri.startsWith(p));
    if (!prefix) continue;
    const seg = item.uri.slice(prefix.length).split('/')[0];
    if (!seg) continue;
    try {
      names.add(decodeURIComponent(seg));
    } catch {
      names.add(seg);
    }
  }
  return [...names].sort();
}

async function install(
  ctx: HandlerContext,
  storage: ExternalStorage,
  name: string,
  ref: string,
): Promise<void> {
  const file = await storage.download(ref, { maxBytes: MAX_PROFILE_BYTES });
  let bytes: Buffer;
  try {
    bytes = await fsp.readFile(file.path);
  } finally {
    await file.remove();
  }
  if (bytes.byteLength > MAX_PROFILE_BYTES) {
    throw new InvalidValueError(`the profile is larger than ${MAX_PROFILE_BYTES} bytes`);
  }
  const xml = checkWlanProfile(decodeProfile(bytes), name);
  await ctx.csp.put(profileUri(name, 'WlanXml'), xml, { format: 'chr' });
}

async function uninstall(ctx: HandlerContext, name: string): Promise<void> {
  try {
    await ctx.csp.delete(profileUri(name));
  } catch (err) {
    // Already gone: what was asked for.
    if (!(err instanceof CspError && err.status === 404)) throw err;
  }
}

async function details(
  storage: ExternalStorage,
  payload: Json | undefined,
  ctx: HandlerContext,
): Promise<MethodResult> {
  const p = isObject(payload) ? payload : {};
  const name = String(p.profileName);
  const reject = (status: number, reason: string): MethodResult => ({
    status,
    body: { response: 'rejected', reason },
  });
  let xml: string;
  try {
    const value = await ctx.csp.get(profileUri(name, 'WlanXml'));
    if (typeof value !== 'string') return reject(500, 'the device answered no WLAN XML');
    xml = value;
  } catch (err) {
    if (err instanceof CspError && err.status === 404) {
      return reject(404, `no Wi-Fi profile named ${JSON.stringify(name)}`);
    }
    const e = errorStatus(err);
    return reject(e.httpStatus, e.errContext);
  }
  try {
    const loc = storage.locate(`${String(p.containerName)}/${String(p.output)}`);
    const connectionString =
      typeof p.connectionString === 'string' && p.connectionString !== ''
        ? p.connectionString
        : undefined;
    await storage.upload(loc, Buffer.from(xml, 'utf8'), {
      contentType: 'application/xml',
      ...(connectionString !== undefined ? { connectionString } : {}),
    });
  } catch (err) {
    const e = errorStatus(err);
    ctx.log.warn({ err: e.errContext }, 'windows.getWifiDetails: upload failed');
    return reject(e.errCode >= 400 && e.errCode < 600 ? e.errCode : 500, e.errContext);
  }
  return { status: 200, body: { response: 'accepted', reason: '' } };
}

export interface WifiOptions {
  /** Where profiles are downloaded from and details uploaded to. */
  storage: ExternalStorage;
}

/** `[wifi]`: the section handler (with `windows.getWifiDetails`). */
export function createWifiHandlers({ storage }: WifiOptions): FeatureHandler[] {
  if (!storage || typeof storage.download !== 'function') {
    throw new InvalidValueError('createWifiHandlers: storage (an ExternalStorage) is required');
  }
  const handler: FeatureHandler = {
    section: 'wifi',
    nodes: [`${WIFI_PROFILES}/**`],
    desired: s.map(profileSchema, { maxKeys: 64 }),
    longRunning: true,
    async apply(desired, ctx) {
      const failures: ItemFailure[] = [];
      for (const [key, want] of Object.entries(desired)) {
        const name = profileFromKey(key);
        try {
          if (!PROFILE_NAME.test(name)) throw new InvalidValueError('not a valid profile name');
          if (want === 'uninstall') await uninstall(ctx, name);
          else if (isObject(want) && typeof want.profile === 'string') {
            await install(ctx, storage, name, want.profile);
          } else throw new InvalidValueError('expected {profile} or "uninstall"');
        } catch (err) {
          ctx.log.warn({ profile: key, err: errorStatus(err).errContext }, 'Wi-Fi profile failed');
          failures.push({ name: key, err });
        }
      }
      if (failures.length > 0) throw combineFailures('Wi-Fi profile(s)', failures);
    },
    async report(ctx) {
      const items = await ctx.csp.list(WIFI_PROFILES);
      const out: JsonObject = {};
      for (const name of profileNames(items)) out[twinKey(name)] = '';
      return out;
    },
    methods: [
      {
        name: 'windows.getWifiDetails',
        payload: s.object(
          {
            profileName: s.string({ pattern: PROFILE_NAME }),
            connectionString: s.string({ maxLength: 4096 }),
            containerName: s.string({ maxLength: 63 }),
            output: s.string({ maxLength: 1024, pattern: /\S/ }),
          },
          { required: ['profileName', 'containerName', 'output'] },
        ),
        invoke: (payload, ctx) => details(storage, payload, ctx),
      },
    ],
  };
  return [handler];
}
