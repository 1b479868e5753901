/**
 * Sums a V8 .cpuprofile's self time per function and per file: `tsx bench/profile-summary.ts FILE.cpuprofile [TOP]`.
 * Used to profile the gateway (`BENCH_GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" npm run bench -- --only ...`).
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, top = '25'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: tsx bench/profile-summary.ts FILE.cpuprofile [TOP]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const perFunction = new Map<string, number>();
const perFile = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const node = byId.get(id);
  const dt = profile.timeDeltas[i] ?? 0;
  if (!node) return;
  total += dt;
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^file:\/\/.*node_modules\//, '').replace(/^file:\/\/.*\/(src|dist)\//, '$1/') || '(native)';
  const fn = `${functionName || '(anonymous)'} ${where}:${lineNumber + 1}`;
  perFunction.set(fn, (perFunction.get(fn) ?? 0) + dt);
  const pkg = where.startsWith('@') ? where.split('/').slice(0, 2).join('/') : where.split('/')[0]!;
  const key = pkg === 'dist' || pkg === 'src' ? where : pkg;
  perFile.set(key, (perFile.get(key) ?? 0) + dt);
});
const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [name, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
    console.log(`${((us / total) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`);
  }
};
console.log(`total ${(total / 1000).toFixed(0)} ms`);
print('self time per function', perFunction);
print('self time per package or file', perFile);
