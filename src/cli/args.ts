/**
 * Command-line parsing: argv → a subcommand and an option bag, validated
 * against one table of known flags. Unknown flags, missing values and bad
 * choices are usage errors (exit code 2) that name the flag.
 *
 * Sources and sinks declare their own flags (src/io/registry.ts); they are
 * merged into the table so `--help` lists them and typos are caught.
 */

import { readFileSync } from "node:fs";

export interface FlagSpec {
  name: string;
  description: string;
  /** A flag without a value is a boolean switch. */
  takesValue: boolean;
  repeatable?: boolean;
  choices?: readonly string[];
  required?: boolean;
}

export type OptionValue = string | string[] | boolean;

/** A TLS server's identity as PEM: its certificate chain and private key. */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
}

/** Parsed options, keyed by flag name without the leading dashes. */
export class Options {
  constructor(private readonly values: ReadonlyMap<string, OptionValue>) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  string(name: string): string | undefined {
    const value = this.values.get(name);
    if (Array.isArray(value)) return value[value.length - 1];
    return typeof value === "string" ? value : undefined;
  }

  requireString(name: string, why: string): string {
    const value = this.string(name);
    if (value === undefined) throw new UsageError(`--${name} is required ${why}`);
    return value;
  }

  /** Every value of a repeatable flag, comma lists split. */
  list(name: string): string[] {
    const value = this.values.get(name);
    const raw = Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
    return raw.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
  }

  flag(name: string): boolean {
    return this.values.get(name) === true;
  }

  /** The bytes of the file a flag names (a PEM file), or undefined without the flag; unreadable is a usage error. */
  file(name: string): Buffer | undefined {
    const path = this.string(name);
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new UsageError(`--${name}: cannot read ${path}: ${(error as Error).message}`);
    }
  }

  /** A server's PEM certificate chain and private key, from two flags that go together; null without either. */
  certificateAndKey(certFlag: string, keyFlag: string): ServerTls | null {
    if (this.has(certFlag) !== this.has(keyFlag)) throw new UsageError(`--${certFlag} and --${keyFlag} go together`);
    const cert = this.file(certFlag);
    const key = this.file(keyFlag);
    return cert !== undefined && key !== undefined ? { cert, key } : null;
  }

  integer(name: string, fallback: number, min = 0): number {
    const text = this.string(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${text}"`);
    return value;
  }
}

export class UsageError extends Error {}

export interface ParsedArgs {
  command: string[];
  options: Options;
}

/** Splits argv into leading subcommand words and flags (`--name value` or `--name=value`). */
export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[], commands: readonly string[][]): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const command: string[] = [];
  let i = 0;
  for (const candidate of [...commands].sort((a, b) => b.length - a.length)) {
    if (candidate.every((word, k) => argv[k] === word)) {
      command.push(...candidate);
      i = candidate.length;
      break;
    }
  }
  const values = new Map<string, OptionValue>();
  for (; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument "${arg}" (flags start with --; see --help)`);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const spec = byName.get(name);
    if (spec === undefined) throw new UsageError(`unknown flag --${name} (see --help)`);
    if (!spec.takesValue) {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      values.set(name, true);
      continue;
    }
    let value: string;
    if (eq !== -1) {
      value = arg.slice(eq + 1);
    } else {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith("--") && next !== "-")) throw new UsageError(`--${name} needs a value`);
      value = next;
      i++;
    }
    if (spec.choices !== undefined && !spec.choices.includes(value)) {
      throw new UsageError(`--${name} must be one of ${spec.choices.join("|")}, got "${value}"`);
    }
    const previous = values.get(name);
    if (spec.repeatable === true) {
      values.set(name, [...(Array.isArray(previous) ? previous : []), value]);
    } else {
      values.set(name, value);
    }
  }
  return { command, options: new Options(values) };
}

export function formatFlags(specs: readonly FlagSpec[]): string {
  const lines = specs.map((s) => {
    const head = `  --${s.name}${s.takesValue ? (s.choices ? ` <${s.choices.join("|")}>` : " <value>") : ""}`;
    return `${head.padEnd(44)} ${s.description}`;
  });
  return lines.join("\n");
}
