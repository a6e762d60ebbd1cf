/**
 * `npm run check`: the one static-check command (CONVENTIONS.md §10):
 * TypeScript with --noEmit, rustfmt in check mode, and clippy with warnings
 * as errors.
 */

import { $ } from "bun";
import { join } from "node:path";

$.cwd(join(import.meta.dir, ".."));
await $`./node_modules/.bin/tsc --noEmit -p .`;
await $`cargo fmt --all -- --check`;
await $`cargo clippy --workspace --all-targets -- -D warnings`;
