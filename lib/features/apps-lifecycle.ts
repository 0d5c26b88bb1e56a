/**
 * `windows.manageAppLifeCycleAsync` `{ action: start | stop, pkgFamilyName }`: answers
 * `{ lastChange: pending }` at once (as the original did), then starts or stops the app and
 * reports the outcome at `reported.windows.manageAppLifeCycleCmd.lastChange`. No CSP of the
 * platform starts or stops an app (the original ran iotstartup.exe), so it goes through the
 * native system part: `NativeSystem.appLifecycle` (the CSP emulator records it; not implemented on
 * Windows in this version, which is reported as failed with HRESULT 0x80004001).
 */
import type { FeatureHandler, HandlerContext, JsonObject, MethodResult } from '../dm/handler';
import { s } from '../dm/schema';
import { lastChange } from '../dm/status';
import { APP_ACTIONS, type AppAction, type NativeSystem } from '../native/system-contract';
import { PFN } from './apps-desired';

export const LIFECYCLE_SECTION = 'manageAppLifeCycleCmd';

export function createAppLifecycleHandler(system: NativeSystem | undefined): FeatureHandler {
  const running = new Set<Promise<void>>();

  async function carryOut(ctx: HandlerContext, pfn: string, action: AppAction): Promise<void> {
    let change;
    try {
      if (!system) throw new Error('no native system part was given to start or stop apps');
      await system.appLifecycle(pfn, action);
      change = lastChange('completed');
    } catch (err) {
      change = lastChange('failed', err);
    }
    await ctx.reportPartial({ pkgFamilyName: pfn, action, lastChange: change });
  }

  return {
    section: LIFECYCLE_SECTION,
    nodes: [],
    methods: [
      {
        name: 'windows.manageAppLifeCycleAsync',
        payload: s.object(
          { action: s.enum(...APP_ACTIONS), pkgFamilyName: s.string({ pattern: PFN }) },
          { required: ['action', 'pkgFamilyName'] },
        ),
        async invoke(payload, ctx): Promise<MethodResult> {
          const { action, pkgFamilyName } = payload as JsonObject as {
            action: AppAction;
            pkgFamilyName: string;
          };
          if (!system) {
            return {
              status: 501,
              body: {
                lastChange: lastChange(
                  'failed',
                  new Error('this client was created without a native system part'),
                ),
              },
            };
          }
          const pending = lastChange('pending');
          await ctx.reportPartial({ pkgFamilyName, action, lastChange: pending });
          const job = carryOut(ctx, pkgFamilyName, action).catch((err: unknown) => {
            ctx.log.warn(
              { err: String(err) },
              'manageAppLifeCycleCmd: the outcome was not reported',
            );
          });
          running.add(job);
          void job.finally(() => running.delete(job));
          return { status: 200, body: { lastChange: pending } };
        },
      },
    ],
    async stop() {
      await Promise.allSettled([...running]);
    },
  };
}
