import { arch, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { statfs } from 'node:fs/promises';

/** Facts about the machine a benchmark ran on, saved with its figures. */
export interface MachineFacts {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  /** The work directory and the free space on its disk. */
  workDir: { path: string; freeGiB: number };
  /** 1, 5 and 15 minute load averages when the run started: the machine may be shared. */
  loadAverage: number[];
  date: string;
}

/** Collects {@link MachineFacts}; `workDir` is the directory whose disk the bench uses. */
export async function machineFacts(workDir: string, date: Date): Promise<MachineFacts> {
  const list = cpus();
  const fs = await statfs(workDir).catch(() => null);
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${platform()} ${release()} ${arch()}`,
    workDir: { path: workDir, freeGiB: fs === null ? NaN : Math.round(((fs.bavail * fs.bsize) / 1024 ** 3) * 10) / 10 },
    loadAverage: loadavg().map((l) => Math.round(l * 100) / 100),
    date: date.toISOString(),
  };
}
