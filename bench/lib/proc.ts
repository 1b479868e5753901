import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** CPU time and memory of a process from /proc (Linux). The parsers are pure and unit-tested. */

export interface CpuTicks {
  /** User-mode clock ticks. */
  user: number;
  /** Kernel-mode clock ticks. */
  system: number;
}

/**
 * Fields 14 and 15 (utime, stime) of /proc/PID/stat. The second field (the command name, in parentheses)
 * may itself hold spaces and parentheses, so fields are counted from the last ')'.
 */
export function parseProcStat(text: string): CpuTicks {
  const end = text.lastIndexOf(')');
  if (end < 0) throw new Error('not a /proc/PID/stat line');
  // After ')': state (field 3), ppid (4), ... utime is field 14, i.e. index 11 here.
  const fields = text
    .slice(end + 1)
    .trim()
    .split(/\s+/);
  const user = Number(fields[11]);
  const system = Number(fields[12]);
  if (!Number.isFinite(user) || !Number.isFinite(system)) throw new Error('no utime/stime in /proc/PID/stat');
  return { user, system };
}

/** VmRSS of /proc/PID/status, in bytes. */
export function parseRssBytes(status: string): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error('no VmRSS in /proc/PID/status');
  return Number(match[1]) * 1024;
}

/** Clock ticks per second (`getconf CLK_TCK`), 100 on every Linux we know when getconf is missing. */
export function clockTicksPerSecond(): number {
  try {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
}

/** Reads a process's CPU time (user + system, in ms) and resident memory. */
export function processMeter(pid: number, ticksPerSecond = clockTicksPerSecond()) {
  return {
    cpuMs(): number {
      const { user, system } = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      return ((user + system) * 1000) / ticksPerSecond;
    },
    /** The same for the process's main thread alone (its task id is the pid): the rest is worker threads, GC, libuv. */
    mainThreadCpuMs(): number {
      const { user, system } = parseProcStat(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
      return ((user + system) * 1000) / ticksPerSecond;
    },
    rssBytes(): number {
      return parseRssBytes(readFileSync(`/proc/${pid}/status`, 'utf8'));
    },
  };
}

export type ProcessMeter = ReturnType<typeof processMeter>;
