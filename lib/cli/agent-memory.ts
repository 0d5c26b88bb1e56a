/**
 * Memory settings of the long-running `iotdm agent` process (docs/memory.md). Two settings, both
 * for this process only (a host that embeds `DeviceManagementClient` keeps its own):
 *
 * - `limitYoungGeneration()`: V8's young generation stays at its initial size (1 MB semi-spaces)
 *   instead of growing to 16 MB semi-spaces during start-up and keeping them (about 12 MB of RSS
 *   at idle, until V8's memory reducer shrinks it tens of seconds later). It sets
 *   `--semi-space-growth-factor=1` at run time, which V8 reads at each growth step, so it works
 *   without a command-line flag; it is the same as `node --max-semi-space-size=1`. Called before
 *   the agent's modules load. A V8 young-generation option given by the user (on the command line
 *   or in `NODE_OPTIONS`) wins: then nothing is changed.
 * - `disableMqttNumberCache()`: the device SDK's MQTT encoder (mqtt-packet, the copy under
 *   azure-iot-mqtt-base's mqtt) builds, on the first packet, a table of 65,536 two-byte Buffers
 *   (about 6 MB of heap) to avoid allocating the packet id and length fields; its documented
 *   `writeToStream.cacheNumbers = false` allocates them per packet instead.
 *
 * Both are optimisations only: when a module is not where it is expected, nothing happens.
 */
import { createRequire } from 'node:module';
import v8 from 'node:v8';

/** The V8 options of the young generation that, given by the user, take precedence. */
const YOUNG_GENERATION_FLAG = /--(max|min)[-_]semi[-_]space[-_]size|--semi[-_]space[-_]growth/;

/**
 * Keeps V8's young generation at its initial size, unless the user chose a young-generation
 * option. Returns whether it changed anything.
 */
export function limitYoungGeneration(
  execArgv: readonly string[] = process.execArgv,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (execArgv.some((a) => YOUNG_GENERATION_FLAG.test(a))) return false;
  if (YOUNG_GENERATION_FLAG.test(env.NODE_OPTIONS ?? '')) return false;
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  return true;
}

/**
 * Turns off mqtt-packet's number cache in the copy the device SDK's MQTT transport uses (call
 * before the first MQTT packet). Returns whether it found that copy.
 */
export function disableMqttNumberCache(): boolean {
  try {
    // The chain the transport itself resolves: azure-iot-device-mqtt → azure-iot-mqtt-base → mqtt.
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
