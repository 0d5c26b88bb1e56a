/**
 * `iotdm provision`: registers the device with a Device Provisioning Service (Azure's, or the
 * local one `iotdm hub --dps-port` serves) through the real provisioning client, and keeps what
 * DPS assigned: with `--tpm-slot` the slot's URI `<assignedHub>/<deviceId>` in the TPM (the key
 * DPS sent was imported into the slot; `iotdm agent --tpm-slot N` then connects); otherwise an
 * `--out` file (mode 0600): JSON when it ends in `.json`, else the bare connection string for
 * `iotdm agent --connection-string-file`. Keys and tokens are never printed.
 */
import fs from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { parseArgs } from 'node:util';
import { TpmError, TpmUnavailableError } from '../errors';
import type { NativeTpm } from '../native/contract';
import {
  deriveGroupDeviceKey,
  provisionDevice,
  type ProvisionAttestation,
  type ProvisionResult,
} from '../provisioning/provision';
import { LimpetTpm } from '../tpm/limpet';
import { TpmProvisioningSecurity } from '../tpm/provisioning-security';
import { COMMON_OPTIONS, parseCommand } from './args';
import { EXIT, type CliIo } from './io';
import { openNativeTpm, tpmSpecFrom } from './tpm-select';

/** Exit code when DPS refused the registration (401, 404, failed or disabled). */
export const PROVISION_REFUSED = 1;

export const PROVISION_HELP = `Usage: iotdm provision --global-endpoint HOST[:PORT] --id-scope SCOPE <attestation> [options]

Registers this device with a Device Provisioning Service and keeps the assignment.

Attestation (one):
  --symmetric-key-file F   individual enrollment: the device's base64 key in a file
  --group-key-file F       enrollment group: the group's base64 key in a file; the device key is
                           base64(HMAC-SHA256(groupKey, registrationId))
  --cert FILE --key FILE   X.509: the device certificate (PEM, chain allowed) and its key
  --tpm-slot N             TPM (0-9): the EK attests; the key DPS sends is imported into slot N
                           and the slot's URI is set to <assignedHub>/<deviceId>

Options:
  --global-endpoint H[:P]  the DPS global endpoint (Azure: global.azure-devices-provisioning.net;
                           iotdm hub --dps-port prints its own)
  --id-scope SCOPE         the DPS ID scope
  --registration-id R      the registration id (required for symmetric keys; default: the
                           certificate's CN for X.509, the EK-derived id for the TPM)
  --tpm SPEC               with --tpm-slot: which TPM (tbs, device[:path], tcp:host:port,
                           socket:path; default $IOTDM_TPM, else the system's TPM)
  --ca FILE                trust this CA (PEM) for the DPS (a private DPS such as iotdm hub's)
  --out FILE               symmetric key / X.509: where the assignment goes (mode 0600): JSON if it
                           ends in .json, else the device connection string
  --json                   print the result as JSON
  -h, --help               this help

Exit codes: 0 assigned, 1 DPS refused (unauthorized, no enrollment), 2 usage error,
3 no TPM, 4 other error (unreachable DPS, unreadable file, TPM error).`;

class UsageError extends Error {}

