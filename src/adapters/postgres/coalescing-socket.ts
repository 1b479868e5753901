import { connect, type Socket } from 'node:net';

/** The part of postgres.js's parsed options that says where to connect (what it hands a `socket` factory). */
export interface ConnectionTarget {
  readonly host: readonly string[];
  readonly port: readonly number[];
  /** A unix socket's path, when the URL's host is a directory. */
  readonly path?: string | false;
}

/**
 * A postgres.js `socket` factory whose sockets send everything written within one turn of the event loop in one
 * write. postgres.js writes a statement of 1 KiB or more (placeOrder's is about that, with its event) on its own,
 * and on this kind of machine a loopback write costs more than building the statement: the receiver's network stack
 * runs inside it. Pipelined statements of one turn then share a write (measured beside the same gateway without it:
 * 15% less CPU per order at 16 requests in flight, the same at 64; docs/decisions.md). Hosts are tried in turn, one per connection, as
 * postgres.js does itself; TLS is negotiated by postgres.js over the socket as usual.
 */
export function coalescingSockets(): (target: ConnectionTarget) => Socket {
  let next = 0;
  return (target) => {
    const index = next++ % Math.max(1, target.host.length);
    const host = target.host[index] ?? 'localhost';
    const port = target.port[index] ?? target.port[0] ?? 5432;
    const socket = target.path ? connect(target.path) : connect(port, host);
    // Read by postgres.js's connection errors ("write CONNECT_TIMEOUT host:port").
    Object.assign(socket, { host, port });
    coalesceWrites(socket);
    return socket;
  };
}

/** postgres.js writes a message at once from this size on; smaller ones it gathers itself until the turn ends. */
const POSTGRES_JS_IMMEDIATE_WRITE = 1024;

/**
 * Corks the socket at the first large write of a turn and uncorks it when the turn's I/O callbacks have run, so the
 * turn's statements leave as one writev. Small writes are not held: they come from postgres.js's own end-of-turn
 * flush, and corking them there would put them off by a turn.
 */
function coalesceWrites(socket: Socket): void {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = ((...args: unknown[]) => {
    const [chunk] = args;
    if (!corked && !socket.destroyed && Buffer.isBuffer(chunk) && chunk.length >= POSTGRES_JS_IMMEDIATE_WRITE) {
      corked = true;
      socket.cork();
      setImmediate(uncork);
    }
    return write(...args);
  }) as Socket['write'];
}
