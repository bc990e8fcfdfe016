import { cpus, loadavg, totalmem } from 'node:os';

/** Where numbers were taken: they mean little without it. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  /** 1-, 5- and 15-minute load averages at the start (other work on the machine skews results). */
  loadAverage: [number, number, number];
  node: string;
  platform: string;
}

export function machineInfo(): MachineInfo {
  const cpuList = cpus();
  const [one, five, fifteen] = loadavg();
  return {
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: [round2(one ?? 0), round2(five ?? 0), round2(fifteen ?? 0)],
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

/** One line for a report header. */
export function describeMachine(m: MachineInfo): string {
  return `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}, node ${m.node}, load ${m.loadAverage.join(' / ')}`;
}
