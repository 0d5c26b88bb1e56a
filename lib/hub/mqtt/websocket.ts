/**
 * MQTT over WebSocket at `/$iothub/websocket` (subprotocol `mqtt`), as azure-iot-device-mqtt's
 * `MqttWs` dials it (`wss://{host}:443/$iothub/websocket`).
 */
import type { IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';

export const WEBSOCKET_PATH = '/$iothub/websocket';

/** Attaches the endpoint to `server`; returns a function that closes every WebSocket. */
export function createWebSocketServer(
  server: HttpsServer,
  onStream: (stream: Duplex, req: IncomingMessage) => void,
): () => Promise<void> {
  const wss = new WebSocketServer({
    server,
    path: WEBSOCKET_PATH,
    handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
  });
  wss.on('connection', (ws, req) => {
    const stream = createWebSocketStream(ws);
    stream.on('error', () => ws.terminate());
    onStream(stream, req);
  });
  return () =>
    new Promise<void>((resolve) => {
      for (const ws of wss.clients) ws.terminate();
      wss.close(() => resolve());
    });
}
