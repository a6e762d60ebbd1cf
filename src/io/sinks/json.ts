/**
 * NDJSON sink: match records (`--out`) or dead-letter records
 * (`--dead-letter`) to a file, or stdout with `-`. Acks settle after the
 * bytes of their batch have been flushed to the operating system.
 */

import type { FileSink } from "bun";
import type { Options } from "../../cli/args.ts";
import type { Ack } from "../ack.ts";
import { deadLetterLines, matchLines } from "../records.ts";
import type { EvalResult } from "../result.ts";
import type { Sink, SinkRole } from "../sink.ts";
import type { SinkSpec } from "../spec.ts";

export interface JsonSinkConfig {
  role: SinkRole;
  /** A file path, or "-" for stdout. */
  path: string;
}

export class JsonSink implements Sink {
  readonly kind = "json";
  readonly role: SinkRole;
  readonly #writer: FileSink;
  #unflushed: Ack[] = [];

  constructor(config: JsonSinkConfig) {
    this.role = config.role;
    this.#writer = config.path === "-" ? Bun.stdout.writer() : Bun.file(config.path).writer();
  }

  async write(result: EvalResult, ack: Ack): Promise<void> {
    if (this.role === "matches" && result.renderedMatches !== null) {
      if (result.renderedMatches.byteLength > 0) this.#writer.write(result.renderedMatches);
    } else {
      const text = this.role === "matches" ? matchLines(result) : deadLetterLines(result);
      if (text.length > 0) this.#writer.write(text);
    }
    this.#unflushed.push(ack);
    await this.#settleFlushed();
  }

  async #settleFlushed(): Promise<void> {
    const acks = this.#unflushed;
    this.#unflushed = [];
    try {
      await this.#writer.flush();
    } catch (error) {
      for (const ack of acks) ack.settle("failed", `write failed: ${(error as Error).message}`);
      throw error;
    }
    for (const ack of acks) ack.settle("delivered");
  }

  async flush(): Promise<void> {
    await this.#settleFlushed();
  }

  async stop(): Promise<void> {
    await this.#settleFlushed();
    await this.#writer.end();
  }
}

export const jsonSinkSpec: SinkSpec<JsonSinkConfig> = {
  kind: "json",
  flags: [
    { name: "out", description: "NDJSON matches file, or - for stdout (default -)", takesValue: true },
    { name: "dead-letter", description: "NDJSON file for rejected input lines (line, reason, raw)", takesValue: true },
  ],
  parse(options: Options, role: SinkRole): JsonSinkConfig {
    const path = role === "matches" ? (options.string("out") ?? "-") : options.string("dead-letter");
    if (path === undefined) throw new Error("the JSON dead-letter sink needs --dead-letter");
    return { role, path };
  },
  create: (config) => new JsonSink(config),
};
