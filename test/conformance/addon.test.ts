import { AddonMdm } from '../../lib';
import { conformanceSuite } from './suite';

// The real addon over the CSP emulator library (build/Release, built by `npm test` first).
conformanceSuite('AddonMdm over the CSP emulator library', () => new AddonMdm());
