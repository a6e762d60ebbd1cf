/**
 * The typed front of the Rust engine: compile a plan once, then evaluate
 * whole batches, one addon call per batch (never per event). This is the
 * only module besides addon.ts that touches the addon.
 *
 * An `Engine` is immutable; hot reload builds a new one and swaps it.
 */

import type { RecordBatch, Schema } from "apache-arrow";
import { InvalidBatch, LineOrigin, type ArrowBatch, type ArrowRecords, type Batch, type BatchOrigin, type RawJsonBatch, type SpannedJsonBatch } from "../batch/batch.ts";
import { describeSchema, exportRecordBatch, importRecordBatch, packArrays, type CDataArray } from "../batch/c-data.ts";
import type { EvalResult } from "../io/result.ts";
import type { Evaluator } from "../io/pipeline.ts";
import type { RuleHeader, SerializedPlan } from "../plan/types.ts";
import { addon, type NativeBatchSchema, type NativeEncodedBatch, type NativeEngine, type NativeJsonOutput, type NativeMatchBatchBuilder, type NativeMatchOutput, type NativeRenderOptions } from "./addon.ts";

export interface EngineCompileError {
  predicate: number;
  message: string;
}

/** What `Engine.restore` kept and ignored. */
export interface RestoreReport {
  groups: number;
  /** Ids of snapshot correlations not in the plan (or changed). */
  ignored: string[];
  /** Groups dropped by the group cap. */
  droppedGroups: number;
}

export interface CorrelationStats {
  inputs: number;
  late: number;
  missingGroupBy: number;
  missingTime: number;
  fired: number;
  evictedGroups: number;
  droppedEntries: number;
  groups: number;
}

/** Cumulative engine counters since compile (times summed over the engine's threads). */
export interface EngineStats {
  batches: number;
  rows: number;
  events: number;
  matches: number;
  correlationInputs: number;
  deadLetters: number;
  bytes: number;
  parseNs: number;
  matchNs: number;
  conditionNs: number;
  correlation: CorrelationStats;
}

const decoder = new TextDecoder();
const CR = 0x0d;
const LF = 0x0a;

/** Line `row` of an NDJSON chunk without its line break, as a view of `bytes`. */
function lineBytes(bytes: Uint8Array, offsets: Uint32Array, row: number): Uint8Array {
  const start = offsets[row] ?? 0;
  let end = offsets[row + 1] ?? bytes.byteLength;
  while (end > start && (bytes[end - 1] === LF || bytes[end - 1] === CR)) end--;
  return bytes.subarray(start, end);
}

function lineText(bytes: Uint8Array, offsets: Uint32Array, row: number): string {
  return decoder.decode(lineBytes(bytes, offsets, row));
}

function jsonValue(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value !== null && typeof value === "object" && "toJSON" in value && typeof value.toJSON === "function") {
    return jsonValue(value.toJSON());
  }
  if (Array.isArray(value)) return value.map(jsonValue);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonValue(v)]));
  }
  return value;
}

/** A row of a RecordBatch as a JSON object text; null columns are left out. */
export function rowJson(batch: RecordBatch, row: number): string {
  const out: Record<string, unknown> = {};
  for (const field of batch.schema.fields) {
    const value = batch.getChild(field.name)?.get(row);
    if (value !== null && value !== undefined) out[field.name] = jsonValue(value);
  }
  return JSON.stringify(out);
}

export class Engine implements Evaluator {
  private constructor(
    private readonly native: NativeEngine,
    /** The fields the plan references (Flight's GetSchema advertises them). */
    readonly fields: readonly string[],
    readonly rules: readonly RuleHeader[],
  ) {}

  /** Builds the engine's matchers from a plan; predicates the engine rejects are returned, not thrown. */
  static compile(plan: SerializedPlan): { engine: Engine; errors: EngineCompileError[] } {
    const native = new addon.NativeEngine(JSON.stringify(plan));
    const rules: RuleHeader[] = [...plan.rules, ...plan.correlations].map((r) => ({
      id: r.id,
      title: r.title,
      level: r.level,
      status: r.status,
      tags: r.tags,
      name: r.name,
      path: r.path,
    }));
    return { engine: new Engine(native, plan.fields, rules), errors: native.compileErrors() };
  }

