/**
 * A sanity check for Sigma `re` values. The Rust `regex` crate (linear time)
 * is the authority on syntax; here we reject what it can never run —
 * lookaround, backreferences, atomic groups, possessive quantifiers — with a
 * clear reason, and catch gross syntax errors (unbalanced groups, bad
 * quantifiers) with a JS RegExp compile of the pattern stripped of its leading
 * inline flags. Nothing is converted silently.
 */

import { RuleCompileError } from "./ast.ts";

export const LOOKAROUND_REASON = "regex uses lookaround/backreference, unsupported by the linear-time engine";

/** Throws a RuleCompileError("regex", ...) when the pattern cannot be run by the engine. */
export function checkRegex(pattern: string): void {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "\\") {
      const n = pattern[i + 1] ?? "";
      if (!inClass && (/[1-9]/.test(n) || n === "k")) throw new RuleCompileError("regex", `${LOOKAROUND_REASON}: '\\${n}' in /${pattern}/`);
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      continue;
    }
    if (c === "[") {
      inClass = true;
      // a leading ']' or '^]' is literal
      if (pattern[i + 1] === "^") i++;
      if (pattern[i + 1] === "]") i++;
      continue;
    }
    if (c === "(" && pattern[i + 1] === "?") {
      const rest = pattern.slice(i + 2, i + 4);
      if (rest.startsWith("=") || rest.startsWith("!") || rest === "<=" || rest === "<!") {
        throw new RuleCompileError("regex", `${LOOKAROUND_REASON}: '(?${rest.startsWith("<") ? rest : rest[0]}' in /${pattern}/`);
      }
      if (rest.startsWith(">")) throw new RuleCompileError("regex", `regex uses an atomic group '(?>', unsupported by the linear-time engine: /${pattern}/`);
    }
    if ((c === "+" || c === "*" || c === "?" || c === "}") && pattern[i + 1] === "+") {
      throw new RuleCompileError("regex", `regex uses a possessive quantifier, unsupported by the linear-time engine: /${pattern}/`);
    }
  }
  // JS has no inline flag groups at the start; strip `(?imsx)` prefixes for the compile check.
  const stripped = pattern.replace(/^\(\?[imsxU]+\)/, "").replace(/\(\?[imsxU-]+\)/g, "").replace(/\(\?[imsxU-]+:/g, "(?:");
  try {
    new RegExp(stripped);
  } catch (e) {
    throw new RuleCompileError("regex", `invalid regex /${pattern}/: ${(e as Error).message}`);
  }
}
