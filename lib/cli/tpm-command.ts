/**
 * `iotdm tpm <subcommand>`: Limpet's device-side commands (info, EK/SRK, registration id,
 * enrollment data for DPS, slot URIs, connection-string import, HMAC keys, SAS tokens signed in
 * the TPM, slot listing and removal, TPM clear) over `LimpetApi`. Keys are read from files or the
 * environment, never printed; a connection string is taken on the command line only with the
 * explicit `--connection-string`. Errors map to the CLI's exit codes in `tpmExitCode`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { InvalidArgumentError, TpmError, TpmUnavailableError } from '../errors';
import { SLOT_COUNT, type LimpetApi, type TpmPublicKey } from '../tpm/api';
import { LimpetTpm } from '../tpm/limpet';
import { COMMON_OPTIONS, parseCommand } from './args';
import { EXIT, type CliIo } from './io';
import { openNativeTpm, tpmSpecFrom, ENV_TPM, type TpmSpec } from './tpm-select';

export const ENV_TPM_CONNECTION_STRING = 'IOTDM_CONNECTION_STRING';

export const TPM_HELP = `Usage: iotdm tpm <subcommand> [options]

Limpet-compatible TPM 2.0 tool (slots 0-${SLOT_COUNT - 1}; Limpet's handles and NV indexes).

Subcommands (Limpet option in brackets):
  info                               TPM manufacturer, firmware, hierarchy state     [-GTI]
  ek  [--format pem|base64] [--out F] endorsement key (base64: TPM2B_PUBLIC, as DPS) [-ERK]
  srk [--format pem|base64] [--out F] storage root key                            [-SRK]
  regid                              DPS registration id (base32 of SHA-256(EK))
  enrollment-info [--format json|csv|txt] [--out F]
                                     DPS individual enrollment (json: bulk enrollment)
  uri store <slot> <uri>             store <hubHost>/<deviceId>[/<moduleId>]         [-SUR]
  uri read <slot>                    read the slot's URI                             [-RUR]
  uri destroy <slot>                 remove the slot's URI                           [-DUR]
  import <slot>                      device connection string → slot's URI + HMAC key [-PCS]
      --connection-string-file F     from a file (default: $${ENV_TPM_CONNECTION_STRING})
      --connection-string CS         on the command line (visible in the process list)
  hmac-key create <slot> --key-file F [--key-format base64|raw]
                                     HMAC key from a file (default base64 text)     [-CHK]
  hmac-key evict <slot>              remove the slot's HMAC key                      [-EHK]
  sas <slot> [--validity S] [--connection-string]
                                     SAS token signed in the TPM (default 3600 s)   [-AST]
  list                               slots with a URI or a key                       [-LLD]
  destroy <slot>                     remove the slot's URI and key                   [-DLD]
  clear [--yes]                      TPM2_Clear (asks on a terminal; needs --yes otherwise)
                                                                                     [-FCT]
Options:
  --tpm tbs|device[:path]|tcp:host:port|socket:path
                                     which TPM (default $${ENV_TPM}, else TBS on Windows,
                                     /dev/tpmrm0 elsewhere)
  --json                             JSON output for scripts
  -h, --help                         this help

Exit codes: 0 done, 1 TPM command failed (the TPM_RC name is printed), 2 usage error,
3 no TPM reachable, 4 other error.`;

export interface TpmCommandDeps {
  env?: NodeJS.ProcessEnv;
  /** Whether stdin is a terminal (default: process.stdin.isTTY). */
  isTTY?: boolean;
  /** Asks a yes/no question on the terminal (default: readline on stdin/stderr). */
  confirm?: (question: string) => Promise<boolean>;
  /** Opens the TPM (default: `LimpetTpm` over the `--tpm` channel). */
  open?: (spec: TpmSpec) => { api: LimpetApi; close(): Promise<void> };
}

class UsageError extends Error {}

