/**
 * What CI makes of `npm audit --omit=dev --json`: pass, fail, or "not checked" when the registry gave no audit at
 * all (offline, or a mirror without the advisories endpoint, which answers 404/405). Both of npm's failures exit 1,
 * so the report's shape, not the exit code, tells them apart.
 */

/** Severities that fail CI; lower ones are listed but pass (see .ci/run for why). */
export const FAILING_SEVERITIES: readonly string[] = ['high', 'critical'];

interface AuditReport {
  metadata?: { vulnerabilities?: Record<string, number> };
  vulnerabilities?: Record<string, { severity?: string; range?: string; fixAvailable?: unknown; via?: unknown[] }>;
  error?: { summary?: string; code?: string };
  message?: string;
}

export interface AuditVerdict {
  outcome: 'unchecked' | 'passed' | 'failed';
  /** Lines for the CI log. */
  lines: string[];
}

const fixOf = (fix: unknown): string =>
  fix === true ? 'fix: npm audit fix' : fix && typeof fix === 'object' && 'name' in fix ? `fix: ${JSON.stringify(fix)}` : 'no fix yet';

export function auditVerdict(stdout: string): AuditVerdict {
  let report: AuditReport | undefined;
  try {
    report = JSON.parse(stdout) as AuditReport;
  } catch {
    report = undefined;
  }
  const counts = report?.metadata?.vulnerabilities;
  if (!report || !counts) {
    const why = report?.message ?? report?.error?.summary ?? report?.error?.code ?? 'no JSON report';
    return { outcome: 'unchecked', lines: [`npm audit: the registry gave no audit (${why}); production dependencies NOT checked`] };
  }
  const found = Object.entries(report.vulnerabilities ?? {}).map(([name, v]) => ({ name, ...v }));
  const lines = found.map((v) => `${v.severity ?? '?'}: ${v.name} ${v.range ?? ''} (${fixOf(v.fixAvailable)})`);
  const failing = found.filter((v) => FAILING_SEVERITIES.includes(v.severity ?? ''));
  const summary = Object.entries(counts)
    .filter(([severity, n]) => severity !== 'total' && n > 0)
    .map(([severity, n]) => `${n} ${severity}`)
    .join(', ');
  lines.push(
    `npm audit: ${summary || 'no advisories'} in production dependencies; ${failing.length > 0 ? 'high or critical: failing' : 'none high or critical'}`,
  );
  return { outcome: failing.length > 0 ? 'failed' : 'passed', lines };
}
