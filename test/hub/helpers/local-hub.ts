/**
 * A `LocalHub` on 127.0.0.1 with ephemeral ports in a temporary data folder, and how the real
 * `azure-iothub` SDK is pointed at it.
 *
 * The SDK dials `https://{HostName}:443` (Node's `https.request` with `host` = the connection
 * string's HostName, port never set) through its own keep-alive agent, and has no public way to
 * set a CA on `Registry` / `Client`. What works without touching the SDK's code: its HTTP layer
 * (`common-http/http.js`) copies `setOptions({ ca, http: { agent } })` into every request, so
 * `trustHub` calls `setOptions` on the object's `RestApiClient` with the hub's CA (`ca`, checked
 * by Node's TLS as usual) and an agent whose `createConnection` sends the socket to the hub's
 * ephemeral port on 127.0.0.1. (`NODE_EXTRA_CA_CERTS` would also give the CA, but only when set
 * before the process starts, and it does not help with the port.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { LocalHub, type LocalHubOptions } from '../../../lib/hub/hub';

export async function startLocalHub(
  options: Partial<LocalHubOptions> = {},
): Promise<{ hub: LocalHub; dataDir: string; close(): Promise<void> }> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'wdm-localhub-'));
  const hub = await LocalHub.start({ mqttPort: 0, httpsPort: 0, ...options, dataDir });
  return {
    hub,
    dataDir,
    async close() {
      await hub.stop();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** An agent that connects every request to the hub's HTTPS port on 127.0.0.1. */
export function hubAgent(hub: LocalHub): https.Agent {
  const agent = new https.Agent({ keepAlive: false });
  const port = hub.ports.https!;
  (agent as unknown as { createConnection: unknown }).createConnection = (
    options: tls.ConnectionOptions,
    callback?: () => void,
  ) => {
    // Verify the certificate against 127.0.0.1 (a SAN of the hub's certificate), no SNI.
    const rest: tls.ConnectionOptions = { ...options, host: '127.0.0.1', port };
    delete rest.servername;
    return tls.connect(rest, callback);
  };
  return agent;
}

/** Gives an `azure-iothub` `Registry` or `Client` the hub's CA and port (see the module comment). */
export function trustHub<T>(sdkObject: T, hub: LocalHub, agent = hubAgent(hub)): T {
  const rest = (sdkObject as unknown as { _restApiClient: { setOptions(o: unknown): void } })
    ._restApiClient;
  rest.setOptions({ ca: hub.tls.caCertPem, http: { agent } });
  return sdkObject;
}
