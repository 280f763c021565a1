//! The watch log: each line stamped with the UTC time, continuation lines
//! indented under the first.

use std::io::Write as _;

use super::style::Style;

/// A line of the log, with a UTC timestamp.
///
/// Views escape what came from an engine or a decky before it reaches here;
/// the message may carry deckhand's own colours.
pub fn log(style: Style, message: &str) {
    let stamp = stamp(time::OffsetDateTime::now_utc());
    let indent = " ".repeat(stamp.len() + 2);
    let stamp = style.dim(&stamp);
    for (i, line) in message.lines().enumerate() {
        let _ = match i {
            0 => writeln!(std::io::stdout(), "{stamp} {line}"),
            _ => writeln!(std::io::stdout(), "{indent}{line}"),
        };
    }
}

/// `2026-12-04T11:46:23Z`: a log that runs for days needs the date.
pub fn stamp(now: time::OffsetDateTime) -> String {
    let now = now.to_offset(time::UtcOffset::UTC);
    format!(
        "{}T{:02}:{:02}:{:02}Z",
        now.date(),
        now.hour(),
        now.minute(),
        now.second()
    )
}
