/**
 * The serialized rule plan: the one contract between the TypeScript rule
 * compiler (src/rules, src/plan) and the Rust engine (native/core/src/plan.rs).
 *
 * Invariants every plan handed to the engine satisfies (checked by
 * `validatePlan` in src/plan/validate.ts and again by the Rust deserializer):
 * - `fields[i]` is unique; a predicate's `field` indexes `fields`, or is
 *   `KEYWORD_FIELD` (-1), meaning "any string value anywhere in the event".
 * - `predicates[i]` is unique under structural equality: identical predicates
 *   from different rules share one id (that is what makes the plan shared).
 * - every `{ pred }` node of a rule or correlation expression indexes `predicates`.
 * - string values are already folded when `cased` is false: the engine
 *   compares against the event value folded with the same Unicode simple case
 *   folding (`foldCase` in src/rules/fold.ts, `fold` in native/core/src/fold.rs).
 *
 * Field names are dotted paths: `a.b` addresses `{"a":{"b":..}}` as well as a
 * top-level key spelled `a.b`.
 */

export const PLAN_VERSION = 1 as const;

/** The predicate's field is every string value of the event (Sigma keywords). */
export const KEYWORD_FIELD = -1 as const;

export type StringMode = "exact" | "prefix" | "suffix" | "contains";

/** A piece of a wildcard pattern: literal text, `*` (any run) or `?` (one char). */
export type GlobPart = { lit: string } | { any: true } | { one: true };

export type PredicateOp =
  /** Literal comparison. `value` is folded when `cased` is false. */
  | { kind: "string"; mode: StringMode; value: string; cased: boolean }
  /** A wildcard pattern that is not a plain prefix/suffix/contains/exact literal. */
  | { kind: "glob"; parts: GlobPart[]; cased: boolean }
  /** A regular expression (Rust `regex` syntax), unanchored, as Sigma's `re`. */
  | { kind: "regex"; pattern: string; flags: { i: boolean; m: boolean; s: boolean } }
  /** Numeric comparison; the event value is parsed as a number. */
  | { kind: "compare"; cmp: "gt" | "gte" | "lt" | "lte"; value: number }
  /** IPv4 or IPv6 network in CIDR notation. */
  | { kind: "cidr"; network: string }
  /** The field is present with a non-null value. */
  | { kind: "exists" }
  /** The field is absent or null. */
  | { kind: "null" }
  /** Equality (or prefix/suffix/contains) with another field of the same event. */
  | { kind: "fieldref"; other: number; mode: StringMode; cased: boolean }
  /** A part of a timestamp field, as Sigma's minute/hour/day/week/month/year modifiers. */
  | { kind: "timepart"; part: "minute" | "hour" | "day" | "week" | "month" | "year"; value: number };

export interface Predicate {
  field: number;
  op: PredicateOp;
}

/** A boolean expression over predicate ids. */
export type Expr =
  | { pred: number }
  | { and: Expr[] }
  | { or: Expr[] }
  | { not: Expr }
  | { const: boolean };

export type Level = "informational" | "low" | "medium" | "high" | "critical";

/** What every rule of a plan carries into its matches, detection and correlation alike. */
export interface RuleHeader {
  /** Sigma rule id (uuid), or a synthetic id when the rule has none. */
  id: string;
  title: string;
  level: Level | null;
  status: string | null;
  tags: string[];
  /** Rule name, used by correlations to reference it. */
  name: string | null;
  /** The file the rule came from. */
  path: string;
}

export interface RulePlan extends RuleHeader {
  condition: Expr;
  /** False for rules that only feed correlations (`generate: false`). */
  emit: boolean;
}

export type CorrelationKind =
  | "event_count"
  | "value_count"
  | "temporal"
  | "temporal_ordered"
  | "value_sum"
  | "value_avg"
  | "value_percentile";

export interface ConditionBound {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
  eq?: number;
  neq?: number;
}

export interface CorrelationPlan extends RuleHeader {
  kind: CorrelationKind;
  /** Indexes into `rules` (base rules) or into `correlations` (offset by `rules.length`). */
  sources: number[];
  /** Per source, the field names to group by (aliases already resolved). */
  groupBy: string[][];
  timespanMs: number;
  condition: ConditionBound;
  /** The field for value_count / value_sum / value_avg / value_percentile. */
  valueField: string | null;
  percentile: number | null;
  emit: boolean;
}

export interface EngineOptions {
  /** Events longer than this many bytes are dead-lettered. */
  maxEventBytes: number;
  /** Objects and arrays nested deeper than this are dead-lettered. */
  maxDepth: number;
  /** Event-time field for correlations; arrival time when null. */
  timestampField: string | null;
  /** Worker threads inside the addon; 0 means one per core. */
  threads: number;
}

export interface SerializedPlan {
  version: typeof PLAN_VERSION;
  fields: string[];
  predicates: Predicate[];
  rules: RulePlan[];
  correlations: CorrelationPlan[];
  options: EngineOptions;
}
