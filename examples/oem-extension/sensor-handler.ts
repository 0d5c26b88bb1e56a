/**
 * An OEM feature handler for a device-specific setting: the sampling rate of a sensor (plus a
 * calibration offset set by a direct method), under `windows.oemSensor`:
 *
 *   properties.desired.windows.oemSensor = { samplingRateHz: 50 }
 *   properties.reported.windows.oemSensor = { samplingRateHz, calibrationOffset, lastCalibration,
 *                                             store, lastChange }
 *   direct method windows.oemSensorCalibrate { offset: -100..100 } → { calibrationOffset, ... }
 *
 * Where the setting lives: a JSON file the sensor's own service reads (`SENSOR_FILE`, default
 * `<DM state folder>/oem-sensor.json`), written atomically. Not a CSP node: Windows keeps an
 * OEM's own settings in ADMX-backed policies (`./Device/Vendor/MSFT/Policy/Config/
 * <App>~Policy~<Category>/<Policy>`, after ingesting the OEM's ADMX), but the CSP emulator only
 * serves nodes whose format its DDFs give, and that generic node has none (an Add answers 415), so
 * an emulator device profile cannot hold it either. See README.md.
 *
 * Load it into the agent with `iotdm agent --handler examples/oem-extension/sensor-handler.ts`,
 * or pass `createSensorHandler({ file })` to `DeviceManagementClient.attach`.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  InvalidValueError,
  defaultStateDir,
  schema as s,
  type FeatureHandler,
  type JsonObject,
} from '../../lib';

export const SENSOR_FILE_ENV = 'OEM_SENSOR_FILE';
export const SECTION = 'oemSensor';
export const CALIBRATE = 'windows.oemSensorCalibrate';

/** What the sensor's service reads. */
export interface SensorSettings {
  samplingRateHz: number;
  calibrationOffset: number;
  /** ISO time of the last calibration, or null. */
  lastCalibration: string | null;
}

/** The factory settings, until something is written. */
export const FACTORY: Readonly<SensorSettings> = {
  samplingRateHz: 10,
  calibrationOffset: 0,
  lastCalibration: null,
};

const MAX_RATE_HZ = 1000;

/** Reads the settings file; a missing file gives the factory settings, a bad one throws. */
export function readSettings(file: string): SensorSettings {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { ...FACTORY };
    throw err;
  }
  const v = JSON.parse(text) as Partial<SensorSettings>;
  const rate = v.samplingRateHz;
  const offset = v.calibrationOffset;
  if (
    !Number.isInteger(rate) ||
    (rate as number) < 1 ||
    (rate as number) > MAX_RATE_HZ ||
    !Number.isInteger(offset)
  ) {
    throw new Error(`${file}: not a sensor settings file (samplingRateHz, calibrationOffset)`);
  }
  return {
    samplingRateHz: rate as number,
    calibrationOffset: offset as number,
    lastCalibration: typeof v.lastCalibration === 'string' ? v.lastCalibration : null,
  };
}

/** Writes the settings file atomically (temporary file, then rename). */
export function writeSettings(file: string, settings: SensorSettings): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o644 });
  renameSync(tmp, file);
}

export function defaultSensorFile(env: NodeJS.ProcessEnv = process.env): string {
  return env[SENSOR_FILE_ENV] || path.join(defaultStateDir(), 'oem-sensor.json');
}

export function createSensorHandler(options: { file?: string } = {}): FeatureHandler {
  const file = (): string => options.file ?? defaultSensorFile();
  const reported = (v: SensorSettings): JsonObject => ({
    samplingRateHz: v.samplingRateHz,
    calibrationOffset: v.calibrationOffset,
    lastCalibration: v.lastCalibration,
    store: 'file',
  });
  return {
    section: SECTION,
    // No CSP node: the setting lives in a file (see the module comment).
    nodes: [],
    desired: s.object({ samplingRateHz: s.integer({ min: 1, max: MAX_RATE_HZ }) }),

    async apply(desired) {
      const current = readSettings(file());
      if (typeof desired.samplingRateHz === 'number') {
        writeSettings(file(), { ...current, samplingRateHz: desired.samplingRateHz });
      }
    },

    async report() {
      // What the file holds now (never an echo of desired).
      return reported(readSettings(file()));
    },

    methods: [
      {
        name: CALIBRATE,
        payload: s.object({ offset: s.integer({ min: -100, max: 100 }) }),
        async invoke(payload, ctx) {
          const offset = (payload as { offset?: number } | undefined)?.offset;
          if (offset === undefined) throw new InvalidValueError('offset is required (-100..100)');
          const next: SensorSettings = {
            ...readSettings(file()),
            calibrationOffset: offset,
            lastCalibration: new Date().toISOString(),
          };
          writeSettings(file(), next);
          await ctx.reportPartial(reported(next));
          return reported(next);
        },
      },
    ],
  };
}

/** What `iotdm agent --handler` loads: the handler over `$OEM_SENSOR_FILE`. */
export const handler: FeatureHandler = createSensorHandler();
