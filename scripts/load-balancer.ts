/**
 * A small round-robin load balancer for local runs of several gateways (`npm run dev -- --gateways N`) and tests:
 * HTTP requests and websocket upgrades are piped through to the next backend whose `GET /readyz` answered 200.
 * Not for production: there, use HAProxy or nginx (ops/haproxy.cfg).
 */
import { Agent, createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface LoadBalancerOptions {
  /** Backends as `http://host:port`. */
  readonly backends: readonly string[];
  /** @default 0 (a free port) */
  readonly port?: number;
  /** @default 127.0.0.1 */
  readonly host?: string;
  /** How often each backend's /readyz is asked. @default 500 */
  readonly healthIntervalMs?: number;
  /** A backend's readiness changed. */
  readonly onChange?: (backend: string, ready: boolean) => void;
}

export interface BackendStats {
  ready: boolean;
  /** HTTP requests and websocket upgrades sent to it. */
  requests: number;
  upgrades: number;
}

export interface LoadBalancer {
  readonly url: string;
  readonly stats: ReadonlyMap<string, Readonly<BackendStats>>;
  close(): Promise<void>;
}

// Hop-by-hop headers (RFC 9110 7.6.1) are the proxy's own business on each side, never forwarded.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

const unavailable = (detail: string) =>
  `HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(detail)}\r\n\r\n${detail}`;

const MAX_BODY_BYTES = 1 << 20;

function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // The rest is read and dropped, so that the 413 can still be sent.
      if (size > limit) reject(new Error('request body too large'));
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function forwardedFor(request: IncomingMessage): string {
  const previous = request.headers['x-forwarded-for'];
  const client = request.socket.remoteAddress ?? '';
  return previous ? `${String(previous)}, ${client}` : client;
}

export async function startLoadBalancer(options: LoadBalancerOptions): Promise<LoadBalancer> {
  if (options.backends.length === 0) throw new Error('the load balancer needs at least one backend');
  const backends = options.backends.map((url) => new URL(url));
  const stats = new Map<string, BackendStats>(backends.map((b) => [b.origin, { ready: false, requests: 0, upgrades: 0 }]));
  const agent = new Agent({ keepAlive: true });
  const sockets = new Set<Duplex>();
  let next = 0;
  let closed = false;

  const setReady = (backend: URL, ready: boolean) => {
    const entry = stats.get(backend.origin);
    if (!entry || entry.ready === ready) return;
    entry.ready = ready;
    options.onChange?.(backend.origin, ready);
  };

  /** The next ready backend after the last one used; undefined when none is ready. */
  const pick = (): URL | undefined => {
    for (let i = 0; i < backends.length; i++) {
      const backend = backends[(next + i) % backends.length];
      if (backend && stats.get(backend.origin)?.ready) {
        next = (next + i + 1) % backends.length;
        return backend;
      }
    }
    return undefined;
  };

  const probe = async (backend: URL) => {
    const ready = await fetch(new URL('/readyz', backend), { signal: AbortSignal.timeout(2000) }).then(
      async (response) => {
        await response.body?.cancel();
        return response.status === 200;
      },
      () => false,
    );
    if (!closed) setReady(backend, ready);
  };
  const probeAll = () => Promise.all(backends.map(probe));
  let probing = Promise.resolve();
  const timer = setInterval(() => {
    probing = probing.then(probeAll, probeAll).then(() => {});
  }, options.healthIntervalMs ?? 500);
  await probeAll();

  const proxyHttp = (request: IncomingMessage, response: ServerResponse) => {
    const backend = pick();
    if (!backend) {
      response.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('no gateway is ready\n');
      return;
    }
    const entry = stats.get(backend.origin);
    if (entry) entry.requests++;
    const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => !HOP_BY_HOP.has(name)));
    // The body is read first, so that a request sent on a kept-alive socket the gateway had just closed can be sent
    // again on a new one (Node's advice for `reusedSocket`); GraphQL requests are small.
    readBody(request, MAX_BODY_BYTES).then(
      (body) => send(backend, request, response, headers, body, true),
      () => response.writeHead(413, { 'content-type': 'text/plain' }).end(`request bodies are limited to ${MAX_BODY_BYTES} bytes here\n`),
    );
  };

  const send = (
    backend: URL,
    request: IncomingMessage,
    response: ServerResponse,
    headers: Record<string, string | string[] | undefined>,
    body: Buffer,
    mayResend: boolean,
  ) => {
    const upstream = httpRequest(
      {
        host: backend.hostname,
        port: backend.port,
        method: request.method,
        path: request.url,
        headers: { ...headers, 'x-forwarded-for': forwardedFor(request) },
        agent,
      },
      (answer) => {
        // A draining gateway closes each connection after its answer: stop choosing it before the next probe says so.
        if (answer.headers.connection === 'close') setReady(backend, false);
        const kept = Object.entries(answer.headers).filter(([name]) => !HOP_BY_HOP.has(name));
        response.writeHead(answer.statusCode ?? 502, Object.fromEntries(kept));
        answer.pipe(response);
      },
    );
    upstream.on('error', (error) => {
      const code = (error as NodeJS.ErrnoException).code;
      if (mayResend && upstream.reusedSocket && code === 'ECONNRESET' && !response.headersSent) {
        send(backend, request, response, headers, body, false);
        return;
      }
      if (code === 'ECONNREFUSED') setReady(backend, false);
      if (response.headersSent) response.destroy();
      else response.writeHead(502, { 'content-type': 'text/plain' }).end(`the gateway at ${backend.origin} failed: ${error.message}\n`);
    });
    upstream.end(body);
  };

  const proxyUpgrade = (request: IncomingMessage, client: Duplex, head: Buffer) => {
    const backend = pick();
    if (!backend) {
      client.end(unavailable('no gateway is ready\n'));
      return;
    }
    const entry = stats.get(backend.origin);
    if (entry) entry.upgrades++;
    const upstream: Socket = connect(Number(backend.port), backend.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const lines = [`${request.method} ${request.url} HTTP/${request.httpVersion}`];
    for (let i = 0; i < request.rawHeaders.length; i += 2) {
      if (request.rawHeaders[i]?.toLowerCase() !== 'x-forwarded-for') lines.push(`${request.rawHeaders[i]}: ${request.rawHeaders[i + 1]}`);
    }
    lines.push(`X-Forwarded-For: ${forwardedFor(request)}`);
    upstream.once('connect', () => {
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    const end = () => {
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    upstream.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') {
        setReady(backend, false);
        if (client.writable) client.end(unavailable(`the gateway at ${backend.origin} refused the connection\n`));
      }
      end();
    });
    client.once('error', end);
    upstream.once('close', end);
    client.once('close', end);
  };

  const server = createServer(proxyHttp);
  server.on('upgrade', proxyUpgrade);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;

  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    stats,
    async close() {
      closed = true;
      clearInterval(timer);
      await probing;
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      agent.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
