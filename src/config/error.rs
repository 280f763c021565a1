//! Errors in the desired-state file(s), each pointing at a file, line and column.

use std::fmt;
use std::path::PathBuf;

/// A place in one of the config files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// One problem found in the config, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub location: Option<Location>,
    pub message: String,
    pub help: Option<String>,
}

/// Messages longer than this are shortened in the middle: a megabyte-long
/// name in a hostile file must not become a megabyte of error.
const MESSAGE_MAX_CHARS: usize = 400;

/// The message as it is safe to print: shortened, and with control characters
/// (NUL, escape sequences, newlines from quoted keys) written as `\u{..}`.
fn printable(message: &str) -> String {
    let escaped: Vec<String> = message
        .chars()
        .map(|c| {
            if c.is_control() {
                format!("\\u{{{:x}}}", c as u32)
            } else {
                c.to_string()
            }
        })
        .collect();
    let n = escaped.len();
    if n <= MESSAGE_MAX_CHARS {
        return escaped.concat();
    }
    let (head, tail) = (MESSAGE_MAX_CHARS * 2 / 3, MESSAGE_MAX_CHARS / 4);
    format!(
        "{}…[{} characters left out]…{}",
        escaped[..head].concat(),
        n - head - tail,
        escaped[n - tail..].concat()
    )
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = printable(&self.message);
        match &self.location {
            Some(at) => write!(f, "{at}: {message}")?,
            None => write!(f, "{message}")?,
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {}", printable(help))?;
        }
        Ok(())
    }
}

/// Why a desired state could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The OS's error is told in plain words, not chained.
    #[error("{}", unreadable(.path, .error))]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("no *.toml file in directory {}\n  help: put the fleet's file there (`deckhand init` writes a starter deckhand.toml), or name a file with -f PATH", .0.display())]
    EmptyDirectory(PathBuf),
    #[error("{}", render_all(.0))]
    Invalid(Vec<Diagnostic>),
}

impl ConfigError {
    /// The diagnostics, when the files were read but are not valid.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            ConfigError::Invalid(d) => d,
            _ => &[],
        }
    }
}

/// Why `path` could not be read, with what to do.
fn unreadable(path: &std::path::Path, error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    let shown = path.display();
    match error.kind() {
        ErrorKind::NotFound if path == std::path::Path::new("deckhand.toml") => "there is no deckhand.toml in this directory\n  help: write a starter one with `deckhand init`, or name another file or directory with -f PATH".to_string(),
        ErrorKind::NotFound => format!("there is no file or directory {shown}\n  help: check the path given with -f"),
        ErrorKind::PermissionDenied => format!("cannot read {shown}: permission denied\n  help: run deckhand as a user who may read it, or give it read permission"),
        _ => format!("cannot read {shown}: {error}"),
    }
}

fn render_all(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for (i, d) in diagnostics.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&d.to_string());
    }
    if diagnostics.len() > 1 {
        out.push_str(&format!("\n{} problems found", diagnostics.len()));
    }
    out
}
