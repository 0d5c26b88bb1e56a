import { connectService, type ServiceClient } from '../../lib/service/client';
import { startService, type RunningService } from '../../lib/service/server';
import { tempService, type TempService } from '../service/helpers';
import { conformanceSuite } from './suite';

// The same suite through the privileged service: connectService() → the socket → a service in
// this process holding the real addon over the CSP emulator library.
describe('the conformance suite through iotdm service', () => {
  let temp: TempService;
  let service: RunningService;
  const clients: ServiceClient[] = [];
  before(async () => {
    temp = tempService();
    service = await startService({ config: temp.config(), log: () => {} });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await service.close();
    temp.cleanup();
  });
  conformanceSuite('connectService() over iotdm service (AddonMdm over the CSP emulator)', () => {
    const client = connectService({ path: service.path });
    clients.push(client);
    return client;
  });
});
