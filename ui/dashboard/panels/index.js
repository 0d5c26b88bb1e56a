/** The device page's panels, in display order (one module per feature). */
import deviceInfo from './device-info.js';
import reboot from './reboot.js';
import time from './time.js';
import telemetry from './telemetry.js';
import windowsUpdate from './windows-update.js';
import certificates from './certificates.js';
import apps from './apps.js';
import wifi from './wifi.js';
import diagnosticLogs from './diagnostic-logs.js';
import factoryReset from './factory-reset.js';
import remoteWipe from './remote-wipe.js';
import healthAttestation from './health-attestation.js';
import externalStorage from './external-storage.js';

export const PANELS = [
  deviceInfo,
  reboot,
  time,
  telemetry,
  windowsUpdate,
  certificates,
  apps,
  wifi,
  diagnosticLogs,
  factoryReset,
  remoteWipe,
  healthAttestation,
  externalStorage,
];
