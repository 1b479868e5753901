import { Agent, request } from 'node:http';

/**
 * A keep-alive GraphQL-over-HTTP client on node:http (lighter than fetch, so the load generator takes less of
 * the machine). Only loopback URLs: the suite never sends traffic elsewhere.
 */
export function graphqlClient(baseUrl: string, options: { token?: string; maxSockets?: number } = {}) {
  const url = new URL('/graphql', baseUrl);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') throw new Error(`benchmarks target loopback only, not ${url.host}`);
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 64 });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;

  /**
   * Resolves with `data`; rejects on a transport failure or a GraphQL error. A request on a kept-alive socket
   * that the server closed meanwhile is sent once more (Node's documented `reusedSocket` pattern); every
   * operation the suite sends is safe to repeat (placeOrder carries its idempotency key).
   */
  const call = async <T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}): Promise<T> => {
    try {
      return await send<T>(query, variables);
    } catch (error) {
      if (!(error instanceof Error && (error as { reusedSocket?: boolean }).reusedSocket)) throw error;
      return send<T>(query, variables);
    }
  };

  const send = <T>(query: string, variables: Record<string, unknown>): Promise<T> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ query, variables });
      const req = request(
        url,
        { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body).toString() } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            try {
              const parsed = JSON.parse(Buffer.concat(chunks).toString()) as { data?: T; errors?: unknown };
              if (parsed.errors || !parsed.data) reject(new Error(`GraphQL error: ${JSON.stringify(parsed.errors)}`));
              else resolve(parsed.data);
            } catch (error) {
              reject(error);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (req.reusedSocket && (error.code === 'ECONNRESET' || error.message === 'socket hang up')) {
          Object.assign(error, { reusedSocket: true });
        }
        reject(error);
      });
      req.end(body);
    });
  return { call, close: () => agent.destroy() };
}

export type GraphqlClient = ReturnType<typeof graphqlClient>;

export const PLACE_ORDER = 'mutation($i: PlaceOrderInput!) { placeOrder(input: $i) { id balanceAfter } }';
export const OPEN_ACCOUNT = 'mutation($i: OpenAccountInput!) { openAccount(input: $i) { id } }';
export const DEPOSIT = 'mutation($i: DepositInput!) { deposit(input: $i) { id } }';

export const orderVariables = (accountId: string, key: string) => ({
  i: { accountId, amount: '1', currency: 'USD', product: 'bench', reference: '+15550100', idempotencyKey: key },
});

/** Opens `count` accounts named `${prefix}-N`, each funded well beyond what a run spends. */
export async function openAccounts(client: GraphqlClient, prefix: string, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  await Promise.all(
    ids.map(async (id) => {
      await client.call(OPEN_ACCOUNT, { i: { id, owner: 'bench', currency: 'USD' } });
      await client.call(DEPOSIT, { i: { accountId: id, amount: '1000000000000', idempotencyKey: 'seed' } });
    }),
  );
  return ids;
}
