/**
 * `DpsServer`: the local DPS over HTTPS (its own port, the hub's server certificate). TLS client
 * certificates are requested but not required (X.509 devices present one, symmetric key and TPM
 * devices do not) and are checked by the service, not by the TLS layer. Bodies are JSON, at most
 * 64 KB.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket, DetailedPeerCertificate } from 'node:tls';
import type { DpsService } from './service';

const MAX_BODY = 64 * 1024;

export interface DpsServerOptions {
  service: DpsService;
  tls: { cert: string; key: string };
  /** 0 = ephemeral. */
  port: number;
  bindAddress?: string;
}

export class DpsServer {
  private server?: https.Server;
  private readonly sockets = new Set<import('node:stream').Duplex>();

  constructor(private readonly options: DpsServerOptions) {}

  async start(): Promise<number> {
    const server = https.createServer(
      {
        cert: this.options.tls.cert,
        key: this.options.tls.key,
        requestCert: true,
        rejectUnauthorized: false, // X.509 devices are checked against enrollments, not a CA list
        minVersion: 'TLSv1.2',
      },
      (req, res) => void this.onRequest(req, res),
    );
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.bindAddress ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, headers: Record<string, string>, body: unknown): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(text),
        ...headers,
      });
      res.end(text);
    };
    let raw: string;
    try {
      raw = await readBody(req);
    } catch {
      send(413, {}, { errorCode: 413000, message: 'The request body is too large' });
      return;
    }
    let body: unknown = undefined;
    if (raw.trim() !== '') {
      try {
        body = JSON.parse(raw);
      } catch {
        send(400, {}, { errorCode: 400004, message: 'The body is not JSON' });
        return;
      }
    }
    const url = new URL(req.url ?? '/', 'https://dps.invalid');
    const auth = req.headers.authorization;
    const chain = peerChain(req.socket as TLSSocket);
    try {
      const r = this.options.service.handle({
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        ...(auth ? { authorization: auth } : {}),
        ...(chain.length ? { clientCertificates: chain } : {}),
        body,
      });
      send(r.status, r.headers, r.body);
    } catch {
      // A bug or an unusable client certificate: never take the hub down, never echo input.
      send(500, {}, { errorCode: 500000, message: 'Internal server error' });
    }
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The client's certificate chain as presented (leaf first), DER. */
function peerChain(socket: TLSSocket): Buffer[] {
  if (typeof socket.getPeerCertificate !== 'function') return [];
  const leaf = socket.getPeerCertificate(true) as DetailedPeerCertificate;
  const out: Buffer[] = [];
  let c: DetailedPeerCertificate | undefined = leaf;
  while (c && c.raw && c.raw.length > 0 && out.length < 8) {
    if (out.some((d) => d.equals(c!.raw))) break;
    out.push(c.raw);
    c = c.issuerCertificate;
  }
  return out;
}
