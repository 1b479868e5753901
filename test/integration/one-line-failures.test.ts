import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { closedPort, collectOutput } from '../support/local-processes.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

function run(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: root, env: { ...process.env, ...env } });
  const output = collectOutput(child);
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout: output.stdout(), stderr: output.stderr() })));
}

describe('a script that fails', () => {
  it('should say in one line of stderr that the database does not answer, and what to set', { timeout: 60_000 }, async () => {
    const port = await closedPort();
    const { code, stdout, stderr } = await run('bench/run.ts', ['--smoke'], {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres`,
      LOG_LEVEL: 'info',
    });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.split('\n').filter(Boolean)).toEqual([
      `bench: the database at 127.0.0.1:${port} does not answer (ECONNREFUSED): start PostgreSQL there, or set DATABASE_URL to one that runs (unset, the script uses 127.0.0.1:5432 or starts its own)`,
    ]);
  });

  it('should add the stack trace only when asked with --verbose', { timeout: 60_000 }, async () => {
    const port = await closedPort();
    const { code, stderr } = await run('bench/run.ts', ['--smoke', '--verbose'], {
      DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres`,
    });
    expect(code).toBe(1);
    const lines = stderr.split('\n').filter(Boolean);
    expect(lines[0]).toContain(`bench: the database at 127.0.0.1:${port} does not answer`);
    expect(lines.slice(1).some((line) => /^\s+at /.test(line))).toBe(true);
  });
});
