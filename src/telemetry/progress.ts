/**
 * A progress bar for file scans, drawn on stderr only when stderr is a TTY,
 * redrawn at most ten times a second so it never costs throughput.
 */

const REDRAW_MS = 100;
const WIDTH = 30;

function human(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export class ProgressBar {
  #lastDraw = 0;
  #drawn = false;
  readonly #started = performance.now();

  constructor(private readonly enabled: boolean = process.stderr.isTTY === true) {}

  update(done: number, total: number | null, events: number): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.#lastDraw < REDRAW_MS) return;
    this.#lastDraw = now;
    const seconds = (now - this.#started) / 1000;
    const rate = seconds > 0 ? Math.round(events / seconds) : 0;
    let bar = "";
    if (total !== null && total > 0) {
      const fraction = Math.min(1, done / total);
      const filled = Math.round(fraction * WIDTH);
      bar = `[${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% `;
    }
    process.stderr.write(`\r${bar}${human(done)}${total !== null ? ` / ${human(total)}` : ""}  ${events.toLocaleString("en-US")} events  ${rate.toLocaleString("en-US")} ev/s `);
    this.#drawn = true;
  }

  finish(): void {
    if (this.#drawn) process.stderr.write("\r\x1b[K");
  }
}
