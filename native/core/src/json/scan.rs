//! The fast path of json.rs: one validating pass over a line, specialised
//! for "fill the plan's columns". It walks the event's keys, looks each one
//! up in the `FieldIndex` (dotted paths, as the tape walker builds them),
//! materialises only referenced values and skips the rest while still
//! validating them (grammar, string escapes, UTF-8, depth); string bodies are
//! scanned 32 bytes at a time. It never decides a line is bad: anything it
//! does not accept with certainty — malformed input, too deep, keys with
//! escapes, lone surrogates, control characters, floats or integers beyond
//! 18 digits in a referenced field, objects as referenced values — returns
//! `Fallback`, the caller rolls this row back and re-parses the line with the
//! simd-json tape path, which then gives the verdict and the dead-letter
//! reason. So what it accepts, it must accept exactly as the tape path would,
//! with identical text (json.rs's differential test checks this).

use super::{FieldIndex, PathEntry};
use crate::plan::FieldId;
use crate::text::{ColumnMark, TextColumn};

/// The line needs the tape path.
#[derive(Debug)]
pub(crate) struct Fallback;

type R<T> = Result<T, Fallback>;

/// Per-thread scratch of the fast path.
#[derive(Debug, Default)]
pub(crate) struct ScanScratch {
    path: Vec<u8>,
    /// Columns written in the current line, with their state before it.
    touched: Vec<(usize, ColumnMark)>,
}

/// A string token: content `s[start..end]` (raw, escapes not decoded).
#[derive(Clone, Copy)]
struct Str {
    start: usize,
    end: usize,
    escaped: bool,
}

enum Num {
    /// An integer of at most 18 digits: its text is its canonical text.
    Int,
    /// Valid JSON, but not materialised by the fast path.
    Other,
}

/// What an array's elements are for.
#[derive(Clone, Copy)]
enum ArrayMode {
    /// Validate only (keyword strings still collected).
    Skip,
    /// Flatten the scalars into this field column.
    Field(usize),
    /// Continue the current path into the objects.
    Descend,
}

struct Scanner<'a, 'c> {
    s: &'a [u8],
    pos: usize,
    index: &'a FieldIndex,
    row: u32,
    max_depth: usize,
    cols: &'c mut [TextColumn],
    kw: Option<&'c mut TextColumn>,
    path: &'c mut Vec<u8>,
    touched: &'c mut Vec<(usize, ColumnMark)>,
}

/// Scan one trimmed, non-empty line into the columns of `row`. On `Err`
/// every push made for `row` has been undone.
pub(crate) fn scan_line(
    line: &[u8],
    index: &FieldIndex,
    row: u32,
    max_depth: usize,
    cols: &mut [TextColumn],
    kw: Option<&mut TextColumn>,
    scratch: &mut ScanScratch,
) -> R<()> {
    scratch.path.clear();
    scratch.touched.clear();
    let kw_mark = kw.as_ref().map(|k| k.mark());
    let mut sc = Scanner {
        s: line,
        pos: 0,
        index,
        row,
        max_depth,
        cols,
        kw,
        path: &mut scratch.path,
        touched: &mut scratch.touched,
    };
    let res = sc.run();
    if res.is_err() {
        for &(f, m) in sc.touched.iter() {
            if let Some(c) = sc.cols.get_mut(f) {
                c.rollback(m, row);
            }
        }
        if let (Some(k), Some(m)) = (sc.kw.as_deref_mut(), kw_mark) {
            k.rollback(m, row);
        }
    }
    res
}

/// Push string content `raw` (decoded if `escaped`) as a value of `row`.
#[inline]
fn push_text(c: &mut TextColumn, row: u32, raw: &str, escaped: bool) -> R<()> {
    if escaped {
        let mut ok = Ok(());
        c.push_with(row, |o| ok = unescape(raw, o));
        ok
    } else {
        c.push(row, raw);
        Ok(())
    }
}

