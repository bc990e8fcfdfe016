// Heap snapshot by class, per connection: node heap.mjs FILE CONNECTIONS
import { readFileSync } from 'node:fs';

const s = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const N = Number(process.argv[3]);
const f = s.snapshot.meta.node_fields;
const types = s.snapshot.meta.node_types[0];
const nf = f.length;
const nodes = s.nodes;
const strings = s.strings;
const ti = f.indexOf('type'),
  ni = f.indexOf('name'),
  si = f.indexOf('self_size');
const agg = new Map();
for (let i = 0; i < nodes.length; i += nf) {
  const type = types[nodes[i + ti]];
  let name = strings[nodes[i + ni]];
  if (type === 'string' || type === 'concatenated string' || type === 'sliced string')
    name = '(string)';
  else if (type === 'code') name = '(code)';
  else if (type === 'array') name = `(array) ${name}`.slice(0, 40);
  else if (type === 'closure') name = `closure ${name}`;
  else if (type === 'hidden') name = `(hidden) ${name}`.slice(0, 40);
  else name = `${type}:${name}`.slice(0, 60);
  const a = agg.get(name) ?? { count: 0, size: 0 };
  a.count++;
  a.size += nodes[i + si];
  agg.set(name, a);
}
const rows = [...agg]
  .filter(([, a]) => a.count >= N * 0.9)
  .sort((x, y) => y[1].size - x[1].size)
  .slice(0, 45);
for (const [k, a] of rows) {
  console.log(
    (a.size / N).toFixed(0).padStart(6),
    'B/conn',
    (a.count / N).toFixed(2).padStart(6),
    'obj/conn',
    k,
  );
}
