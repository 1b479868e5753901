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
