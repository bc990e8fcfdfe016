/**
 * A parser for the subset of YAML that Tether's ops/ files use (no YAML library is a
 * dependency): block mappings and sequences by indentation, `key: value`, `- item`,
 * literal `|` and folded `>` block scalars, single- and double-quoted and plain scalars,
 * and `#` comments. Anything outside that subset throws, naming the line, so the files
 * stay parseable by this test and by any real YAML parser alike.
 */

export type YamlValue = string | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  number: number;
  indent: number;
  text: string;
}

export function parseYamlSubset(source: string): YamlValue {
  const raw = source.split('\n');
  let index = 0;

  const isSkippable = (line: string): boolean => line.trim() === '' || line.trim().startsWith('#');
  const peek = (): Line | undefined => {
    while (index < raw.length && isSkippable(raw[index] as string)) index += 1;
    if (index >= raw.length) return undefined;
    const line = raw[index] as string;
    if (line.includes('\t')) throw new Error(`line ${index + 1}: tabs are not allowed`);
    const indent = line.length - line.trimStart().length;
    return { number: index + 1, indent, text: stripComment(line.trim()) };
  };

  const blockScalar = (style: '|' | '>', parentIndent: number): string => {
    const lines: string[] = [];
    let indent: number | undefined;
    while (index < raw.length) {
      const line = raw[index] as string;
      if (line.trim() === '') {
        lines.push('');
        index += 1;
        continue;
      }
      const lineIndent = line.length - line.trimStart().length;
      if (lineIndent <= parentIndent) break;
      indent ??= lineIndent;
      lines.push(line.slice(indent));
      index += 1;
    }
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    if (style === '|') return `${lines.join('\n')}\n`;
    return `${lines.join(' ').replace(/\s+/g, ' ').trim()}\n`;
  };

  const value = (text: string, line: Line): YamlValue | undefined => {
    if (text === '') return undefined; // a nested block follows
    if (text === '|' || text === '>') return blockScalar(text, line.indent);
    return scalar(text, line.number);
  };

  const parseBlock = (indent: number): YamlValue => {
    const first = peek();
    if (first === undefined || first.indent !== indent)
      throw new Error(`line ${first?.number}: bad indentation`);
    if (first.text.startsWith('- ') || first.text === '-') {
      const items: YamlValue[] = [];
      for (let line = peek(); line !== undefined && line.indent === indent; line = peek()) {
        if (!line.text.startsWith('-'))
          throw new Error(`line ${line.number}: expected "- " in a sequence`);
        const rest = line.text.slice(1).trimStart();
        const itemIndent = indent + (line.text.length - rest.length);
        if (/^[^'"][^:]*:(\s|$)/.test(rest)) {
          // "- key: value": a mapping whose first entry is on the dash line.
          raw[index] = `${' '.repeat(itemIndent)}${rest}`;
          items.push(parseBlock(itemIndent));
        } else {
          index += 1;
          const v = value(rest, line);
          items.push(v ?? parseBlock((peek() as Line).indent));
        }
      }
      return items;
    }
    const map: { [key: string]: YamlValue } = {};
    for (let line = peek(); line !== undefined && line.indent === indent; line = peek()) {
      const match = /^([A-Za-z0-9_$.-]+):(?:\s+(.*))?$/.exec(line.text);
      if (match === null)
        throw new Error(`line ${line.number}: expected "key: value", got ${line.text}`);
      const key = match[1] as string;
      if (key in map) throw new Error(`line ${line.number}: duplicate key ${key}`);
      index += 1;
      const v = value(match[2] ?? '', line);
      if (v !== undefined) map[key] = v;
      else {
        const next = peek();
        if (next === undefined || next.indent <= indent)
          throw new Error(`line ${line.number}: ${key} has no value`);
        map[key] = parseBlock(next.indent);
      }
    }
    const after = peek();
    if (after !== undefined && after.indent > indent)
      throw new Error(`line ${after.number}: bad indentation`);
    return map;
  };

  const root = parseBlock(peek()?.indent ?? 0);
  const rest = peek();
  if (rest !== undefined) throw new Error(`line ${rest.number}: unexpected content`);
  return root;
}

function stripComment(text: string): string {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quote !== undefined) {
      if (c === '\\' && quote === '"') i += 1;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || text[i - 1] === ' ')) return text.slice(0, i).trimEnd();
  }
  return text;
}

function scalar(text: string, line: number): string {
  if (text.startsWith('"')) {
    if (!text.endsWith('"') || text.length < 2)
      throw new Error(`line ${line}: unterminated string`);
    return JSON.parse(text) as string;
  }
  if (text.startsWith("'")) {
    if (!text.endsWith("'") || text.length < 2)
      throw new Error(`line ${line}: unterminated string`);
    return text.slice(1, -1).replace(/''/g, "'");
  }
  if (/^[[{&*!%@`]/.test(text) || /:\s/.test(text)) {
    throw new Error(`line ${line}: "${text}" needs quotes in this subset`);
  }
  return text;
}
