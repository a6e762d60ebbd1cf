/**
 * Hot rule reload: the pipeline evaluates through a `LiveEngine`, which
 * holds the current compiled Engine and swaps in a new one on `reload()`.
 * Engines are immutable, so batches already in the old engine finish there;
 * every batch evaluated after the swap sees the new rules. A reload that
 * fails (no usable rules, a bad path) leaves the running engine in place.
 */

import type { Batch } from "../batch/batch.ts";
import type { Evaluator } from "../io/pipeline.ts";
import type { EvalResult } from "../io/result.ts";
import type { RuleHeader } from "../plan/types.ts";
import type { Engine, EngineStats } from "../native/engine.ts";

type EngineCounters = Omit<EngineStats, "correlation">;
import { log } from "../telemetry/log.ts";
import { compileRuleSet, runningRuleSet, type CompiledRuleSet, type RuleSetOptions, type RunningRuleSet } from "./ruleset.ts";

export interface ReloadOutcome {
  loaded: number;
  rejected: { path: string; id: string | null; reason: string }[];
  seconds: number;
  generation: number;
}

export class LiveEngine implements Evaluator {
  #current: RunningRuleSet;
  #generation = 1;
  #reloading: Promise<ReloadOutcome> | null = null;
  /** Counters of engines that reloads retired, so totals stay monotonic. */
  #retired: EngineCounters = { batches: 0, rows: 0, events: 0, matches: 0, correlationInputs: 0, deadLetters: 0, bytes: 0, parseNs: 0, matchNs: 0, conditionNs: 0 };

  constructor(
    initial: CompiledRuleSet,
    private readonly options: RuleSetOptions,
  ) {
    this.#current = runningRuleSet(initial);
  }

  get engine(): Engine {
    return this.#current.engine;
  }

  get ruleSet(): RunningRuleSet {
    return this.#current;
  }

  get generation(): number {
    return this.#generation;
  }

  rules(): readonly RuleHeader[] {
    return this.#current.engine.rules;
  }

  /** Engine counters since start, across reloads (correlation state is the current engine's). */
  stats(): EngineStats {
    const current = this.#current.engine.stats();
    const total = { ...this.#retired };
    for (const key of Object.keys(total) as (keyof EngineCounters)[]) total[key] += current[key];
    return { ...total, correlation: current.correlation };
  }

  evaluate(batch: Batch): Promise<EvalResult> {
    return this.#current.engine.evaluate(batch);
  }

  /** Recompiles the rules from the same paths and options; concurrent calls share one reload. */
  reload(): Promise<ReloadOutcome> {
    this.#reloading ??= this.#reload().finally(() => {
      this.#reloading = null;
    });
    return this.#reloading;
  }

  async #reload(): Promise<ReloadOutcome> {
    const next = compileRuleSet(this.options);
    // Correlation windows carry over; state of correlations that changed or left is dropped.
    next.engine.restore(this.#current.engine.snapshot());
    const { correlation: _carried, ...counters } = this.stats();
    this.#retired = counters;
    this.#current = runningRuleSet(next);
    this.#generation++;
    const outcome: ReloadOutcome = {
      loaded: next.loaded,
      rejected: next.rejected.map((r) => ({ path: r.path, id: r.id, reason: `${r.code}: ${r.message}` })),
      seconds: next.seconds,
      generation: this.#generation,
    };
    log.info("rules.reloaded", { loaded: outcome.loaded, rejected: outcome.rejected.length, generation: outcome.generation });
    return outcome;
  }
}
