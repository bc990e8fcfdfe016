/**
 * examples/device-fleet runs as its README says: Python devices (Debian's python3 with
 * python3-websockets and clients/python) send numbered readings through a real hub to the
 * FastAPI backend (uvicorn in a virtualenv from the example's requirements.txt: a pip
 * install on a cold cache, so the slow tier); every device connection is reset halfway.
 * The backend must hold every reading once and in order, and every command it sent must
 * have reached its device once and been reported done.
 */
import { join } from 'node:path';
import { pythonVenv, systemDepMissing, VenvUnavailableError } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import { ROOT, runExample } from '../../server/test/example-process.js';

const DIR = join(ROOT, 'examples/device-fleet');
const DEVICES = 5;
const READINGS = 200;

interface DeviceRow {
  exit: number;
  stored: number;
  inOrderOnce: boolean;
  commandsSent: number;
  commands: string[];
  commandsDone: number;
  resumed: number;
  configVersion: number | null;
}

const missing = systemDepMissing('python3-venv') || systemDepMissing('python3-websockets');

describe.skipIf(missing)('examples/device-fleet', () => {
  it('stores every reading once and in order across a network reset, and commands reach their devices', async (ctx) => {
    let venv: string;
    try {
      venv = await pythonVenv(join(DIR, 'requirements.txt'));
    } catch (err) {
      if (!(err instanceof VenvUnavailableError) || isCi()) throw err;
      const bar = '!'.repeat(78);
      console.warn(`\n${bar}\n!!  SKIPPED: the device fleet example: ${err.message}\n${bar}\n`);
      ctx.skip();
      return;
    }
    const args = ['examples/device-fleet/run.mjs', '--python', join(venv, 'bin', 'python')];
    args.push('--devices', String(DEVICES), '--readings', String(READINGS));
    const { code, output } = await runExample(args[0] as string, args.slice(1), 120_000);
    const line = output.split('\n').find((l) => l.startsWith('REPORT '));
    expect(line, output).toBeDefined();
    const report = JSON.parse(line?.slice('REPORT '.length) ?? '{}') as {
      devices: Record<string, DeviceRow>;
      replays: number;
    };
    expect(Object.keys(report.devices).sort(), output).toEqual(
      Array.from({ length: DEVICES }, (_, i) => `dev-${i + 1}`).sort(),
    );
    for (const [id, row] of Object.entries(report.devices)) {
      const commands = [50, 100, 150, 200].map((n) => `${id}:${n}`);
      expect(row, `${id}\n${output}`).toMatchObject({
        exit: 0,
        stored: READINGS,
        inOrderOnce: true,
        commandsSent: commands.length,
        commands,
        commandsDone: commands.length,
        configVersion: 2,
      });
      // The reset really cut this device mid-stream: it came back into its session.
      expect(row.resumed, `${id}\n${output}`).toBeGreaterThanOrEqual(1);
    }
    // No hub crash in this run, so the hub never forwarded a reading twice.
    expect(report.replays).toBe(0);
    expect(code, output).toBe(0);
    expect(output).toContain('ok: 5 devices, every reading stored once and in order');
  }, 400_000);
});

function isCi(): boolean {
  const value = process.env.CI;
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}
