#!/usr/bin/env node
// `npm run stability`: the stability suite, run honestly. Prints a PASS/FAIL table with
// numbers, writes stability-report.md, and exits 1 unless every check passed.
//   node scripts/stability.mjs [--long-lived 3m] [--report PATH] [--json] [--quick]
// --quick shrinks every check (seconds instead of minutes): for tests of the suite itself,
// never a stability claim. The checks live in packages/cli/src/stability (npm run build).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  formatStabilityTable,
  renderStabilityMarkdown,
} from '../packages/cli/dist/stability/report.js';
import { runStability, STABILITY_DEFAULTS } from '../packages/cli/dist/stability/suite.js';
import { parseDuration } from '../packages/common/dist/index.js';

const { values } = parseArgs({
  options: {
    'long-lived': { type: 'string' },
    report: {
      type: 'string',
      default: fileURLToPath(new URL('../stability-report.md', import.meta.url)),
    },
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    hub: { type: 'string' },
  },
});

const options = values.quick
  ? {
      ...STABILITY_DEFAULTS,
      longLivedMs: 6_000,
      longLivedClients: 5,
      heartbeatIntervalMs: 500,
      heartbeatTimeoutMs: 500,
      endpointClients: 2,
      concurrentClients: 10,
      publications: 50,
      sendsPerClient: 5,
      restartClients: 5,
      chaosClients: 4,
      chaosDurationMs: 3_000,
    }
  : { ...STABILITY_DEFAULTS };
if (values['long-lived'] !== undefined)
  options.longLivedMs = parseDuration(values['long-lived'], '--long-lived');
if (values.hub === 'in-process' || values.hub === 'child') options.hub = values.hub;

const report = await runStability(options, (check) => {
  if (!values.json)
    process.stderr.write(`stability: ${check.name} ${check.pass ? 'PASS' : 'FAIL'}\n`);
});
writeFileSync(values.report, renderStabilityMarkdown(report));
if (values.json) console.log(JSON.stringify(report, null, 2));
else {
  for (const line of formatStabilityTable(report)) console.log(line);
  console.log(`report: ${values.report}`);
}
process.exitCode = report.pass ? 0 : 1;
