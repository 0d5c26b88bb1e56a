/** `windows-iot-dm/testing`: the mock native layer for unit tests of code built on this package. */
export {
  MockMdm,
  type MockMdmOptions,
  type MockCall,
  type MockResponse,
  type MockNodeSpec,
} from './mock-mdm';
export type { MockNode } from './mock-tree';
export { MockTwinLink } from './mock-twin-link';
export { MockSystem, UTC_ZONE } from './mock-system';
export { MemoryExternalStorage } from './memory-storage';
