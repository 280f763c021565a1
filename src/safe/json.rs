//! JSON as deckhand prints and writes it: standard JSON, with every character
//! the terminal sanitizer escapes ([`super::is_control`]: C0 and C1 controls,
//! DEL, the bidi and invisible direction marks) written as `\uXXXX`. serde
//! escapes C0 itself and leaves the rest raw: safe for a parser, not for an
//! operator who `cat`s the NDJSON. A parser reads back the very same string.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CharEscape, CompactFormatter, Formatter, PrettyFormatter, Serializer};

/// `value` as one line of JSON.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::new();
    to_writer_with(&mut out, value, CompactFormatter)?;
    Ok(String::from_utf8(out).expect("JSON is UTF-8"))
}

/// `value` as indented JSON.
pub fn to_string_pretty<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let mut out = Vec::new();
    to_writer_pretty(&mut out, value)?;
    Ok(String::from_utf8(out).expect("JSON is UTF-8"))
}

/// `value` as indented JSON, into `writer`.
pub fn to_writer_pretty<W: Write, T: Serialize + ?Sized>(
    writer: W,
    value: &T,
) -> serde_json::Result<()> {
    to_writer_with(writer, value, PrettyFormatter::new())
}

fn to_writer_with<W: Write, T: Serialize + ?Sized, F: Formatter>(
    writer: W,
    value: &T,
    formatter: F,
) -> serde_json::Result<()> {
    value.serialize(&mut Serializer::with_formatter(writer, Escaping(formatter)))
}

/// A formatter that lays JSON out as `F` does and escapes controls in strings.
struct Escaping<F>(F);

/// Writes `fragment` (text serde found nothing to escape in) with each
/// control as `\uXXXX`.
fn write_escaped<W: ?Sized + Write>(writer: &mut W, fragment: &str) -> io::Result<()> {
    let mut start = 0;
    for (at, c) in fragment.char_indices() {
        if super::is_control(c) {
            writer.write_all(&fragment.as_bytes()[start..at])?;
            write!(writer, "\\u{:04x}", c as u32)?;
            start = at + c.len_utf8();
        }
    }
    writer.write_all(&fragment.as_bytes()[start..])
}

/// Every layout call goes to the inner formatter.
macro_rules! delegate {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $name<W: ?Sized + Write>(&mut self, writer: &mut W $(, $arg: $ty)*) -> io::Result<()> {
            self.0.$name(writer $(, $arg)*)
        }
    )*};
}

impl<F: Formatter> Formatter for Escaping<F> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        write_escaped(writer, fragment)
    }

    delegate! {
        write_char_escape(escape: CharEscape);
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        end_object_key();
        begin_object_value();
        end_object_value();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// Every control the sanitizer knows, in a key and in a value.
    fn hostile() -> String {
        let controls = (0u32..0x20)
            .chain(0x7f..0xa0)
            .chain([0x61c, 0x200e, 0x200f])
            .chain(0x202a..0x202f)
            .chain(0x2066..0x206a);
        controls
            .map(|c| format!("{}x", char::from_u32(c).unwrap()))
            .collect()
    }

    /// The characters of `json` the sanitizer would escape on a terminal.
    fn raw_controls(json: &str) -> Vec<char> {
        json.chars()
            .filter(|c| super::super::is_control(*c) && *c != '\n')
            .collect()
    }

    #[test]
    fn no_control_is_written_raw_and_parsers_read_the_same_strings_back() {
        let value =
            json!({ hostile(): [hostile(), {"nested": hostile()}], "plain": "ünï ✓ \"q\" \\" });
        for text in [
            to_string(&value).unwrap(),
            to_string_pretty(&value).unwrap(),
        ] {
            assert_eq!(raw_controls(&text), Vec::<char>::new(), "{text}");
            assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value);
        }
    }

    #[test]
    fn every_entry_of_the_sanitizers_corpus_is_escaped_in_json_too() {
        for (raw, _) in super::super::tests::CORPUS {
            let text = to_string(&json!([raw])).unwrap();
            assert_eq!(raw_controls(&text), Vec::<char>::new(), "{text}");
            assert_eq!(serde_json::from_str::<Value>(&text).unwrap()[0], raw);
        }
    }

    #[test]
    fn c1_del_and_bidi_controls_are_written_as_unicode_escapes() {
        let text = to_string(&json!(["\u{85}\u{9b}\u{7f}\u{202e}\u{61c}\u{2066}\u{1b}"])).unwrap();
        assert_eq!(text, r#"["\u0085\u009b\u007f\u202e\u061c\u2066\u001b"]"#);
    }

    #[test]
    fn the_layout_is_serde_jsons_own() {
        let value = json!({"a": [1, {"b": null}], "c": "d"});
        assert_eq!(
            to_string(&value).unwrap(),
            serde_json::to_string(&value).unwrap()
        );
        assert_eq!(
            to_string_pretty(&value).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
    }
}
