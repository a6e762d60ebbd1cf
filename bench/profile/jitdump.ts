/**
 * Turns JavaScriptCore's JITDump files (written when BUN_JSC_useJITDump=1,
 * into BUN_JSC_jitDumpDirectory) into perf map files /tmp/perf-<pid>.map, the
 * format `perf script` reads to name samples in anonymous JIT memory. Bun
 * 1.4.5 has no perf-map option of its own (BUN_JSC_logJITCodeForPerf is
 * refused), and its dump files are not named jit-<pid>.dump, so
 * `perf inject --jit` does not find them; this conversion is the bridge.
 *
 * JITDump layout (perf's tools/perf/Documentation/jitdump-specification.txt):
 * a header {magic "JiTD", version, total_size, elf_mach, pad1, pid, timestamp,
 * flags}, then records {id u32, total_size u32, timestamp u64, body}; id 0 is
 * JIT_CODE_LOAD {pid, tid, vma, code_addr, code_size, code_index, name\0, code}.
 */

import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const MAGIC = 0x4a695444;
const JIT_CODE_LOAD = 0;

/** Converts every dump in `dir`; returns the perf map paths written, one per process. */
export function jitDumpsToPerfMaps(dir: string): string[] {
  const byPid = new Map<number, string[]>();
  for (const name of readdirSync(dir)) {
    const bytes = readFileSync(join(dir, name));
    if (bytes.byteLength < 40) continue;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(0, true) !== MAGIC) continue;
    const pid = view.getUint32(20, true);
    const lines = byPid.get(pid) ?? [];
    let at = view.getUint32(8, true);
    while (at + 16 <= bytes.byteLength) {
      const id = view.getUint32(at, true);
      const size = view.getUint32(at + 4, true);
      if (size < 16 || at + size > bytes.byteLength) break;
      if (id === JIT_CODE_LOAD) {
        const codeAddr = view.getBigUint64(at + 32, true);
        const codeSize = view.getBigUint64(at + 40, true);
        const nameStart = at + 56;
        const nameEnd = bytes.indexOf(0, nameStart);
        const symbol = bytes.subarray(nameStart, nameEnd === -1 ? at + size : nameEnd).toString("utf8");
        lines.push(`${codeAddr.toString(16)} ${codeSize.toString(16)} JS:${symbol.replace(/\s+/g, " ")}`);
      }
      at += size;
    }
    byPid.set(pid, lines);
  }
  const written: string[] = [];
  for (const [pid, lines] of byPid) {
    const path = `/tmp/perf-${pid}.map`;
    writeFileSync(path, lines.join("\n") + "\n");
    written.push(path);
  }
  return written;
}
