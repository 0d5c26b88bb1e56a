/**
 * The stage the chaos run and the soak share: a temp folder, the local hub with one registered
 * device, and the operator's service SDK clients (Registry for twin patches, Client for methods,
 * with the SDK's own retries off so that every injected fault is seen and counted by the caller).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NoRetry } from 'azure-iot-common';
import { Client as ServiceClient, Registry } from 'azure-iothub';
import { startLocalHub, trustHub } from '../hub/helpers/local-hub';

export async function startStage(prefix: string, deviceId: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `wdm-${prefix}-`));
  const { hub, close } = await startLocalHub();
  hub.core.registry.create(deviceId);
  const registry = trustHub(Registry.fromConnectionString(hub.connectionString), hub);
  const service = trustHub(ServiceClient.fromConnectionString(hub.connectionString), hub);
  service.setRetryPolicy(new NoRetry());
  return { dir, hub, close, deviceId, registry, service };
}
