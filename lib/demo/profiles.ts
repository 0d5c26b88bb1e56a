/**
 * Per-device emulator profiles for `iotdm demo`: the built-in default profile
 * (native/emulator/profiles/default.json: updates, apps, certificates, Wi-Fi) with a few device
 * facts varied per device (name, model, serial number, time zone), so the dashboard shows
 * distinct devices. Secure boot is reported enabled, so the attestation service's default
 * remediation rule (factory reset when secure boot is off) leaves the demo devices alone.
 * The format is native/emulator/profile.h's.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../native/package-root';

interface ProfileJson {
  format: string;
  version: number;
  description?: string;
  device?: Record<string, string>;
  system?: { timeZone: string };
  nodes?: Record<string, string | number | boolean | null>;
}

const MODELS = [
  { manufacturer: 'Contoso', model: 'Gateway 9', oem: 'Contoso' },
  { manufacturer: 'Fabrikam', model: 'Kiosk K2', oem: 'Fabrikam' },
  { manufacturer: 'Contoso', model: 'Panel PC 15', oem: 'Contoso' },
  { manufacturer: 'Northwind', model: 'Edge Box', oem: 'Northwind' },
];
const TIME_ZONES = [
  'Pacific Standard Time',
  'W. Europe Standard Time',
  'Tokyo Standard Time',
  'Eastern Standard Time',
  'India Standard Time',
];
const SECURE_BOOT_STATE = './Device/Vendor/MSFT/DeviceStatus/SecureBootState';

/** The device profile of the `index`-th demo device (0-based). */
export function demoProfile(deviceId: string, index: number): ProfileJson {
  const base = JSON.parse(
    readFileSync(
      path.join(packageRoot(), 'native', 'emulator', 'profiles', 'default.json'),
      'utf8',
    ),
  ) as ProfileJson;
  const m = MODELS[index % MODELS.length]!;
  const serial = `DEMO-${String(index + 1).padStart(4, '0')}`;
  return {
    format: base.format,
    version: base.version,
    description: `iotdm demo device ${deviceId}: the default profile with its own facts`,
    device: {
      ...m,
      deviceName: deviceId.toUpperCase(),
      dnsComputerName: deviceId,
      serialNumber: serial,
    },
    system: { timeZone: TIME_ZONES[index % TIME_ZONES.length]! },
    nodes: { ...(base.nodes ?? {}), [SECURE_BOOT_STATE]: 1 },
  };
}

/** Writes the profile to `file` (read when the device's emulator state is first created). */
export function writeDemoProfile(file: string, deviceId: string, index: number): void {
  writeFileSync(file, JSON.stringify(demoProfile(deviceId, index), null, 2) + '\n');
}
