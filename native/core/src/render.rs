//! NDJSON match records for line-oriented input, rendered in Rust so that
//! no per-match work runs in JS on the file path. The record format is the
//! one `src/io/records.ts` documents and renders for other sources:
//!
//! `{"rule":{id,title,level,status,tags},"event":<the line>,"source":{"file":…,"line":N},"time":{"detected":…}}`
//!
//! Invariants: the event is the input line's bytes as received, less its
//! trailing `\r`/`\n` (the engine only reports matches for lines that parsed
//! as JSON objects, so the record is valid JSON); rule headers are
//! serialised once per engine; records follow the order of `matches`.

use crate::plan::Plan;

/// Pre-rendered rule headers, indexed like match rule ids (rules, then correlations).
#[derive(Debug, Clone, Default)]
pub struct MatchRenderer {
    headers: Vec<String>,
}

#[derive(serde::Serialize)]
struct Header<'a> {
    id: &'a str,
    title: &'a str,
    level: Option<&'a str>,
    status: Option<&'a str>,
    tags: &'a [String],
}

fn header(
    id: &str,
    title: &str,
    level: Option<&str>,
    status: Option<&str>,
    tags: &[String],
) -> String {
    serde_json::to_string(&Header {
        id,
        title,
        level,
        status,
        tags,
    })
    .unwrap_or_else(|_| "null".to_string())
}

/// Where a chunk's lines come from: the file name and the 1-based number of its first line.
pub struct LineSource<'a> {
    pub file: &'a str,
    pub first_line: u64,
    /// ISO-8601 detection time, the same for the whole batch.
    pub detected: &'a str,
}

impl MatchRenderer {
    pub fn new(plan: &Plan) -> MatchRenderer {
        let rules = plan.rules.iter().map(|r| {
            header(
                &r.id,
                &r.title,
                r.level.as_deref(),
                r.status.as_deref(),
                &r.tags,
            )
        });
        let correlations = plan.correlations.iter().map(|c| {
            header(
                &c.id,
                &c.title,
                c.level.as_deref(),
                c.status.as_deref(),
                &c.tags,
            )
        });
        MatchRenderer {
            headers: rules.chain(correlations).collect(),
        }
    }

    /// Renders one record per `(row, rule)` of `matches`; rows index `line_offsets`.
    pub fn render(
        &self,
        chunk: &[u8],
        line_offsets: &[u32],
        matches: &[(u32, u32)],
        source: &LineSource<'_>,
    ) -> Vec<u8> {
        let file = serde_json::to_string(source.file).unwrap_or_else(|_| "\"\"".to_string());
        let mut out = Vec::with_capacity(matches.len() * 512);
        let mut digits = itoa::Buffer::new();
        for &(row, rule) in matches {
            let (Some(header), Some(&start), Some(&end)) = (
                self.headers.get(rule as usize),
                line_offsets.get(row as usize),
                line_offsets.get(row as usize + 1),
            ) else {
                continue;
            };
            let line = chunk.get(start as usize..end as usize).unwrap_or_default();
            let event = trim_line_end(line);
            out.extend_from_slice(b"{\"rule\":");
            out.extend_from_slice(header.as_bytes());
            out.extend_from_slice(b",\"event\":");
            out.extend_from_slice(event);
            out.extend_from_slice(b",\"source\":{\"file\":");
            out.extend_from_slice(file.as_bytes());
            out.extend_from_slice(b",\"line\":");
            out.extend_from_slice(digits.format(source.first_line + u64::from(row)).as_bytes());
            out.extend_from_slice(b"},\"time\":{\"detected\":\"");
            out.extend_from_slice(source.detected.as_bytes());
            out.extend_from_slice(b"\"}}\n");
        }
        out
    }
}

fn trim_line_end(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., last] = line {
        if matches!(last, b'\n' | b'\r' | b' ' | b'\t') {
            line = rest;
        } else {
            break;
        }
    }
    while let [first, rest @ ..] = line {
        if matches!(first, b' ' | b'\t') {
            line = rest;
        } else {
            break;
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        let json = r#"{"version":1,"fields":["a"],"predicates":[{"field":0,"op":{"kind":"exists"}}],
          "rules":[{"id":"r1","title":"T \"q\"","level":"high","status":null,"tags":["x"],"name":null,"path":"p","condition":{"pred":0},"emit":true}],
          "correlations":[],"options":{"maxEventBytes":1000,"maxDepth":10,"timestampField":null,"threads":1}}"#;
        match Plan::from_json(json) {
            Ok(plan) => plan,
            Err(e) => panic!("test plan: {e}"),
        }
    }

    #[test]
    fn renders_records_with_line_numbers_and_the_raw_event() {
        let renderer = MatchRenderer::new(&plan());
        let chunk = b"{\"a\":1}\r\n\n  {\"a\":\"x\"}  \n";
        let offsets = [0u32, 9, 10, 24];
        let source = LineSource {
            file: "f\"1.ndjson",
            first_line: 41,
            detected: "2026-01-01T00:00:00.000Z",
        };
        let out = renderer.render(chunk, &offsets, &[(0, 0), (2, 0), (5, 0), (0, 9)], &source);
        let text = String::from_utf8(out).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            r#"{"rule":{"id":"r1","title":"T \"q\"","level":"high","status":null,"tags":["x"]},"event":{"a":1},"source":{"file":"f\"1.ndjson","line":41},"time":{"detected":"2026-01-01T00:00:00.000Z"}}"#
        );
        assert!(lines[1].contains(r#""event":{"a":"x"},"source":{"file":"f\"1.ndjson","line":43}"#));
        for line in lines {
            assert!(serde_json::from_str::<serde_json::Value>(line).is_ok());
        }
    }
}
