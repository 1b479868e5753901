import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';

/** Why a body could not be read, with the HTTP status that says so. */
export class UnreadableBodyError extends Error {
  constructor(
    readonly type: 'entity.too.large' | 'entity.parse.failed' | 'request.aborted' | 'charset.unsupported' | 'encoding.unsupported',
    readonly status: 400 | 413 | 415,
  ) {
    super(type);
    this.name = 'UnreadableBodyError';
  }
}

/** JSON's whitespace, which may come before the first character of a body. */
const LEADING_WHITESPACE = /^[\x20\x09\x0a\x0d]*/;

const DECODERS: Readonly<Record<string, () => NodeJS.ReadWriteStream>> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/** `application/json` (or `+json`) in UTF-8; another charset is refused (415); another media type is not JSON. */
function jsonMediaType(contentType: string | undefined): 'json' | 'other' {
  if (contentType === undefined) return 'other';
  const [mediaType = '', ...parameters] = contentType.split(';');
  const type = mediaType.trim().toLowerCase();
  if (type !== 'application/json' && !type.endsWith('+json')) return 'other';
  for (const parameter of parameters) {
    const [name, value = ''] = parameter.trim().toLowerCase().split('=');
    if (name === 'charset' && value.replaceAll('"', '') !== 'utf-8') throw new UnreadableBodyError('charset.unsupported', 415);
  }
  return 'json';
}

/** The body as sent, decompressed as its Content-Encoding says (an unknown one is refused, 415). */
function decodedBody(request: IncomingMessage): Readable {
  const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity') return request;
  const decoder = DECODERS[encoding];
  if (!decoder) throw new UnreadableBodyError('encoding.unsupported', 415);
  return request.pipe(decoder()) as unknown as Readable;
}

/**
 * The body of a GraphQL POST: parsed JSON for a JSON request (at most `limitBytes` once decompressed, an object or
 * array at the top, `{}` when empty), undefined for any other media type (GraphQL over HTTP refuses those itself).
 */
export async function readRequestBody(request: IncomingMessage, limitBytes: number): Promise<unknown> {
  if (jsonMediaType(request.headers['content-type']) === 'other') {
    request.resume();
    return undefined;
  }
  const declared = Number(request.headers['content-length'] ?? Number.NaN);
  if (declared > limitBytes) throw new UnreadableBodyError('entity.too.large', 413);
  const body = decodedBody(request);
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const cleanUp = () => {
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('error', onFailed);
      request.off('aborted', onAborted);
    };
    function onData(chunk: Buffer) {
      received += chunk.length;
      if (received > limitBytes) {
        cleanUp();
        request.pause();
        reject(new UnreadableBodyError('entity.too.large', 413));
        return;
      }
      chunks.push(chunk);
    }
    function onEnd() {
      cleanUp();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    }
    // A decoder's error is a body that is not what its encoding says.
    function onFailed() {
      cleanUp();
      reject(new UnreadableBodyError(body === request ? 'request.aborted' : 'entity.parse.failed', 400));
    }
    function onAborted() {
      cleanUp();
      reject(new UnreadableBodyError('request.aborted', 400));
    }
    body.on('data', onData);
    body.on('end', onEnd);
    body.on('error', onFailed);
    request.on('aborted', onAborted);
  });
  if (text.length === 0) return {};
  const first = text[text.match(LEADING_WHITESPACE)?.[0].length ?? 0];
  if (first !== '{' && first !== '[') throw new UnreadableBodyError('entity.parse.failed', 400);
  try {
    return JSON.parse(text);
  } catch {
    throw new UnreadableBodyError('entity.parse.failed', 400);
  }
}
