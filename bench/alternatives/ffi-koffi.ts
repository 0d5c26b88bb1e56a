/**
 * The FFI alternative: CSP operations the way a Node user without our addon would do them.
 * koffi (ffi-napi no longer builds on Node 20) loads the MDM library (the CSP emulator here;
 * mdmlocalmanagement.dll on Windows has the same two functions), SyncML is built with string
 * templates (values XML-escaped, to be fair), the UTF-16 answer is decoded by koffi, freed with
 * the library's free function and parsed with fast-xml-parser. Calls go through koffi's `.async`
 * (a worker thread, so the event loop is not blocked: the same duty our addon has) or, for
 * comparison, synchronously on the JS thread.
 *
 * A benchmark alternative only: not part of the package, not used by it.
 */
import type { CspOp, CspResult } from '../../lib/native/contract';

export type FfiCallMode = 'async' | 'sync';

interface ApplyFn {
  (request: string, result: unknown[]): number;
  async(request: string, result: unknown[], cb: (err: unknown, hr: number) => void): void;
}

const escapeXml = (s: string): string =>
  s.replace(/[&<>"'\r]/g, (c) =>
    c === '&'
      ? '&amp;'
      : c === '<'
        ? '&lt;'
        : c === '>'
          ? '&gt;'
          : c === '"'
            ? '&quot;'
            : c === "'"
              ? '&apos;'
              : '&#13;',
  );

const CMD: Record<CspOp['verb'], string> = {
  get: 'Get',
  add: 'Add',
  replace: 'Replace',
  delete: 'Delete',
  exec: 'Exec',
};

/** One op as a SyncML command, by string template. */
function command(op: CspOp, id: number): string {
  const meta = op.format
    ? `<Meta><Format xmlns="syncml:metinf">${op.format}</Format>${
        op.type ? `<Type xmlns="syncml:metinf">${escapeXml(op.type)}</Type>` : ''
      }</Meta>`
    : '';
  const data = op.data !== undefined ? `<Data>${escapeXml(op.data)}</Data>` : '';
  const tag = CMD[op.verb];
  return `<${tag}><CmdID>${id}</CmdID><Item><Target><LocURI>${escapeXml(op.uri)}</LocURI></Target>${meta}${data}</Item></${tag}>`;
}

export function buildSyncBody(ops: readonly CspOp[]): string {
  return `<SyncBody>${ops.map((op, i) => command(op, i + 1)).join('')}<Final/></SyncBody>`;
}

/** The part of koffi's API used here (its types are ESM-only for a CommonJS importer). */
interface KoffiModule {
  load(path: string): { func(signature: string): unknown };
  decode(pointer: unknown, type: string, length: number): unknown;
}

type XmlNode = Record<string, unknown>;
const asArray = (v: unknown): XmlNode[] =>
  v === undefined ? [] : Array.isArray(v) ? (v as XmlNode[]) : [v as XmlNode];
const text = (v: unknown): string | undefined =>
  v === undefined || v === null
    ? undefined
    : typeof v === 'object'
      ? String((v as XmlNode)['#text'] ?? '')
      : String(v);

/** koffi + string templates + fast-xml-parser over the MDM library at `libraryPath`. */
export class KoffiMdm {
  readonly #apply: ApplyFn;
  readonly #free: (p: unknown) => void;
  readonly #decode: (p: unknown) => string;
  readonly #parser: { parse(xml: string): XmlNode };
  #registered = false;
  readonly #register: (out: number[]) => number;

  constructor(libraryPath: string) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const koffi = require('koffi') as KoffiModule;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { XMLParser } = require('fast-xml-parser') as typeof import('fast-xml-parser');
    const lib = koffi.load(libraryPath);
    this.#register = lib.func(
      'int32_t RegisterDeviceWithLocalManagement(_Out_ int32_t *alreadyRegistered)',
    ) as (out: number[]) => number;
    this.#apply = lib.func(
      'int32_t ApplyLocalManagementSyncML(const char16_t *request, _Out_ void **result)',
    ) as unknown as ApplyFn;
    this.#free = lib.func('void MdmEmulatorFree(void *p)') as (p: unknown) => void;
    this.#decode = (p) => koffi.decode(p, 'char16_t', -1) as string;
    this.#parser = new XMLParser({
      ignoreAttributes: true,
      parseTagValue: false,
      trimValues: false,
      isArray: (name: string) => name === 'Status' || name === 'Results' || name === 'Item',
    });
  }

  #ensureRegistered(): void {
    if (this.#registered) return;
    const hr = this.#register([0]);
    if (hr !== 0)
      throw new Error(`RegisterDeviceWithLocalManagement: 0x${(hr >>> 0).toString(16)}`);
    this.#registered = true;
  }

  /** One SyncML message for `ops`; one result per op (status, first item's data/format/type). */
  async apply(ops: readonly CspOp[], mode: FfiCallMode = 'async'): Promise<CspResult[]> {
    this.#ensureRegistered();
    const request = buildSyncBody(ops);
    const out: unknown[] = [null];
    const hr =
      mode === 'sync'
        ? this.#apply(request, out)
        : await new Promise<number>((resolve, reject) =>
            this.#apply.async(request, out, (err, r) => (err ? reject(err) : resolve(r))),
          );
    if (hr !== 0) throw new Error(`ApplyLocalManagementSyncML: 0x${(hr >>> 0).toString(16)}`);
    let answer: string;
    try {
      answer = this.#decode(out[0]);
    } finally {
      this.#free(out[0]);
    }
    return this.#parse(answer, ops.length);
  }

  /**
   * The library's own time, for reference: a prepared request sent synchronously, the answer
   * decoded and freed, nothing built or parsed.
   */
  callRaw(request: string): string {
    this.#ensureRegistered();
    const out: unknown[] = [null];
    const hr = this.#apply(request, out);
    if (hr !== 0) throw new Error(`ApplyLocalManagementSyncML: 0x${(hr >>> 0).toString(16)}`);
    try {
      return this.#decode(out[0]);
    } finally {
      this.#free(out[0]);
    }
  }

  #parse(answer: string, count: number): CspResult[] {
    const doc = this.#parser.parse(answer) as { SyncML?: { SyncBody?: XmlNode } };
    const body = doc.SyncML?.SyncBody;
    if (!body) throw new Error('no SyncBody in the answer');
    const results: CspResult[] = Array.from({ length: count }, () => ({ status: 0, items: [] }));
    for (const s of asArray(body.Status)) {
      const ref = Number(text(s.CmdRef));
      const r = results[ref - 1];
      if (r) r.status = Number(text(s.Data));
    }
    for (const res of asArray(body.Results)) {
      const r = results[Number(text(res.CmdRef)) - 1];
      if (!r) continue;
      for (const item of asArray(res.Item)) {
        const meta = item.Meta as XmlNode | undefined;
        const it = {
          uri: text((item.Source as XmlNode | undefined)?.LocURI) ?? '',
          data: text(item.Data),
          format: text(meta?.Format),
          type: text(meta?.Type),
        };
        r.items.push(
          Object.fromEntries(Object.entries(it).filter(([, v]) => v !== undefined)) as {
            uri: string;
          },
        );
      }
      const first = r.items[0];
      if (first?.data !== undefined) r.data = first.data;
      if (first?.format !== undefined) r.format = first.format;
      if (first?.type !== undefined) r.type = first.type;
    }
    if (results.some((r) => r.status === 0)) throw new Error('an op has no Status in the answer');
    return results;
  }
}
