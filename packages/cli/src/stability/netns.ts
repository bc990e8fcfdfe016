import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/**
 * A pair of network namespaces joined by a veth, for faults the kernel makes: packet
 * loss (`iptables -m statistic` drops), black holes (DROP everything) and a link that
 * goes down. Nothing leaves the pair: the veth ends are created directly inside the two
 * namespaces (no interface ever appears in the host's namespace) and every rule lives in
 * the server's namespace, so deleting the namespaces removes all of it. Names carry the
 * process id and a counter, so parallel runs never meet.
 *
 * Kernel 6.x without `sch_netem`: loss comes from iptables, not `tc netem`.
 */

const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'];
const IPTABLES = ['/usr/sbin/iptables', '/sbin/iptables', '/usr/bin/iptables'];

/** The addresses of the pair: a /30 in 10.0.0.0/8 that only exists inside it. */
export const NETNS_SERVER_IP = '10.213.7.1';
export const NETNS_CLIENT_IP = '10.213.7.2';
const PREFIX = 30;
const SERVER_IF = 'veth-s';
const CLIENT_IF = 'veth-c';
/** A command on the pair that takes longer than this is broken, not slow. */
const COMMAND_TIMEOUT_MS = 15_000;

function firstExecutable(paths: readonly string[]): string | undefined {
  return paths.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function run(command: string, args: readonly string[], input?: string): void {
  const result = spawnSync(command, args, {
    input,
    encoding: 'utf8',
    timeout: COMMAND_TIMEOUT_MS,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  if (result.error !== undefined) {
    throw new Error(`${command} ${args.join(' ')}: ${result.error.message}`);
  }
  if (result.status !== 0) {
    const stderr = result.stderr.trim() || `exit ${result.status ?? result.signal}`;
    throw new Error(`${command} ${args.join(' ')}: ${stderr}`);
  }
}

/**
 * Why this machine cannot make the pair (not root, no `ip`, no `iptables`, a kernel or
 * container that refuses namespaces), or undefined when it can. Tries for real: creates
 * and deletes a namespace.
 */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux')
    return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root (this process is not root)';
  const ip = firstExecutable(IP);
  if (ip === undefined) return '`ip` (iproute2) is not installed';
  if (firstExecutable(IPTABLES) === undefined) {
    return '`iptables` is not installed (apt-get install -y iptables)';
  }
  const probe = `tether-probe-${process.pid}-${++counter}`;
  try {
    run(ip, ['netns', 'add', probe]);
  } catch (err) {
    return `cannot create a network namespace: ${(err as Error).message}`;
  }
  try {
    run(ip, ['netns', 'delete', probe]);
  } catch {
    // Best effort: the namespace holds nothing.
  }
  return undefined;
}

let counter = 0;

/** Which side of the pair. */
export type NetnsSide = 'server' | 'client';

/** The namespace pair with its faults; {@link NetnsPair.dispose} removes all of it. */
export class NetnsPair {
  readonly serverNs: string;
  readonly clientNs: string;
  private readonly ip: string;
  private readonly iptables: string;
  private disposed = false;
  private readonly onExit = (): void => this.dispose();
  private readonly onSignal = (signal: NodeJS.Signals): void => {
    this.dispose();
    // Re-raise with the default action, so Ctrl-C still ends the run.
    process.kill(process.pid, signal);
  };

  private constructor() {
    counter += 1;
    const id = `${process.pid}-${counter}`;
    this.serverNs = `tether-s-${id}`;
    this.clientNs = `tether-c-${id}`;
    this.ip = firstExecutable(IP) ?? 'ip';
    this.iptables = firstExecutable(IPTABLES) ?? 'iptables';
  }

  /** Creates both namespaces and the veth between them, addresses up. */
  static create(): NetnsPair {
    const pair = new NetnsPair();
    // Cleanup also on exit and on Ctrl-C / SIGTERM: stale namespaces outlive the process.
    process.once('exit', pair.onExit);
    process.once('SIGINT', pair.onSignal);
    process.once('SIGTERM', pair.onSignal);
    try {
      const { ip, serverNs: s, clientNs: c } = pair;
      run(ip, ['netns', 'add', s]);
      run(ip, ['netns', 'add', c]);
      run(ip, [
        'link',
        'add',
        SERVER_IF,
        'netns',
        s,
        'type',
        'veth',
        'peer',
        'name',
        CLIENT_IF,
        'netns',
        c,
      ]);
      run(ip, ['-n', s, 'addr', 'add', `${NETNS_SERVER_IP}/${PREFIX}`, 'dev', SERVER_IF]);
      run(ip, ['-n', c, 'addr', 'add', `${NETNS_CLIENT_IP}/${PREFIX}`, 'dev', CLIENT_IF]);
      for (const [ns, dev] of [
        [s, SERVER_IF],
        [c, CLIENT_IF],
        [s, 'lo'],
        [c, 'lo'],
      ] as const) {
        run(ip, ['-n', ns, 'link', 'set', dev, 'up']);
      }
    } catch (err) {
      pair.dispose();
      throw err;
    }
    return pair;
  }

  /** The command line that runs `argv` inside a namespace. */
  exec(side: NetnsSide, argv: readonly string[]): [string, string[]] {
    return [this.ip, ['netns', 'exec', side === 'server' ? this.serverNs : this.clientNs, ...argv]];
  }

  /**
   * Drops each packet with probability `p`, in both directions (server INPUT and
   * OUTPUT), so each direction loses `p` of its packets.
   */
  loss(p: number): void {
    const rule = ['-m', 'statistic', '--mode', 'random', '--probability', String(p), '-j', 'DROP'];
    this.rules([`-A INPUT ${rule.join(' ')}`, `-A OUTPUT ${rule.join(' ')}`]);
  }

  /** Drops every packet on the veth, both ways: a black hole (no RST, no ICMP). */
  blackHole(): void {
    this.rules([`-A INPUT -i ${SERVER_IF} -j DROP`, `-A OUTPUT -o ${SERVER_IF} -j DROP`]);
  }

  /** Removes every rule of {@link loss} and {@link blackHole}. */
  clearRules(): void {
    run(...this.exec('server', [this.iptables, '-F']));
  }

  /** Takes the server's end of the veth down (the peer loses carrier) or up again. */
  link(up: boolean): void {
    run(this.ip, ['-n', this.serverNs, 'link', 'set', SERVER_IF, up ? 'up' : 'down']);
  }

  /** Deletes both namespaces (and with them the veth and every rule). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    for (const ns of [this.serverNs, this.clientNs]) {
      spawnSync(this.ip, ['netns', 'delete', ns], { stdio: 'ignore', timeout: COMMAND_TIMEOUT_MS });
    }
  }

  /** Applies `rules` to the server namespace's filter table in one atomic restore. */
  private rules(rules: readonly string[]): void {
    const input = ['*filter', ...rules, 'COMMIT', ''].join('\n');
    run(...this.exec('server', [`${this.iptables}-restore`, '--noflush']), input);
  }
}