const FORMATS_KEY = ['pem', 'base64'] as const;
const FORMATS_ENROLL = ['json', 'csv', 'txt'] as const;

function slotOf(text: string | undefined): number {
  if (text === undefined) throw new UsageError('a slot number is required');
  if (!/^\d+$/.test(text) || Number(text) >= SLOT_COUNT) {
    throw new UsageError(`slot must be 0-${SLOT_COUNT - 1}, not "${text.slice(0, 20)}"`);
  }
  return Number(text);
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${name} must be ${allowed.join(', ')}, not "${value.slice(0, 20)}"`);
  }
  return value as T;
}

function readFile(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${what} ${file}${code ? ` (${code})` : ''}`);
  }
}

/** TPM2B_PUBLIC: the size-prefixed public area, as DPS takes `endorsementKey`. */
function tpm2b(key: TpmPublicKey): Buffer {
  const size = Buffer.alloc(2);
  size.writeUInt16BE(key.publicArea.length);
  return Buffer.concat([size, key.publicArea]);
}

function defaultConfirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  return new Promise((resolve) => {
    rl.question(`${question} [y/N] `, (answer) => {
      rl.close();
      resolve(/^y(es)?$/i.test(answer.trim()));
    });
  });
}

function defaultOpen(spec: TpmSpec): { api: LimpetApi; close(): Promise<void> } {
  const native = openNativeTpm(spec);
  return { api: new LimpetTpm(native), close: () => native.close() };
}

/** The exit code and message of an error thrown by a subcommand. */
export function tpmExitCode(err: unknown): { code: number; message: string } {
  if (err instanceof UsageError) return { code: EXIT.usage, message: err.message };
  if (err instanceof TpmUnavailableError) {
    return { code: EXIT.unavailable, message: `no TPM: ${err.message}` };
  }
  if (err instanceof TpmError) {
    return { code: EXIT.cspFailed, message: `${err.rcName}: ${err.message}` };
  }
  if (err instanceof InvalidArgumentError) return { code: EXIT.usage, message: err.message };
  const code = (err as { code?: unknown }).code;
  if (code === 'ERR_TPM_UNAVAILABLE') {
    return { code: EXIT.unavailable, message: `no TPM: ${(err as Error).message}` };
  }
  return { code: EXIT.error, message: (err as Error).message };
}

const STRING_OPTIONS = new Set([
  '--tpm',
  '--format',
  '--out',
  '--connection-string-file',
  '--key-file',
  '--key-format',
  '--validity',
]);

/**
 * `sas --connection-string` is a flag (print the connection string), elsewhere it takes a value.
 * (Finding the subcommand, `--connection-string` counts as a flag: `import` comes first.)
 */
function sasFlag(argv: string[]): string[] {
  let sub: string | undefined;
  for (let i = 0; i < argv.length && sub === undefined; i += 1) {
    const a = argv[i]!;
    if (STRING_OPTIONS.has(a)) i += 1;
    else if (!a.startsWith('-')) sub = a;
  }
  return sub === 'sas'
    ? argv.map((a) => (a === '--connection-string' ? '--as-connection-string' : a))
    : argv;
}

