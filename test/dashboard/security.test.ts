/**
 * The dashboard's safety rules (lib/dashboard/security.ts, static.ts, errors.ts): the token off
 * loopback (Bearer or the /login cookie), CSRF header and Origin on changing requests, the Host
 * check on loopback, security headers, static files without traversal, and hub failures mapped
 * to clear errors (502 unreachable, 429 throttled).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startDashboard, type Dashboard } from '../../lib/dashboard';
import type { LocalHub } from '../../lib/hub/hub';
import { startLocalHub } from '../hub/helpers/local-hub';

/** A raw request (no URL normalization, any Host header). */
function raw(
  port: number,
  reqPath: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: reqPath,
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('dashboard security', function () {
  this.timeout(30000);
  let hub: LocalHub;
  let closeHub: () => Promise<void>;
  let dir: string;
  let ui: string;
  let local: Dashboard;
  let open: Dashboard;
  let csrf: string;

  before(async () => {
    ({ hub, close: closeHub } = await startLocalHub());
    dir = mkdtempSync(path.join(os.tmpdir(), 'wdm-dash-ui-'));
    ui = path.join(dir, 'ui');
    mkdirSync(path.join(ui, 'sub'), { recursive: true });
    writeFileSync(path.join(ui, 'index.html'), '<!doctype html><title>DM</title>');
    writeFileSync(path.join(ui, 'app.js'), 'export const x = 1;\n');
    writeFileSync(path.join(ui, 'sub', 'style.css'), 'body { color: black; }\n');
    writeFileSync(path.join(ui, '.hidden.js'), 'secret');
    writeFileSync(path.join(dir, 'secret.txt'), 'TOP SECRET');
    writeFileSync(path.join(dir, 'secret.js'), 'TOP SECRET');
    symlinkSync(path.join(dir, 'secret.js'), path.join(ui, 'link.js'));
    const common = { connectionString: hub.connectionString, ca: hub.tls.caCertPem, uiRoot: ui };
    local = await startDashboard({ ...common, port: 0 });
    open = await startDashboard({ ...common, port: 0, host: '0.0.0.0' });
    csrf = JSON.parse((await raw(local.port, '/api/session')).text).csrf;
  });
  after(async () => {
    await local?.close();
    await open?.close();
    await closeHub();
    rmSync(dir, { recursive: true, force: true });
  });

  it('bound off loopback, a token is required: Bearer or the /login cookie', async () => {
    assert.equal(local.token, undefined);
    assert.equal(typeof open.token, 'string');
    assert.ok(open.token!.length >= 24);
    assert.equal(open.loginUrl, `${open.url}login?token=${open.token}`);
    const p = open.port;
    const none = await raw(p, '/api/session');
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.match(JSON.parse(none.text).error.message, /token is required/);
    assert.equal((await raw(p, '/')).status, 401);
    const wrong = await raw(p, '/api/session', { headers: { Authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    const bearer = await raw(p, '/api/session', {
      headers: { Authorization: `Bearer ${open.token}` },
    });
    assert.equal(bearer.status, 200);
    assert.equal(typeof JSON.parse(bearer.text).csrf, 'string');

    assert.equal((await raw(p, '/login?token=wrong')).status, 401);
    assert.equal((await raw(p, '/login')).status, 401);
    const login = await raw(p, `/login?token=${open.token}`);
    assert.equal(login.status, 303);
    assert.equal(login.headers.location, '/');
    const cookie = login.headers['set-cookie']![0]!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const withCookie = await raw(p, '/', { headers: { Cookie: cookie.split(';')[0]! } });
    assert.equal(withCookie.status, 200);
    assert.match(withCookie.text, /<title>DM<\/title>/);
    // Any Host is fine off loopback (the token protects it).
    const otherHost = await raw(p, '/api/session', {
      headers: { Authorization: `Bearer ${open.token}`, Host: 'dm.example:8080' },
    });
    assert.equal(otherHost.status, 200);
  });

  it('changing requests need the CSRF header and a same Origin', async () => {
    const p = local.port;
    const json = { 'Content-Type': 'application/json' };
    const body = JSON.stringify({ type: 'nothing' });
    const none = await raw(p, '/api/jobs', { method: 'POST', headers: json, body });
    assert.equal(none.status, 403);
    assert.equal(JSON.parse(none.text).error.code, 'CsrfRejected');
    const wrong = await raw(p, '/api/jobs', {
      method: 'POST',
      headers: { ...json, 'X-Csrf-Token': 'guess' },
      body,
    });
    assert.equal(wrong.status, 403);
    const foreign = await raw(p, '/api/jobs', {
      method: 'POST',
      headers: { ...json, 'X-Csrf-Token': csrf, Origin: 'http://evil.example' },
      body,
    });
    assert.equal(foreign.status, 403);
    assert.match(JSON.parse(foreign.text).error.message, /evil\.example/);
    const same = await raw(p, '/api/jobs', {
      method: 'POST',
      headers: { ...json, 'X-Csrf-Token': csrf, Origin: `http://127.0.0.1:${p}` },
      body,
    });
    assert.equal(same.status, 400, same.text); // past the checks, refused by validation
    const patch = await raw(p, '/api/devices/x/desired', { method: 'PATCH', headers: json, body });
    assert.equal(patch.status, 403);
    // CSRF tokens are per server.
    const openCsrf = await raw(open.port, '/api/jobs', {
      method: 'POST',
      headers: { ...json, 'X-Csrf-Token': csrf, Authorization: `Bearer ${open.token}` },
      body,
    });
    assert.equal(openCsrf.status, 403);
  });

  it('on loopback, a foreign Host header is refused (DNS rebinding)', async () => {
    const r = await raw(local.port, '/api/session', { headers: { Host: 'evil.example' } });
    assert.equal(r.status, 403);
    const ok = await raw(local.port, '/api/session', {
      headers: { Host: `localhost:${local.port}` },
    });
    assert.equal(ok.status, 200);
  });

  it('security headers with a strict CSP on API and static answers', async () => {
    for (const p of ['/api/session', '/', '/app.js', '/nothing.js']) {
      const r = await raw(local.port, p);
      const csp = String(r.headers['content-security-policy']);
      assert.match(csp, /default-src 'self'/);
      assert.match(csp, /script-src 'self'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.doesNotMatch(csp, /https?:|\*|unsafe/);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['x-frame-options'], 'DENY');
      assert.equal(r.headers['referrer-policy'], 'no-referrer');
    }
  });

  it('static files with their content types; traversal, hidden files and symlinks out refused', async () => {
    const p = local.port;
    const index = await raw(p, '/');
    assert.equal(index.status, 200);
    assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
    const js = await raw(p, '/app.js');
    assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(js.text, 'export const x = 1;\n');
    const css = await raw(p, '/sub/style.css');
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal((await raw(p, '/index.html')).status, 200);
    for (const bad of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/sub/../../secret.txt',
      '/sub/%2e%2e/%2e%2e/secret.js',
      '/..%5csecret.js',
      '/.hidden.js',
      '/link.js',
      '/app.js%00.html',
      '/sub',
      '/missing.html',
    ]) {
      const r = await raw(p, bad);
      assert.ok(r.status === 404 || r.status === 400, `${bad}: ${r.status}`);
      assert.ok(!r.text.includes('TOP SECRET'), bad);
    }
    assert.equal((await raw(p, '/%E0%A4%A')).status, 400);
    assert.equal((await raw(p, '/app.js', { method: 'DELETE' })).status, 403); // CSRF first
  });

  it('event streams: keep-alive comments; a cap on open streams (503)', async () => {
    const capped = await startDashboard({
      connectionString: hub.connectionString,
      ca: hub.tls.caCertPem,
      port: 0,
      uiRoot: ui,
      keepAliveMs: 50,
      maxEventStreams: 1,
    });
    const req = http.get(`http://127.0.0.1:${capped.port}/api/events`);
    try {
      const res = await new Promise<http.IncomingMessage>((r) => req.once('response', r));
      assert.equal(res.statusCode, 200);
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      await new Promise((r) => setTimeout(r, 300));
      assert.match(text, /^retry: 3000\n\n/);
      assert.match(text, /: keep-alive\n\n: keep-alive\n\n/);
      const second = await raw(capped.port, '/api/events');
      assert.equal(second.status, 503);
      assert.equal(JSON.parse(second.text).error.code, 'TooManyStreams');
    } finally {
      req.destroy();
      await capped.close();
    }
  });

  it('hub failures are clear errors: 429 throttled, 502 unreachable', async () => {
    hub.control.failNext(50, 429, { scope: 'rest' });
    try {
      const t = await raw(local.port, '/api/devices');
      assert.equal(t.status, 429);
      assert.match(JSON.parse(t.text).error.message, /throttling/);
    } finally {
      hub.control.reset();
    }
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const a = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(a));
      });
    });
    const key = /SharedAccessKey=([^;]+)/.exec(hub.connectionString)![1]!;
    const gone = await startDashboard({
      connectionString: `HostName=127.0.0.1:${port};SharedAccessKeyName=iothubowner;SharedAccessKey=${key}`,
      port: 0,
      uiRoot: ui,
    });
    try {
      const r = await raw(gone.port, '/api/devices');
      assert.equal(r.status, 502);
      const e = JSON.parse(r.text).error;
      assert.equal(e.code, 'HubUnreachable');
      assert.match(e.message, /unreachable \(ECONNREFUSED\)/);
      assert.ok(!r.text.includes(key));
    } finally {
      await gone.close();
    }
  });
});
