//! A server-sent events parser that takes the body as it comes: events split across reads, several
//! events in one read, `\n`, `\r\n` or `\r` line ends (a `\r\n` split between two reads too), comment
//! lines (keep-alives, `: ping`), `event:`/`id:`/`retry:` fields (ignored), multi-line `data:`. It never
//! panics; a line longer than [`MAX_LINE`] is an error (a server that never ends a line must not make the
//! client buffer without bound).

/// The longest line accepted, in bytes.
pub const MAX_LINE: usize = 8 << 20;

/// Incremental SSE parser: [`SseParser::feed`] bytes as they arrive, take the `data` of each complete
/// event.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    data: Option<String>,
    after_cr: bool,
    /// Whether any field or comment line was seen (a body that never had one is not SSE).
    pub seen_field: bool,
}

/// A line longer than [`MAX_LINE`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineTooLong;

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes; returns the `data` of every event they completed, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<String>, LineTooLong> {
        let mut out = Vec::new();
        for &b in bytes {
            match b {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    self.end_line(&mut out);
                }
                _ => {
                    self.after_cr = false;
                    if self.line.len() >= MAX_LINE {
                        return Err(LineTooLong);
                    }
                    self.line.push(b);
                }
            }
        }
        Ok(out)
    }

    /// The end of the body: an event whose blank line never came is still dispatched (lenient), a
    /// partial last line included.
    pub fn finish(&mut self) -> Option<String> {
        if !self.line.is_empty() {
            let mut out = Vec::new();
            self.end_line(&mut out);
            debug_assert!(out.is_empty());
        }
        self.data.take()
    }

    fn end_line(&mut self, out: &mut Vec<String>) {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                out.push(data);
            }
            return;
        }
        let text = String::from_utf8_lossy(&line);
        if text.starts_with(':') {
            self.seen_field = true;
            return;
        }
        let (field, value) = match text.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (&*text, ""),
        };
        match field {
            "data" => {
                self.seen_field = true;
                match &mut self.data {
                    Some(d) => {
                        d.push('\n');
                        d.push_str(value);
                    }
                    None => self.data = Some(value.to_string()),
                }
            }
            "event" | "id" | "retry" => self.seen_field = true,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(chunks: &[&[u8]]) -> Vec<String> {
        let mut p = SseParser::new();
        let mut out = Vec::new();
        for c in chunks {
            out.extend(p.feed(c).unwrap());
        }
        out.extend(p.finish());
        out
    }

    #[test]
    fn events_split_across_reads_and_several_per_read() {
        assert_eq!(
            all(&[b"data: {\"a\"", b":1}\n", b"\ndata: 2\n\ndata: 3\n\n"]),
            ["{\"a\":1}", "2", "3"]
        );
    }

    #[test]
    fn crlf_cr_comments_fields_and_multiline_data() {
        assert_eq!(
            all(&[
                b": keep-alive\r\n\r\nevent: x\r\nid: 1\r",
                b"\ndata: a\r\ndata: b\r\n\r\n",
                b"data:c\r\r"
            ]),
            ["a\nb", "c"]
        );
        // A comment alone dispatches nothing.
        assert!(all(&[b": ping\n\n"]).is_empty());
    }

    #[test]
    fn an_unterminated_last_event_is_dispatched() {
        assert_eq!(all(&[b"data: [DONE]"]), ["[DONE]"]);
    }

    #[test]
    fn a_line_without_end_is_bounded() {
        let mut p = SseParser::new();
        let big = vec![b'x'; MAX_LINE];
        assert!(p.feed(&big).is_ok());
        assert_eq!(p.feed(b"y"), Err(LineTooLong));
    }

    /// Events rendered with one line-end style.
    fn render(events: &[Vec<String>], eol: &str, comments: bool) -> Vec<u8> {
        let mut s = String::new();
        for lines in events {
            if comments {
                s.push_str(": keep-alive");
                s.push_str(eol);
            }
            for l in lines {
                s.push_str("data: ");
                s.push_str(l);
                s.push_str(eol);
            }
            s.push_str(eol);
        }
        s.into_bytes()
    }

    proptest! {
        /// However the body is cut into reads, whatever the line ends and keep-alives, the same events
        /// come out.
        #[test]
        fn any_split_gives_the_same_events(
            events in prop::collection::vec(prop::collection::vec("[^\r\n]{0,12}", 1..3), 0..6),
            eol in prop::sample::select(vec!["\n", "\r\n", "\r"]),
            comments in any::<bool>(),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let body = render(&events, eol, comments);
            let mut at: Vec<usize> = cuts.iter().map(|i| i.index(body.len() + 1)).collect();
            at.push(0);
            at.push(body.len());
            at.sort_unstable();
            let chunks: Vec<&[u8]> = at.windows(2).map(|w| &body[w[0]..w[1]]).collect();
            let want: Vec<String> = events.iter().map(|l| l.join("\n")).collect();
            prop_assert_eq!(all(&chunks), want);
        }

        /// Arbitrary bytes never panic.
        #[test]
        fn arbitrary_bytes_never_panic(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..8)) {
            let mut p = SseParser::new();
            for c in &chunks {
                let _ = p.feed(c);
            }
            let _ = p.finish();
        }
    }
}
