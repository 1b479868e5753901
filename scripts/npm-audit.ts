/** CI's audit step: npm audit of production dependencies, judged by audit-verdict.ts; exit 1 only on high/critical. */
import { spawnSync } from 'node:child_process';
import { auditVerdict } from './audit-verdict.js';

const run = spawnSync('npm', ['audit', '--omit=dev', '--json'], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
const verdict = auditVerdict(run.stdout ?? '');
for (const line of verdict.lines) process.stdout.write(`${line}\n`);
process.exit(verdict.outcome === 'failed' ? 1 : 0);
