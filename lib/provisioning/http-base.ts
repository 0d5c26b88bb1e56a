/**
 * The HTTP layer handed to `azure-iot-provisioning-device-http`'s `Http` transport (its
 * constructor takes one): azure-iot-http-base's `buildRequest` contract, plus what a private DPS
 * needs — a `host:port` global endpoint (the stock layer always dials 443) and a CA to trust
 * (`ca`), with the device's X.509 certificate for TLS client authentication when given.
 */
import https from 'node:https';
import type { ClientRequest, IncomingMessage } from 'node:http';

type Done = (err: Error | null, body?: string, response?: IncomingMessage) => void;

interface X509Options {
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
}

export interface DpsHttpOptions {
  /** PEM of the CA(s) to trust instead of the system store (a private DPS such as `iotdm hub`). */
  ca?: string;
}

/** `host`, `host:port` or `[v6]:port` → host name and port (default 443). */
export function splitEndpoint(endpoint: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(endpoint) ?? /^([^:]+)(?::(\d+))?$/.exec(endpoint);
  if (!m || !m[1]) throw new Error(`"${endpoint}" is not host[:port]`);
  const port = m[2] === undefined ? 443 : Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`"${endpoint}" has an invalid port`);
  }
  return { host: m[1], port };
}

export class DpsHttpBase {
  private sdkOptions: { ca?: string } = {};

  constructor(private readonly options: DpsHttpOptions = {}) {}

  /** Called by RestApiClient.setOptions. */
  setOptions(options: { ca?: string }): void {
    this.sdkOptions = options ?? {};
  }

  buildRequest(
    method: string,
    path: string,
    headers: Record<string, string | number>,
    host: string,
    optionsOrDone?: X509Options | Done,
    maybeDone?: Done,
  ): ClientRequest {
    const done = (typeof optionsOrDone === 'function' ? optionsOrDone : maybeDone) as Done;
    const x509 = typeof optionsOrDone === 'object' ? optionsOrDone : undefined;
    const { host: hostname, port } = splitEndpoint(host);
    const ca = this.options.ca ?? this.sdkOptions.ca;
    const req = https.request(
      {
        method,
        path,
        headers,
        hostname,
        port,
        servername: hostname,
        ...(ca ? { ca } : {}),
        ...(x509?.cert ? { cert: x509.cert } : {}),
        ...(x509?.key ? { key: x509.key } : {}),
        ...(x509?.passphrase ? { passphrase: x509.passphrase } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('error', (e) => done(e));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          done(status >= 300 ? new Error(res.statusMessage ?? `HTTP ${status}`) : null, body, res);
        });
      },
    );
    req.on('error', (e) => done(e));
    return req;
  }
}
