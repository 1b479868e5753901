import type { IncomingMessage } from 'node:http';

/** Why a body could not be read; `type` and `status` as Express's body parser names them, so one handler answers both. */
export class UnreadableBodyError extends Error {
  constructor(
    readonly type: 'entity.too.large' | 'entity.parse.failed' | 'request.aborted',
    readonly status: 400 | 413,
  ) {
    super(type);
    this.name = 'UnreadableBodyError';
  }
}

/**
 * A request this reader takes as it is: `application/json` (in UTF-8, said or not) and no content encoding.
 * Anything else (a charset to convert, a gzipped body) is left to Express's body parser.
 */
export function isPlainJson(request: IncomingMessage): boolean {
  const encoding = request.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
  const contentType = request.headers['content-type'];
  if (contentType === undefined) return false;
  const [mediaType, ...parameters] = contentType.split(';');
  if (mediaType?.trim().toLowerCase() !== 'application/json') return false;
  return parameters.every((parameter) => parameter.trim().toLowerCase().replaceAll('"', '') === 'charset=utf-8');
}

/** JSON's whitespace, which may come before the first character of a body. */
const LEADING_WHITESPACE = /^[\x20\x09\x0a\x0d]*/;

/**
 * The body of a plain JSON request, parsed as Express's `express.json()` does: at most `limitBytes`, an object or
 * array at the top (strict), and an empty body is `{}`.
 */
export function readJsonBody(request: IncomingMessage, limitBytes: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const declared = Number(request.headers['content-length'] ?? Number.NaN);
    if (declared > limitBytes) return reject(new UnreadableBodyError('entity.too.large', 413));
    const chunks: Buffer[] = [];
    let received = 0;
    const cleanUp = () => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('aborted', onAborted);
      request.off('error', onAborted);
    };
    function onData(chunk: Buffer) {
      received += chunk.length;
      if (received > limitBytes) {
        cleanUp();
        request.pause();
        return reject(new UnreadableBodyError('entity.too.large', 413));
      }
      chunks.push(chunk);
    }
    function onEnd() {
      cleanUp();
      const text = chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
      if (text.length === 0) return resolve({});
      const first = text[text.match(LEADING_WHITESPACE)?.[0].length ?? 0];
      if (first !== '{' && first !== '[') return reject(new UnreadableBodyError('entity.parse.failed', 400));
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new UnreadableBodyError('entity.parse.failed', 400));
      }
    }
    function onAborted() {
      cleanUp();
      reject(new UnreadableBodyError('request.aborted', 400));
    }
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('aborted', onAborted);
    request.on('error', onAborted);
  });
}
