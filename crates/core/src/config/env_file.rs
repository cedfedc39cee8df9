//! Parser for `.env.sandbox` / `.env.live` files.
//!
//! Accepted lines: blank, `# comment`, `KEY=value`, `export KEY=value`. Values may be bare (a ` #` starts a
//! trailing comment; surrounding spaces are trimmed), `'single quoted'` (literal) or `"double quoted"` (with
//! `\n`, `\t`, `\"`, `\\` escapes). No variable expansion: a `$` is a plain character. Anything else is an
//! error naming the file and line.

use super::error::Problem;

/// Parses a file's text into `(key, value)` pairs, or the problems found (file and line named).
pub fn parse(file: &str, text: &str) -> Result<Vec<(String, String)>, Vec<Problem>> {
    let mut pairs = Vec::new();
    let mut problems = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        match parse_line(raw) {
            Ok(Some(pair)) => pairs.push(pair),
            Ok(None) => {}
            Err(reason) => problems.push(Problem::EnvFile {
                file: file.to_string(),
                line: i + 1,
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

fn parse_line(raw: &str) -> Result<Option<(String, String)>, String> {
    let line = raw.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let line = line
        .strip_prefix("export ")
        .map(str::trim_start)
        .unwrap_or(line);
    let Some((key, value)) = line.split_once('=') else {
        return Err("expected KEY=value".to_string());
    };
    let key = key.trim_end();
    let valid_key = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_key {
        return Err(format!("{key:?} is not a valid variable name"));
    }
    Ok(Some((key.to_string(), parse_value(value.trim_start())?)))
}

fn parse_value(v: &str) -> Result<String, String> {
    let rest_ok = |rest: &str| {
        let rest = rest.trim();
        if rest.is_empty() || rest.starts_with('#') {
            Ok(())
        } else {
            Err(format!("unexpected text after the closing quote: {rest:?}"))
        }
    };
    if let Some(body) = v.strip_prefix('\'') {
        let end = body.find('\'').ok_or("unterminated single quote")?;
        rest_ok(&body[end + 1..])?;
        return Ok(body[..end].to_string());
    }
    if let Some(body) = v.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    rest_ok(&body[i + 1..])?;
                    return Ok(out);
                }
                '\\' => match chars.next().map(|(_, e)| e) {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('"') => out.push('"'),
                    Some('\\') => out.push('\\'),
                    Some(other) => return Err(format!("unknown escape \\{other}")),
                    None => break,
                },
                c => out.push(c),
            }
        }
        return Err("unterminated double quote".to_string());
    }
    let bare = match v.find(" #") {
        Some(i) => &v[..i],
        None => v,
    };
    Ok(bare.trim_end().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn reports_file_and_line_for_each_bad_line() {
        let err = parse(".env.live", "OK=1\nno equals\n1BAD=x\nQ=\"open\nR='x' y\n").unwrap_err();
        let shown: Vec<String> = err.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                ".env.live:2: expected KEY=value",
                ".env.live:3: \"1BAD\" is not a valid variable name",
                ".env.live:4: unterminated double quote",
                ".env.live:5: unexpected text after the closing quote: \"y\"",
            ]
        );
    }
}
