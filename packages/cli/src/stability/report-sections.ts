import { formatDuration } from '@tether/common';
import { markdownTable } from '../bench/table.js';
import type { CheckResult, Distribution } from './check.js';
import { checkMethod, NOT_TESTED } from './check-methods.js';
import { STABILITY_CHECKS, type StabilityReport } from './suite.js';

/**
 * The sections of stability-report.md: written for a skeptical reader, so each check
 * shows how it worked, with which parameters, the raw counts, the timing distributions
 * against their bounds, and its verdict; then the machine it ran on and what the suite
 * does not test at all.
 */

/** PASS, FAIL or SKIPPED. */
export function checkVerdict(c: CheckResult): 'PASS' | 'FAIL' | 'SKIPPED' {
  if (!c.pass) return 'FAIL';
  return c.skipped === undefined ? 'PASS' : 'SKIPPED';
}

const ms = (n: number): string => `${n} ms`;

/** One row per distribution: samples, p50, p99, max, the bound and whether all met it. */
export function distributionRows(ds: readonly Distribution[]): string[][] {
  return ds.map((d) => [
    d.label,
    String(d.count),
    ms(d.p50Ms),
    ms(d.p99Ms),
    ms(d.maxMs),
    d.boundMs === undefined ? 'none' : ms(d.boundMs),
    d.boundMs === undefined ? '' : d.count > 0 && d.maxMs <= d.boundMs ? 'yes' : 'NO',
  ]);
}

export const DISTRIBUTION_COLUMNS = ['timing', 'samples', 'p50', 'p99', 'max', 'bound', 'within'];

/** The Environment section: numbers mean little without the machine and its load. */
export function environmentSection(report: StabilityReport): string[] {
  const m = report.machine;
  const e = report.environment;
  return [
    '## Environment',
    '',
    ...markdownTable(
      ['', ''],
      [
        ['CPU', m.cpuModel],
        ['cores', String(m.cores)],
        ['memory', `${m.memoryGiB} GiB`],
        ['platform', m.platform],
        ['Node.js', m.node],
        ['kernel', e.kernel],
        ['load average at start (1 / 5 / 15 min)', m.loadAverage.join(' / ')],
        ['load average at end (1 / 5 / 15 min)', e.loadAverageEnd.join(' / ')],
        ['run', `${report.startedAt} to ${report.finishedAt}`],
        [
          'servers that restart',
          report.options.hub === 'child' ? 'child processes' : 'this process',
        ],
      ],
    ),
    '',
    `A load average above ${m.cores} (the core count) means other work competed for the CPU: timings are then upper bounds of what this code needs, not what it needs alone.`,
    '',
  ];
}

/** One check: what, method, parameters, raw counts, timings, verdict, notes. */
export function checkSection(report: StabilityReport, c: CheckResult): string[] {
  const verdict = checkVerdict(c);
  const { method, parameters } = checkMethod(c.name, report.options);
  const lines = [`## ${c.name}: ${verdict}`, '', c.what, '', '### Method', '', method, ''];
  if (parameters.length > 0) {
    lines.push(
      '### Parameters',
      '',
      ...markdownTable(
        ['parameter', 'value'],
        parameters.map(([k, v]) => [k, String(v)]),
      ),
      '',
    );
  }
  if (c.skipped !== undefined) {
    lines.push(
      '### Verdict',
      '',
      `**SKIPPED**: ${c.skipped}. Nothing of this check was tested on this machine; under CI=true this is a failure.`,
      '',
    );
    return lines;
  }
  lines.push('### Raw counts', '');
  lines.push(
    ...(c.numbers.length === 0
      ? ['(none recorded)']
      : markdownTable(
          ['measure', 'value'],
          c.numbers.map(([label, value]) => [label, String(value)]),
        )),
    '',
  );
  if (c.distributions !== undefined && c.distributions.length > 0) {
    lines.push(
      '### Timings',
      '',
      ...markdownTable(DISTRIBUTION_COLUMNS, distributionRows(c.distributions)),
      '',
      'Percentiles are nearest-rank over the samples listed; with few samples p99 is the largest but one or the largest.',
      '',
    );
  }
  lines.push('### Verdict', '');
  if (c.failures.length === 0) lines.push(`**PASS** in ${formatDuration(c.durationMs)}.`, '');
  else
    lines.push(
      `**FAIL** in ${formatDuration(c.durationMs)}:`,
      '',
      ...c.failures.map((f) => `- ${f}`),
      '',
    );
  if (c.notes.length > 0) lines.push('Notes:', '', ...c.notes.map((n) => `- ${n}`), '');
  return lines;
}

/** What the suite does not cover: a pass says nothing about these. */
export function notTestedSection(report: StabilityReport): string[] {
  const skipped = report.checks.filter((c) => c.skipped !== undefined);
  const notRun = STABILITY_CHECKS.map((c) => c.name).filter(
    (name) => !report.checks.some((c) => c.name === name),
  );
  return [
    '## Not tested',
    '',
    'A PASS of this suite says nothing about the following:',
    '',
    ...(notRun.length === 0
      ? []
      : [`- Checks of the suite that this run left out (\`--only\`): ${notRun.join(', ')}.`]),
    ...skipped.map((c) => `- **${c.name}** (SKIPPED on this machine: ${c.skipped}).`),
    ...NOT_TESTED.map((n) => `- ${n}`),
    '',
  ];
}
