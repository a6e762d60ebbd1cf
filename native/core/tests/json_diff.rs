//! Differential test of the JSON fast path (json/scan.rs): on random and
//! adversarial lines it must give exactly the columns, keyword column,
//! validity and dead letters of the simd-json tape path.
mod common;

use common::Rng;
use sigma_core::json::{FieldIndex, JsonBatch, JsonLimits, JsonParser};

const FIELDS: &[&str] = &[
    "a", "a.b", "a.b.c", "arr", "n", "s", "x.y", "", ".z", "k", "u.v", "é", "a.b.c.d",
];
const KEYS: &[&str] = &[
    "a", "b", "c", "d", "a.b", "arr", "n", "s", "x", "y", "x.y", "", "z", "k", "u", "v", "é", "q",
    "b.c", "\\u0061", "a\\\"b",
];
const STRINGS: &[&str] = &[
    "",
    "plain",
    "C:\\\\Windows\\\\System32\\\\cmd.exe",
    "q\\\"uote",
    "\\/",
    "\\b\\f\\n\\r\\t",
    "\\u00e9t\\u00C9",
    "\\u0000",
    "\\ud83d\\ude00",
    "\\ud800",
    "\\udc00x",
    "\\ud800\\u0041",
    "\\x",
    "\\u12",
    "\\uzzzz",
    "é😀",
    "tab\there",
    "nl\nraw",
    "\u{1}",
    "\u{7f}",
    "long long long value with \\\\ a backslash and é",
    "0123456789abcdef0123456789abcdef0123456789",
    "\\",
    "ends with backslash\\\\",
];
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "4688",
    "123456789012345678",
    "-123456789012345678",
    "1234567890123456789",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "123456789012345678901234567890",
    "1.0",
    "1.5",
    "-0.0",
    "0.1",
    "1e5",
    "1E+5",
    "1e-7",
    "2.5e-3",
    "1.5e300",
    "1e400",
    "-1e400",
    "1e99",
    "01",
    "1.",
    ".5",
    "-",
    "+1",
    "0x10",
    "1e",
    "1e+",
    "--1",
    "0.000001",
    "1.7976931348623157e308",
    "12345678901234567.5",
    "123456789.123456789",
    "5e-324",
    "00",
    "-01",
];
const LITS: &[&str] = &[
    "true", "false", "null", "tru", "nul", "falsey", "NaN", "Infinity",
];
const WS: &[&str] = &[" ", "\t", "\r", "\n", "  ", "\u{c}", "\u{a0}"];

fn pick(rng: &mut Rng, v: &[&'static str]) -> &'static str {
    v[rng.below(v.len())]
}

struct Gen<'r> {
    rng: &'r mut Rng,
}

impl Gen<'_> {
    fn ws(&mut self, out: &mut String) {
        if self.rng.chance(15) {
            // mostly JSON whitespace, sometimes not
            let w = if self.rng.chance(90) {
                pick(self.rng, &WS[..5])
            } else {
                pick(self.rng, WS)
            };
            out.push_str(w);
        }
    }
    fn value(&mut self, out: &mut String, depth: usize) {
        let r = self.rng.below(100);
        if depth > 7 || r < 35 {
            out.push('"');
            out.push_str(pick(self.rng, STRINGS));
            out.push('"');
        } else if r < 55 {
            out.push_str(pick(self.rng, NUMBERS));
        } else if r < 63 {
            out.push_str(pick(self.rng, LITS));
        } else if r < 82 {
            self.object(out, depth + 1);
        } else {
            out.push('[');
            self.ws(out);
            let n = self.rng.below(4);
            for i in 0..n {
                if i > 0 {
                    out.push(',');
                    self.ws(out);
                }
                self.value(out, depth + 1);
                self.ws(out);
            }
            out.push(']');
        }
    }
    fn object(&mut self, out: &mut String, depth: usize) {
        out.push('{');
        self.ws(out);
        let n = self.rng.below(5);
        for i in 0..n {
            if i > 0 {
                out.push(',');
                self.ws(out);
            }
            out.push('"');
            out.push_str(pick(self.rng, KEYS));
            out.push('"');
            self.ws(out);
            out.push(':');
            self.ws(out);
            self.value(out, depth);
            self.ws(out);
        }
        out.push('}');
    }
    fn line(&mut self) -> Vec<u8> {
        let mut s = String::new();
        self.ws(&mut s);
        if self.rng.chance(95) {
            self.object(&mut s, 1);
        } else {
            self.value(&mut s, 1);
        }
        self.ws(&mut s);
        let mut b = s.into_bytes();
        if self.rng.chance(10) && !b.is_empty() {
            let n = self.rng.below(b.len());
            b.truncate(n);
        }
        if self.rng.chance(8) && !b.is_empty() {
            let p = self.rng.below(b.len());
            let bad: &[&[u8]] = &[
                b"\xff",
                b"\xc0\x80",
                b"\x80",
                b"\xe2\x82",
                b"\xed\xa0\x80",
                b"\xf4\x90\x80\x80",
            ];
            let ins = bad[self.rng.below(bad.len())];
            b.splice(p..p, ins.iter().copied());
        }
        if self.rng.chance(5) && !b.is_empty() {
            let p = self.rng.below(b.len());
            b[p] = self.rng.next() as u8;
        }
        b.retain(|&c| c != b'\n');
        b
    }
}

