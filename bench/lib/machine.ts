/**
 * The machine a benchmark ran on, printed at the top of every bench block:
 * cores (nproc), CPU model (/proc/cpuinfo), RAM, the Bun version and the
 * load average, because this machine is shared and other processes compete
 * for its two cores. A figure measured under load is still a figure, but the
 * reader should see the load next to it.
 */

import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";

export interface Machine {
  cores: number;
  cpu: string;
  ramGiB: number;
  bun: string;
}

function cpuModel(): string {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8")
      .split("\n")
      .find((l) => l.startsWith("model name"));
    if (line !== undefined) return line.slice(line.indexOf(":") + 1).trim();
  } catch {
    // not Linux: fall through to os.cpus()
  }
  return cpus()[0]?.model.trim() ?? "unknown CPU";
}

export function machine(): Machine {
  return { cores: navigator.hardwareConcurrency, cpu: cpuModel(), ramGiB: totalmem() / 2 ** 30, bun: Bun.version };
}

export function loadAverage(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
}

export function describeMachine(m: Machine = machine()): string {
  return `${m.cores} cores (nproc), ${m.cpu}, ${m.ramGiB.toFixed(1)} GiB RAM, Bun ${m.bun}; load average ${loadAverage()}`;
}