/// Column `f` of `cols`; records its state before the line's first write.
#[inline]
fn touch<'c>(
    cols: &'c mut [TextColumn],
    touched: &mut Vec<(usize, ColumnMark)>,
    row: u32,
    f: usize,
) -> Option<&'c mut TextColumn> {
    let c = cols.get_mut(f)?;
    if !c.present().get(row as usize) {
        touched.push((f, c.mark()));
    }
    Some(c)
}

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The block of up to 16 bytes of `s` at `i`: a bit mask of its `"`, `\\`
/// and control (< 0x20) bytes, a mask of its bytes >= 0x80, and its width
/// (0 at the end of `s`).
#[inline]
fn block(s: &[u8], i: usize) -> (u32, u32, usize) {
    #[cfg(target_arch = "x86_64")]
    if i + 16 <= s.len() {
        use std::arch::x86_64::{
            __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8,
            _mm_or_si128, _mm_set1_epi8,
        };
        // SAFETY: `i + 16 <= s.len()`, so the unaligned 16-byte load reads
        // only bytes of `s`; SSE2 is part of the x86_64 baseline, so these
        // intrinsics are always available.
        let (m, hi) = unsafe {
            let v = _mm_loadu_si128(s.as_ptr().add(i) as *const __m128i);
            let q = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
            let b = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
            let lim = _mm_set1_epi8(0x1f);
            let c = _mm_cmpeq_epi8(_mm_max_epu8(v, lim), lim);
            (
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(q, b), c)) as u32,
                _mm_movemask_epi8(v) as u32,
            )
        };
        return (m, hi, 16);
    }
    let rest = s.get(i..).unwrap_or_default();
    let rest = rest.get(..16).unwrap_or(rest);
    let (mut m, mut hi) = (0u32, 0u32);
    for (k, &b) in rest.iter().enumerate() {
        if b == b'"' || b == b'\\' || b < 0x20 {
            m |= 1 << k;
        }
        if b >= 0x80 {
            hi |= 1 << k;
        }
    }
    (m, hi, rest.len())
}

/// `block` for 32 bytes at `i`, as two 16-byte blocks: half the string
/// loop's turns, 6–7% more otrf events/s parsed than one block at a time
/// (one AVX2 load instead, chosen at run time, added only ~3%). 0 width when
/// fewer than 32 bytes are left, where the caller takes a 16-byte `block`.
#[inline(always)]
fn block32(s: &[u8], i: usize) -> (u32, u32, usize) {
    if i + 32 > s.len() {
        return (0, 0, 0);
    }
    let (m0, h0, _) = block(s, i);
    let (m1, h1, _) = block(s, i + 16);
    (m0 | m1 << 16, h0 | h1 << 16, 32)
}

#[inline]
fn hex4(s: &[u8], i: usize) -> Option<u32> {
    let h = s.get(i..i + 4)?;
    let mut v = 0u32;
    for &c in h {
        v = v * 16 + (c as char).to_digit(16)?;
    }
    Some(v)
}

