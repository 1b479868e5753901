import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of the test PostgreSQL that counts what its clients send: connections, and statements run
 * (Execute messages of the extended protocol and simple Query messages). A gateway pointed at it shows, from the
 * outside, whether a request costs a query or a connection. `cut()` drops every connection and refuses new ones
 * until `restore()`, as an unreachable server would.
 */
export interface CountingProxy {
  readonly port: number;
  /** `url` (a postgres:// URL on the proxied server) with its host and port replaced by the proxy's. */
  through(url: string): string;
  /** Connections accepted since start. */
  readonly connections: number;
  /** Execute and Query messages sent by clients since start. */
  readonly statements: number;
  /** The `application_name` of each connection, in the order they started (for failure messages). */
  readonly applications: readonly string[];
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;
const EXECUTE = 0x45; // 'E'
const QUERY = 0x51; // 'Q'

/** A proxy in front of the server `databaseUrl` names (the test's own server, wherever global setup found it). */
export async function startPostgresCountingProxy(databaseUrl: string): Promise<CountingProxy> {
  const { hostname, port: urlPort } = new URL(databaseUrl);
  const target = { host: hostname, port: Number(urlPort || 5432) };
  let connections = 0;
  let statements = 0;
  let refusing = false;
  const applications: string[] = [];
  const open = new Set<Socket>();

  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    connections++;
    const upstream = createConnection(target);
    open.add(client);
    open.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    upstream.pipe(client);
    // The client's side is parsed for its message types: untyped start-up messages first, then typed ones.
    let buffered = Buffer.alloc(0);
    let startup = true;
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        if (startup) {
          if (buffered.length < 8) break;
          const length = buffered.readInt32BE(0);
          if (buffered.length < length) break;
          const code = buffered.readInt32BE(4);
          startup = code === SSL_REQUEST || code === GSS_REQUEST;
          if (!startup) {
            // Parameters: NUL-terminated name and value pairs after the protocol version.
            const parameters = buffered.subarray(8, length).toString().split('\0');
            const at = parameters.indexOf('application_name');
            applications.push(at >= 0 ? (parameters[at + 1] ?? '') : '');
          }
          buffered = buffered.subarray(length);
        } else {
          if (buffered.length < 5) break;
          const length = buffered.readInt32BE(1);
          if (buffered.length < 1 + length) break;
          const type = buffered[0];
          if (type === EXECUTE || type === QUERY) statements++;
          buffered = buffered.subarray(1 + length);
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  const port = address.port;
  return {
    port,
    through(url) {
      const proxied = new URL(url);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(port);
      return proxied.toString();
    },
    get connections() {
      return connections;
    },
    get statements() {
      return statements;
    },
    applications,
    cut() {
      refusing = true;
      for (const socket of open) socket.destroy();
      open.clear();
    },
    restore() {
      refusing = false;
    },
    async close() {
      refusing = true;
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
