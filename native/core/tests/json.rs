//! JSON → columns edge cases.
mod common;

use common::*;
use serde_json::json;
use sigma_core::json::{FieldIndex, JsonBatch, JsonLimits, JsonParser};

fn parse(fields: &[&str], chunk: &str, keywords: bool) -> JsonBatch {
    let f: Vec<String> = fields.iter().map(|s| s.to_string()).collect();
    let idx = FieldIndex::new(&f);
    let mut p = JsonParser::default();
    let mut b = JsonBatch::default();
    let lim = JsonLimits {
        max_event_bytes: 200,
        max_depth: 4,
        keywords,
    };
    p.parse_chunk(&idx, lim, chunk.as_bytes(), &mut b);
    b
}

fn vals(b: &JsonBatch, f: usize, row: u32) -> Vec<String> {
    b.columns[f].row_values(row).map(String::from).collect()
}

#[test]
fn paths_numbers_arrays() {
    let chunk = concat!(
        r#"{"a":{"b":"nested"},"n":4688,"big":18446744073709551615,"neg":-5,"f":1.5,"t":true,"z":null,"e":""}"#,
        "\n",
        r#"{"a.b":"dotted","arr":[1,"x",null,[2],{"k":"v"}],"o":{"k":[1,2]}}"#,
        "\n",
        "   \n",
        r#"{"a":[{"b":"in-array"}],"bigger":123456789012345678901234567890}"#,
        "\n",
    );
    let b = parse(
        &[
            "a.b", "n", "big", "neg", "f", "t", "z", "e", "arr", "o", "missing", "huge", "bigger",
        ],
        chunk,
        false,
    );
    assert_eq!(b.rows, 4);
    assert_eq!(b.line_offsets.len(), 5);
    assert!(b.dead_letters.is_empty(), "{:?}", b.dead_letters);
    assert_eq!(vals(&b, 0, 0), vec!["nested"]);
    assert_eq!(vals(&b, 0, 1), vec!["dotted"]);
    assert_eq!(vals(&b, 1, 0), vec!["4688"]);
    assert_eq!(vals(&b, 2, 0), vec!["18446744073709551615"]);
    assert_eq!(vals(&b, 3, 0), vec!["-5"]);
    assert_eq!(vals(&b, 4, 0), vec!["1.5"]);
    assert_eq!(vals(&b, 5, 0), vec!["true"]);
    // null vs absent vs "": null and absent are not present, "" is.
    assert!(!b.columns[6].present().get(0));
    assert!(!b.columns[10].present().get(0));
    assert!(b.columns[7].present().get(0));
    assert_eq!(vals(&b, 7, 0), vec![""]);
    assert_eq!(vals(&b, 8, 1), vec!["1", "x", "2", r#"{"k":"v"}"#]);
    assert!(b.columns[8].is_multi());
    assert_eq!(vals(&b, 9, 1), vec![r#"{"k":[1,2]}"#]);
    // blank line: a row, not valid, not dead
    assert!(!b.valid.get(2));
    assert!(b.valid.get(0) && b.valid.get(1));
    assert!(b.valid.get(3), "{:?}", b.dead_letters);
    assert_eq!(vals(&b, 0, 3), vec!["in-array"]);
    // beyond u64: parsed as a float, not an error
    assert_eq!(vals(&b, 12, 3), vec!["1.2345678901234568e+29"]);
}

#[test]
fn dead_letters() {
    let big = format!(r#"{{"a":"{}"}}"#, "x".repeat(300));
    let chunk = [
        r#"{"a":1}"#,
        r#"{"a":"#,
        r#"[1,2]"#,
        r#""str""#,
        &big,
        r#"{"a":{"b":{"c":{"d":{"e":1}}}}}"#,
        r#"{"a":{"b":{"c":{"d":1}}}}"#,
        "\u{1}garbage",
        r#"{"a":"ok"}"#,
    ]
    .join("\n");
    let b = parse(&["a"], &chunk, false);
    assert_eq!(b.rows, 9);
    let dead: Vec<(u32, &str)> = b
        .dead_letters
        .iter()
        .map(|d| (d.line, d.reason.as_str()))
        .collect();
    let lines: Vec<u32> = dead.iter().map(|d| d.0).collect();
    assert_eq!(lines, vec![1, 2, 3, 4, 5, 7], "{dead:?}");
    assert!(dead[0].1.starts_with("invalid JSON"));
    assert_eq!(dead[1].1, "not a JSON object");
    assert!(dead[3].1.contains("maxEventBytes"));
    assert!(dead[4].1.contains("maxDepth"), "{}", dead[4].1);
    assert!(b.valid.get(0) && b.valid.get(6) && b.valid.get(8));
    assert_eq!(b.valid.count(), 3);
}

#[test]
fn keywords_and_offsets() {
    let chunk = "{\"a\":\"x\",\"b\":{\"c\":[\"y\",1]},\"k\":\"z\"}\n{\"q\":2}";
    let b = parse(&["a"], chunk, true);
    let kw = b.keywords.as_ref().unwrap();
    assert_eq!(kw.row_values(0).collect::<Vec<_>>(), vec!["x", "y", "z"]);
    assert_eq!(kw.row_values(1).count(), 0);
    assert_eq!(b.line_offsets, vec![0, 36, chunk.len() as u32]);
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x1234_5678);
    let seeds = [
        r#"{"a":{"b":[1,2,{"c":"d"}]},"e":"\u00e9\n","f":-1.5e10}"#,
        r#"{"a.b":"x","arr":[[[[]]]]}"#,
    ];
    for i in 0..3000 {
        let mut bytes: Vec<u8> = seeds[i % 2].as_bytes().to_vec();
        match i % 3 {
            0 => bytes.truncate(rng.below(bytes.len())),
            1 => {
                for _ in 0..4 {
                    let p = rng.below(bytes.len());
                    bytes[p] = rng.next() as u8;
                }
            }
            _ => bytes = (0..rng.below(200)).map(|_| rng.next() as u8).collect(),
        }
        let chunk = String::from_utf8_lossy(&bytes).into_owned();
        let _ = parse(&["a.b", "arr", "e", "f", "a"], &chunk, true);
        // raw, possibly invalid UTF-8
        let f: Vec<String> = vec!["a".into()];
        let idx = FieldIndex::new(&f);
        let mut p = JsonParser::default();
        let mut b = JsonBatch::default();
        p.parse_chunk(
            &idx,
            JsonLimits {
                max_event_bytes: 1000,
                max_depth: 3,
                keywords: true,
            },
            &bytes,
            &mut b,
        );
    }
    let _ = json!(null);
}
