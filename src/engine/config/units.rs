//! The two unit grammars of `runwisp.toml`: durations (`300ms`, `1h30m`, `2d`, `1w`) and sizes
//! (`512b`, `10MB`, `1.5gb`, powers of 1024). Only parsing and printing; the rules about which
//! values a key accepts live with the key in `keys/`. `schema.rs` has a regular expression of
//! each grammar, checked against these parsers by `tests/config_schema.rs`.

use std::time::Duration;

/// The longest duration any key takes: 100 years (36500d). Longer ones are refused at load,
/// so no deadline, cutoff or period computed from them can wrap.
pub const MAX_DURATION: Duration = Duration::from_secs(36_500 * 86_400);
/// The largest size any key takes: 1 PiB (1024tb), so no size wraps where it is stored or
/// compared as a signed number.
pub const MAX_SIZE: u64 = 1 << 50;

/// Parses a duration: one or more `<integer><unit>` parts with units `ms s m h d w`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    let hint = "durations look like 300ms, 5s, 10m, 1h30m, 2d or 1w";
    if s.is_empty() {
        return Err(format!("an empty string is not a duration; {hint}"));
    }
    if s.starts_with('-') {
        return Err(format!("a duration cannot be negative (got {text:?})"));
    }
    let bytes = s.as_bytes();
    let mut total: u128 = 0;
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return Err(format!("{text:?} is not a duration; {hint}"));
        }
        let number: u128 = s[start..i]
            .parse()
            .map_err(|_| format!("{text:?} is too large a duration"))?;
        let unit_start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
            i += 1;
        }
        let millis_per_unit: u128 = match &s[unit_start..i] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "" if i == bytes.len() => return Err(format!("{text:?} needs a unit; {hint}")),
            "" => return Err(format!("{text:?} is not a duration; {hint}")),
            other => {
                return Err(format!(
                    "unknown duration unit {other:?} in {text:?}; {hint}"
                ))
            }
        };
        total = number
            .checked_mul(millis_per_unit)
            .and_then(|v| total.checked_add(v))
            .filter(|v| *v <= u64::MAX as u128)
            .ok_or_else(|| format!("{text:?} is too large a duration"))?;
    }
    let total = Duration::from_millis(total as u64);
    if total > MAX_DURATION {
        return Err(format!(
            "{text:?} is longer than 100 years (36500d), the longest duration runwisp takes"
        ));
    }
    Ok(total)
}

/// Prints a duration in the grammar `parse_duration` reads, largest units first.
pub fn format_duration(d: Duration) -> String {
    let mut ms = d.as_millis();
    if ms == 0 {
        return "0s".to_string();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("w", 604_800_000u128),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

/// Parses a size: a bare integer (bytes) or a number with `b kb mb gb tb`, any case, in powers
/// of 1024. Fractions are allowed with a unit (`1.5gb`).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let hint = "sizes look like 512b, 10kb, 10MB, 1.5gb or 1tb";
    if s.starts_with('-') {
        return Err(format!("a size cannot be negative (got {text:?})"));
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return Err(format!("{text:?} is not a size; {hint}"));
    }
    let unit = unit.trim();
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1 << 10,
        "mb" => 1 << 20,
        "gb" => 1 << 30,
        "tb" => 1 << 40,
        _ => return Err(format!("unknown size unit {unit:?} in {text:?}; {hint}")),
    };
    let too_large = || format!("{text:?} is larger than 1024tb, the largest size runwisp takes");
    if let Ok(whole) = number.parse::<u64>() {
        return whole
            .checked_mul(multiplier)
            .filter(|bytes| *bytes <= MAX_SIZE)
            .ok_or_else(too_large);
    }
    if multiplier == 1 {
        return Err(format!("{text:?} is not a whole number of bytes"));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size; {hint}"))?;
    let bytes = value * multiplier as f64;
    if !bytes.is_finite() || bytes > MAX_SIZE as f64 {
        return Err(too_large());
    }
    Ok(bytes.round() as u64)
}

/// Prints a size with the largest unit that keeps it readable (`100MB`, `1.5GB`, `512B`).
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TB", 1 << 40),
        ("GB", 1 << 30),
        ("MB", 1 << 20),
        ("KB", 1 << 10),
    ];
    for (unit, size) in UNITS {
        if bytes >= size {
            let value = bytes as f64 / size as f64;
            return if bytes % size == 0 {
                format!("{}{unit}", bytes / size)
            } else {
                format!("{}{unit}", (value * 10.0).round() / 10.0)
            };
        }
    }
    format!("{bytes}B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("300ms"), Ok(Duration::from_millis(300)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(parse_duration("1w"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in ["", "5", "5x", "-5s", "s", "1.5h", "5 s"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_duration("5x"),
            Err("unknown duration unit \"x\" in \"5x\"; durations look like 300ms, 5s, 10m, 1h30m, 2d or 1w".into())
        );
        assert_eq!(
            parse_duration("5"),
            Err("\"5\" needs a unit; durations look like 300ms, 5s, 10m, 1h30m, 2d or 1w".into())
        );
        assert_eq!(
            parse_duration("5 minutes"),
            Err("\"5 minutes\" is not a duration; durations look like 300ms, 5s, 10m, 1h30m, 2d or 1w".into())
        );
        assert!(parse_duration("99999999999999999999w").is_err());
        // Values that once wrapped to a cutoff in the future are refused, not wrapped.
        assert_eq!(parse_duration("36500d"), Ok(MAX_DURATION));
        for huge in ["36500d1ms", "150000000000d", "1000000000w"] {
            assert_eq!(
                parse_duration(huge),
                Err(format!(
                    "{huge:?} is longer than 100 years (36500d), the longest duration runwisp takes"
                ))
            );
        }
    }

    #[test]
    fn durations_print_back() {
        for text in ["300ms", "5s", "1h30m", "2d", "1w", "1w2d3h4m5s6ms"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512b"), Ok(512));
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("10kb"), Ok(10 * 1024));
        assert_eq!(parse_size("10MB"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_size("1.5gb"), Ok(3 * 512 * 1024 * 1024));
        assert_eq!(parse_size("1tb"), Ok(1 << 40));
        for bad in [
            "",
            "mb",
            "-1mb",
            "1.5",
            "10 parsecs",
            "1.2.3mb",
            "99999999999tb",
        ] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_size("1024tb"), Ok(MAX_SIZE));
        for huge in ["1025tb", "1024.5tb", "18446744073709551615"] {
            assert_eq!(
                parse_size(huge),
                Err(format!(
                    "{huge:?} is larger than 1024tb, the largest size runwisp takes"
                ))
            );
        }
        assert_eq!(format_size(100 << 20), "100MB");
        assert_eq!(format_size(3 << 29), "1.5GB");
        assert_eq!(format_size(17), "17B");
    }
}
