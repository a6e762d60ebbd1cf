//! Separate messages (Kafka values) → one NDJSON chunk, line `r` holding
//! message `r`. A source hands the messages as spans of a buffer it already
//! holds, so that the copy into a chunk runs here, on the engine's threads,
//! and not on the thread that does the I/O.
//!
//! One message must stay one line, so a message's raw line breaks cannot be
//! copied as they are:
//! - outside JSON strings a CR or LF is whitespace (pretty-printed JSON), so
//!   it becomes a space and the event is unchanged;
//! - inside a string a raw CR or LF is invalid JSON that the producer
//!   clearly meant as a line break, so it becomes the escape `\r` or `\n`.
//!
//! An empty span is a blank line, which the parser skips: the source lists
//! such rows itself (a tombstone has no event).
//!
//! Invariant: the output has exactly one `\n` per span, each at the end of
//! that span's line, and no other CR or LF byte.

/// Spans that do not describe ranges of the source: the caller's bug or a
/// tampered call, reported rather than read out of bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSpans(pub String);

impl std::fmt::Display for BadSpans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Joins `source[spans[2r]..spans[2r + 1]]` for every `r` into NDJSON lines
/// (see the module doc).
pub fn join_lines(source: &[u8], spans: &[u32]) -> Result<Vec<u8>, BadSpans> {
    if !spans.len().is_multiple_of(2) {
        return Err(BadSpans(format!(
            "{} span bounds: expected (start, end) pairs",
            spans.len()
        )));
    }
    let mut total = 0usize;
    for (row, pair) in spans.chunks_exact(2).enumerate() {
        let (start, end) = (pair[0] as usize, pair[1] as usize);
        if start > end || end > source.len() {
            return Err(BadSpans(format!(
                "span {row} is {start}..{end}, outside the {}-byte source",
                source.len()
            )));
        }
        total += end - start + 1;
    }
    let mut out = Vec::with_capacity(total);
    for pair in spans.chunks_exact(2) {
        let message = source
            .get(pair[0] as usize..pair[1] as usize)
            .unwrap_or_default();
        if memchr::memchr2(b'\n', b'\r', message).is_none() {
            out.extend_from_slice(message);
        } else {
            push_single_line(message, &mut out);
        }
        out.push(b'\n');
    }
    Ok(out)
}

/// `message` with its CR and LF bytes rewritten (see the module doc).
fn push_single_line(message: &[u8], out: &mut Vec<u8>) {
    let mut in_string = false;
    let mut escaped = false;
    for &byte in message {
        match byte {
            b'\n' | b'\r' => {
                if in_string {
                    out.extend_from_slice(if byte == b'\n' { b"\\n" } else { b"\\r" });
                } else {
                    out.push(b' ');
                }
                escaped = false;
                continue;
            }
            _ => out.push(byte),
        }
        if escaped {
            escaped = false;
        } else if byte == b'\\' && in_string {
            escaped = true;
        } else if byte == b'"' {
            in_string = !in_string;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages of `parts` as one source with their spans.
    fn spans_of(parts: &[&str]) -> (Vec<u8>, Vec<u32>) {
        let mut source = Vec::new();
        let mut spans = Vec::new();
        for part in parts {
            // A gap between messages, as record headers sit between values.
            source.extend_from_slice(b"##");
            spans.push(source.len() as u32);
            source.extend_from_slice(part.as_bytes());
            spans.push(source.len() as u32);
        }
        (source, spans)
    }

    fn joined(parts: &[&str]) -> String {
        let (source, spans) = spans_of(parts);
        String::from_utf8(join_lines(&source, &spans).expect("valid spans")).expect("utf-8")
    }

    #[test]
    fn one_line_per_span_gaps_left_out() {
        assert_eq!(
            joined(&[r#"{"a":1}"#, r#"{"a":2}"#]),
            "{\"a\":1}\n{\"a\":2}\n"
        );
    }

    #[test]
    fn empty_spans_are_blank_lines() {
        assert_eq!(joined(&["", r#"{"ok":true}"#, ""]), "\n{\"ok\":true}\n\n");
        assert_eq!(join_lines(b"", &[]), Ok(Vec::new()));
    }

    #[test]
    fn pretty_json_stays_one_line_and_keeps_its_value() {
        let pretty = "{\n  \"msg\": \"line1\nline2\",\r\n  \"esc\": \"a\\\"\n\"\n}\n";
        let out = joined(&[pretty]);
        assert_eq!(out.matches('\n').count(), 1);
        assert!(!out.contains('\r'));
        let value: serde_json::Value = serde_json::from_str(out.trim_end()).expect("valid JSON");
        assert_eq!(value["msg"], "line1\nline2");
        assert_eq!(value["esc"], "a\"\n");
    }

    #[test]
    fn escaped_quotes_and_backslashes_keep_the_string_state() {
        assert_eq!(
            joined(&["{\"p\":\"C:\\\\x\\\\\",\"q\":\"\n\"}"]),
            "{\"p\":\"C:\\\\x\\\\\",\"q\":\"\\n\"}\n"
        );
    }

    #[test]
    fn spans_outside_the_source_are_refused() {
        assert!(join_lines(b"abc", &[0, 4]).is_err());
        assert!(join_lines(b"abc", &[2, 1]).is_err());
        assert!(join_lines(b"abc", &[0]).is_err());
    }
}
