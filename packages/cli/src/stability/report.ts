import { formatDuration } from '@tether/common';
import { formatTable, markdownTable } from '../bench/table.js';
import {
  checkSection,
  checkVerdict,
  DISTRIBUTION_COLUMNS,
  distributionRows,
  environmentSection,
  notTestedSection,
} from './report-sections.js';
import type { StabilityReport } from './suite.js';

export { checkVerdict };

const CHECK_COLUMNS = ['check', 'result', 'time', 'what'];

/** One row per check: name, PASS/FAIL/SKIPPED, duration, what it checks. */
function checkRows(report: StabilityReport): string[][] {
  return report.checks.map((c) => [c.name, checkVerdict(c), formatDuration(c.durationMs), c.what]);
}

/** The console output: a PASS/FAIL table, then each check's numbers, timings and failures. */
export function formatStabilityTable(report: StabilityReport): string[] {
  const lines = formatTable(CHECK_COLUMNS, checkRows(report));
  for (const c of report.checks) {
    lines.push('', `${c.name}: ${checkVerdict(c)}`);
    if (c.skipped !== undefined) lines.push(`  SKIPPED: ${c.skipped}`);
    for (const [label, value] of c.numbers) lines.push(`  ${label}: ${value}`);
    if (c.distributions !== undefined && c.distributions.length > 0) {
      lines.push(
        ...formatTable(DISTRIBUTION_COLUMNS, distributionRows(c.distributions)).map(
          (l) => `  ${l}`,
        ),
      );
    }
    for (const f of c.failures) lines.push(`  FAIL: ${f}`);
  }
  lines.push('', verdictLine(report));
  return lines;
}

/** Never "4 of 7 is success": the suite passes only when every check passes. */
export function verdictLine(report: StabilityReport): string {
  const skipped = report.checks.filter((c) => c.skipped !== undefined);
  const ran = report.checks.length - skipped.length;
  const skips =
    skipped.length === 0
      ? ''
      : `; ${skipped.length} SKIPPED (${skipped.map((c) => c.name).join(', ')}): NOT TESTED here`;
  return report.pass
    ? `stability: PASS (${report.passed} of ${ran} checks passed${skips})`
    : `stability: FAIL (${report.passed} of ${ran} checks passed; every check must pass${skips})`;
}

/** stability-report.md. */
export function renderStabilityMarkdown(report: StabilityReport): string {
  const o = report.options;
  const skipped = report.checks.filter((c) => c.skipped !== undefined).length;
  const ran = report.checks.length - skipped;
  const lines = [
    '# Tether stability report',
    '',
    `**${report.pass ? 'PASS' : 'FAIL'}**: ${report.passed} of ${ran} checks passed. The suite passes only when every check passes.`,
    ...(skipped === 0
      ? []
      : [
          '',
          `**${skipped} check${skipped === 1 ? '' : 's'} SKIPPED**: this machine could not run ${skipped === 1 ? 'it' : 'them'}, so ${skipped === 1 ? 'it was' : 'they were'} not tested (see below).`,
        ]),
    '',
    ...(report.checks.some((c) => c.name === 'long-lived')
      ? [
          `The long-lived check held its connections for ${formatDuration(o.longLivedMs)} while the other checks ran.`,
          '',
        ]
      : []),
    `Each check below gives its method, parameters, raw counts, timings and verdict; the Environment section says where it ran, and Not tested what no check covers.`,
    '',
    ...markdownTable(CHECK_COLUMNS, checkRows(report)),
    '',
    ...environmentSection(report),
  ];
  for (const c of report.checks) lines.push(...checkSection(report, c));
  lines.push(...notTestedSection(report));
  return lines.join('\n');
}