function readText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? ''}`,
    );
  }
}

function readKey(file: string, what: string): string {
  const key = readText(file, what).trim();
  const raw = Buffer.from(key, 'base64');
  if (raw.length < 16 || raw.toString('base64') !== key) {
    throw new UsageError(`${what} ${file} does not hold a base64 key of at least 16 bytes`);
  }
  return key;
}

export async function runProvision(argv: string[], io: CliIo): Promise<number> {
  const parsed = parseCommand('provision', PROVISION_HELP, io, () =>
    parseArgs({
      args: argv,
      strict: true,
      options: {
        'global-endpoint': { type: 'string' },
        'id-scope': { type: 'string' },
        'registration-id': { type: 'string' },
        'symmetric-key-file': { type: 'string' },
        'group-key-file': { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        'tpm-slot': { type: 'string' },
        tpm: { type: 'string' },
        ca: { type: 'string' },
        out: { type: 'string' },
        ...COMMON_OPTIONS,
      },
    }),
  );
  if (typeof parsed === 'number') return parsed;
  const v = parsed.values;
  let native: NativeTpm | undefined;
  try {
    const endpoint = v['global-endpoint'];
    const idScope = v['id-scope'];
    if (!endpoint) throw new UsageError('--global-endpoint is required');
    if (!idScope) throw new UsageError('--id-scope is required');
    const kinds = [
      v['symmetric-key-file'] !== undefined,
      v['group-key-file'] !== undefined,
      v.cert !== undefined || v.key !== undefined,
      v['tpm-slot'] !== undefined,
    ].filter(Boolean).length;
    if (kinds !== 1) {
      throw new UsageError(
        'give exactly one of --symmetric-key-file, --group-key-file, --cert/--key, --tpm-slot',
      );
    }
    if (v.tpm !== undefined && v['tpm-slot'] === undefined) {
      throw new UsageError('--tpm needs --tpm-slot N');
    }
    if (v.out !== undefined && v['tpm-slot'] !== undefined) {
      throw new UsageError(
        '--out is for symmetric key and X.509; with --tpm-slot the TPM keeps it',
      );
    }
    const ca = v.ca !== undefined ? readText(v.ca, 'the CA file') : undefined;
    const regId = v['registration-id'];
    let attestation: ProvisionAttestation;
    let deviceKey: string | undefined;
    let slot: number | undefined;
    let limpet: LimpetTpm | undefined;
    if (v['symmetric-key-file'] !== undefined || v['group-key-file'] !== undefined) {
      if (!regId) throw new UsageError('--registration-id is required with a symmetric key');
      deviceKey =
        v['symmetric-key-file'] !== undefined
          ? readKey(v['symmetric-key-file'], 'the key file')
          : deriveGroupDeviceKey(readKey(v['group-key-file']!, 'the group key file'), regId);
      attestation = { kind: 'symmetricKey', registrationId: regId, key: deviceKey };
    } else if (v['tpm-slot'] !== undefined) {
      if (!/^\d$/.test(v['tpm-slot'])) {
        throw new UsageError(`--tpm-slot must be 0-9, not "${v['tpm-slot']}"`);
      }
      slot = Number(v['tpm-slot']);
      let spec;
      try {
        spec = tpmSpecFrom(v.tpm, process.env);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      native = openNativeTpm(spec);
      limpet = new LimpetTpm(native);
      attestation = {
        kind: 'tpm',
        security: new TpmProvisioningSecurity(limpet, slot, regId ? { registrationId: regId } : {}),
      };
    } else {
      if (!v.cert || !v.key) throw new UsageError('--cert and --key go together');
      const cert = readText(v.cert, 'the certificate');
      const key = readText(v.key, 'the key');
      let cn: string | undefined;
      try {
        cn = /(?:^|\n)CN=([^\n]*)/.exec(new X509Certificate(cert).subject)?.[1];
      } catch {
        throw new UsageError(`${v.cert} is not a PEM certificate`);
      }
      const id = regId ?? cn;
      if (!id) throw new UsageError('the certificate has no CN: give --registration-id');
      attestation = { kind: 'x509', registrationId: id, cert, key };
    }
    let result: ProvisionResult;
    try {
      result = await provisionDevice({
        globalEndpoint: endpoint,
        idScope,
        attestation,
        ...(ca ? { ca } : {}),
      });
    } catch (err) {
      if (err instanceof TpmError || err instanceof TpmUnavailableError) throw err;
      const e = err as Error & { name?: string; response?: { statusCode?: number } };
      const status = e.response?.statusCode;
      const refused = [
        'UnauthorizedError',
        'DeviceNotFoundError',
        'DeviceRegistrationFailedError',
        // TPM: any answer but a 401 challenge (an unknown EK is 404), or a 401 without one
        'InvalidOperationError',
        'FormatError',
      ];
      const hint =
        (e.name === 'InvalidOperationError' || e.name === 'FormatError') &&
        attestation.kind === 'tpm'
          ? ' (DPS sent no TPM challenge: is this TPM enrolled?)'
          : '';
      io.err(`iotdm provision: DPS registration failed: ${e.name ?? 'Error'}: ${e.message}${hint}`);
      return refused.includes(e.name ?? '') ||
        status === 401 ||
        status === 404 ||
        e instanceof SyntaxError
        ? PROVISION_REFUSED
        : EXIT.error;
    }
    let stored: string | undefined;
    if (limpet && slot !== undefined) {
      await limpet.storeUri(slot, `${result.assignedHub}/${result.deviceId}`);
      stored = `TPM slot ${slot}`;
    } else if (v.out !== undefined) {
      const cs =
        attestation.kind === 'symmetricKey'
          ? `HostName=${result.assignedHub};DeviceId=${result.deviceId};SharedAccessKey=${deviceKey}`
          : `HostName=${result.assignedHub};DeviceId=${result.deviceId};x509=true`;
      const content = v.out.endsWith('.json')
        ? JSON.stringify(
            {
              ...result,
              connectionString: cs,
              ...(attestation.kind === 'x509' ? { cert: v.cert, key: v.key } : {}),
            },
            null,
            2,
          ) + '\n'
        : cs + '\n';
      fs.writeFileSync(v.out, content, { mode: 0o600 });
      fs.chmodSync(v.out, 0o600);
      stored = v.out;
    }
    if (v.json) io.out(JSON.stringify({ ...result, ...(stored ? { storedIn: stored } : {}) }));
    else
      io.out(
        [
          `Assigned: ${result.deviceId} on ${result.assignedHub} (registration ${result.registrationId}, ${result.substatus ?? result.status})`,
          ...(stored ? [`Stored in ${stored}`] : []),
        ].join('\n'),
      );
    return EXIT.ok;
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`iotdm provision: ${err.message}\n\n${PROVISION_HELP}`);
      return EXIT.usage;
    }
    if (err instanceof TpmUnavailableError) {
      io.err(`iotdm provision: ${err.message}`);
      return EXIT.unavailable;
    }
    io.err(`iotdm provision: ${(err as Error).message}`);
    return EXIT.error;
  } finally {
    await native?.close().catch(() => undefined);
  }
}
