/**
 * Unicode simple case folding as the project defines it, shared bit-for-bit
 * with the Rust engine (`fold` in native/core/src/fold.rs): per code point,
 * take `toLowerCase()` when it yields exactly one code point, else keep the
 * code point unchanged; then map final sigma `ς` to `σ`. Case-insensitive
 * Sigma values are folded with this at compile time and the engine folds the
 * event value the same way before comparing.
 */

export function foldCase(s: string): string {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return s.toLowerCase();
  let out = "";
  for (const ch of s) {
    const low = ch.toLowerCase();
    let mapped = ch;
    // exactly one code point?
    const cp = low.codePointAt(0);
    if (cp !== undefined && low.length === (cp > 0xffff ? 2 : 1)) mapped = low;
    if (mapped === "ς") mapped = "σ";
    out += mapped;
  }
  return out;
}
