//! Expanding a templated file: `{fleet}` `{decky}` `{hostname}` `{ip}`
//! `{persona}`, `{random:hex:N}` and `{random:words:N}`; `{{` and `}}` are
//! literal braces. Random values come from the seed, the decky, the path and
//! the placeholder's place in the file.

use super::derive;
use super::seed::Seed;
use super::words::WORDS;

/// Most hex digits or words one placeholder may ask for.
pub const MAX_HEX: usize = 256;
pub const MAX_WORDS: usize = 64;

/// What a decky's placeholders expand to.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub fleet: &'a str,
    pub decky: &'a str,
    pub hostname: &'a str,
    pub ip: &'a str,
    pub persona: &'a str,
    pub path: &'a str,
}

/// Why a template cannot be expanded, with the line of the content it is on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error("the content is not UTF-8 text")]
    NotText,
    #[error("line {0}: '{{' is never closed")]
    Unclosed(usize),
    #[error("line {0}: a lone '}}'")]
    LoneClose(usize),
    #[error("line {0}: unknown placeholder {{{1}}}")]
    Unknown(usize, String),
    #[error("line {0}: {{{1}}} asks for {2}, allowed 1 to {3}")]
    OutOfRange(usize, String, String, usize),
}

impl TemplateError {
    pub fn help(&self) -> &'static str {
        match self {
            TemplateError::NotText => "templates are text: remove template = true for binary bait",
            TemplateError::OutOfRange(..) => "ask for fewer: {random:hex:32}, {random:words:4}",
            _ => "placeholders: {fleet} {decky} {hostname} {ip} {persona} {random:hex:N} {random:words:N}; write {{ and }} for literal braces",
        }
    }
}

/// The content with every placeholder replaced; the seed is needed only
/// when a random placeholder is present.
pub fn expand(
    content: &[u8],
    facts: &Facts<'_>,
    seed: Option<&Seed>,
) -> Result<Vec<u8>, NeedsSeed> {
    let text = std::str::from_utf8(content).map_err(|_| NeedsSeed::Bad(TemplateError::NotText))?;
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut nth = 0usize;
    while let Some(i) = rest.find(['{', '}']) {
        let line = 1 + text[..text.len() - rest.len() + i].matches('\n').count();
        out.push_str(&rest[..i]);
        let (c, after) = (rest.as_bytes()[i], &rest[i + 1..]);
        if after.as_bytes().first() == Some(&c) {
            out.push(c as char);
            rest = &after[1..];
            continue;
        }
        if c == b'}' {
            return Err(NeedsSeed::Bad(TemplateError::LoneClose(line)));
        }
        let end = after
            .find(['}', '\n'])
            .filter(|&e| after.as_bytes()[e] == b'}')
            .ok_or(NeedsSeed::Bad(TemplateError::Unclosed(line)))?;
        out.push_str(&placeholder(&after[..end], line, nth, facts, seed)?);
        nth += 1;
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out.into_bytes())
}

/// Expanding failed: a bad template, or a random placeholder and no seed.
#[derive(Debug, PartialEq, Eq)]
pub enum NeedsSeed {
    Bad(TemplateError),
    Seed,
}

fn placeholder(
    name: &str,
    line: usize,
    nth: usize,
    facts: &Facts<'_>,
    seed: Option<&Seed>,
) -> Result<String, NeedsSeed> {
    let plain = match name {
        "fleet" => Some(facts.fleet),
        "decky" => Some(facts.decky),
        "hostname" => Some(facts.hostname),
        "ip" => Some(facts.ip),
        "persona" => Some(facts.persona),
        _ => None,
    };
    if let Some(v) = plain {
        return Ok(v.to_string());
    }
    let unknown = || NeedsSeed::Bad(TemplateError::Unknown(line, name.to_string()));
    let (kind, n) = name
        .strip_prefix("random:")
        .and_then(|r| r.split_once(':'))
        .ok_or_else(unknown)?;
    let max = match kind {
        "hex" => MAX_HEX,
        "words" => MAX_WORDS,
        _ => return Err(unknown()),
    };
    let count = n.parse::<usize>().ok().filter(|c| (1..=max).contains(c));
    let Some(count) = count else {
        let bad = TemplateError::OutOfRange(line, name.to_string(), n.to_string(), max);
        return Err(NeedsSeed::Bad(bad));
    };
    let seed = seed.ok_or(NeedsSeed::Seed)?;
    let purpose = format!("{kind}{nth}");
    Ok(random(seed, facts, &purpose, kind == "hex", count))
}

/// `count` hex digits or dash-joined words for one placeholder.
fn random(seed: &Seed, facts: &Facts<'_>, purpose: &str, hex: bool, count: usize) -> String {
    let bytes = derive::bytes(seed, facts.decky, facts.path, purpose, count);
    if hex {
        let mut s = hex::encode(&bytes);
        s.truncate(count);
        return s;
    }
    let words = bytes.iter().map(|b| WORDS[usize::from(b & 0x7f)]);
    words.collect::<Vec<_>>().join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(decky: &str) -> Facts<'_> {
        Facts {
            fleet: "corp",
            decky,
            hostname: "files-01",
            ip: "10.0.0.5",
            persona: "linux",
            path: "/root/notes.txt",
        }
    }

    fn run(t: &str, decky: &str) -> Result<String, NeedsSeed> {
        let seed = Seed::from_bytes(vec![9; 32]);
        expand(t.as_bytes(), &facts(decky), Some(&seed)).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn names_expand_and_braces_escape() {
        let out = run(
            "{fleet}/{decky} {hostname} {ip} {persona} {{x}} ${{HOME}}",
            "a",
        )
        .unwrap();
        assert_eq!(out, "corp/a files-01 10.0.0.5 linux {x} ${HOME}");
    }

    #[test]
    fn random_values_differ_by_decky_and_place_and_are_stable() {
        let t = "k={random:hex:12} p={random:words:3} k2={random:hex:12}";
        let a = run(t, "a").unwrap();
        assert_eq!(a, run(t, "a").unwrap());
        assert_ne!(a, run(t, "b").unwrap());
        let parts: Vec<&str> = a.split(' ').collect();
        assert_eq!(parts[0].len(), "k=".len() + 12);
        assert!(parts[0][2..].chars().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_eq!(parts[1][2..].split('-').count(), 3, "{a}");
        assert_ne!(parts[0][2..], parts[2][3..], "two placeholders, two values");
    }

    #[test]
    fn mistakes_name_their_line() {
        let bad = |t| match run(t, "a") {
            Err(NeedsSeed::Bad(e)) => e,
            other => panic!("{other:?}"),
        };
        assert_eq!(bad("ok\n{nope}"), TemplateError::Unknown(2, "nope".into()));
        assert_eq!(bad("a {decky"), TemplateError::Unclosed(1));
        assert_eq!(bad("a }"), TemplateError::LoneClose(1));
        assert!(matches!(
            bad("{random:hex:0}"),
            TemplateError::OutOfRange(1, ..)
        ));
        assert!(matches!(
            bad("{random:words:65}"),
            TemplateError::OutOfRange(1, ..)
        ));
        assert_eq!(
            bad("{random:base:4}"),
            TemplateError::Unknown(1, "random:base:4".into())
        );
    }

    #[test]
    fn a_random_placeholder_without_a_seed_asks_for_one() {
        let f = facts("a");
        assert_eq!(expand(b"{decky}", &f, None), Ok(b"a".to_vec()));
        assert_eq!(expand(b"{random:hex:4}", &f, None), Err(NeedsSeed::Seed));
    }
}
