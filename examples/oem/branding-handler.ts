/**
 * An OEM feature handler: device branding through the Personalization CSP.
 *
 *   properties.desired.windows.branding = {
 *     companyName: "Contoso", desktopImageUrl: "https://...", lockScreenImageUrl: "https://..."
 *   }
 *
 * It declares the only CSP nodes it may touch, the shape of its desired content, how to apply
 * it (all writes issued together, so they travel in one SyncML message) and how to read the
 * device's actual state back. Register it with
 * `DeviceManagementClient.attach(client, { handlers: [brandingHandler] })`.
 *
 * The minimal OEM example. A setting no Windows CSP knows (a sensor's sampling rate), with a
 * direct method, a one-command run and the dashboard: examples/oem-extension/.
 */
import { schema as s, type FeatureHandler, type JsonObject } from '../../lib';

const BASE = './Device/Vendor/MSFT/Personalization';
const URL = /^https?:\/\/[^\s"<>]{1,2000}$/;

export const brandingHandler: FeatureHandler = {
  section: 'branding',
  nodes: [`${BASE}/*`],
  desired: s.object({
    companyName: s.string({ maxLength: 30 }),
    desktopImageUrl: s.string({ pattern: URL, maxLength: 2048 }),
    lockScreenImageUrl: s.string({ pattern: URL, maxLength: 2048 }),
  }),

  async apply(desired, ctx) {
    const writes: Array<Promise<unknown>> = [];
    if (typeof desired.companyName === 'string') {
      writes.push(ctx.csp.put(`${BASE}/CompanyName`, desired.companyName));
    }
    if (typeof desired.desktopImageUrl === 'string') {
      writes.push(ctx.csp.put(`${BASE}/DesktopImageUrl`, desired.desktopImageUrl));
    }
    if (typeof desired.lockScreenImageUrl === 'string') {
      writes.push(ctx.csp.put(`${BASE}/LockScreenImageUrl`, desired.lockScreenImageUrl));
    }
    await Promise.all(writes);
  },

  async report(ctx) {
    const read = (leaf: string): Promise<unknown> =>
      ctx.csp.get(`${BASE}/${leaf}`).catch(() => '<not set>');
    const [
      companyName,
      desktopImageUrl,
      desktopImageStatus,
      lockScreenImageUrl,
      lockScreenImageStatus,
    ] = await Promise.all([
      read('CompanyName'),
      read('DesktopImageUrl'),
      read('DesktopImageStatus'),
      read('LockScreenImageUrl'),
      read('LockScreenImageStatus'),
    ]);
    return {
      companyName,
      desktopImageUrl,
      desktopImageStatus,
      lockScreenImageUrl,
      lockScreenImageStatus,
    } as JsonObject;
  },
};
