//! Byte sizes: parsing `4K`, `1M`, `2G` (powers of 1024) and printing them.

/// Parses a byte size: a whole number with an optional K, M or G suffix
/// (also KiB/MiB/GiB, KB/MB/GB, any case), in powers of 1024.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, suffix) = t.split_at(split);
    if num.is_empty() {
        return Err(format!(
            "`{s}` is not a size: expected a number such as 64, 4K, 1M or 2G"
        ));
    }
    let mult: u64 = match suffix.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => {
            return Err(format!(
                "`{s}` has an unknown unit `{suffix}`: use K, M or G (powers of 1024)"
            ))
        }
    };
    let n: u64 = num.parse().map_err(|_| format!("`{s}` is too large"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// Formats bytes compactly: 8B, 4K, 1.5M, 2G.
pub fn fmt_bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")];
    for (m, u) in UNITS {
        if n >= m {
            return if n.is_multiple_of(m) {
                format!("{}{u}", n / m)
            } else {
                format!("{:.1}{u}", n as f64 / m as f64)
            };
        }
    }
    format!("{n}B")
}

/// Formats a count: exact multiples of 1024-powers as given on the command
/// line (1K, 16M), anything else as the plain number (100000).
pub fn fmt_count(n: u64) -> String {
    for (m, u) in [(1u64 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")] {
        if n >= m && n.is_multiple_of(m) {
            return format!("{}{u}", n / m);
        }
    }
    n.to_string()
}

/// Formats a span of wall time as people read a countdown: `0.4 s`,
/// `48 s`, `4m30s`, `1h05m`.
pub fn fmt_secs(secs: f64) -> String {
    if !secs.is_finite() {
        return "n/a".into();
    }
    if secs < 9.95 {
        return format!("{:.1} s", secs.max(0.0));
    }
    let s = secs.round() as u64;
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// Formats nanoseconds with a fitting unit.
pub fn fmt_ns(ns: f64) -> String {
    let a = ns.abs();
    if !ns.is_finite() {
        "n/a".into()
    } else if a >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if a >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if a >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}

/// Formats a rate in bytes per second.
pub fn fmt_rate(bps: f64) -> String {
    if !bps.is_finite() {
        "n/a".into()
    } else if bps >= 1e9 {
        format!("{:.2} GB/s", bps / 1e9)
    } else if bps >= 1e6 {
        format!("{:.1} MB/s", bps / 1e6)
    } else {
        format!("{:.1} KB/s", bps / 1e3)
    }
}

/// A value with its unit, as a person reads it.
pub fn fmt_value(v: f64, unit: crate::Unit) -> String {
    match unit {
        crate::Unit::Ns => fmt_ns(v),
        crate::Unit::BytesPerS => fmt_rate(v),
        crate::Unit::Bytes => fmt_bytes(v.max(0.0) as u64),
        crate::Unit::Count => {
            if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v:.1}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_bytes("64").unwrap(), 64);
        assert_eq!(parse_bytes("4K").unwrap(), 4096);
        assert_eq!(parse_bytes("4k").unwrap(), 4096);
        assert_eq!(parse_bytes("1M").unwrap(), 1 << 20);
        assert_eq!(parse_bytes("1MiB").unwrap(), 1 << 20);
        assert_eq!(parse_bytes("2G").unwrap(), 2 << 30);
        assert!(parse_bytes("1X").unwrap_err().contains("unknown unit"));
        assert!(parse_bytes("K").unwrap_err().contains("not a size"));
        assert!(parse_bytes("-4").unwrap_err().contains("not a size"));
        assert!(parse_bytes("99999999999999999999")
            .unwrap_err()
            .contains("too large"));
        assert!(parse_bytes("999999999999G")
            .unwrap_err()
            .contains("too large"));
    }

    #[test]
    fn formats() {
        assert_eq!(fmt_bytes(8), "8B");
        assert_eq!(fmt_bytes(4096), "4K");
        assert_eq!(fmt_bytes(1 << 20), "1M");
        assert_eq!(fmt_bytes(1536), "1.5K");
        assert_eq!(fmt_ns(4100.0), "4.10 µs");
        assert_eq!(fmt_ns(12.0), "12.0 ns");
        assert_eq!(fmt_rate(2.5e9), "2.50 GB/s");
        assert_eq!(fmt_count(100_000), "100000");
        assert_eq!(fmt_count(16 << 20), "16M");
    }
}
