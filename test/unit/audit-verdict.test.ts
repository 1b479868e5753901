import { describe, expect, it } from 'vitest';
import { auditVerdict } from '../../scripts/audit-verdict.js';

const report = (vulnerabilities: Record<string, { severity: string; range: string; fixAvailable: unknown }>) => {
  const counts: Record<string, number> = { info: 0, low: 0, moderate: 0, high: 0, critical: 0, total: 0 };
  for (const v of Object.values(vulnerabilities)) {
    counts[v.severity] = (counts[v.severity] ?? 0) + 1;
    counts.total = (counts.total ?? 0) + 1;
  }
  return JSON.stringify({ auditReportVersion: 2, vulnerabilities, metadata: { vulnerabilities: counts } });
};

describe('auditVerdict', () => {
  it('should not fail CI when the registry answers no audit (the 405 of a mirror without the endpoint)', () => {
    const mirror = JSON.stringify({
      message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
      statusCode: 405,
    });
    const verdict = auditVerdict(mirror);
    expect(verdict.outcome).toBe('unchecked');
    expect(verdict.lines.join('\n')).toMatch(/405 Method Not Allowed.*NOT checked/);
    expect(auditVerdict('').outcome).toBe('unchecked');
  });

  it('should pass with no advisories, and with moderate ones listed', () => {
    expect(auditVerdict(report({})).outcome).toBe('passed');
    const moderate = auditVerdict(report({ pino: { severity: 'moderate', range: '<9', fixAvailable: true } }));
    expect(moderate.outcome).toBe('passed');
    expect(moderate.lines).toContain('moderate: pino <9 (fix: npm audit fix)');
  });

  it('should fail on a high or critical advisory and name the package', () => {
    const high = auditVerdict(report({ ws: { severity: 'high', range: '8.0.0 - 8.17.0', fixAvailable: true } }));
    expect(high.outcome).toBe('failed');
    expect(high.lines[0]).toBe('high: ws 8.0.0 - 8.17.0 (fix: npm audit fix)');
    expect(auditVerdict(report({ jose: { severity: 'critical', range: '<2', fixAvailable: false } })).outcome).toBe('failed');
  });
});
