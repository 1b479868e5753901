import type { WebSocket, WebSocketServer } from 'ws';

export interface InitGuardOptions {
  /** Sockets that may await their first message (`connection_init`) at once. */
  max: number;
  /** graphql-ws closes a socket silent this long (4408); one that has not let go a second later is cut. */
  timeoutMs: number;
}

/** Past graphql-ws's own 4408 close, how long a peer has to finish the close handshake before its socket is cut. */
const CLOSE_GRACE_MS = 1000;

/**
 * Bounds what sockets that never send `connection_init` can hold: each costs a file descriptor and memory until
 * graphql-ws's timeout, so a flood of them could exhaust both. Over `max` waiting at once, the oldest waiting is cut:
 * an honest client sends `connection_init` as soon as its socket opens, so it is the newest waiting and is not the
 * one shed (a shed client's graphql-ws retries: 1013 means try again later). A peer that does not answer the close
 * handshake of graphql-ws's timeout is cut too, rather than holding its socket for ws's 30 s close timeout.
 */
export function shedAwaitingInit(server: WebSocketServer, { max, timeoutMs }: InitGuardOptions): () => void {
  // Insertion order is arrival order: the first entry is the oldest waiting.
  const waiting = new Map<WebSocket, number>();
  const track = (socket: WebSocket) => {
    waiting.set(socket, performance.now());
    const settled = () => waiting.delete(socket);
    socket.once('message', settled);
    socket.once('close', settled);
    while (waiting.size > max) {
      const oldest = waiting.keys().next().value as WebSocket;
      waiting.delete(oldest);
      oldest.close(1013, 'too many connections awaiting connection_init: try again later');
      // Not waiting for the peer's close frame: a flood's sockets may never send one.
      oldest.terminate();
    }
  };
  server.on('connection', track);
  const sweep = setInterval(
    () => {
      const cutBefore = performance.now() - timeoutMs - CLOSE_GRACE_MS;
      for (const [socket, arrived] of waiting) {
        if (arrived > cutBefore) break;
        waiting.delete(socket);
        socket.terminate();
      }
    },
    Math.max(100, Math.floor(timeoutMs / 2)),
  );
  sweep.unref();
  return () => {
    server.off('connection', track);
    clearInterval(sweep);
  };
}
