/**
 * The typed Sigma AST shared by the loader, the pipelines and the plan
 * builder. A detection rule is its metadata plus a detection: named search
 * identifiers, each already compiled from YAML values and modifiers into a
 * boolean tree (`DetExpr`) of field predicates, and a condition AST over those
 * identifiers. Predicates name fields by string here; the plan builder interns
 * them. A `placeholder` leaf is an `expand` value not yet resolved (pipelines
 * or config supply the values); a rule that still holds one when the plan is
 * built is rejected.
 */

import type { ConditionBound, CorrelationKind, Level, PredicateOp, StringMode } from "../plan/types.ts";

export interface LogSource {
  category: string | null;
  product: string | null;
  service: string | null;
}

export interface RuleMeta {
  /** Sigma `id`, or null when the rule has none. */
  id: string | null;
  title: string;
  name: string | null;
  level: Level | null;
  status: string | null;
  tags: string[];
  logsource: LogSource;
  /** The file the rule came from. */
  path: string;
}

/** A predicate op as in the plan, except that fieldref names its field. */
export type AstOp =
  | Exclude<PredicateOp, { kind: "fieldref" }>
  | { kind: "fieldref"; other: string; mode: StringMode; cased: boolean };

/** A predicate on a named field; `field` null means a keyword (any string value). */
export interface FieldPredicate {
  field: string | null;
  op: AstOp;
}

/** An `expand` value waiting for placeholder values. */
export interface PlaceholderItem {
  field: string | null;
  /** The raw value, e.g. `%Admins%` or `C:\Users\%user%\`. */
  value: string;
  /** The full modifier chain as written, `expand` included. */
  modifiers: string[];
}

/** The boolean tree of a search identifier (and of a resolved rule). */
export type DetExpr =
  | { pred: FieldPredicate }
  | { placeholder: PlaceholderItem }
  | { and: DetExpr[] }
  | { or: DetExpr[] }
  | { not: DetExpr }
  | { const: boolean };

/** Condition AST over search identifiers. */
export type CondNode =
  | { kind: "id"; name: string }
  | { kind: "and"; args: CondNode[] }
  | { kind: "or"; args: CondNode[] }
  | { kind: "not"; arg: CondNode }
  /** `N of pattern` / `all of pattern`; `pattern` "them" means every identifier not starting with `_`. */
  | { kind: "of"; quantifier: number | "all"; pattern: string };

export interface Detection {
  /** Search identifiers in document order. */
  searches: Map<string, DetExpr>;
  /** The condition (a YAML list of conditions is one `or` node). */
  condition: CondNode;
  /** The condition text(s) as written, for explain and errors. */
  conditionText: string[];
}

export interface SigmaRule extends RuleMeta {
  kind: "rule";
  detection: Detection;
  /** Extra conjuncts added by filters and pipelines (logsource conditions), ANDed with the condition. */
  extra: DetExpr[];
}

export interface SigmaCorrelation extends RuleMeta {
  kind: "correlation";
  type: CorrelationKind;
  /** Referenced rules or correlations, by id or name, as written. */
  rules: string[];
  groupBy: string[];
  timespanMs: number;
  condition: ConditionBound;
  valueField: string | null;
  percentile: number | null;
  /** alias → (rule name or id → field name). */
  aliases: Map<string, Map<string, string>>;
  generate: boolean;
}

export interface SigmaFilter extends RuleMeta {
  kind: "filter";
  /** Target rules by id or name. */
  rules: string[];
  detection: Detection;
}

export interface RuleError {
  path: string;
  id: string | null;
  title: string | null;
  code: RuleErrorCode;
  message: string;
}

export type RuleErrorCode =
  | "io"
  | "yaml"
  | "structure"
  | "modifier"
  | "value"
  | "condition"
  | "regex"
  | "placeholder"
  | "correlation"
  | "filter"
  | "pipeline"
  | "duplicate";

/** Thrown inside the rule compiler and turned into a RuleError by the loader. */
export class RuleCompileError extends Error {
  constructor(
    readonly code: RuleErrorCode,
    message: string,
  ) {
    super(message);
  }
}