/// One column as compared: `(row, value)` pairs, present bits, multi.
type Col = (Vec<(u32, String)>, Vec<bool>, bool);

fn check(
    fields: &[String],
    chunk: &[u8],
    limits: JsonLimits,
    fast: &mut JsonParser,
    slow: &mut JsonParser,
) {
    let idx = FieldIndex::new(fields);
    let mut a = JsonBatch::default();
    let mut b = JsonBatch::default();
    fast.parse_chunk(&idx, limits, chunk, &mut a);
    slow.parse_chunk(&idx, limits, chunk, &mut b);
    let ctx = || String::from_utf8_lossy(chunk).into_owned();
    assert_eq!(a.rows, b.rows);
    assert_eq!(a.line_offsets, b.line_offsets);
    assert_eq!(a.valid, b.valid, "valid differs on {}", ctx());
    assert_eq!(
        a.dead_letters,
        b.dead_letters,
        "dead letters differ on {}",
        ctx()
    );
    let cols = |x: &JsonBatch| -> Vec<Col> {
        x.columns
            .iter()
            .chain(x.keywords.iter())
            .map(|c| {
                (
                    c.iter().map(|(r, v)| (r, v.to_string())).collect(),
                    (0..x.rows).map(|r| c.present().get(r)).collect(),
                    c.is_multi(),
                )
            })
            .collect()
    };
    let (ca, cb) = (cols(&a), cols(&b));
    for (i, (x, y)) in ca.iter().zip(cb.iter()).enumerate() {
        assert_eq!(x, y, "column {i} differs on {}", ctx());
    }
    assert_eq!(ca.len(), cb.len());
}

#[test]
fn fast_path_matches_tape_on_random_lines() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let fields: Vec<String> = FIELDS.iter().map(|s| s.to_string()).collect();
    let mut fast = JsonParser::with_fast_path(true);
    let mut slow = JsonParser::with_fast_path(false);
    for round in 0..4000 {
        let nlines = 1 + rng.below(6);
        let mut chunk = Vec::new();
        for _ in 0..nlines {
            let l = Gen { rng: &mut rng }.line();
            chunk.extend_from_slice(&l);
            chunk.push(b'\n');
        }
        let limits = JsonLimits {
            max_event_bytes: if round % 7 == 0 { 60 } else { 100_000 },
            max_depth: 2 + (round % 7) as u32,
            keywords: round % 2 == 0,
        };
        // a random subset of the fields, so keys are both hits and misses
        let sub: Vec<String> = fields.iter().filter(|_| rng.chance(70)).cloned().collect();
        check(&sub, &chunk, limits, &mut fast, &mut slow);
    }
    let (ok, fell) = fast.fast_path_counts();
    eprintln!("fast {ok}, fallback {fell}");
    assert!(ok > 1000 && fell > 1000, "fast {ok}, fallback {fell}");
}

