/**
 * `npm run check`: the one static-check command (CONVENTIONS.md §10):
 * TypeScript with --noEmit, rustfmt in check mode, clippy with warnings as
 * errors, and rustdoc with warnings as errors (a broken link in a doc comment
 * is a wrong statement of an invariant).
 */

import { $ } from "bun";
import { join } from "node:path";

$.cwd(join(import.meta.dir, ".."));
await $`./node_modules/.bin/tsc --noEmit -p .`;
await $`cargo fmt --all -- --check`;
await $`cargo clippy --workspace --all-targets -- -D warnings`;
await $`cargo doc --workspace --no-deps --quiet`.env({ ...process.env, RUSTDOCFLAGS: "-D warnings" });
