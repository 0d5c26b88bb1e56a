/**
 * Test fixture: a private swtpm TPM 2.0 simulator (lib/demo/swtpm.ts) on 127.0.0.1 (ephemeral
 * ports) or a Unix socket, with a fresh state folder holding the RSA/ECC EKs and EK certificates
 * that `swtpm_setup --createek --create-ek-cert` writes. The manufactured state is made once per
 * process and copied for each start, so every simulator starts from the same factory state.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchSwtpm, manufactureSwtpm } from '../../lib/demo/swtpm';

export interface SwtpmHandle {
  host: string;
  /** Data port (mssim framing over TCP); 0 when the data channel is a Unix socket. */
  port: number;
  /** Control channel port (data port + 1, as tpm2-tools' swtpm TCTI expects); 0 with a Unix socket (then `<socketPath>.ctrl`). */
  ctrlPort: number;
  /** The data channel's Unix socket path (raw TPM commands), with `unixSocket: true`. */
  socketPath?: string;
  stateDir: string;
  /** TPM2TOOLS_TCTI value for tpm2-tools: `swtpm:host=127.0.0.1,port=N` (or `swtpm:path=...`). */
  tcti: string;
  stop(): Promise<void>;
}

export interface SwtpmOptions {
  /** Data channel over a Unix socket (raw command bytes) instead of TCP. */
  unixSocket?: boolean;
}

let templateDir: Promise<string> | undefined;

/** Manufactures the TPM state once (EKs persisted at 0x81010001/0x81010016, certs in NV). */
function manufacturedState(): Promise<string> {
  templateDir ??= (async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'iotdm-swtpm-template-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    await manufactureSwtpm(dir, true);
    return dir;
  })();
  return templateDir;
}

/** Starts a private swtpm with factory state; `stop()` kills it and removes its folder. */
export async function startSwtpm(options: SwtpmOptions = {}): Promise<SwtpmHandle> {
  const template = await manufacturedState();
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'iotdm-swtpm-'));
  cpSync(template, stateDir, { recursive: true });
  let tpm;
  try {
    tpm = await launchSwtpm(stateDir, options);
  } catch (error) {
    rmSync(stateDir, { recursive: true, force: true });
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    host: tpm.host,
    port: tpm.port,
    ctrlPort: tpm.ctrlPort,
    ...(tpm.socketPath ? { socketPath: tpm.socketPath } : {}),
    stateDir,
    tcti: tpm.tcti,
    stop: () =>
      (stopped ??= (async () => {
        await tpm.stop();
        rmSync(stateDir, { recursive: true, force: true });
      })()),
  };
}
