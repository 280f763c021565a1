//! `every = "30m"`: a rotation period written as a number and a unit.

use std::time::Duration;

/// Shortest period accepted: a rotation is a pass, and a pass takes seconds.
pub const MIN_EVERY: Duration = Duration::from_secs(10);

/// Parses `90s`, `30m`, `6h` or `1d` (one number, one unit).
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a period like \"30m\""))?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("'{text}' has no unit s, m, h or d")),
    };
    n.checked_mul(unit_secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("'{text}' is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse_with_their_unit() {
        assert_eq!(parse("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("6h"), Ok(Duration::from_secs(21_600)));
        assert!(parse("30").unwrap_err().contains("no unit"));
        assert!(parse("m").unwrap_err().contains("not a period"));
        assert!(parse("5w").is_err());
    }
}
