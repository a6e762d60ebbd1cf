/**
 * `npm run build`: the Rust addon (release, through @napi-rs/cli), then the
 * single executable `dist/sigma` through `bun build --compile`, which embeds
 * the addon because src/native/addon.ts requires it by a literal path.
 *
 * `--addon-only` stops after the addon (what `bun run sigma` from source needs).
 */

import { $ } from "bun";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const addonOnly = process.argv.includes("--addon-only");

async function step(name: string, run: () => Promise<unknown>): Promise<void> {
  const started = performance.now();
  process.stderr.write(`build: ${name}...\n`);
  await run();
  process.stderr.write(`build: ${name} done in ${((performance.now() - started) / 1000).toFixed(1)}s\n`);
}

$.cwd(root);

await step("addon (cargo release via napi)", () =>
  $`./node_modules/.bin/napi build --release --manifest-path native/binding/Cargo.toml --package-json-path native/binding/package.json --output-dir native/binding --no-dts-header --dts .cache/binding.d.ts`,
);
if (!existsSync(join(root, "native/binding/sigma.node"))) throw new Error("napi build did not produce native/binding/sigma.node");

if (!addonOnly) {
  mkdirSync(join(root, "dist"), { recursive: true });
  await step("single binary dist/sigma", () => $`./node_modules/.bin/bun build --compile --minify-syntax src/main.ts --outfile dist/sigma`);
}
