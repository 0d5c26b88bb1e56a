/** Test helpers: read statuses out of a raw SyncML answer (tests only; the product decodes in C++). */
export interface RawStatus {
  cmdRef: string;
  cmd: string;
  code: number;
}

export function statusesOf(answer: string): RawStatus[] {
  const out: RawStatus[] = [];
  for (const m of answer.matchAll(/<Status>(.*?)<\/Status>/gs)) {
    const body = m[1] as string;
    const pick = (tag: string) => new RegExp(`<${tag}>(.*?)</${tag}>`, 's').exec(body)?.[1] ?? '';
    out.push({ cmdRef: pick('CmdRef'), cmd: pick('Cmd'), code: Number(pick('Data')) });
  }
  return out;
}

/** Statuses other than the SyncHdr's, as `Cmd:CmdRef=code`. */
export function commandStatuses(answer: string): string[] {
  return statusesOf(answer)
    .filter((s) => s.cmd !== 'SyncHdr')
    .map((s) => `${s.cmd}:${s.cmdRef}=${s.code}`);
}

export function replaceCmd(id: number, uri: string, format: string, data: string): string {
  return `<Replace><CmdID>${id}</CmdID><Item><Target><LocURI>${uri}</LocURI></Target><Meta><Format xmlns="syncml:metinf">${format}</Format></Meta><Data>${data}</Data></Item></Replace>`;
}

export function getCmd(id: number, uri: string): string {
  return `<Get><CmdID>${id}</CmdID><Item><Target><LocURI>${uri}</LocURI></Target></Item></Get>`;
}
