/** One status line on stderr, rewritten in place on a terminal and printed at most every few seconds otherwise. */
export interface Progress {
  /** The current step, e.g. "mutation-throughput: gateway c=16 3200/8000". */
  update(text: string): void;
  /** Ends the line, keeping `text` on screen. */
  done(text?: string): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr, started = Date.now()): Progress {
  let lastPrinted = 0;
  let shown = '';
  const elapsed = () => `[${Math.round((Date.now() - started) / 1000)}s]`;
  return {
    update(text) {
      if (stream.isTTY) {
        shown = `${elapsed()} ${text}`;
        stream.write(`\r\x1b[2K${shown.slice(0, (stream.columns ?? 120) - 1)}`);
        return;
      }
      if (Date.now() - lastPrinted < 3000) return;
      lastPrinted = Date.now();
      stream.write(`${elapsed()} ${text}\n`);
    },
    done(text) {
      if (stream.isTTY) stream.write(`\r\x1b[2K${text ? `${elapsed()} ${text}\n` : ''}`);
      else if (text) stream.write(`${elapsed()} ${text}\n`);
      shown = '';
      lastPrinted = 0;
    },
  };
}
