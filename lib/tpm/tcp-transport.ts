/**
 * `TcpTpm`: a `NativeTpm` channel to a TPM 2.0 simulator. Over TCP it speaks the Microsoft
 * simulator (mssim) framing swtpm and the IBM/MS simulators accept —
 * `u32be 8 (TPM_SEND_COMMAND) | u8 locality | u32be len | command` answered by
 * `u32be len | response | u32be ack`, and `u32be 20 (TPM_SESSION_END)` on close. Over a Unix
 * socket path it sends the raw command bytes and reads one raw response (its size is in the
 * response header). One command at a time (queued); the connection opens on first use.
 * Connection failures reject with `TpmUnavailableError`; a short or inconsistent response with
 * `TpmError` (rc 0).
 */
import net from 'node:net';
import type { NativeTpm, TpmDeviceInfo } from '../native/contract';
import { TpmError, TpmUnavailableError } from '../errors';
import { commandNameOf } from './cc';

const TPM_SEND_COMMAND = 8;
const TPM_SESSION_END = 20;
/** Largest response a TPM 2.0 sends (TPM_PT_MAX_RESPONSE_SIZE is 4096 on common TPMs). */
const MAX_RESPONSE = 64 * 1024;

export type TcpTpmOptions =
  | { host?: string; port: number; locality?: number; timeoutMs?: number }
  | { path: string; timeoutMs?: number };

interface Pending {
  resolve(response: Uint8Array): void;
  reject(error: Error): void;
  command: string;
}

export class TcpTpm implements NativeTpm {
  private readonly options: TcpTpmOptions;
  private readonly mssim: boolean;
  private readonly where: string;
  private socket: net.Socket | undefined;
  private connecting: Promise<net.Socket> | undefined;
  private received: Buffer = Buffer.alloc(0);
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: TcpTpmOptions) {
    this.options = options;
    this.mssim = !('path' in options);
    this.where =
      'path' in options ? options.path : `${options.host ?? '127.0.0.1'}:${options.port}`;
  }

  submit(command: Uint8Array): Promise<Uint8Array> {
    if (this.closed) {
      return Promise.reject(new TpmUnavailableError(`TPM channel to ${this.where} is closed`));
    }
    const run = this.queue.then(
      () => this.exchange(command),
      () => this.exchange(command),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  info(): Promise<TpmDeviceInfo> {
    return Promise.resolve({
      transport: this.mssim ? 'tcp' : 'socket',
      tpmVersion: 2,
      path: this.where,
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    const socket = this.socket;
    this.socket = undefined;
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve());
      if (this.mssim) {
        const end = Buffer.alloc(4);
        end.writeUInt32BE(TPM_SESSION_END);
        socket.end(end);
      } else {
        socket.end();
      }
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  }

  private connect(): Promise<net.Socket> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    this.connecting ??= new Promise<net.Socket>((resolve, reject) => {
      const o = this.options;
      const socket = 'path' in o ? net.connect(o.path) : net.connect(o.port, o.host ?? '127.0.0.1');
      socket.setNoDelay(true);
      const fail = (error: Error): void => {
        socket.destroy();
        reject(
          new TpmUnavailableError(`Cannot reach the TPM at ${this.where}: ${error.message}`, error),
        );
      };
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.off('error', fail);
        this.attach(socket);
        resolve(socket);
      });
    }).finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private attach(socket: net.Socket): void {
    this.socket = socket;
    this.received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.tryComplete();
    });
    socket.on('error', (error) => this.lost(socket, error));
    socket.on('close', () => this.lost(socket, undefined));
  }

  private lost(socket: net.Socket, error: Error | undefined): void {
    if (this.socket === socket) this.socket = undefined;
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    const got = this.received.length;
    this.received = Buffer.alloc(0);
    if (got > 0) {
      pending.reject(
        new TpmError(
          pending.command,
          0,
          'TPM_RC_TRUNCATED',
          `The TPM at ${this.where} closed the connection after ${got} bytes of the ${pending.command} response`,
        ),
      );
    } else {
      pending.reject(
        new TpmUnavailableError(
          `The TPM at ${this.where} closed the connection during ${pending.command}` +
            (error ? `: ${error.message}` : ''),
          error,
        ),
      );
    }
  }

  private tryComplete(): void {
    const pending = this.pending;
    const buf = this.received;
    if (!pending) return;
    const fail = (message: string): void => {
      this.pending = undefined;
      this.received = Buffer.alloc(0);
      this.socket?.destroy();
      pending.reject(new TpmError(pending.command, 0, 'TPM_RC_TRUNCATED', message));
    };
    if (this.mssim) {
      if (buf.length < 4) return;
      const len = buf.readUInt32BE(0);
      if (len < 10 || len > MAX_RESPONSE) {
        fail(`The TPM at ${this.where} framed a ${len}-byte ${pending.command} response`);
        return;
      }
      if (buf.length < 4 + len + 4) return;
      const response = buf.subarray(4, 4 + len);
      const declared = response.readUInt32BE(2);
      if (declared !== len) {
        fail(
          `The ${pending.command} response declares ${declared} bytes but ${len} arrived from ${this.where}`,
        );
        return;
      }
      this.received = buf.subarray(4 + len + 4);
      this.pending = undefined;
      pending.resolve(new Uint8Array(response));
    } else {
      if (buf.length < 10) return;
      const size = buf.readUInt32BE(2);
      if (size < 10 || size > MAX_RESPONSE) {
        fail(`The TPM at ${this.where} sent a ${pending.command} response declaring ${size} bytes`);
        return;
      }
      if (buf.length < size) return;
      this.received = buf.subarray(size);
      this.pending = undefined;
      pending.resolve(new Uint8Array(buf.subarray(0, size)));
    }
  }

  private async exchange(command: Uint8Array): Promise<Uint8Array> {
    const name = commandNameOf(command);
    if (this.closed) throw new TpmUnavailableError(`TPM channel to ${this.where} is closed`);
    const socket = await this.connect();
    const timeoutMs = this.options.timeoutMs ?? 60_000;
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pending !== entry) return;
        this.pending = undefined;
        socket.destroy();
        reject(
          new TpmUnavailableError(
            `The TPM at ${this.where} did not answer ${name} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const entry: Pending = {
        command: name,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.pending = entry;
      this.received = Buffer.alloc(0);
      if (this.mssim) {
        const header = Buffer.alloc(9);
        header.writeUInt32BE(TPM_SEND_COMMAND, 0);
        header.writeUInt8('locality' in this.options ? (this.options.locality ?? 0) : 0, 4);
        header.writeUInt32BE(command.length, 5);
        socket.write(Buffer.concat([header, command]));
      } else {
        socket.write(command);
      }
    });
  }
}
