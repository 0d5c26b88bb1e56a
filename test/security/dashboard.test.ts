/**
 * docs/security.md claim, tested: the dashboard exposed off loopback never runs without its
 * token. `requireToken: false` with a non-loopback bind is refused before anything listens or
 * connects to the hub; bound to 0.0.0.0 (or ::) without options, every API route, the event
 * stream and the UI answer 401 without the token (or with a wrong one), reads and changes alike.
 * More (cookie login, CSRF, Host checks, headers): test/dashboard/security.test.ts.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { startDashboard } from '../../lib/dashboard';
import type { LocalHub } from '../../lib/hub/hub';
import { startLocalHub } from '../hub/helpers/local-hub';

function request(
  port: number,
  method: string,
  reqPath: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: reqPath, method, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('security: the dashboard exposed off loopback requires its token', function () {
  this.timeout(30_000);
  let hub: LocalHub;
  let closeHub: () => Promise<void>;
  before(async () => {
    ({ hub, close: closeHub } = await startLocalHub());
    hub.core.registry.create('dash-sec-1');
  });
  after(async () => {
    await closeHub();
  });

  for (const host of ['0.0.0.0', '::', '192.0.2.10']) {
    it(`refuses to start on ${host} with requireToken: false`, async () => {
      await assert.rejects(
        startDashboard({
          connectionString: hub.connectionString,
          ca: hub.tls.caCertPem,
          host,
          port: 0,
          requireToken: false,
        }),
        (err: unknown) => {
          assert.equal((err as { code?: string }).code, 'ERR_INVALID_ARG');
          assert.match((err as Error).message, /requireToken/);
          return true;
        },
      );
    });
  }

  it('on 0.0.0.0: every route answers 401 without the token or with a wrong one', async () => {
    const dash = await startDashboard({
      connectionString: hub.connectionString,
      ca: hub.tls.caCertPem,
      host: '0.0.0.0',
      port: 0,
    });
    try {
      assert.ok(dash.token && dash.token.length >= 24);
      const routes: Array<[string, string, string?]> = [
        ['GET', '/'],
        ['GET', '/api/session'],
        ['GET', '/api/devices'],
        ['GET', '/api/devices/dash-sec-1'],
        ['PATCH', '/api/devices/dash-sec-1/desired', '{"windows":{}}'],
        ['POST', '/api/devices/dash-sec-1/methods/windows.rebootCmd', '{}'],
        ['GET', '/api/jobs'],
        ['POST', '/api/jobs', '{}'],
        ['GET', '/api/events'],
        ['GET', '/login?token='],
      ];
      const auths: Array<Record<string, string>> = [{}, { Authorization: 'Bearer wrong-token' }];
      for (const auth of auths) {
        for (const [method, p, body] of routes) {
          const headers: Record<string, string> = {
            ...auth,
            ...(body ? { 'Content-Type': 'application/json' } : {}),
          };
          assert.equal(await request(dash.port, method, p, headers, body), 401, `${method} ${p}`);
        }
      }
      const ok = await request(dash.port, 'GET', '/api/devices', {
        Authorization: `Bearer ${dash.token}`,
      });
      assert.equal(ok, 200);
      assert.equal(hub.core.getTwin('dash-sec-1').properties.desired.windows, undefined);
    } finally {
      await dash.close();
    }
  });
});
