/** `iotdm csp get|add|set|delete|exec|list <uri> …` and `iotdm csp syncml <file>`. */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Csp } from '../csp/csp';
import { decodeValue, type CspValue } from '../csp/values';
import { IotDmError, describeOmaStatus } from '../errors';
import { AddonMdm } from '../native/addon-mdm';
import type { CspFormat, CspResult, NativeMdm } from '../native/contract';
import { COMMON_OPTIONS, parseCommand } from './args';
import { EXIT, type CliIo } from './io';

export const CSP_HELP = `Usage: iotdm csp <verb> <uri> [options]
       iotdm csp syncml <file|->

Performs one CSP operation through the local MDM API (on Linux: the CSP emulator library).

Verbs:
  get <uri>                      read a node (interior nodes list their children)
  list <uri>                     read a whole subtree (?list=StructData)
  add <uri> [--data D]           add a node (no --data: an interior node)
  set <uri> --data D             replace a node's value (alias: replace)
  delete <uri>                   delete a node and its subtree
  exec <uri> [--data D]          execute a node
  syncml <file>                  send a raw <SyncBody> from a file (- for stdin); prints the answer

Options:
  --format F     chr | int | bool | b64 | xml | node | null (default: chr for --data)
  --data D       the value (b64: base64 text)
  --library P    MDM library to load on non-Windows hosts (default: $WINDOWS_IOT_DM_MDM_LIBRARY,
                 then the bundled CSP emulator)
  --json         print the result as JSON
  -h, --help     this help

Exit codes: 0 success, 1 CSP failure status, 2 usage error, 3 MDM API unavailable, 4 other error.
Example: iotdm csp get ./DevDetail/SwV`;

const VERBS = new Set(['get', 'list', 'add', 'set', 'replace', 'delete', 'exec', 'syncml']);
const FORMATS = new Set(['chr', 'int', 'bool', 'b64', 'xml', 'node', 'null']);

export async function runCsp(argv: string[], io: CliIo, native?: NativeMdm): Promise<number> {
  const parsed = parseCommand('csp', CSP_HELP, io, () =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        format: { type: 'string' },
        data: { type: 'string' },
        library: { type: 'string' },
        ...COMMON_OPTIONS,
      },
    }),
  );
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const [verb, target, ...extra] = positionals;
  if (verb === undefined || !VERBS.has(verb) || target === undefined || extra.length > 0) {
    const why =
      verb === undefined
        ? 'missing verb'
        : !VERBS.has(verb)
          ? `unknown verb "${verb}"`
          : target === undefined
            ? 'missing <uri>'
            : `unexpected argument "${extra[0]}"`;
    io.err(`iotdm csp: ${why}\n\n${CSP_HELP}`);
    return EXIT.usage;
  }
  if (values.format !== undefined && !FORMATS.has(values.format)) {
    io.err(`iotdm csp: --format must be one of ${[...FORMATS].join(', ')}`);
    return EXIT.usage;
  }
  const format = values.format as CspFormat | undefined;
  const mdm =
    native ?? new AddonMdm(values.library === undefined ? {} : { libraryPath: values.library });
  const csp = new Csp(mdm);
  try {
    if (verb === 'syncml') {
      const body = target === '-' ? await readStdin() : await readFile(target, 'utf8');
      const answer = await csp.rawSyncML(body);
      io.out(values.json ? JSON.stringify({ response: answer }) : answer);
      return EXIT.ok;
    }
    if (verb === 'list') {
      const items = await csp.list(target);
      if (values.json) io.out(JSON.stringify({ status: 200, items }, null, 2));
      else
        for (const item of items)
          io.out(`${item.uri}${item.data !== undefined ? ` = ${item.data}` : ''}`);
      return EXIT.ok;
    }
    const value: CspValue | undefined = values.data;
    const options = format === undefined ? {} : { format };
    let result: CspResult;
    switch (verb) {
      case 'get':
        result = await csp.getResult(target);
        break;
      case 'add':
        result = await csp.add(target, value, options);
        break;
      case 'set':
      case 'replace':
        if (value === undefined) {
          io.err(`iotdm csp: ${verb} needs --data`);
          return EXIT.usage;
        }
        result = await csp.replace(target, value, options);
        break;
      case 'delete':
        result = await csp.delete(target);
        break;
      default:
        result = await csp.exec(target, value, options);
    }
    printResult(io, verb, target, result, values.json === true);
    return EXIT.ok;
  } catch (err) {
    return reportError(io, err, values.json === true);
  }
}

function printResult(io: CliIo, verb: string, uri: string, result: CspResult, json: boolean): void {
  if (json) {
    const out: Record<string, unknown> = { uri, verb, status: result.status };
    if (verb === 'get') {
      const value = decodeValue(result);
      out.value = Buffer.isBuffer(value) ? value.toString('base64') : value;
      if (result.format !== undefined) out.format = result.format;
      if (result.type !== undefined) out.type = result.type;
    }
    io.out(JSON.stringify(out, null, 2));
    return;
  }
  if (verb === 'get') {
    const shown =
      result.format === 'node'
        ? (result.data ?? '').split('/').filter(Boolean).join('\n')
        : (result.data ?? '');
    io.out(shown);
    return;
  }
  io.out(`${result.status} ${describeOmaStatus(result.status)}: ${verb} ${uri}`);
}

function reportError(io: CliIo, err: unknown, json: boolean): number {
  const e = err instanceof IotDmError ? err : undefined;
  const code = e?.code ?? 'ERR_NATIVE';
  if (json) {
    const payload: Record<string, unknown> = { error: { code, message: (err as Error).message } };
    if (e?.status !== undefined) (payload.error as Record<string, unknown>).status = e.status;
    if (e?.hresult !== undefined) (payload.error as Record<string, unknown>).hresult = e.hresult;
    io.err(JSON.stringify(payload));
  } else {
    io.err(`iotdm: ${(err as Error).message}`);
  }
  switch (code) {
    case 'ERR_CSP_STATUS':
    case 'ERR_CSP_ATOMIC_FAILED':
      return EXIT.cspFailed;
    case 'ERR_MDM_UNAVAILABLE':
      return EXIT.unavailable;
    case 'ERR_INVALID_URI':
    case 'ERR_INVALID_VALUE':
    case 'ERR_INVALID_ARG':
      return EXIT.usage;
    default:
      return EXIT.error;
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
