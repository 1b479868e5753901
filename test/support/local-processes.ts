import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** True while a process with this pid exists (signal 0 checks without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A loopback port nothing listens on: one that was free a moment ago, for a client that must be refused. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** What a child process has written so far, separately and interleaved as it arrived. */
export interface CollectedOutput {
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly both: () => string;
}

/** Collects a child's piped stdout and stderr, from now on. */
export function collectOutput(child: ChildProcess): CollectedOutput {
  let stdout = '';
  let stderr = '';
  let both = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    both += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    both += chunk.toString();
  });
  return { stdout: () => stdout, stderr: () => stderr, both: () => both };
}
