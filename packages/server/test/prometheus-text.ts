/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests: every
 * line must be a comment (`# HELP`, `# TYPE`), blank, or a sample
 * `name{label="value",...} value`. Anything else throws, naming the line.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  /** Metric family name → type (counter, gauge, histogram, summary, untyped). */
  types: Map<string, string>;
  help: Map<string, string>;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})?\\s+(\\S+)(?:\\s+-?\\d+)?$`);
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/y;

export function parsePrometheus(text: string): Exposition {
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  text.split('\n').forEach((line, index) => {
    const where = `line ${index + 1}: ${line.slice(0, 120)}`;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const match = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`).exec(line);
      if (match === null) {
        if (/^# (HELP|TYPE) /.test(line)) throw new Error(`bad comment, ${where}`);
        return;
      }
      const [, kind, name, rest] = match as unknown as [string, string, string, string];
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) {
          throw new Error(`bad type, ${where}`);
        }
        types.set(name, rest);
      } else help.set(name, rest);
      return;
    }
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`bad sample, ${where}`);
    const [, name, labelText, valueText] = match as unknown as [
      string,
      string,
      string | undefined,
      string,
    ];
    const labels: Record<string, string> = {};
    if (labelText !== undefined && labelText !== '') {
      LABEL.lastIndex = 0;
      while (LABEL.lastIndex < labelText.length) {
        const start = LABEL.lastIndex;
        const label = LABEL.exec(labelText);
        if (label === null || LABEL.lastIndex === start) throw new Error(`bad labels, ${where}`);
        labels[label[1] as string] = (label[2] as string).replace(/\\(.)/g, (_, c: string) =>
          c === 'n' ? '\n' : c,
        );
      }
    }
    // Prometheus parses values with Go's ParseFloat: NaN and Inf in any case.
    const special = valueText.toLowerCase();
    const value =
      special === '+inf' || special === 'inf'
        ? Infinity
        : special === '-inf'
          ? -Infinity
          : special === 'nan'
            ? Number.NaN
            : Number(valueText);
    if (Number.isNaN(value) && special !== 'nan') throw new Error(`bad value, ${where}`);
    samples.push({ name, labels, value });
  });
  return { types, help, samples };
}

/** The sum of the samples named `name` whose labels include `labels`. */
export function sampleValue(
  exposition: Exposition,
  name: string,
  labels: Record<string, string> = {},
): number {
  let sum = 0;
  for (const s of exposition.samples) {
    if (s.name !== name) continue;
    if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) sum += s.value;
  }
  return sum;
}

/** Metric family names: every TYPE'd name, and for histograms/summaries their series names. */
export function metricNames(exposition: Exposition): Set<string> {
  const names = new Set<string>();
  for (const [name, type] of exposition.types) {
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
    if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
  }
  for (const s of exposition.samples) names.add(s.name);
  return names;
}
