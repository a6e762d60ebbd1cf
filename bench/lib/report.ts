/**
 * Formatting and answer checking shared by the benches. `expectEqual` is
 * CONVENTIONS.md §8: every timed run declares the count it must reproduce,
 * derived from a reference run earlier in the same process, and a mismatch
 * marks the bench failed (exit code 1) without hiding the other figures.
 */

export const fmtInt = (n: number): string => Math.round(n).toLocaleString("en-US");
export const fmtRate = (events: number, seconds: number): string => `${fmtInt(events / Math.max(seconds, 1e-9))} ev/s`;
export const fmtMBps = (bytes: number, seconds: number): string => `${(bytes / 1e6 / Math.max(seconds, 1e-9)).toFixed(1)} MB/s`;
export const fmtMiB = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
export const fmtMs = (ms: number): string => (ms < 10 ? `${ms.toFixed(2)} ms` : `${ms.toFixed(0)} ms`);

let failures = 0;

/** Records a failed check when `actual !== expected`; returns whether it held. */
export function expectEqual(what: string, actual: number, expected: number): boolean {
  if (actual === expected) {
    console.log(`  check ok: ${what} = ${fmtInt(actual)}`);
    return true;
  }
  failures++;
  console.log(`  CHECK FAILED: ${what}: got ${fmtInt(actual)}, expected ${fmtInt(expected)}`);
  process.exitCode = 1;
  return false;
}

export function failedChecks(): number {
  return failures;
}

/** A markdown table from rows of cells (first row is the header). */
export function markdownTable(rows: readonly (readonly string[])[]): string {
  const [header, ...body] = rows;
  if (header === undefined) return "";
  const line = (cells: readonly string[]): string => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...body.map(line)].join("\n");
}
