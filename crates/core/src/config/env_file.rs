//! Parser for `.env.sandbox` / `.env.live` files.
//!
//! Accepted lines: blank, `# comment`, `KEY=value`, `export KEY=value`. Values may be bare (a ` #` starts a
//! trailing comment; surrounding spaces are trimmed), `'single quoted'` (literal) or `"double quoted"` (with
//! `\n`, `\t`, `\"`, `\\` escapes). No variable expansion: a `$` is a plain character. Anything else is an
//! error naming the file, line and column — and never the value, nor a name that is not valid or not a
//! variable avb reads (either may be a value pasted in the wrong place).

use super::error::Problem;

/// A rejected line: where (byte offset into the raw line) and why.
type LineError = (usize, String);

/// Parses a file's text into `(key, value)` pairs, or the problems found (file, line and column named).
pub fn parse(
    file: &str,
    text: &str,
    registry: &super::keys::Registry,
) -> Result<Vec<(String, String)>, Vec<Problem>> {
    let mut pairs = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        match parse_line(raw, registry) {
            Ok(Some(pair)) => pairs.push(pair),
            Ok(None) => {}
            Err((offset, reason)) => problems.push(Problem::EnvFile {
                file: file.to_string(),
                line: i + 1,
                column: raw.get(..offset).map_or(1, |s| s.chars().count() + 1),
                reason,
            }),
        }
    }
    if problems.is_empty() {
        Ok(pairs)
    } else {
        Err(problems)
    }
}

/// Byte offset of `part` (a subslice of `raw`) in `raw`.
fn offset(raw: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(raw.as_ptr() as usize)
}

fn parse_line(
    raw: &str,
    registry: &super::keys::Registry,
) -> Result<Option<(String, String)>, LineError> {
    let line = raw.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let line = line
        .strip_prefix("export ")
        .map(str::trim_start)
        .unwrap_or(line);
    let Some((key, value)) = line.split_once('=') else {
        return Err((offset(raw, line), "expected KEY=value".to_string()));
    };
    let key = key.trim_end();
    let bad = key
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit())));
    if let Some((i, _)) = bad.or(key.is_empty().then_some((0, ' '))) {
        return Err((
            offset(raw, key) + i,
            "the variable name is not valid (letters, digits and '_', not starting with a digit)"
                .to_string(),
        ));
    }
    let value = value.trim_start();
    // Only a variable avb reads is named: any other well-formed name may be a secret pasted before an `=`
    // (`sk_live_abc123="…`), and is no help to show.
    let named = |reason: String| match registry.find(key) {
        Some(_) => format!("{key}: {reason}"),
        None => format!("{reason} (a variable avb does not read: its name is not shown)"),
    };
    parse_value(value)
        .map(|v| Some((key.to_string(), v)))
        .map_err(|(at, reason)| (offset(raw, value) + at, named(reason)))
}

/// The value, or the byte offset into `v` where it goes wrong and why (never quoting `v`).
fn parse_value(v: &str) -> Result<String, LineError> {
    let rest_ok = |at: usize| {
        let rest = &v[at..];
        let trimmed = rest.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            Ok(())
        } else {
            Err((
                at + rest.len() - trimmed.len(),
                "unexpected text after the closing quote (the value is not shown)".to_string(),
            ))
        }
    };
    if let Some(body) = v.strip_prefix('\'') {
        let end = body
            .find('\'')
            .ok_or((0, "unterminated single quote".to_string()))?;
        rest_ok(1 + end + 1)?;
        return Ok(body[..end].to_string());
    }
    if let Some(body) = v.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    rest_ok(1 + i + 1)?;
                    return Ok(out);
                }
                '\\' => match chars.next().map(|(_, e)| e) {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some(_) => {
                        return Err((
                            1 + i,
                            "unknown escape in a double-quoted value (allowed: \\n \\t \\\" \\\\)"
                                .to_string(),
                        ));
                    }
                    None => break,
                },
                c => out.push(c),
            }
        }
        return Err((0, "unterminated double quote".to_string()));
    }
    let bare = match v.find(" #") {
        Some(i) => &v[..i],
        None => v,
    };
    Ok(bare.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::super::keys::{Key, Registry, key};

    const READ: &[Key] = &[
        key("EVENT_BUS", "t", "t", "t", "t"),
        key("AWS_SECRET_ACCESS_KEY", "t", "t", "t", "t"),
    ];

    fn parse(
        file: &str,
        text: &str,
    ) -> Result<Vec<(String, String)>, Vec<super::super::error::Problem>> {
        super::parse(file, text, &Registry::new([READ]))
    }

    #[test]
    fn parses_the_documented_forms() {
        let text = "# c\n\nEVENT_BUS=redis\nexport REDIS_URL = redis://h:1 # trailing\nA='x # y'\nB=\"l1\\nq\\\"\" # c\nC=\nD=a$b\n";
        let pairs = parse(".env.sandbox", text).unwrap();
        let want = [
            ("EVENT_BUS", "redis"),
            ("REDIS_URL", "redis://h:1"),
            ("A", "x # y"),
            ("B", "l1\nq\""),
            ("C", ""),
            ("D", "a$b"),
        ];
        assert_eq!(pairs, want.map(|(k, v)| (k.to_string(), v.to_string())));
    }

    #[test]
    fn reports_file_line_and_column_for_each_bad_line() {
        let err = parse(
            ".env.live",
            "OK=1\nno equals\n1BAD=x\nQ=\"open\n  R='x' y\nS=\"a\\qb\"\n",
        )
        .unwrap_err();
        let shown: Vec<String> = err.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                ".env.live:2:1: expected KEY=value",
                ".env.live:3:1: the variable name is not valid (letters, digits and '_', not starting with a digit)",
                ".env.live:4:3: unterminated double quote (a variable avb does not read: its name is not shown)",
                ".env.live:5:9: unexpected text after the closing quote (the value is not shown) (a variable avb does not read: its name is not shown)",
                ".env.live:6:5: unknown escape in a double-quoted value (allowed: \\n \\t \\\" \\\\) (a variable avb does not read: its name is not shown)",
            ]
        );
    }

    /// A well-formed name that is not a variable avb reads may be a secret pasted before an `=`: not shown;
    /// a variable avb reads is named.
    #[test]
    fn only_a_variable_avb_reads_is_named() {
        let err = parse(".env", "sk_live_SECRET=\"abc\nEVENT_BUS=\"memory\n").unwrap_err();
        let shown: Vec<String> = err.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                ".env:1:16: unterminated double quote (a variable avb does not read: its name is not shown)",
                ".env:2:11: EVENT_BUS: unterminated double quote",
            ]
        );
    }

    /// The lines: a value glued to a closing quote and a name with a space in it.
    #[test]
    fn errors_never_show_the_value_or_a_bad_name() {
        let err = parse(
            ".env",
            "AWS_SECRET_ACCESS_KEY=\"abc\"SECRET\nPULSAR_TOKEN SECRET=x\nX='SECRET\nSECRET\n",
        )
        .unwrap_err();
        let shown: Vec<String> = err.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                ".env:1:28: AWS_SECRET_ACCESS_KEY: unexpected text after the closing quote (the value is not shown)",
                ".env:2:13: the variable name is not valid (letters, digits and '_', not starting with a digit)",
                ".env:3:3: unterminated single quote (a variable avb does not read: its name is not shown)",
                ".env:4:1: expected KEY=value",
            ]
        );
    }
}
