export * from './control';
export * from './http';
