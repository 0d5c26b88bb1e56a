/**
 * IoT Hub device topics (research notes §1.3; learn.microsoft.com "Communicate with an IoT hub
 * using the MQTT protocol"): classification of what a device publishes and subscribes to, and
 * the property bags carried in topic names.
 */

/** Property-bag names of the system properties (`$.mid` ...) and their IoT Hub names. */
export const SYSTEM_PROPERTY_NAMES: Readonly<Record<string, string>> = {
  '$.mid': 'messageId',
  '$.cid': 'correlationId',
  '$.uid': 'userId',
  '$.to': 'to',
  '$.exp': 'expiryTimeUtc',
  '$.ct': 'contentType',
  '$.ce': 'contentEncoding',
  '$.ifid': 'interfaceId',
  '$.mdid': 'modelId',
};

/** Parses `k=v&k2=v2` (URL-encoded); `undefined` on a bad escape. */
export function parsePropertyBag(
  bag: string,
): { properties: Record<string, string>; systemProperties: Record<string, string> } | undefined {
  const properties: Record<string, string> = {};
  const systemProperties: Record<string, string> = {};
  if (bag === '') return { properties, systemProperties };
  for (const part of bag.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      value = eq < 0 ? '' : decodeURIComponent(part.slice(eq + 1));
    } catch {
      return undefined;
    }
    const system = SYSTEM_PROPERTY_NAMES[name];
    if (system) systemProperties[system] = value;
    else properties[name] = value;
  }
  return { properties, systemProperties };
}

/** Builds a URL-encoded property bag (system properties first, with their `$.` names). */
export function formatPropertyBag(
  systemProperties: Record<string, string | undefined>,
  properties: Record<string, string>,
): string {
  const byName = new Map(Object.entries(SYSTEM_PROPERTY_NAMES).map(([bag, name]) => [name, bag]));
  const parts: string[] = [];
  for (const [name, value] of Object.entries(systemProperties)) {
    if (value === undefined) continue;
    const key = byName.get(name) ?? name;
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(value)}`);
  }
  for (const [name, value] of Object.entries(properties)) {
    parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(value)}`);
  }
  return parts.join('&');
}

/** Query part of `...?/$rid=1&$version=2` style topics. */
function queryOf(topic: string, prefix: string): URLSearchParams | undefined {
  if (!topic.startsWith(prefix)) return undefined;
  return new URLSearchParams(topic.slice(prefix.length));
}

export type DevicePublish =
  | { kind: 'telemetry'; bag: string }
  | { kind: 'twin-get'; rid: string }
  | { kind: 'twin-reported'; rid: string; version?: string }
  | { kind: 'method-response'; rid: string; status: number };

/**
 * What a device's PUBLISH means, or `undefined` when the device may not publish there (another
 * device's topic, unknown topic, missing `$rid`).
 */
export function classifyDevicePublish(deviceId: string, topic: string): DevicePublish | undefined {
  const events = `devices/${deviceId}/messages/events`;
  if (topic === events) return { kind: 'telemetry', bag: '' };
  if (topic.startsWith(events + '/'))
    return { kind: 'telemetry', bag: topic.slice(events.length + 1) };

  const get = queryOf(topic, '$iothub/twin/GET/?');
  if (get) {
    const rid = get.get('$rid');
    return rid ? { kind: 'twin-get', rid } : undefined;
  }
  const reported = queryOf(topic, '$iothub/twin/PATCH/properties/reported/?');
  if (reported) {
    const rid = reported.get('$rid');
    if (!rid) return undefined;
    const version = reported.get('$version');
    return version === null
      ? { kind: 'twin-reported', rid }
      : { kind: 'twin-reported', rid, version };
  }
  const m = /^\$iothub\/methods\/res\/(\d{1,3})\/\?(.*)$/.exec(topic);
  if (m) {
    const rid = new URLSearchParams(m[2]).get('$rid');
    return rid ? { kind: 'method-response', rid, status: Number(m[1]) } : undefined;
  }
  return undefined;
}

/** The topic filters a device may subscribe to (exactly these; `#` only where shown). */
export function allowedSubscriptions(deviceId: string): readonly string[] {
  return [
    `devices/${deviceId}/messages/devicebound/#`,
    '$iothub/twin/res/#',
    '$iothub/twin/PATCH/properties/desired/#',
    '$iothub/methods/POST/#',
  ];
}

export const TOPIC_FILTER = {
  c2d: (deviceId: string): string => `devices/${deviceId}/messages/devicebound/#`,
  twinResponses: '$iothub/twin/res/#',
  desired: '$iothub/twin/PATCH/properties/desired/#',
  methods: '$iothub/methods/POST/#',
} as const;

export const twinResponseTopic = (status: number, rid: string, version?: number): string =>
  `$iothub/twin/res/${status}/?$rid=${encodeURIComponent(rid)}` +
  (version === undefined ? '' : `&$version=${version}`);

export const desiredPatchTopic = (version: number): string =>
  `$iothub/twin/PATCH/properties/desired/?$version=${version}`;

export const methodRequestTopic = (name: string, rid: string): string =>
  `$iothub/methods/POST/${name}/?$rid=${encodeURIComponent(rid)}`;

export const c2dTopic = (deviceId: string, bag: string): string =>
  `devices/${deviceId}/messages/devicebound/${bag}`;

/** True for topics the hub itself sends to `deviceId` (and only those may reach it). */
export function isHubToDeviceTopic(deviceId: string, topic: string): boolean {
  return (
    topic.startsWith(`devices/${deviceId}/messages/devicebound/`) ||
    topic.startsWith('$iothub/twin/res/') ||
    topic.startsWith('$iothub/twin/PATCH/properties/desired/') ||
    topic.startsWith('$iothub/methods/POST/')
  );
}
