import { execFileSync } from 'node:child_process';

/** Parses `ss -Hltnp` output for the pid of the process listening on `port`; null when none is shown. */
export function listenerPid(ssOutput: string, port: number): number | null {
  for (const line of ssOutput.split('\n')) {
    const columns = line.trim().split(/\s+/);
    const local = columns[3] ?? '';
    if (!local.endsWith(`:${port}`)) continue;
    const match = /pid=(\d+)/.exec(line);
    if (match) return Number(match[1]);
  }
  return null;
}

/** The pid listening on a local TCP port (the broker's, to read its CPU from /proc), or null. */
export function pidListeningOn(port: number): number | null {
  try {
    return listenerPid(execFileSync('ss', ['-Hltnp'], { encoding: 'utf8' }), port);
  } catch {
    return null;
  }
}

/**
 * Counts the established TCP connections of process `pid` to remote `port` in `ss -Htnp` output (State, Recv-Q,
 * Send-Q, Local, Peer, Process): the gateway's sockets to the broker, worker threads included (they share the pid).
 */
export function connectionsOf(ssOutput: string, pid: number, port: number): number {
  let count = 0;
  for (const line of ssOutput.split('\n')) {
    const columns = line.trim().split(/\s+/);
    if (columns[0] !== 'ESTAB' || !(columns[4] ?? '').endsWith(`:${port}`)) continue;
    if (line.includes(`pid=${pid},`)) count++;
  }
  return count;
}

/** The established TCP connections of `pid` to local port `port`, or NaN when `ss` cannot say. */
export function connectionCount(pid: number, port: number): number {
  try {
    // Filtered by ss itself: with 10,000 websockets open, every socket's line would pass execFileSync's 1 MiB buffer.
    const output = execFileSync('ss', ['-Htnp', 'dport', '=', `:${port}`], { encoding: 'utf8', maxBuffer: 16 * 2 ** 20 });
    return connectionsOf(output, pid, port);
  } catch {
    return Number.NaN;
  }
}
