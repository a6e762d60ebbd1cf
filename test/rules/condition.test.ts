import { describe, expect, test } from "bun:test";
import type { CondNode, DetExpr } from "../../src/rules/ast.ts";
import { matchIdentifiers, parseCondition, parseConditionField, resolveCondition } from "../../src/rules/condition.ts";

const id = (name: string): CondNode => ({ kind: "id", name });
const P = (n: string): DetExpr => ({ const: n === "T" }); // placeholder expressions, compared by identity below
const searches = new Map<string, DetExpr>([
  ["selection_a", { pred: { field: "A", op: { kind: "exists" } } }],
  ["selection_b", { pred: { field: "B", op: { kind: "exists" } } }],
  ["filter_x", { pred: { field: "X", op: { kind: "exists" } } }],
  ["_hidden", { pred: { field: "H", op: { kind: "exists" } } }],
]);
const E = (n: string): DetExpr => searches.get(n) ?? P(n);

describe("condition grammar", () => {
  test("precedence: or < and < not", () => {
    expect(parseCondition("a or b and not c")).toEqual({ kind: "or", args: [id("a"), { kind: "and", args: [id("b"), { kind: "not", arg: id("c") }] }] });
  });
  test("parentheses", () => {
    expect(parseCondition("(a or b) and c")).toEqual({ kind: "and", args: [{ kind: "or", args: [id("a"), id("b")] }, id("c")] });
  });
  test("x of binds tighter than not", () => {
    expect(parseCondition("not 1 of filter_*")).toEqual({ kind: "not", arg: { kind: "of", quantifier: 1, pattern: "filter_*" } });
  });
  test("all of / any of / N of / them", () => {
    expect(parseCondition("all of them")).toEqual({ kind: "of", quantifier: "all", pattern: "them" });
    expect(parseCondition("any of sel*")).toEqual({ kind: "of", quantifier: 1, pattern: "sel*" });
    expect(parseCondition("2 of sel*")).toEqual({ kind: "of", quantifier: 2, pattern: "sel*" });
  });
  test("keywords are case-insensitive", () => {
    expect(parseCondition("a AND NOT b")).toEqual({ kind: "and", args: [id("a"), { kind: "not", arg: id("b") }] });
  });
  test("a condition list is the OR of its conditions", () => {
    expect(parseConditionField(["a", "b and c"]).node).toEqual({ kind: "or", args: [id("a"), { kind: "and", args: [id("b"), id("c")] }] });
  });
  test("errors carry the column", () => {
    expect(() => parseCondition("a and")).toThrow("expected an identifier or '(', found end of condition at column 6 of condition 'a and'");
    expect(() => parseCondition("(a or b")).toThrow("expected ')', found end of condition at column 8");
    expect(() => parseCondition("a b")).toThrow("unexpected 'b' at column 3");
    expect(() => parseCondition("a | count() > 5")).toThrow(/aggregation expressions.*column 3/);
    expect(() => parseCondition("1 of")).toThrow(/'them' or an identifier pattern/);
    expect(() => parseCondition("a & b")).toThrow("unexpected character '&' at column 3");
  });
});

describe("condition resolution", () => {
  test("identifiers", () => {
    expect(resolveCondition(parseCondition("selection_a and not filter_x"), searches)).toEqual({ and: [E("selection_a"), { not: E("filter_x") }] });
  });
  test("1 of pattern = OR, all of pattern = AND", () => {
    expect(resolveCondition(parseCondition("1 of selection_*"), searches)).toEqual({ or: [E("selection_a"), E("selection_b")] });
    expect(resolveCondition(parseCondition("all of selection_*"), searches)).toEqual({ and: [E("selection_a"), E("selection_b")] });
  });
  test("them skips identifiers starting with _", () => {
    expect(matchIdentifiers("them", searches.keys())).toEqual(["selection_a", "selection_b", "filter_x"]);
    expect(matchIdentifiers("*", searches.keys())).toEqual(["selection_a", "selection_b", "filter_x"]);
    expect(matchIdentifiers("_*", searches.keys())).toEqual(["_hidden"]);
    expect(resolveCondition(parseCondition("_hidden"), searches)).toEqual(E("_hidden"));
  });
  test("2 of three = OR of pairs", () => {
    const e = resolveCondition(parseCondition("2 of them"), searches);
    expect(e).toEqual({
      or: [
        { and: [E("selection_a"), E("selection_b")] },
        { and: [E("selection_a"), E("filter_x")] },
        { and: [E("selection_b"), E("filter_x")] },
      ],
    });
  });
  test("N greater than the count is false", () => {
    expect(resolveCondition(parseCondition("5 of them"), searches)).toEqual({ const: false });
  });
  test("unknown identifiers and empty patterns are errors", () => {
    expect(() => resolveCondition(parseCondition("nope"), searches)).toThrow("condition references unknown search identifier 'nope'");
    expect(() => resolveCondition(parseCondition("1 of nope*"), searches)).toThrow("'nope*' matches no search identifier");
    expect(() => resolveCondition(parseCondition("selection_*"), searches)).toThrow(/is a pattern/);
  });
});
