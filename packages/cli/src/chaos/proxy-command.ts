import type { CliIo, SignalSource } from '@tether/hub';
import { EXIT, onStopSignals } from '../command.js';
import type { ChaosProxyArgs } from './args.js';
import { FaultDriver, seededRandom } from './faults.js';
import { describeFaults } from './verdict.js';

/**
 * `tether chaos proxy`: a fault proxy in front of any TCP server (WebSocket or not) until
 * Ctrl-C or `--duration`. Prints where to connect, then a summary of the faults it made.
 */
export async function runChaosProxy(
  args: ChaosProxyArgs,
  io: CliIo,
  signals: SignalSource | undefined,
): Promise<number> {
  const { createFaultProxy } = await import('@tether/fault-proxy');
  const proxy = await createFaultProxy({
    target: args.target,
    listenHost: args.listenHost,
    ...(args.seed === undefined ? {} : { random: seededRandom(args.seed) }),
  });
  const random = args.seed === undefined ? Math.random : seededRandom(args.seed + 1);
  const driver = new FaultDriver([proxy], args.faults, random, (stall) =>
    io.stderr(
      `stall: every connection frozen for ${args.faults.stallForMs} ms (since ${new Date(stall.startedAt).toISOString()})`,
    ),
  );
  io.stdout(
    `tether chaos proxy listening on ${proxy.host}:${proxy.port} -> ${args.target.host}:${args.target.port}`,
  );
  io.stdout(`faults: ${describeFaults(args.faults)}`);
  driver.start();
  await new Promise<void>((resolve) => {
    const timer =
      args.durationMs === undefined ? undefined : setTimeout(() => done(), args.durationMs);
    const stopListening = onStopSignals(signals, () => done());
    function done(): void {
      clearTimeout(timer);
      stopListening();
      resolve();
    }
  });
  driver.stop();
  const { log } = driver;
  io.stdout(
    `done: ${proxy.totalConnections} connections proxied; ${log.resets} resets (${log.resetPairs} links), ${log.cuts} cuts (${log.cutPairs} links), ${log.stalls.length} stalls; ${proxy.traffic.toTarget} bytes to the target, ${proxy.traffic.toClient} to clients`,
  );
  await proxy.close();
  return EXIT.ok;
}
