/**
 * The engine's physical plan as text, EXPLAIN style: one line per field
 * matcher (its hash-set, literal scanner, glob, regex and other predicate counts),
 * then the rule stages. The engine reports the plan as data
 * (`Engine.explain()`); this module only prints it, one describer per node.
 */

export interface PhysicalField {
  field: string;
  exact: number;
  prefix: number;
  suffix: number;
  contains: number;
  acPatternsCased: number;
  acPatternsFolded: number;
  globGated: number;
  globUngated: number;
  regex: number;
  numeric: number;
  cidr: number;
  exists: number;
  null: number;
  fieldref: number;
  timepart: number;
  /** Heap bytes of the literal scanners (windowed substring indexes). */
  scannerBytes: number;
}

export interface PhysicalPlan {
  fields: PhysicalField[];
  predicates: number;
  rules: number;
  rulesTriggered: number;
  rulesUntriggered: number;
  rulesNever: number;
  /** Predicates gating the keyword column (all its patterns are scanned only where one hits); null: every row. */
  keywordGate: number | null;
  /** With a gate, the rules using keywords without a route: their keywords alone are scanned on the other rows. */
  keywordOpenRules: number;
  /** Fields whose string values are scanned as keywords in the field's own pass (the keyword column leaves them out). */
  keywordCarriers: number;
  sharedPredicates: number;
  expensivePredicates: number;
  correlations: number;
}

/** One field's matcher: only the parts it has. */
export function describePhysicalField(f: PhysicalField): string {
  const parts: string[] = [];
  if (f.exact > 0) parts.push(`hash-set exact=${f.exact}`);
  const patterns = f.acPatternsCased + f.acPatternsFolded;
  if (patterns > 0) {
    const kinds = [f.prefix > 0 ? `prefix=${f.prefix}` : "", f.suffix > 0 ? `suffix=${f.suffix}` : "", f.contains > 0 ? `contains=${f.contains}` : ""].filter(Boolean);
    const kib = (f.scannerBytes / 1024).toFixed(0);
    parts.push(`literals patterns=${patterns} (folded=${f.acPatternsFolded}, cased=${f.acPatternsCased}; ${kinds.join(", ")}; window index ${kib} KiB)`);
  }
  if (f.globGated + f.globUngated > 0) parts.push(`glob gated=${f.globGated} ungated=${f.globUngated}`);
  for (const [name, count] of [["regex", f.regex], ["numeric", f.numeric], ["cidr", f.cidr], ["exists", f.exists], ["null", f.null], ["fieldref", f.fieldref], ["timepart", f.timepart]] as const) {
    if (count > 0) parts.push(`${name}=${count}`);
  }
  const name = f.field === "*" ? "<keywords: every string value>" : f.field;
  return `FieldMatcher ${name}: ${parts.join(", ") || "no predicates"}`;
}

export function describePhysicalStages(p: PhysicalPlan): string[] {
  const keywords = p.fields.some((f) => f.field === "*")
    ? p.keywordGate === null
      ? "; keywords on every row"
      : `; keywords only on rows where one of their rules' ${p.keywordGate} routing predicates hit` +
        (p.keywordOpenRules > 0 ? `, except those of ${p.keywordOpenRules} unrouted rule(s), on every row` : "")
    : "";
  const carried = keywords !== "" && p.keywordCarriers > 0 ? `; ${p.keywordCarriers} fields scan their string values as keywords too` : "";
  return [
    `Stage 1  field matchers: ${p.fields.length} fields, ${p.predicates} predicates (${p.sharedPredicates} shared by several rules), one pass per distinct value per batch${keywords}${carried}`,
    `Stage 2  rule triggers: ${p.rulesTriggered} rules visited only where one of their trigger predicates hit, ${p.rulesUntriggered} visited in every batch, ${p.rulesNever} never true`,
    `Stage 3  expensive predicates: ${p.expensivePredicates} (regex, ungated glob, fieldref, timepart), only on rows still live for a rule that uses them`,
    `Stage 4  conditions: ${p.rules} rules resolved with row bitsets`,
    `Stage 5  correlations: ${p.correlations}`,
  ];
}

export function explainPhysical(p: PhysicalPlan): string {
  return ["PhysicalPlan (engine)", ...describePhysicalStages(p).map((l) => `  ${l}`), "  Fields:", ...p.fields.map((f) => `    ${describePhysicalField(f)}`)].join("\n");
}
