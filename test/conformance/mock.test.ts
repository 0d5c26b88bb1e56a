import { MockMdm } from '../../lib/testing';
import { SEED_NODES } from '../fixtures/seed-nodes';
import { conformanceSuite } from './suite';

conformanceSuite('MockMdm', () => new MockMdm({ nodes: SEED_NODES }));