/// Decode the escape sequence at `src[i]` (a `\\`): the character and the
/// index after the sequence.
#[inline]
fn decode_escape(src: &[u8], i: usize) -> R<(char, usize)> {
    Ok(match src.get(i + 1).copied().ok_or(Fallback)? {
        b'"' => ('"', i + 2),
        b'\\' => ('\\', i + 2),
        b'/' => ('/', i + 2),
        b'b' => ('\u{8}', i + 2),
        b'f' => ('\u{c}', i + 2),
        b'n' => ('\n', i + 2),
        b'r' => ('\r', i + 2),
        b't' => ('\t', i + 2),
        b'u' => {
            let u = hex4(src, i + 2).ok_or(Fallback)?;
            if (0xD800..0xDC00).contains(&u) {
                if src.get(i + 6..i + 8) != Some(b"\\u") {
                    return Err(Fallback);
                }
                let lo = hex4(src, i + 8).ok_or(Fallback)?;
                if !(0xDC00..0xE000).contains(&lo) {
                    return Err(Fallback);
                }
                let c = char::from_u32(0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
                (c.ok_or(Fallback)?, i + 12)
            } else {
                (char::from_u32(u).ok_or(Fallback)?, i + 6)
            }
        }
        _ => return Err(Fallback),
    })
}

/// Decode the raw content of a string (validated by `Scanner::string`)
/// with escapes onto the end of `out`, 16 bytes at a time: each block is
/// stored to the output unconditionally and the output advances only up to
/// the first backslash (the simdjson technique). Leaves `out` unchanged on
/// error.
#[cfg(target_arch = "x86_64")]
fn unescape(raw: &str, out: &mut String) -> R<()> {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        _mm_storeu_si128,
    };
    let src = raw.as_bytes();
    // SAFETY: only bytes of valid UTF-8 are made part of the string (see
    // below), and `out`'s length changes only by `set_len` at the end.
    let v = unsafe { out.as_mut_vec() };
    // Decoding never lengthens: an escape of n bytes decodes to at most n
    // bytes (2 → 1, `\\uXXXX` → ≤ 3, a surrogate pair of 12 → 4). So with
    // `o - base <= i` throughout, a 16-byte store at `o` while
    // `i + 16 <= src.len()` stays within `base + src.len() + 16`.
    v.reserve(src.len() + 16);
    let base = v.len();
    let mut o = base;
    let mut i = 0;
    let dst = v.as_mut_ptr();
    loop {
        if i + 16 <= src.len() {
            // SAFETY: the load reads `src[i..i + 16]` (in bounds); the store
            // writes `dst[o..o + 16]`, inside the reserved capacity by the
            // invariant above (`o + 16 <= base + i + 16 <= base +
            // src.len() + 16`). SSE2 is baseline on x86_64.
            let m = unsafe {
                let b = _mm_loadu_si128(src.as_ptr().add(i) as *const __m128i);
                _mm_storeu_si128(dst.add(o) as *mut __m128i, b);
                _mm_movemask_epi8(_mm_cmpeq_epi8(b, _mm_set1_epi8(b'\\' as i8))) as u32
            };
            if m == 0 {
                i += 16;
                o += 16;
                continue;
            }
            let k = m.trailing_zeros() as usize;
            i += k;
            o += k;
        } else {
            while let Some(&b) = src.get(i) {
                if b == b'\\' {
                    break;
                }
                // SAFETY: `o < base + i + 1 <= base + src.len()`, inside
                // the reserved capacity.
                unsafe { dst.add(o).write(b) };
                i += 1;
                o += 1;
            }
            if i >= src.len() {
                break;
            }
        }
        let (c, next) = decode_escape(src, i)?;
        let mut buf = [0u8; 4];
        let e = c.encode_utf8(&mut buf).as_bytes();
        // SAFETY: `e.len() <= next - i` (decoding never lengthens), so
        // `o + e.len() <= base + next <= base + src.len()`: in capacity.
        unsafe { std::ptr::copy_nonoverlapping(e.as_ptr(), dst.add(o), e.len()) };
        o += e.len();
        i = next;
    }
    // SAFETY: `dst[base..o]` was written: copies of `src` runs that start
    // and end at ASCII bytes (so whole UTF-8 sequences of a valid string)
    // and UTF-8 encodings of chars; `o` is within capacity.
    unsafe { v.set_len(o) };
    Ok(())
}

/// Decode the raw content of a string (validated by `Scanner::string`)
/// with escapes onto the end of `out` (portable version).
#[cfg(not(target_arch = "x86_64"))]
fn unescape(raw: &str, out: &mut String) -> R<()> {
    let b = raw.as_bytes();
    let base = out.len();
    let mut i = 0;
    while i < b.len() {
        let next = memchr::memchr(b'\\', b.get(i..).unwrap_or_default()).map_or(b.len(), |k| i + k);
        out.push_str(raw.get(i..next).ok_or(Fallback)?);
        if next >= b.len() {
            break;
        }
        match decode_escape(b, next) {
            Ok((c, after)) => {
                out.push(c);
                i = after;
            }
            Err(e) => {
                out.truncate(base);
                return Err(e);
            }
        }
    }
    Ok(())
}