  evaluate(batch: Batch): Promise<EvalResult> {
    switch (batch.kind) {
      case "json":
        return this.evalJson(batch);
      case "json-spans":
        return this.evalJsonSpans(batch);
      case "arrow":
        return this.evalArrow(batch);
    }
  }

  async evalJson(batch: RawJsonBatch): Promise<EvalResult> {
    const output = await this.native.evalJson(batch.bytes, renderOptions(batch.origin));
    return this.#jsonResult(batch, output);
  }

  async evalJsonSpans(batch: SpannedJsonBatch): Promise<EvalResult> {
    let output: NativeJsonOutput;
    try {
      output = await this.native.evalJsonSpans(batch.source, batch.spans, renderOptions(batch.origin));
    } catch (error) {
      if ((error as { code?: unknown }).code === "InvalidArg") throw new InvalidBatch((error as Error).message);
      throw error;
    }
    if (output.joined === null) throw new Error("evalJsonSpans returned no joined chunk");
    return this.#jsonResult({ kind: "json", bytes: output.joined, origin: batch.origin }, output);
  }

  evalJsonSync(batch: RawJsonBatch): EvalResult {
    return this.#jsonResult(batch, this.native.evalJsonSync(batch.bytes));
  }

  #jsonResult(batch: RawJsonBatch, output: NativeJsonOutput): EvalResult {
    const { bytes } = batch;
    const offsets = output.lineOffsets;
    const deadLetters = Array.from(output.deadRows, (row, i) => ({ row, reason: output.deadReasons[i] ?? "rejected" }));
    const rejectedBySource = batch.origin.rejected ?? [];
    if (rejectedBySource.length > 0) {
      deadLetters.push(...rejectedBySource);
      deadLetters.sort((a, b) => a.row - b.row);
    }
    return {
      batch,
      rows: output.lines,
      events: output.events,
      matchRows: output.matchRows,
      matchRules: output.matchRules,
      deadLetters,
      rules: this.rules,
      renderedMatches: output.rendered ?? null,
      lineOffsets: offsets,
      eventJson: (row) => lineText(bytes, offsets, row),
      eventBytes: (row) => lineBytes(bytes, offsets, row),
      rawInput: (row) => lineText(bytes, offsets, row),
    };
  }

  /**
   * Matches of the detection rules by the naive rule-by-rule evaluator: the
   * oracle the optimized plan is tested against. Slow by design; tests only.
   */
  evalJsonReference(bytes: Uint8Array): { matchRows: Uint32Array; matchRules: Uint32Array } {
    return this.native.evalJsonReference(bytes);
  }

  /** Evaluated on a worker thread; the batch's buffers are read in place, so they must not change until this settles. */
  async evalArrow(batch: ArrowBatch): Promise<EvalResult> {
    const { records } = batch;
    let output: NativeMatchOutput;
    try {
      output = await this.native.evalArrow(records.packed(), batchSchema(records), batch.replyWithMatches === true ? matchBatchBuilder(this.rules) : null);
    } catch (error) {
      // The addon checks and validates the buffers: InvalidArg is the batch's own fault.
      if ((error as { code?: unknown }).code === "InvalidArg") throw new InvalidBatch((error as Error).message);
      throw error;
    }
    return {
      batch,
      rows: records.numRows,
      events: records.numRows,
      matchRows: output.matchRows,
      matchRules: output.matchRules,
      ...(output.matchBatch === undefined ? {} : { matchBatch: output.matchBatch }),
      deadLetters: [],
      rules: this.rules,
      renderedMatches: null,
      eventJson: (row) => rowJson(records.record(), row),
      rawInput: (row) => rowJson(records.record(), row),
    };
  }

  stats(): EngineStats {
    return JSON.parse(this.native.stats()) as EngineStats;
  }

  /**
   * The correlation state (windows per group) as versioned JSON bytes.
   * Take it when no evaluation is in flight to capture every batch fed so far.
   */
  snapshot(): Uint8Array {
    return new Uint8Array(this.native.snapshot());
  }

  /**
   * Replaces the correlation state by a snapshot's. State of correlations
   * that are no longer in the plan (or whose type or sources changed) is
   * ignored and listed in `ignored`. Throws on a malformed snapshot.
   */
  restore(snapshot: Uint8Array): RestoreReport {
    return JSON.parse(this.native.restore(Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength))) as RestoreReport;
  }

  /** The physical plan as the engine built it (matchers per field, sizes, shared predicates). */
  explain(): unknown {
    return JSON.parse(this.native.explain());
  }
}

