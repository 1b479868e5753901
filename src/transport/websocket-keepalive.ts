import type { WebSocket, WebSocketServer } from 'ws';

/** Each interval is cut in this many turns, each pinging its share of the sockets. */
const TURNS_PER_INTERVAL = 10;

/**
 * Pings every socket each `intervalMs` and terminates one that did not answer the previous ping, so a peer that
 * vanished (no FIN, a dead NAT entry) stops holding its subscriptions within two intervals. The sockets are pinged
 * a tenth at a time, spread over the interval: ten thousand pings in one turn of the event loop held every other
 * socket back for a noticeable moment.
 */
export function startWebSocketKeepAlive(server: WebSocketServer, intervalMs: number, onDead: (socket: WebSocket) => void): () => void {
  if (intervalMs <= 0) return () => {};
  const answered = new WeakMap<WebSocket, boolean>();
  const turns = Array.from({ length: TURNS_PER_INTERVAL }, () => new Set<WebSocket>());
  let nextSlot = 0;
  const pong = function (this: WebSocket) {
    answered.set(this, true);
  };
  const track = (socket: WebSocket) => {
    const turn = turns[nextSlot++ % TURNS_PER_INTERVAL] as Set<WebSocket>;
    turn.add(socket);
    answered.set(socket, true);
    socket.on('pong', pong);
    socket.once('close', () => turn.delete(socket));
  };
  server.on('connection', track);
  let current = 0;
  const timer = setInterval(
    () => {
      const turn = turns[current++ % TURNS_PER_INTERVAL] as Set<WebSocket>;
      for (const socket of turn) {
        if (answered.get(socket) === false) {
          turn.delete(socket);
          onDead(socket);
          socket.terminate();
          continue;
        }
        answered.set(socket, false);
        socket.ping();
      }
    },
    Math.max(1, Math.floor(intervalMs / TURNS_PER_INTERVAL)),
  );
  timer.unref();
  return () => {
    clearInterval(timer);
    server.off('connection', track);
  };
}
