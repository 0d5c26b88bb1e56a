export * from './server';
export * from './topics';
export { WEBSOCKET_PATH } from './websocket';
