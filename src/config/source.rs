//! A config file's text, kept to turn byte offsets into lines and columns.

use std::ops::Range;
use std::path::{Path, PathBuf};

use super::error::{Diagnostic, Location};

/// One TOML file as read from disk.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> SourceFile {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        SourceFile {
            path,
            text,
            line_starts,
        }
    }

    /// The directory that `source` paths in this file are relative to.
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    pub fn location(&self, span: &Range<usize>) -> Location {
        let offset = span.start.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let column = self.text[start..offset].chars().count() + 1;
        Location {
            file: self.path.clone(),
            line,
            column,
        }
    }

    pub fn diagnostic(
        &self,
        span: &Range<usize>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Diagnostic {
        Diagnostic {
            location: Some(self.location(span)),
            message: message.into(),
            help,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_map_to_one_based_lines_and_columns() {
        let src = SourceFile::new("x.toml".into(), "a = 1\nbb = 2\n".into());
        let at = src.location(&(9..10));
        assert_eq!((at.line, at.column), (2, 4));
        let at = src.location(&(0..1));
        assert_eq!((at.line, at.column), (1, 1));
    }
}
