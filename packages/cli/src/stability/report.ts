import { formatDuration } from '@tether/common';
import { describeMachine } from '../bench/machine.js';
import { formatTable, markdownTable } from '../bench/table.js';
import type { StabilityReport } from './suite.js';

const CHECK_COLUMNS = ['check', 'result', 'time', 'what'];

/** One row per check: name, PASS/FAIL, duration, what it checks. */
function checkRows(report: StabilityReport): string[][] {
  return report.checks.map((c) => [
    c.name,
    c.pass ? 'PASS' : 'FAIL',
    formatDuration(c.durationMs),
    c.what,
  ]);
}

/** The console output: a PASS/FAIL table, then each check's numbers and failures. */
export function formatStabilityTable(report: StabilityReport): string[] {
  const lines = formatTable(CHECK_COLUMNS, checkRows(report));
  for (const c of report.checks) {
    lines.push('', `${c.name}: ${c.pass ? 'PASS' : 'FAIL'}`);
    for (const [label, value] of c.numbers) lines.push(`  ${label}: ${value}`);
    for (const f of c.failures) lines.push(`  FAIL: ${f}`);
  }
  lines.push('', verdictLine(report));
  return lines;
}

/** Never "4 of 7 is success": the suite passes only when every check passes. */
export function verdictLine(report: StabilityReport): string {
  const total = report.checks.length;
  return report.pass
    ? `stability: PASS (${report.passed} of ${total} checks passed)`
    : `stability: FAIL (${report.passed} of ${total} checks passed; every check must pass)`;
}

/** stability-report.md. */
export function renderStabilityMarkdown(report: StabilityReport): string {
  const o = report.options;
  const lines = [
    '# Tether stability report',
    '',
    `**${report.pass ? 'PASS' : 'FAIL'}**: ${report.passed} of ${report.checks.length} checks passed. The suite passes only when every check passes.`,
    '',
    `- Run: ${report.startedAt} to ${report.finishedAt}`,
    `- Machine: ${describeMachine(report.machine)}`,
    `- Servers that restart ran ${o.hub === 'child' ? 'in child processes' : 'in this process'}; the long-lived check held its connections for ${formatDuration(o.longLivedMs)} while the other checks ran.`,
    '',
    ...markdownTable(CHECK_COLUMNS, checkRows(report)),
    '',
  ];
  for (const c of report.checks) {
    lines.push(`## ${c.name}: ${c.pass ? 'PASS' : 'FAIL'}`, '', c.what, '');
    lines.push(
      ...markdownTable(
        ['measure', 'value'],
        c.numbers.map(([label, value]) => [label, String(value)]),
      ),
      '',
    );
    if (c.failures.length > 0) lines.push('Failures:', '', ...c.failures.map((f) => `- ${f}`), '');
    if (c.notes.length > 0) lines.push(...c.notes.map((n) => `- ${n}`), '');
  }
  return lines.join('\n');
}
