/**
 * Memory settings of the long-running `iotdm agent` process (docs/memory.md), applied by the CLI
 * entry (lib/cli/main.ts) before the agent's modules load, for that process only (a host that
 * embeds `DeviceManagementClient` keeps its own settings):
 *
 * - The young generation: V8 keeps it at its initial size (1 MB semi-spaces) instead of growing
 *   it to 16 MB semi-spaces during start-up and keeping them (about 12 MB of RSS at idle, until
 *   V8's memory reducer shrinks it tens of seconds later). `--semi-space-growth-factor=1` is set
 *   at run time: V8 reads it at each growth step, so no command-line flag is needed; the effect
 *   is that of `node --max-semi-space-size=1`. A young-generation option given by the user (on
 *   the command line or in `NODE_OPTIONS`) wins: then nothing is changed.
 * - The device SDK's MQTT encoder (mqtt-packet, the copy under azure-iot-mqtt-base's mqtt) builds,
 *   on its first packet, a table of 65,536 two-byte Buffers (about 6 MB of heap) so as not to
 *   allocate packet ids and lengths; its documented `writeToStream.cacheNumbers = false`
 *   allocates them per packet instead.
 *
 * `IOTDM_AGENT_MEMORY=default` leaves both as Node and the SDK have them. Both are optimisations
 * only: when a module is not where it is expected, nothing happens.
 */
import { createRequire } from 'node:module';
import v8 from 'node:v8';

export const ENV_AGENT_MEMORY = 'IOTDM_AGENT_MEMORY';

/** The V8 flag set at run time to keep the young generation at its initial size. */
export const YOUNG_GENERATION_FLAG = '--semi-space-growth-factor=1';

/** V8 options of the young generation that, given by the user, take precedence. */
const USER_YOUNG_GENERATION = /--(?:max|min)[-_]semi[-_]space[-_]size|--semi[-_]space[-_]growth/;

export interface AgentMemorySettings {
  /** Whether the young generation is kept at its initial size. */
  youngGeneration: 'limited' | 'node default' | 'user option';
  /** Whether mqtt-packet's number cache was turned off (false: left on, or not found). */
  mqttNumberCacheOff: boolean;
}

/** What `applyAgentMemorySettings` does for this command line and environment (no effects). */
export function youngGenerationChoice(
  execArgv: readonly string[],
  env: NodeJS.ProcessEnv,
): AgentMemorySettings['youngGeneration'] {
  if (env[ENV_AGENT_MEMORY] === 'default') return 'node default';
  if (execArgv.some((a) => USER_YOUNG_GENERATION.test(a))) return 'user option';
  if (USER_YOUNG_GENERATION.test(env.NODE_OPTIONS ?? '')) return 'user option';
  return 'limited';
}

/**
 * Turns off mqtt-packet's number cache in the copy the device SDK's MQTT transport uses (call
 * before the first MQTT packet). Returns whether it found that copy.
 */
export function disableMqttNumberCache(): boolean {
  try {
    // The chain the transport resolves: azure-iot-device-mqtt → azure-iot-mqtt-base → mqtt.
    const fromDevice = createRequire(require.resolve('azure-iot-device-mqtt'));
    const fromBase = createRequire(fromDevice.resolve('azure-iot-mqtt-base'));
    const fromMqtt = createRequire(fromBase.resolve('mqtt'));
    const packet = fromMqtt('mqtt-packet') as {
      writeToStream?: ((...args: unknown[]) => unknown) & { cacheNumbers?: boolean };
    };
    if (typeof packet.writeToStream !== 'function') return false;
    packet.writeToStream.cacheNumbers = false;
    return true;
  } catch {
    return false;
  }
}

/** Applies the agent's memory settings to this process (see the header). */
export function applyAgentMemorySettings(
  execArgv: readonly string[] = process.execArgv,
  env: NodeJS.ProcessEnv = process.env,
): AgentMemorySettings {
  const youngGeneration = youngGenerationChoice(execArgv, env);
  if (youngGeneration === 'limited') v8.setFlagsFromString(YOUNG_GENERATION_FLAG);
  const mqttNumberCacheOff = env[ENV_AGENT_MEMORY] !== 'default' && disableMqttNumberCache();
  return { youngGeneration, mqttNumberCacheOff };
}
