/**
 * Plain-text tables for the tools' output: columns padded to their widest cell, numbers
 * right-aligned. Also used for the markdown tables of reports.
 */

export type Cell = string | number | null;

/** Formats a number for people: thousands separators, `n/a` for null. */
export function formatValue(value: number | null, unit = ''): string {
  if (value === null || Number.isNaN(value)) return 'n/a';
  const digits =
    Math.abs(value) >= 100 || Number.isInteger(value) ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  const text = value.toLocaleString('en-US', {
    maximumFractionDigits: digits,
    minimumFractionDigits: 0,
  });
  if (unit === '') return text;
  return unit === '%' || unit.startsWith('/') ? `${text}${unit}` : `${text} ${unit}`;
}

function text(cell: Cell): string {
  return cell === null ? 'n/a' : String(cell);
}

function numeric(cell: Cell): boolean {
  if (cell === 'PASS' || cell === 'FAIL' || cell === 'n/a') return true;
  return (
    typeof cell === 'number' ||
    (typeof cell === 'string' && /^[-\d.,]+(×| ?[a-zA-Z%/]+(\/s)?)?$/.test(cell))
  );
}

/** A space-padded table with a header line and a rule; numeric columns are right-aligned. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
): string[] {
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => text(r[i] ?? '').length)),
  );
  const right = headers.map(
    (_, i) =>
      i > 0 && rows.every((r) => r[i] === undefined || r[i] === '' || numeric(r[i] as Cell)),
  );
  const line = (cells: readonly Cell[]): string =>
    cells
      .map((c, i) => {
        const t = text(c);
        const w = widths[i] ?? t.length;
        return right[i] ? t.padStart(w) : t.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}

/** A GitHub-flavoured markdown table; numeric columns are right-aligned. */
export function markdownTable(
  headers: readonly string[],
  rows: readonly (readonly Cell[])[],
): string[] {
  const escapeCell = (c: Cell): string => text(c).replace(/\|/g, '\\|');
  const right = headers.map(
    (_, i) =>
      i > 0 && rows.every((r) => r[i] === undefined || r[i] === '' || numeric(r[i] as Cell)),
  );
  return [
    `| ${headers.join(' | ')} |`,
    `|${right.map((r) => (r ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${r.map(escapeCell).join(' | ')} |`),
  ];
}
