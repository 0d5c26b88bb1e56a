/**
 * `windows.deviceInfo`: the device's identity, OS, hardware and battery, read from the DevInfo,
 * DevDetail (and its Microsoft extension) and DeviceStatus CSPs. Report-only: a desired
 * `deviceInfo: {}` (any new desired version of it) triggers a fresh read, as in the original
 * client. All nodes are read in one SyncML message; a node that fails reports `"<error>"` for its
 * field only (`"<not set>"` when the device does not have the node, 404). Values are strings, as
 * the original client reported them.
 */
import type { FeatureHandler } from '../dm/handler';
import { s } from '../dm/schema';
import { readFields, toJson } from './util-read';

const EXT = './DevDetail/Ext/Microsoft';
const STATUS = './Vendor/MSFT/DeviceStatus';

/** Reported field → CSP node, in the original client's field order. */
export const DEVICE_INFO_NODES: Readonly<Record<string, string>> = {
  osEdition: `${STATUS}/OS/Edition`,
  secureBootState: `${STATUS}/SecureBootState`,
  totalMemory: `${EXT}/TotalRAM`,
  totalStorage: `${EXT}/TotalStorage`,
  name: `${EXT}/DeviceName`,
  processorArchitecture: `${EXT}/ProcessorArchitecture`,
  commercializationOperator: `${EXT}/CommercializationOperator`,
  displayResolution: `${EXT}/Resolution`,
  radioSwVer: `${EXT}/RadioSwV`,
  processorType: `${EXT}/ProcessorType`,
  platform: `${EXT}/OSPlatform`,
  osVer: './DevDetail/SwV',
  fwVer: './DevDetail/FwV',
  hwVer: './DevDetail/HwV',
  oem: './DevDetail/OEM',
  type: './DevDetail/DevTyp',
  lang: './DevInfo/Lang',
  dmVer: './DevInfo/DmV',
  model: './DevInfo/Mod',
  manufacturer: './DevInfo/Man',
  id: './DevInfo/DevId',
  batteryStatus: `${STATUS}/Battery/Status`,
  batteryRemaining: `${STATUS}/Battery/EstimatedChargeRemaining`,
  batteryRuntime: `${STATUS}/Battery/EstimatedRuntime`,
};

export const deviceInfoHandler: FeatureHandler = {
  section: 'deviceInfo',
  nodes: Object.values(DEVICE_INFO_NODES),
  // The original's trigger is an empty object; nothing in it is applied.
  desired: s.object({}),

  async apply() {
    // Nothing to change on the device: the engine calls `report` right after.
  },

  async report(ctx) {
    // The original reported every field as a string.
    return readFields(ctx.csp, DEVICE_INFO_NODES, (value) => {
      const v = toJson(value);
      return v === null ? '' : String(v);
    });
  },
};
