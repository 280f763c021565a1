//! Hostile text made safe to show. Whatever came from an engine or from
//! inside a decky (file content, names, a program's output, an engine's
//! message) is written by someone who may be root in a decky. Shown raw, an
//! escape sequence could clear the operator's screen, rewrite the line above
//! (a fake `No changes.`), set the clipboard (OSC 52) or plant a link (OSC 8).
//! Every view passes such text through here before it is printed; JSON output
//! is written through [`json`], which escapes the same characters as `\uXXXX`.

pub mod json;

use std::borrow::Cow;

/// Whether `c` must not reach a terminal or a markdown comment raw: C0
/// controls but tab, DEL, C1 controls, and Unicode's bidirectional controls.
pub fn is_control(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{a}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every control character shown as a visible escape: `\x1b`,
/// `\x0a` for a newline, `\u202e` beyond the first 256 code points.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_except(s, None)
}

/// [`escape`], but newlines kept: for multi-line text whose lines are each
/// shown (an engine's message, a diff).
pub fn escape_lines(s: &str) -> Cow<'_, str> {
    escape_except(s, Some('\n'))
}

fn escape_except(s: &str, keep: Option<char>) -> Cow<'_, str> {
    if !s.chars().any(|c| is_control(c) && Some(c) != keep) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if Some(c) == keep || !is_control(c) => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{:04x}", c as u32)),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an intruder writes to fool or attack the operator's terminal.
    pub const CORPUS: [(&str, &str); 20] = [
        ("\u{1b}[2J\u{1b}[H", "\\x1b[2J\\x1b[H"), // CSI: clear the screen
        (
            "\u{1b}]52;c;ZWNobyBwd25lZA==\u{7}",
            "\\x1b]52;c;ZWNobyBwd25lZA==\\x07",
        ), // OSC 52: set the clipboard
        (
            "\u{1b}]8;;http://evil/\u{1b}\\x\u{1b}]8;;\u{1b}\\",
            "\\x1b]8;;http://evil/\\x1b\\x\\x1b]8;;\\x1b\\",
        ), // OSC 8 hyperlink
        ("\u{1b}P1$r0m\u{1b}\\", "\\x1bP1$r0m\\x1b\\"), // DCS
        ("\u{9b}31m", "\\x9b31m"),                // 8-bit CSI
        ("No changes.\r", "No changes.\\x0d"),    // CR: overwrite the line
        ("abc\u{8}\u{8}", "abc\\x08\\x08"),       // BS
        ("del\u{7f}", "del\\x7f"),                // DEL
        ("file\u{202e}txt.exe", "file\\u202etxt.exe"), // bidi override
        ("\u{2066}isolate\u{2069}", "\\u2066isolate\\u2069"), // bidi isolate
        ("ab\u{61c}c", "ab\\u061cc"),             // Arabic letter mark
        ("\u{200e}left\u{200f}right", "\\u200eleft\\u200fright"), // LRM, RLM
        ("nul\u{0}end", "nul\\x00end"),           // NUL: ends a C string
        ("vt\u{b}ff\u{c}", "vt\\x0bff\\x0c"),     // VT, FF: move the cursor
        ("\u{85}next line", "\\x85next line"),    // NEL
        ("\u{90}1$r\u{9c}", "\\x901$r\\x9c"),     // 8-bit DCS ... ST
        ("\u{9d}0;pwned\u{7}", "\\x9d0;pwned\\x07"), // 8-bit OSC: set the title
        ("\u{9f}apc\u{9c}", "\\x9fapc\\x9c"),     // 8-bit APC
        ("\u{80}\u{84}\u{8d}", "\\x80\\x84\\x8d"), // other C1: PAD, IND, RI
        ("\u{1b}]8;;http://evil/\u{9c}", "\\x1b]8;;http://evil/\\x9c"), // OSC 8 ended by 8-bit ST
    ];

    #[test]
    fn every_control_of_the_corpus_is_shown_escaped() {
        for (raw, shown) in CORPUS {
            assert_eq!(escape(raw), shown, "{raw:?}");
        }
    }

    #[test]
    fn tabs_text_and_other_scripts_pass_through_unchanged() {
        for s in ["a\tb", "ünïcödé ✓", "日本語", "plain"] {
            assert!(matches!(escape(s), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn newlines_are_kept_only_where_lines_are_shown() {
        assert_eq!(escape("a\nb"), "a\\x0ab");
        assert_eq!(escape_lines("a\nb\u{1b}"), "a\nb\\x1b");
    }
}