/** Lines in an NDJSON chunk (a final line without newline counts). */
export function countLines(bytes: Uint8Array): number {
  return addon.countLines(bytes);
}

/** The Arrow columns the engine would build from NDJSON for `fields`, through the C Data Interface. */
export function jsonToArrow(bytes: Uint8Array, fields: string[]): RecordBatch {
  return importRecordBatch(addon.jsonToArrow(bytes, fields));
}

/**
 * Per Arrow schema: every batch of a stream shares its Schema object, and
 * the C schema (formats, names, flags) follows from it alone
 * (`describeSchema`), so it is built once per stream.
 */
const batchSchemas = new WeakMap<Schema, NativeBatchSchema>();

function batchSchema(records: ArrowRecords): NativeBatchSchema {
  let schema = batchSchemas.get(records.schema);
  if (schema === undefined) {
    schema = new addon.BatchSchema(describeSchema(records.schema));
    batchSchemas.set(records.schema, schema);
  }
  return schema;
}

const matchBatchBuilders = new WeakMap<readonly RuleHeader[], NativeMatchBatchBuilder>();

function matchBatchBuilder(rules: readonly RuleHeader[]): NativeMatchBatchBuilder {
  let builder = matchBatchBuilders.get(rules);
  if (builder === undefined) {
    builder = new addon.MatchBatchBuilder(JSON.stringify(rules.map((r) => ({ id: r.id, title: r.title, level: r.level, tags: r.tags }))));
    matchBatchBuilders.set(rules, builder);
  }
  return builder;
}

/**
 * The match batch of an evaluated batch (src/flight/matches.ts documents
 * its columns), built and IPC-encoded in the addon so that no per-match work
 * runs here: during the evaluation when the batch asked for it
 * (ArrowBatch.replyWithMatches), else now. The rule table crosses once per
 * rule list, not per match.
 */
export function encodeMatchBatch(result: EvalResult): NativeEncodedBatch {
  if (result.matchBatch !== undefined) return result.matchBatch;
  const builder = matchBatchBuilder(result.rules);
  const { batch, matchRows, matchRules } = result;
  if (batch.kind === "arrow") return builder.fromArrow(batch.records.packed(), batchSchema(batch.records), matchRows, matchRules);
  if (result.lineOffsets === undefined) throw new Error("a match batch of NDJSON input needs the chunk's line offsets");
  return builder.fromJson(batch.bytes, result.lineOffsets, matchRows, matchRules);
}

/** Line input has the engine render the match records too, so that no per-match work runs in JS. */
function renderOptions(origin: BatchOrigin): NativeRenderOptions | null {
  return origin instanceof LineOrigin ? { file: origin.file, firstLine: origin.firstLine, detected: new Date().toISOString() } : null;
}

/** Hands a described batch to the addon (schema and packed arrays) and returns the addon's export of what it imported. */
export function roundTripDescription(description: CDataArray): CDataArray {
  return addon.roundTripArrow(packArrays(description), new addon.BatchSchema(description));
}

/** Hands a batch's records to the addon as evaluation does and returns the addon's export of what it imported. */
export function roundTripRecords(records: ArrowRecords): CDataArray {
  return addon.roundTripArrow(records.packed(), batchSchema(records));
}

/** Exports a batch to the addon and imports the addon's export of it back. */
export function roundTripArrow(batch: RecordBatch): RecordBatch {
  return importRecordBatch(roundTripDescription(exportRecordBatch(batch)));
}

export const addonVersion = (): string => addon.version();
