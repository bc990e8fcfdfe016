#!/usr/bin/env node
// `npm run stability`: the stability suite through `tether stability` (one runner, one
// flag parser for every command). Prints a PASS/FAIL table with numbers, writes
// stability-report.md at the repository root, and exits 1 unless every check passed.
//   node scripts/stability.mjs [--long-lived 3m] [--report PATH] [--json] [--quick] [--hub in-process]
// --quick shrinks every check (seconds instead of minutes): for tests of the suite itself,
// never a stability claim. The checks live in packages/cli/src/stability (npm run build).
import { fileURLToPath } from 'node:url';
import { main } from '../packages/cli/dist/index.js';

const argv = process.argv.slice(2);
const report = fileURLToPath(new URL('../stability-report.md', import.meta.url));
const hasReport = argv.some((a) => a === '--report' || a.startsWith('--report='));
process.exitCode = await main(['stability', ...(hasReport ? [] : ['--report', report]), ...argv]);
