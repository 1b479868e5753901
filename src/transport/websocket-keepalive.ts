import type { WebSocket, WebSocketServer } from 'ws';

/**
 * Pings every socket each `intervalMs` and terminates one that did not answer the previous ping, so a peer that
 * vanished (no FIN, a dead NAT entry) stops holding its subscriptions within two intervals.
 */
export function startWebSocketKeepAlive(server: WebSocketServer, intervalMs: number, onDead: (socket: WebSocket) => void): () => void {
  if (intervalMs <= 0) return () => {};
  const answered = new WeakMap<WebSocket, boolean>();
  const pong = function (this: WebSocket) {
    answered.set(this, true);
  };
  const track = (socket: WebSocket) => {
    answered.set(socket, true);
    socket.on('pong', pong);
  };
  server.on('connection', track);
  const timer = setInterval(() => {
    for (const socket of server.clients) {
      if (answered.get(socket) === false) {
        onDead(socket);
        socket.terminate();
        continue;
      }
      answered.set(socket, false);
      socket.ping();
    }
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    server.off('connection', track);
  };
}
