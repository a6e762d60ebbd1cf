/**
 * `perf script` text → folded stacks (one "root;…;leaf count" line per
 * distinct stack, the input of inferno-flamegraph and speedscope), plus a
 * split of samples by where the leaf frame runs: JS (JIT code named through
 * the perf map, prefixed "JS:"), Rust (the sigma addon, loaded from an
 * extracted .node file in the compiled binary), the Bun/JSC runtime, the
 * kernel, and other libraries.
 */

export type Side = "JS (JIT)" | "Rust (addon)" | "Bun/JSC runtime" | "kernel" | "other";

export interface Folded {
  stacks: Map<string, number>;
  bySide: Map<Side, number>;
  bySelf: Map<string, number>;
  samples: number;
}

interface Frame {
  symbol: string;
  dso: string;
}

export function sideOf(frame: Frame): Side {
  if (frame.symbol.startsWith("JS:")) return "JS (JIT)";
  if (frame.dso.includes("kernel") || frame.dso === "[unknown]" && frame.symbol.startsWith("[k]")) return "kernel";
  if (/\.node\b|sigma_core|sigma_binding/.test(frame.dso) || /sigma_core|sigma_binding|rayon|regex_automata|simd_json|arrow_/.test(frame.symbol)) return "Rust (addon)";
  if (/\/sigma$|\/bun(\.exe)?$/.test(frame.dso)) return "Bun/JSC runtime";
  return "other";
}

function frameOf(line: string): Frame | undefined {
  // "\t    7f12ab symbol+0x12 (/path/to/dso)"
  const m = /^\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$/.exec(line);
  if (m === null) return undefined;
  const symbol = (m[1] ?? "[unknown]").replace(/\+0x[0-9a-f]+$/, "");
  return { symbol: symbol === "[unknown]" ? `[${(m[2] ?? "?").split("/").pop()}]` : symbol, dso: m[2] ?? "" };
}

export function foldPerfScript(text: string): Folded {
  const out: Folded = { stacks: new Map(), bySide: new Map(), bySelf: new Map(), samples: 0 };
  for (const record of text.split(/\n\s*\n/)) {
    const lines = record.split("\n").filter((l) => l.trim() !== "");
    const header = lines[0];
    if (header === undefined || lines.length < 2) continue;
    const frames = lines.slice(1).map(frameOf).filter((f): f is Frame => f !== undefined);
    const leaf = frames[0];
    if (leaf === undefined) continue;
    const thread = header.trim().split(/\s+/)[0] ?? "?";
    const key = [thread, ...frames.reverse().map((f) => f.symbol.replace(/;/g, ":"))].join(";");
    out.stacks.set(key, (out.stacks.get(key) ?? 0) + 1);
    const side = sideOf(leaf);
    out.bySide.set(side, (out.bySide.get(side) ?? 0) + 1);
    out.bySelf.set(leaf.symbol, (out.bySelf.get(leaf.symbol) ?? 0) + 1);
    out.samples++;
  }
  return out;
}

export function foldedText(folded: Folded): string {
  return [...folded.stacks].map(([stack, n]) => `${stack} ${n}`).join("\n") + "\n";
}