#[test]
fn fast_path_matches_tape_on_edge_lines() {
    let lines: &[&str] = &[
        r#"{"a":{"b":"nested"},"n":4688,"big":18446744073709551615,"neg":-5,"f":1.5,"t":true,"z":null,"e":""}"#,
        r#"{"a.b":"dotted","arr":[1,"x",null,[2],{"k":"v"}],"o":{"k":[1,2]}}"#,
        r#"{"a":[{"b":"in-array"}],"bigger":123456789012345678901234567890}"#,
        r#"{"a":[[{"b":"deep"}],{"b":["m",1,[true]]}],"a.b":"also"}"#,
        r#"{"":{"x":{"y":"empty-prefix"}},"x":{"y":"xy"}}"#,
        r#"{"n":-0,"s":"-0","k":0}"#,
        r#"{"n":1,"n":2,"n":[3]}"#,
        r#"{"arr":[],"s":[[]]}"#,
        r#"{"s":"\u0000\ud83d\ude00\u00e9\/"}"#,
        "{\"s\":\"é😀\"}",
        "{\"s\":\"\x01\"}",
        r#"{"s":"x"} "#,
        r#"{"s":"x"}x"#,
        r#"{"s":"x",}"#,
        r#"{"s" "x"}"#,
        r#"{"s":"x"}{"#,
        r#"{"a":{"b":{"c":{"d":{"e":1}}}}}"#,
        r#"{"a":{"b":{"c":{"d":1}}}}"#,
        r#"{"a":[[[[1]]]]}"#,
        r#"{"a":[[[1]]]}"#,
        r#"[1,2]"#,
        r#""str""#,
        "{}",
        "{ }",
        "\t{\"s\" : \"ws\" ,\r\"n\"\t:\n1 }",
    ];
    let fields: Vec<String> = FIELDS.iter().map(|s| s.to_string()).collect();
    let mut fast = JsonParser::with_fast_path(true);
    let mut slow = JsonParser::with_fast_path(false);
    for kw in [false, true] {
        for depth in [3, 4, 5, 64] {
            let limits = JsonLimits {
                max_event_bytes: 1000,
                max_depth: depth,
                keywords: kw,
            };
            let chunk = lines.join("\n");
            check(&fields, chunk.as_bytes(), limits, &mut fast, &mut slow);
            for l in lines {
                check(&fields, l.as_bytes(), limits, &mut fast, &mut slow);
            }
        }
    }
}

/// Real events: `SIGMA_DIFF_EVENTS=file.ndjson SIGMA_DIFF_PLAN=plan.json
/// cargo test --release -p sigma-core --test json_diff -- --ignored`.
#[test]
#[ignore]
fn fast_path_matches_tape_on_event_file() {
    let (Ok(ev), Ok(plan)) = (
        std::env::var("SIGMA_DIFF_EVENTS"),
        std::env::var("SIGMA_DIFF_PLAN"),
    ) else {
        return;
    };
    let data = std::fs::read(ev).unwrap();
    let plan = sigma_core::Plan::from_json(&std::fs::read_to_string(plan).unwrap()).unwrap();
    let mut fast = JsonParser::with_fast_path(true);
    let mut slow = JsonParser::with_fast_path(false);
    let mut start = 0;
    while start < data.len() {
        let mut end = (start + (1 << 20)).min(data.len());
        end = memchr::memchr(b'\n', &data[end..]).map_or(data.len(), |i| end + i + 1);
        for keywords in [false, true] {
            let limits = JsonLimits {
                max_event_bytes: 1 << 20,
                max_depth: 64,
                keywords,
            };
            check(
                &plan.fields,
                &data[start..end],
                limits,
                &mut fast,
                &mut slow,
            );
        }
        start = end;
    }
    let (ok, fell) = fast.fast_path_counts();
    eprintln!("fast path: {ok} lines, fallback: {fell}");
}
