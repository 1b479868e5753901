/**
 * The GraphiQL explorer bundle (dist/explorer) for `npm run dev`: built with `npm run build:explorer`
 * when it is missing or older than its sources, so the gateway never serves a page asking for a build.
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** The newest file under `dir` (recursively), or undefined when there is none. */
function newest(dir: string): { path: string; mtimeMs: number } | undefined {
  let found: { path: string; mtimeMs: number } | undefined;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const candidate = entry.isDirectory() ? newest(path) : { path, mtimeMs: statSync(path).mtimeMs };
    if (candidate && (!found || candidate.mtimeMs > found.mtimeMs)) found = candidate;
  }
  return found;
}

/** Why the bundle needs building (missing, or which source is newer), or undefined when it is up to date. */
export function explorerBuildReason(root: string): string | undefined {
  let built: number;
  try {
    built = statSync(join(root, 'dist', 'explorer', 'index.html')).mtimeMs;
  } catch {
    return 'it is not built yet';
  }
  // The lock file stands for the bundled packages (graphiql, react, monaco).
  const sources = [
    newest(join(root, 'explorer')),
    { path: join(root, 'package-lock.json'), mtimeMs: statSync(join(root, 'package-lock.json')).mtimeMs },
  ];
  const changed = sources.find((source) => source && source.mtimeMs > built);
  return changed ? `${relative(root, changed.path)} is newer than the build` : undefined;
}

/** Runs `npm run build:explorer` when {@link explorerBuildReason} gives a reason; rejects when the build fails. */
export async function ensureExplorerBuilt(root: string, say: (line: string) => void): Promise<void> {
  const reason = explorerBuildReason(root);
  if (!reason) return;
  say(`building the GraphiQL explorer into dist/explorer (${reason}); this takes up to a minute`);
  const started = Date.now();
  // npm_execpath is npm's own script when we run under npm; `npm` from PATH otherwise.
  const execPath = process.env.npm_execpath;
  const npm = execPath && /npm-cli\.c?js$/.test(execPath) ? [process.execPath, execPath] : ['npm'];
  const [command = 'npm', ...args] = npm;
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(command, [...args, 'run', '--silent', 'build:explorer'], { cwd: root, stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (exitCode) => resolve(exitCode));
  });
  if (code !== 0) throw new Error(`building the GraphiQL explorer failed (npm run build:explorer exited ${code}); see its output above`);
  say(`built the GraphiQL explorer in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
