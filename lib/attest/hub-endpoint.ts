/**
 * Where the attestation service reaches the hub's service side: a service connection string
 * (`HostName=...;SharedAccessKeyName=...;SharedAccessKey=...`) parsed into host, port and policy,
 * with an optional CA (the local hub's own CA). `trustServiceEndpoint` points an `azure-iothub`
 * `Registry` or `Client` at that host, port and CA: the SDK dials `{HostName}:443` and has no
 * public CA option, so its REST client's options (`ca`, `http.agent`, copied into every request)
 * are set, as the hub's own tests do. Nothing here logs the key.
 */
import https from 'node:https';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { InvalidValueError } from '../errors';
// From sas.ts itself: hub/auth/index.ts also loads device-auth → hub/tls → node-forge.
import { generateSasToken } from '../hub/auth/sas';

export interface HubEndpoint {
  /** Host name, without the port. */
  host: string;
  port: number;
  /** `HostName` as written (with `:port` unless 443): the SAS resource. */
  hostName: string;
  keyName: string;
  key: string;
  /** PEM CA to trust (the local hub's); default: the system's. */
  ca?: string;
}

/** Parses a service connection string; throws `InvalidValueError` naming what is missing. */
export function parseServiceConnectionString(text: string, ca?: string): HubEndpoint {
  const fields = new Map<string, string>();
  for (const part of text.split(';')) {
    const at = part.indexOf('=');
    if (at > 0) fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  const hostName = fields.get('HostName');
  const keyName = fields.get('SharedAccessKeyName');
  const key = fields.get('SharedAccessKey');
  if (!hostName || !keyName || !key) {
    throw new InvalidValueError(
      'the hub connection string needs HostName, SharedAccessKeyName and SharedAccessKey',
    );
  }
  const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(hostName);
  if (!m) throw new InvalidValueError(`the hub connection string's HostName is not host[:port]`);
  const port = m[2] ? Number(m[2]) : 443;
  return { host: m[1]!, port, hostName, keyName, key, ...(ca ? { ca } : {}) };
}

/** A service SAS token for the hub (one hour). */
export function serviceToken(endpoint: HubEndpoint): string {
  return generateSasToken({
    resource: endpoint.hostName,
    key: endpoint.key,
    keyName: endpoint.keyName,
  });
}

/** An agent whose connections go to the endpoint's host and port (with its CA, if any). */
export function endpointAgent(endpoint: HubEndpoint): https.Agent {
  const agent = new https.Agent({ keepAlive: false });
  (agent as unknown as { createConnection: unknown }).createConnection = (
    options: tls.ConnectionOptions,
    callback?: () => void,
  ) => {
    const rest: tls.ConnectionOptions = {
      ...options,
      host: endpoint.host,
      port: endpoint.port,
      ...(endpoint.ca ? { ca: endpoint.ca } : {}),
    };
    if (isIP(endpoint.host)) delete rest.servername;
    else rest.servername = endpoint.host;
    return tls.connect(rest, callback);
  };
  return agent;
}

/** Points an `azure-iothub` `Registry` / `Client` at the endpoint (port and CA). */
export function trustServiceEndpoint<T>(sdkObject: T, endpoint: HubEndpoint): T {
  if (endpoint.port === 443 && !endpoint.ca) return sdkObject;
  const rest = (sdkObject as unknown as { _restApiClient?: { setOptions(o: unknown): void } })
    ._restApiClient;
  if (!rest || typeof rest.setOptions !== 'function') {
    throw new InvalidValueError('this azure-iothub version gives no way to set the hub port/CA');
  }
  rest.setOptions({
    ...(endpoint.ca ? { ca: endpoint.ca } : {}),
    http: { agent: endpointAgent(endpoint) },
  });
  return sdkObject;
}
