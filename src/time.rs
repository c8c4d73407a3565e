//! RFC 3339 times, as image configs carry them (`2024-05-01T12:00:00Z`), to and from
//! seconds since 1970, with Howard Hinnant's civil-date algorithms (UTC only).
//! <https://howardhinnant.github.io/date_algorithms.html>

/// Seconds since 1970 for `YYYY-MM-DDTHH:MM:SS…` (fractions and offset ignored).
pub fn parse_rfc3339(time: &str) -> Option<i64> {
    let number = |range: std::ops::Range<usize>| time.get(range)?.parse::<i64>().ok();
    let (y, m, d) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hh, mm, ss) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since 1970.
pub fn format_rfc3339(seconds: i64) -> String {
    let (days, secs) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let (hh, mm, ss) = (secs / 3600, secs % 3600 / 60, secs % 60);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

/// `2024-05-01 12:00:00 +0000 UTC`, as Go prints a time (Docker's `CreatedAt`); empty
/// if `rfc3339` cannot be read.
pub fn go_utc(rfc3339: &str) -> String {
    parse_rfc3339(rfc3339).map_or_else(String::new, |t| {
        let utc = format_rfc3339(t).replace('T', " ");
        format!("{} +0000 UTC", utc.trim_end_matches('Z'))
    })
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Docker's words for a span of time: "5 seconds", "About a minute", "3 days".
pub fn human_duration(seconds: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match seconds.max(0) {
        0 => "Less than a second".into(),
        s if s < 60 => plural(s, "second"),
        s if s < 120 => "About a minute".into(),
        s if s < 3600 => plural(s / 60, "minute"),
        s if s < 7200 => "About an hour".into(),
        s if s < 86_400 * 2 => plural(s / 3600, "hour"),
        s if s < 86_400 * 14 => plural(s / 86_400, "day"),
        s if s < 86_400 * 60 => plural(s / (86_400 * 7), "week"),
        s if s < 86_400 * 730 => plural(s / (86_400 * 30), "month"),
        s => plural(s / (86_400 * 365), "year"),
    }
}

/// "3 days ago" for an RFC 3339 time, "N/A" if it cannot be read.
pub fn ago(rfc3339: &str) -> String {
    parse_rfc3339(rfc3339).map_or_else(
        || "N/A".into(),
        |then| format!("{} ago", human_duration(now() - then)),
    )
}

/// Now as `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, the precision Docker's logs and states use.
pub fn now_precise() -> String {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let whole = format_rfc3339(since_epoch.as_secs() as i64);
    format!(
        "{}.{:09}Z",
        whole.trim_end_matches('Z'),
        since_epoch.subsec_nanos()
    )
}

/// Nanoseconds since 1970 for a UTC time, `2024-05-01T12:00:00.5Z`, or a date alone
/// (midnight); `None` for other zones, which the logs (and this machine) never use.
pub fn parse_nanos(time: &str) -> Option<i64> {
    let full = match time.len() {
        10 => format!("{time}T00:00:00Z"),
        _ => time.to_string(),
    };
    let seconds = parse_rfc3339(&full)?;
    let fraction = match full.get(19..)?.strip_suffix('Z')? {
        "" => 0,
        rest => format!("{:0<9}", rest.strip_prefix('.')?)
            .get(..9)?
            .parse()
            .ok()?,
    };
    Some(seconds.checked_mul(1_000_000_000)? + fraction) // to the year 2262
}

/// A Go duration as Docker takes one (`10m`, `1h30m`, `1.5s`, `250ms`), in nanoseconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let mut rest = text;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let unit = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number = rest.get(..unit)?;
        rest = rest.get(unit..)?;
        let end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let scale = match rest.get(..end)? {
            "ns" => 1,
            "us" | "µs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        total = total.checked_add(crate::units::decimal(number, scale)?)?;
        rest = rest.get(end..)?;
    }
    i64::try_from(total).ok().filter(|_| !text.is_empty())
}

/// Now, in nanoseconds since 1970.
pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2024-02-29T12:00:00.5Z"), Some(1_709_208_000));
        assert_eq!(format_rfc3339(1_709_208_000), "2024-02-29T12:00:00Z");
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse_rfc3339("garbage"), None);
    }

    #[test]
    fn durations_read_like_dockers() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(1), "1 second");
        assert_eq!(human_duration(90), "About a minute");
        assert_eq!(human_duration(300), "5 minutes");
        assert_eq!(human_duration(86_400 * 3), "3 days");
    }

    #[test]
    fn precise_times_keep_fractions_and_offsets() {
        assert_eq!(parse_nanos("1970-01-01T00:00:01.5Z"), Some(1_500_000_000));
        assert_eq!(parse_nanos("1970-01-01T01:00:00+01:00"), None);
        assert_eq!(parse_nanos("1970-01-02"), Some(86_400_000_000_000));
        assert_eq!(
            parse_nanos("1970-01-01T00:00:00.123456789123Z"),
            Some(123_456_789)
        );
        assert_eq!(parse_nanos("1970-01-01T00:00:00x"), None);
    }

    #[test]
    fn durations_are_gos() {
        assert_eq!(parse_duration("10m"), Some(600_000_000_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_duration("250ms"), Some(250_000_000));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("5x"), None);
    }
}
