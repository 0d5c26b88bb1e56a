/**
 * The dashboard's only way to IoT Hub: `azure-iothub` `Registry` (twins, queries), `Client`
 * (direct methods) and `JobClient` (jobs), pointed at any hub — Azure, or the local hub on another
 * port with its own CA — through `lib/attest/hub-endpoint.ts`. The connection string stays here:
 * only the host name leaves this module.
 */
import { Client, JobClient, Registry } from 'azure-iothub';
import { parseServiceConnectionString, trustServiceEndpoint } from '../attest/hub-endpoint';

export interface HubClients {
  registry: Registry;
  client: Client;
  jobs: JobClient;
  /** `HostName` of the connection string (host[:port]): safe to show. */
  host: string;
  close(): Promise<void>;
}

/** Opens the three SDK objects; throws `InvalidValueError` for a bad connection string. */
export function connectHub(connectionString: string, ca?: string): HubClients {
  const endpoint = parseServiceConnectionString(connectionString, ca);
  const registry = trustServiceEndpoint(Registry.fromConnectionString(connectionString), endpoint);
  const client = trustServiceEndpoint(Client.fromConnectionString(connectionString), endpoint);
  const jobs = trustServiceEndpoint(JobClient.fromConnectionString(connectionString), endpoint);
  return {
    registry,
    client,
    jobs,
    host: endpoint.hostName,
    async close() {
      await client.close().catch(() => undefined);
    },
  };
}