impl Scanner<'_, '_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(&b) = self.s.get(self.pos) {
            if !is_ws(b) {
                break;
            }
            self.pos += 1;
        }
    }

    #[inline]
    fn expect(&mut self, c: u8) -> R<()> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Fallback)
        }
    }

    fn run(&mut self) -> R<()> {
        self.ws();
        if self.peek() != Some(b'{') {
            return Err(Fallback);
        }
        self.object(true, 1)?;
        self.ws();
        if self.pos == self.s.len() {
            Ok(())
        } else {
            Err(Fallback)
        }
    }

    /// A string at `pos` (which holds `"`), validated. Works 32 bytes at a
    /// time (16 near the line's end); the escapes of a block (Windows paths
    /// are full of `\\\\`) are handled from its mask without reloading.
    fn string(&mut self) -> R<Str> {
        let start = self.pos + 1;
        let mut i = start;
        // First byte not consumed by an escape sequence.
        let mut next = start;
        let mut nonascii = false;
        let mut escaped = false;
        loop {
            let (mut m, hi, w) = match block32(self.s, i) {
                (_, _, 0) => block(self.s, i),
                wide => wide,
            };
            if w == 0 {
                return Err(Fallback);
            }
            nonascii |= hi != 0;
            while m != 0 {
                let k = i + m.trailing_zeros() as usize;
                m &= m - 1;
                if k < next {
                    continue;
                }
                match self.s.get(k).copied() {
                    Some(b'"') => {
                        if nonascii
                            && std::str::from_utf8(self.s.get(start..k).ok_or(Fallback)?).is_err()
                        {
                            return Err(Fallback);
                        }
                        self.pos = k + 1;
                        return Ok(Str {
                            start,
                            end: k,
                            escaped,
                        });
                    }
                    Some(b'\\') => {
                        escaped = true;
                        next = self.escape(k)?;
                    }
                    _ => return Err(Fallback),
                }
            }
            i = (i + w).max(next);
        }
    }

    /// Validate the escape sequence at `k` (a `\\`); returns its end.
    #[inline]
    fn escape(&self, k: usize) -> R<usize> {
        Ok(match self.s.get(k + 1).copied().ok_or(Fallback)? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => k + 2,
            b'u' => {
                let u = hex4(self.s, k + 2).ok_or(Fallback)?;
                if (0xD800..0xDC00).contains(&u) {
                    if self.s.get(k + 6..k + 8) != Some(b"\\u") {
                        return Err(Fallback);
                    }
                    let lo = hex4(self.s, k + 8).ok_or(Fallback)?;
                    if !(0xDC00..0xE000).contains(&lo) {
                        return Err(Fallback);
                    }
                    k + 12
                } else if (0xDC00..0xE000).contains(&u) {
                    return Err(Fallback);
                } else {
                    k + 6
                }
            }
            _ => return Err(Fallback),
        })
    }

    /// Push the string `t` to field column `col` (if any) and to the
    /// keyword column (if enabled).
    fn push_str(&mut self, t: Str, col: Option<usize>) -> R<()> {
        let raw = self.s.get(t.start..t.end).ok_or(Fallback)?;
        // SAFETY: `string()` returned `t`, so `raw` is valid UTF-8: every
        // byte of it lies in a `block` whose high-bit mask was checked (or
        // in an escape sequence, validated as ASCII), and if any byte was
        // >= 0x80 the whole content passed `std::str::from_utf8`; otherwise
        // it is all ASCII.
        let raw = unsafe { std::str::from_utf8_unchecked(raw) };
        let row = self.row;
        let c = match col {
            Some(f) => Some(touch(self.cols, self.touched, row, f).ok_or(Fallback)?),
            None => None,
        };
        let first = match c {
            Some(c) => c,
            None => match self.kw.as_deref_mut() {
                Some(k) => return push_text(k, row, raw, t.escaped),
                None => return Ok(()),
            },
        };
        push_text(first, row, raw, t.escaped)?;
        if let Some(k) = self.kw.as_deref_mut() {
            if col.is_some_and(|f| self.index.carries_keywords(f)) {
                first.mark_keyword();
                return Ok(());
            }
            // The keyword column gets the same (already decoded) text.
            let (_, v) = first
                .value(first.num_values().wrapping_sub(1))
                .ok_or(Fallback)?;
            k.push(row, v);
        }
        Ok(())
    }

    /// Column `f`, remembering its state before this line's first write.
    #[inline]
    fn col(&mut self, f: usize) -> Option<&mut TextColumn> {
        touch(self.cols, self.touched, self.row, f)
    }

    fn literal(&mut self, lit: &[u8]) -> R<()> {
        if self.s.get(self.pos..self.pos + lit.len()) == Some(lit) {
            self.pos += lit.len();
            Ok(())
        } else {
            Err(Fallback)
        }
    }

    fn digits(&mut self) -> usize {
        let st = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - st
    }

    /// A JSON number at `pos`. Shapes the tape path might treat specially
    /// (many digits, large exponents) are not accepted.
    fn number(&mut self) -> R<Num> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int = match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                1
            }
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(Fallback),
        };
        let mut frac = 0;
        let mut float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            frac = self.digits();
            if frac == 0 {
                return Err(Fallback);
            }
            float = true;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            let e = self.digits();
            if e == 0 || e > 2 {
                return Err(Fallback);
            }
            float = true;
        }
        if int + frac > 18 {
            return Err(Fallback);
        }
        Ok(if float { Num::Other } else { Num::Int })
    }

    /// Validate and skip the value at `pos` (collecting keyword strings).
    fn skip_value(&mut self, depth: usize) -> R<()> {
        match self.peek() {
            Some(b'"') => {
                let t = self.string()?;
                if self.kw.is_some() {
                    self.push_str(t, None)?;
                }
                Ok(())
            }
            Some(b'{') => self.object(false, depth + 1),
            Some(b'[') => self.array(ArrayMode::Skip, depth + 1),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number().map(|_| ()),
            _ => Err(Fallback),
        }
    }

    /// A scalar value of field column `f`.
    fn emit_scalar(&mut self, f: usize) -> R<()> {
        let row = self.row;
        match self.peek() {
            Some(b'"') => {
                let t = self.string()?;
                self.push_str(t, Some(f))
            }
            Some(b't') => {
                self.literal(b"true")?;
                self.col(f).ok_or(Fallback)?.push(row, "true");
                Ok(())
            }
            Some(b'f') => {
                self.literal(b"false")?;
                self.col(f).ok_or(Fallback)?.push(row, "false");
                Ok(())
            }
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => {
                let st = self.pos;
                let Num::Int = self.number()? else {
                    return Err(Fallback);
                };
                let txt = self.s.get(st..self.pos).ok_or(Fallback)?;
                let txt = if txt == b"-0" { b"0" } else { txt };
                let txt = std::str::from_utf8(txt).map_err(|_| Fallback)?;
                self.col(f).ok_or(Fallback)?.push(row, txt);
                Ok(())
            }
            _ => Err(Fallback),
        }
    }

    /// The value of a key whose path is in the index (`path` holds it).
    fn entry_value(&mut self, e: PathEntry, depth: usize) -> R<()> {
        let f = e.field.map(FieldId::idx);
        match self.peek() {
            // An object as a field value is its JSON text: tape path.
            Some(b'{') if f.is_some() => Err(Fallback),
            Some(b'{') => self.object(e.prefix, depth + 1),
            // A field's array is flattened; any object in it falls back, so
            // there is nothing left for the prefix to continue into.
            Some(b'[') => match f {
                Some(f) => self.array(ArrayMode::Field(f), depth + 1),
                None if e.prefix => self.array(ArrayMode::Descend, depth + 1),
                None => self.array(ArrayMode::Skip, depth + 1),
            },
            _ => match f {
                Some(f) => self.emit_scalar(f),
                None => self.skip_value(depth),
            },
        }
    }

    /// An array at `pos` at `depth`.
    fn array(&mut self, mode: ArrayMode, depth: usize) -> R<()> {
        if depth > self.max_depth {
            return Err(Fallback);
        }
        self.pos += 1;
        if let ArrayMode::Field(f) = mode {
            let row = self.row;
            let c = self.col(f).ok_or(Fallback)?;
            c.mark_multi();
            c.mark_present(row);
        }
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            match (mode, self.peek()) {
                (ArrayMode::Skip, _) => self.skip_value(depth)?,
                // Objects in a field's array become JSON text: tape path.
                (ArrayMode::Field(_), Some(b'{')) => return Err(Fallback),
                (ArrayMode::Field(_) | ArrayMode::Descend, Some(b'[')) => {
                    self.array(mode, depth + 1)?
                }
                (ArrayMode::Field(f), _) => self.emit_scalar(f)?,
                (ArrayMode::Descend, Some(b'{')) => self.object(true, depth + 1)?,
                (ArrayMode::Descend, _) => self.skip_value(depth)?,
            }
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.ws();
                }
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(Fallback),
            }
        }
    }

    /// An object at `pos` at `depth`; `lookup`: its keys continue `path`.
    fn object(&mut self, lookup: bool, depth: usize) -> R<()> {
        if depth > self.max_depth {
            return Err(Fallback);
        }
        self.pos += 1;
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(Fallback);
            }
            let k = self.string()?;
            self.ws();
            self.expect(b':')?;
            self.ws();
            if lookup {
                if k.escaped {
                    return Err(Fallback);
                }
                let key = self.s.get(k.start..k.end).ok_or(Fallback)?;
                let plen = self.path.len();
                let entry = if plen == 0 {
                    self.index.get(key)
                } else {
                    self.path.push(b'.');
                    self.path.extend_from_slice(key);
                    self.index.get(self.path)
                };
                match entry {
                    Some(e) => {
                        if e.prefix && plen == 0 {
                            self.path.extend_from_slice(key);
                        }
                        let r = self.entry_value(e, depth);
                        self.path.truncate(plen);
                        r?;
                    }
                    None => {
                        self.path.truncate(plen);
                        self.skip_value(depth)?;
                    }
                }
            } else {
                self.skip_value(depth)?;
            }
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.ws();
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(Fallback),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `block32`'s masks against bytewise ones at every offset of a text
    /// with quotes, backslashes, control and non-ASCII bytes.
    #[test]
    fn block32_masks_each_byte_of_32() {
        let text: Vec<u8> = (0..200u32)
            .map(|k| {
                [b'a', b'"', b'\\', 0x01, 0x1f, 0x20, 0x7f, 0x80, 0xc3, 0xff][(k * 7 % 10) as usize]
            })
            .collect();
        for i in 0..text.len() {
            let (m, hi, w) = block32(&text, i);
            if i + 32 > text.len() {
                assert_eq!(w, 0);
                continue;
            }
            assert_eq!(w, 32);
            for (k, &b) in text[i..i + 32].iter().enumerate() {
                assert_eq!(
                    m >> k & 1 == 1,
                    b == b'"' || b == b'\\' || b < 0x20,
                    "offset {i}, byte {k}"
                );
                assert_eq!(hi >> k & 1 == 1, b >= 0x80, "offset {i}, byte {k}");
            }
        }
    }
}
