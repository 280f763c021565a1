//! `plan --at TIME`: an RFC 3339 time, or `+30m` from now.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Unix seconds of `text`, with `now` for a relative `+PERIOD`.
pub fn parse(text: &str, now: i64) -> Result<i64, String> {
    if let Some(rel) = text.strip_prefix('+') {
        let d = super::every::parse(rel)?;
        let secs = i64::try_from(d.as_secs()).map_err(|_| format!("'{text}' is too far"))?;
        return now
            .checked_add(secs)
            .ok_or_else(|| format!("'{text}' is too far"));
    }
    OffsetDateTime::parse(text, &Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| {
            format!("'{text}' is neither RFC 3339 (2026-12-04T16:30:00Z) nor +PERIOD (+30m)")
        })
}

/// `at` in RFC 3339, UTC.
pub fn show(at: i64) -> String {
    OffsetDateTime::from_unix_timestamp(at)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_is_absolute_or_from_now() {
        assert_eq!(parse("+30m", 1000), Ok(2800));
        assert_eq!(parse("1970-01-01T01:00:00Z", 0), Ok(3600));
        assert_eq!(parse("2026-12-04T17:00:00+01:00", 0), Ok(1_796_400_000));
        assert!(parse("tomorrow", 0).unwrap_err().contains("RFC 3339"));
        assert!(parse("+30", 0).is_err());
        assert_eq!(show(3600), "1970-01-01T01:00:00Z");
    }
}
