#!/usr/bin/env node
// The `pretest` step: make sure the real components the test suite starts are on this machine.
//
// Tests run against a real Redis, a real Chromium, a Python `websockets` peer, a real
// Prometheus with its promtool (the ops checks) and iptables (the netns check; see
// docs and DESIGN.md). A developer machine usually has them already; a fresh CI machine does
// not, so when we are root (or have password-less sudo) we install the Debian packages.
// When that is impossible we warn loudly, and under CI=true we fail instead: a CI run that
// silently skips the Redis and browser suites would report "green" without testing them.
//
// Idempotent and quick when everything is present: a few `stat`s and one `python3 -c`.

import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';

/** What the tests need, how to tell it is there, and the Debian package that provides it. */
const DEPS = [
  {
    name: 'redis-server',
    pkg: 'redis-server',
    present: () => isExecutable('/usr/bin/redis-server'),
  },
  {
    name: 'chromium',
    pkg: 'chromium',
    present: () => isExecutable('/usr/bin/chromium'),
  },
  {
    name: 'python3 websockets',
    pkg: 'python3-websockets',
    // The system interpreter, not whatever `python3` is first on PATH (pyenv, venvs):
    // that is the one the Debian package installs into.
    present: () =>
      isExecutable('/usr/bin/python3') &&
      spawnSync('/usr/bin/python3', ['-c', 'import websockets'], {
        stdio: 'ignore',
        timeout: 15_000,
      }).status === 0,
  },
  {
    // The Python client's test makes a virtualenv with the newest `websockets`, and the
    // FastAPI example's test one from examples/backend-fastapi/requirements.txt; Debian's
    // python3 needs python3-venv for that (it provides `ensurepip`).
    name: 'python3 venv',
    pkg: 'python3-venv',
    present: () =>
      isExecutable('/usr/bin/python3') &&
      spawnSync('/usr/bin/python3', ['-c', 'import ensurepip'], {
        stdio: 'ignore',
        timeout: 15_000,
      }).status === 0,
  },
  {
    // /usr/bin/prometheus and /usr/bin/promtool. Without its recommends: they would pull
    // prometheus-node-exporter, ipmitool, smartmontools and friends (35 packages instead
    // of 12), none of which the tests use. The tests run their own instance on a free
    // loopback port; the service the package enables (0.0.0.0:9090) is stopped where
    // systemd started it (a container's policy-rc.d never starts it).
    name: 'prometheus and promtool',
    pkg: 'prometheus',
    noRecommends: true,
    service: 'prometheus',
    present: () => isExecutable('/usr/bin/prometheus') && isExecutable('/usr/bin/promtool'),
  },
  {
    // The stability suite's netns check drops packets with iptables inside the network
    // namespaces it creates (`-m statistic` loss, DROP black holes); `ip` (iproute2) is
    // part of every Debian base system.
    name: 'iptables',
    pkg: 'iptables',
    present: () => isExecutable('/usr/sbin/iptables'),
  },
  {
    // bench:compare's backlog check reads listening sockets with `ss`; part of a Debian
    // base system like `ip`, listed so that a slimmer image gets it too.
    name: 'ss',
    pkg: 'iproute2',
    present: () => isExecutable('/usr/bin/ss'),
  },
];

const APT_ENV = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
// Wait for a concurrent apt/dpkg (unattended-upgrades on a fresh VM) instead of failing.
const APT_LOCK_WAIT = ['-o', 'DPkg::Lock::Timeout=300'];

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function isDirectory(path) {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function isTruthyEnv(value) {
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}

function missingDeps() {
  return DEPS.filter((dep) => !dep.present());
}

/** The command prefix that runs apt as root, or null when we cannot. */
function rootPrefix() {
  if (process.getuid?.() === 0) return [];
  // GitHub-hosted runners and many dev boxes have password-less sudo; `-n` never prompts.
  const sudo = spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore', timeout: 10_000 });
  return sudo.status === 0 ? ['sudo', '-n', '-E'] : null;
}

function run(prefix, args) {
  const [cmd, ...rest] = [...prefix, ...args];
  console.log(`[ensure-system-deps] $ ${[cmd, ...rest].join(' ')}`);
  const result = spawnSync(cmd, rest, { stdio: 'inherit', env: APT_ENV });
  if (result.error) {
    console.error(`[ensure-system-deps] could not run ${cmd}: ${result.error.message}`);
    return false;
  }
  return result.status === 0;
}

/** Installs the packages of `missing`; returns why it could not, or null. */
function install(missing) {
  if (!isExecutable('/usr/bin/apt-get')) return 'apt-get not found (not a Debian/Ubuntu machine?)';
  const prefix = rootPrefix();
  if (prefix === null) return 'not root and no password-less sudo';
  const packages = (noRecommends) => [
    ...new Set(
      missing.filter((dep) => (dep.noRecommends ?? false) === noRecommends).map((dep) => dep.pkg),
    ),
  ];
  console.log(
    `[ensure-system-deps] installing ${[...packages(false), ...packages(true)].join(' ')}`,
  );
  if (!run(prefix, ['apt-get', ...APT_LOCK_WAIT, 'update'])) return 'apt-get update failed';
  for (const [list, flags] of [
    [packages(false), []],
    [packages(true), ['--no-install-recommends']],
  ]) {
    if (list.length === 0) continue;
    if (!run(prefix, ['apt-get', ...APT_LOCK_WAIT, 'install', '-y', ...flags, ...list])) {
      return 'apt-get install failed';
    }
  }
  // A machine running systemd starts a package's service on install: nothing the tests
  // need, and a listener nobody asked for.
  if (isExecutable('/usr/bin/systemctl') && isDirectory('/run/systemd/system')) {
    for (const dep of missing) {
      if (dep.service !== undefined) run(prefix, ['systemctl', 'disable', '--now', dep.service]);
    }
  }
  return null;
}

function loudWarning(lines) {
  const bar = '!'.repeat(78);
  console.error(['', bar, ...lines.map((line) => `!!  ${line}`), bar, ''].join('\n'));
}

function main() {
  let missing = missingDeps();
  if (missing.length === 0) return 0;

  console.log(`[ensure-system-deps] missing: ${missing.map((dep) => dep.name).join(', ')}`);
  const failure = install(missing);
  missing = missingDeps();
  if (missing.length === 0) {
    console.log('[ensure-system-deps] all system dependencies present');
    return 0;
  }

  const ci = isTruthyEnv(process.env.CI);
  loudWarning([
    `MISSING SYSTEM DEPENDENCIES: ${missing.map((dep) => dep.name).join(', ')}`,
    `could not install them: ${failure ?? 'packages installed but still not found'}`,
    `install as root: apt-get install -y ${missing.map((dep) => dep.pkg).join(' ')}`,
    ci
      ? 'CI=true: failing, because the suites that need them would be SKIPPED.'
      : 'The test suites that need them will be SKIPPED on this machine.',
  ]);
  return ci ? 1 : 0;
}

process.exitCode = main();