export async function runTpm(
  argv: string[],
  io: CliIo,
  deps: TpmCommandDeps = {},
): Promise<number> {
  const parsed = parseCommand('tpm', TPM_HELP, io, () =>
    parseArgs({
      args: sasFlag(argv),
      allowPositionals: true,
      strict: true,
      options: {
        tpm: { type: 'string' },
        format: { type: 'string' },
        out: { type: 'string' },
        'connection-string-file': { type: 'string' },
        'connection-string': { type: 'string' },
        'key-file': { type: 'string' },
        'key-format': { type: 'string' },
        validity: { type: 'string' },
        'as-connection-string': { type: 'boolean', default: false },
        yes: { type: 'boolean', default: false },
        ...COMMON_OPTIONS,
      },
    }),
  );
  if (typeof parsed === 'number') return parsed;
  const v = parsed.values;
  const env = deps.env ?? process.env;
  const [sub, ...args] = parsed.positionals;
  const usage = (why: string): number => {
    io.err(`iotdm tpm: ${why}\n\nRun "iotdm tpm --help" for the subcommands.`);
    return EXIT.usage;
  };
  if (sub === undefined) {
    io.err(TPM_HELP);
    return EXIT.usage;
  }

  let action: (tpm: LimpetApi) => Promise<number>;
  let spec: TpmSpec;
  try {
    spec = tpmSpecFrom(v.tpm, env);
    action = plan(sub, args, v, env, io, deps);
  } catch (err) {
    if (err instanceof UsageError || !(err instanceof TpmError)) {
      return usage((err as Error).message);
    }
    throw err;
  }
  let opened: { api: LimpetApi; close(): Promise<void> } | undefined;
  try {
    opened = (deps.open ?? defaultOpen)(spec);
    return await action(opened.api);
  } catch (err) {
    const { code, message } = tpmExitCode(err);
    io.err(`iotdm tpm ${sub}: ${message}`);
    return code;
  } finally {
    await opened?.close().catch(() => undefined);
  }
}

type Values = {
  format?: string | undefined;
  out?: string | undefined;
  json?: boolean | undefined;
  'connection-string-file'?: string | undefined;
  'connection-string'?: string | undefined;
  'key-file'?: string | undefined;
  'key-format'?: string | undefined;
  validity?: string | undefined;
  'as-connection-string'?: boolean | undefined;
  yes?: boolean | undefined;
};

