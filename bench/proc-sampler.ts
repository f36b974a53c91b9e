import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** What {@link ProcSampler} saw of a process over one phase. */
export interface ProcSample {
  /** RSS when sampling started. */
  startRssBytes: number;
  /** Largest RSS seen: the kernel's high-water mark if it could be reset at start, else the largest sample. */
  peakRssBytes: number;
  /** How the peak was taken. */
  peakSource: 'vmhwm' | 'samples';
  /** User + system CPU time the process used during the phase. */
  cpuSeconds: number;
  wallSeconds: number;
}

let clockTicks: number | null = null;
function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** VmRSS and VmHWM of `pid` in bytes (Linux /proc). */
export function readMemory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

/** User + system CPU seconds `pid` has used so far (Linux /proc). */
export function readCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // the command name may hold spaces and parentheses: fields are counted after the last ')'
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat(5), i.e. 11 and 12 after the name
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
}

/**
 * Samples the memory and CPU of another process (by pid) during one phase: resets the
 * kernel's peak-RSS mark (clear_refs 5) at start so VmHWM gives the exact peak of the
 * phase, and also polls VmRSS every `intervalMs` as a fallback and a cross-check.
 */
export class ProcSampler {
  readonly #pid: number;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | null = null;
  #startRss = 0;
  #maxRss = 0;
  #startCpu = 0;
  #startTime = 0;
  #hwmReset = false;

  constructor(pid: number, intervalMs = 20) {
    this.#pid = pid;
    this.#intervalMs = intervalMs;
  }

  start(): void {
    try {
      writeFileSync(`/proc/${this.#pid}/clear_refs`, '5');
      this.#hwmReset = true;
    } catch {
      this.#hwmReset = false;
    }
    const { rss } = readMemory(this.#pid);
    this.#startRss = rss;
    this.#maxRss = rss;
    this.#startCpu = readCpuSeconds(this.#pid);
    this.#startTime = performance.now();
    this.#timer = setInterval(() => this.#poll(), this.#intervalMs);
  }

  stop(): ProcSample {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#poll();
    const wallSeconds = (performance.now() - this.#startTime) / 1000;
    const cpuSeconds = readCpuSeconds(this.#pid) - this.#startCpu;
    const { hwm } = readMemory(this.#pid);
    const useHwm = this.#hwmReset && Number.isFinite(hwm);
    return {
      startRssBytes: this.#startRss,
      peakRssBytes: useHwm ? Math.max(hwm, this.#maxRss) : this.#maxRss,
      peakSource: useHwm ? 'vmhwm' : 'samples',
      cpuSeconds,
      wallSeconds,
    };
  }

  #poll(): void {
    try {
      this.#maxRss = Math.max(this.#maxRss, readMemory(this.#pid).rss);
    } catch {
      // the process exited: keep what was seen
    }
  }
}