/** Validates the command line and returns what to run against the TPM. */
function plan(
  sub: string,
  args: string[],
  v: Values,
  env: NodeJS.ProcessEnv,
  io: CliIo,
  deps: TpmCommandDeps,
): (tpm: LimpetApi) => Promise<number> {
  const json = v.json === true;
  const extra = (n: number): void => {
    if (args.length > n) throw new UsageError(`unexpected argument "${args[n]!.slice(0, 40)}"`);
  };
  const print = (value: unknown, text: string): void => {
    io.out(json ? JSON.stringify(value) : text);
  };
  const done = (value: Record<string, unknown>, text: string): number => {
    print({ ok: true, ...value }, text);
    return EXIT.ok;
  };
  /** Writes `data` to --out, or prints it. */
  const emit = (data: string, value: Record<string, unknown>): number => {
    if (v.out !== undefined) {
      writeFileSync(v.out, data.endsWith('\n') ? data : data + '\n');
      return done({ ...value, out: v.out }, `Written to ${v.out}`);
    }
    print(value, data.replace(/\n$/, ''));
    return EXIT.ok;
  };

  switch (sub) {
    case 'info':
      extra(0);
      return async (tpm) => {
        const i = await tpm.info();
        print(
          i,
          [
            `Manufacturer:        ${i.manufacturer}`,
            `Vendor:              ${i.vendorString}`,
            `Firmware version:    ${i.firmwareVersion}`,
            `Family / revision:   ${i.family} / ${i.revision}`,
            `Owner auth set:      ${i.ownerAuthSet}`,
            `Endorsement auth set: ${i.endorsementAuthSet}`,
            `Lockout auth set:    ${i.lockoutAuthSet}`,
            `Clear disabled:      ${i.disableClear}`,
            `In lockout:          ${i.inLockout}`,
          ].join('\n'),
        );
        return EXIT.ok;
      };
    case 'ek':
    case 'srk': {
      extra(0);
      const format = oneOf('--format', v.format ?? 'pem', FORMATS_KEY);
      return async (tpm) => {
        const key = sub === 'ek' ? await tpm.endorsementKey() : await tpm.storageRootKey();
        const base64 = tpm2b(key).toString('base64');
        const data = format === 'pem' ? key.pem : base64;
        return emit(data, {
          key: sub,
          handle: sub === 'ek' ? '0x81010001' : '0x81000001',
          pem: key.pem,
          tpm2bPublic: base64,
          name: key.name.toString('hex'),
        });
      };
    }
    case 'regid':
      extra(0);
      return async (tpm) => {
        const registrationId = await tpm.registrationId();
        print({ registrationId }, registrationId);
        return EXIT.ok;
      };
    case 'enrollment-info': {
      extra(0);
      const format = oneOf('--format', v.format ?? 'json', FORMATS_ENROLL);
      return async (tpm) => {
        const ek = tpm2b(await tpm.endorsementKey()).toString('base64');
        const registrationId = await tpm.registrationId();
        const enrollment = [
          { attestation: { type: 'tpm', tpm: { endorsementKey: ek } }, registrationId },
        ];
        const data =
          format === 'json'
            ? JSON.stringify(enrollment, null, 2)
            : format === 'csv'
              ? `registrationId,endorsementKey\n${registrationId},${ek}`
              : `Registration Id: ${registrationId}\nEndorsement Key: ${ek}`;
        if (v.out !== undefined) return emit(data, { registrationId, endorsementKey: ek });
        // --json prints the bulk enrollment array itself (what DPS accepts).
        io.out(json ? JSON.stringify(enrollment) : data);
        return EXIT.ok;
      };
    }
    case 'uri': {
      const [verb, slotText, uri] = args;
      if (verb !== 'store' && verb !== 'read' && verb !== 'destroy') {
        throw new UsageError('uri needs store, read or destroy');
      }
      const slot = slotOf(slotText);
      if (verb === 'store') {
        if (uri === undefined) throw new UsageError('uri store needs <slot> <uri>');
        if (args.length > 3) throw new UsageError(`unexpected argument "${args[3]!.slice(0, 40)}"`);
        return async (tpm) => {
          await tpm.storeUri(slot, uri);
          return done({ slot, uri }, `Slot ${slot}: URI stored (${uri})`);
        };
      }
      if (args.length > 2) throw new UsageError(`unexpected argument "${args[2]!.slice(0, 40)}"`);
      if (verb === 'read') {
        return async (tpm) => {
          const stored = await tpm.readUri(slot);
          if (stored === undefined) {
            print({ slot, uri: null }, `Slot ${slot}: no URI`);
            return EXIT.cspFailed;
          }
          print({ slot, uri: stored }, stored);
          return EXIT.ok;
        };
      }
      return async (tpm) => {
        await tpm.destroyUri(slot);
        return done({ slot }, `Slot ${slot}: URI removed`);
      };
    }
    case 'import': {
      const slot = slotOf(args[0]);
      extra(1);
      const cs = connectionStringOf(v, env);
      return async (tpm) => {
        await tpm.importConnectionString(slot, cs.value);
        const uri = await tpm.readUri(slot);
        return done(
          { slot, uri: uri ?? null, from: cs.source },
          `Slot ${slot}: key and URI imported from ${cs.source} (${uri ?? '?'})`,
        );
      };
    }
    case 'hmac-key': {
      const [verb, slotText] = args;
      if (verb !== 'create' && verb !== 'evict') {
        throw new UsageError('hmac-key needs create or evict');
      }
      const slot = slotOf(slotText);
      if (args.length > 2) throw new UsageError(`unexpected argument "${args[2]!.slice(0, 40)}"`);
      if (verb === 'evict') {
        return async (tpm) => {
          await tpm.evictHmacKey(slot);
          return done({ slot }, `Slot ${slot}: HMAC key evicted`);
        };
      }
      if (v['key-file'] === undefined) throw new UsageError('hmac-key create needs --key-file F');
      const keyFormat = oneOf('--key-format', v['key-format'] ?? 'base64', [
        'base64',
        'raw',
      ] as const);
      const content = readFile(v['key-file'], '--key-file');
      let key: Buffer;
      if (keyFormat === 'raw') key = content;
      else {
        const text = content.toString('utf8').trim();
        if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 !== 0) {
          throw new UsageError(
            `--key-file ${v['key-file']} is not base64 text (use --key-format raw for a binary key)`,
          );
        }
        key = Buffer.from(text, 'base64');
      }
      return async (tpm) => {
        try {
          await tpm.createHmacKey(slot, key);
        } finally {
          key.fill(0);
        }
        return done({ slot }, `Slot ${slot}: HMAC key created`);
      };
    }
    case 'sas': {
      const slot = slotOf(args[0]);
      extra(1);
      const validityText = v.validity ?? '3600';
      if (!/^\d+$/.test(validityText) || Number(validityText) < 1) {
        throw new UsageError(
          `--validity must be a number of seconds, not "${validityText.slice(0, 20)}"`,
        );
      }
      const validity = Number(validityText);
      const asConnectionString = v['as-connection-string'] === true;
      return async (tpm) => {
        const sas = await tpm.sasToken(slot, validity);
        const text = asConnectionString ? sas.connectionString : sas.token;
        print(
          {
            slot,
            expiry: sas.expiry,
            expiresAt: new Date(sas.expiry * 1000).toISOString(),
            ...(asConnectionString
              ? { connectionString: sas.connectionString }
              : { token: sas.token }),
          },
          text,
        );
        return EXIT.ok;
      };
    }
    case 'list':
      extra(0);
      return async (tpm) => {
        const slots = (await tpm.listSlots()).filter((s) => s.uri !== undefined || s.hasHmacKey);
        const lines = slots.map(
          (s) => `${s.slot}  ${s.hasHmacKey ? 'key   ' : 'no key'}  ${s.uri ?? '(no URI)'}`,
        );
        print({ slots }, slots.length === 0 ? 'No slot in use' : lines.join('\n'));
        return EXIT.ok;
      };
    case 'destroy': {
      const slot = slotOf(args[0]);
      extra(1);
      return async (tpm) => {
        await tpm.destroySlot(slot);
        return done({ slot }, `Slot ${slot}: URI and HMAC key removed`);
      };
    }
    case 'clear': {
      extra(0);
      const isTTY = deps.isTTY ?? process.stdin.isTTY === true;
      if (v.yes !== true && !isTTY) {
        throw new UsageError(
          'clear erases every key and NV index of the TPM: give --yes to confirm',
        );
      }
      return async (tpm) => {
        if (v.yes !== true) {
          const ok = await (deps.confirm ?? defaultConfirm)(
            'Clear the TPM? Every key (HMAC keys of all slots, SRK) and NV index (URIs) is erased.',
          );
          if (!ok) {
            print({ ok: false, cleared: false }, 'Not cleared');
            return EXIT.cspFailed;
          }
        }
        await tpm.clear();
        return done({ cleared: true }, 'TPM cleared');
      };
    }
    default:
      throw new UsageError(`unknown subcommand "${sub.slice(0, 40)}"`);
  }
}

/** The connection string to import, from the explicit sources only; never echoed. */
function connectionStringOf(v: Values, env: NodeJS.ProcessEnv): { value: string; source: string } {
  if (v['connection-string'] !== undefined && v['connection-string-file'] !== undefined) {
    throw new UsageError('give --connection-string or --connection-string-file, not both');
  }
  if (v['connection-string'] !== undefined) {
    return { value: v['connection-string'].trim(), source: '--connection-string' };
  }
  if (v['connection-string-file'] !== undefined) {
    const file = v['connection-string-file'];
    return {
      value: readFile(file, '--connection-string-file').toString('utf8').trim(),
      source: `--connection-string-file ${file}`,
    };
  }
  const fromEnv = env[ENV_TPM_CONNECTION_STRING];
  if (fromEnv !== undefined && fromEnv.trim() !== '') {
    return { value: fromEnv.trim(), source: `$${ENV_TPM_CONNECTION_STRING}` };
  }
  throw new UsageError(
    `import needs a device connection string: --connection-string-file F or $${ENV_TPM_CONNECTION_STRING}`,
  );
}
