//! Sizes as Docker prints them (its go-units package): `16.78MB` in powers of 1000 for
//! images and pulls, `1.5MiB` in powers of 1024 for memory, each with a set number of
//! significant digits and no trailing zeros.
//! <https://github.com/docker/go-units/blob/master/size.go>
//!
//! Numbers go in and out of text here in integer arithmetic: core's float parser
//! (`str::parse::<f64>`, with its 10 KB table of powers of five) and its fixed-precision
//! float formatter (`{:.2}`) would cost the static binary 20 KB for a few flags and
//! columns. The results are the same: a float's exact binary value, rounded as core does.

pub enum Base {
    /// B, kB, MB, GB, TB.
    Decimal,
    /// B, KiB, MiB, GiB, TiB.
    Binary,
}

pub fn human_size(bytes: f64, base: Base, significant: usize) -> String {
    let (step, units) = match base {
        Base::Decimal => (1000.0, ["B", "kB", "MB", "GB", "TB"]),
        Base::Binary => (1024.0, ["B", "KiB", "MiB", "GiB", "TiB"]),
    };
    let (mut value, mut unit) = (bytes, 0);
    while value >= step && unit < units.len() - 1 {
        value /= step;
        unit += 1;
    }
    let digits = if value < 1.0 {
        1
    } else {
        value.log10().floor() as usize + 1
    };
    let text = fixed(value, significant.saturating_sub(digits));
    let text = match text.contains('.') {
        true => text.trim_end_matches('0').trim_end_matches('.'),
        false => &text,
    };
    format!("{text}{}", units[unit])
}

/// `format!("{value:.decimals$}")`: the float's exact binary value, a tie to even.
/// Exact while value × 10^decimals stays under 2^128 (percentages and sizes do); past
/// that the digits saturate.
pub fn fixed(value: f64, decimals: usize) -> String {
    let sign = if value.is_sign_negative() { "-" } else { "" };
    if !value.is_finite() {
        return if value.is_nan() {
            "NaN".into()
        } else {
            format!("{sign}inf")
        };
    }
    // value = mantissa × 2^power, both integers (IEEE 754 binary64).
    let bits = value.to_bits();
    let (biased, fraction) = ((bits >> 52) & 0x7ff, bits & ((1 << 52) - 1));
    let (mantissa, power) = match biased {
        0 => (fraction, -1074),
        _ => (fraction | 1 << 52, biased as i32 - 1075),
    };
    let scaled = u128::from(mantissa) * 10u128.pow(decimals as u32);
    let digits = match u32::try_from(-power) {
        Err(_) => 1u128
            .checked_shl(power as u32)
            .and_then(|factor| scaled.checked_mul(factor))
            .unwrap_or(u128::MAX),
        Ok(shift) if shift >= 128 => 0,
        Ok(shift) => {
            let (quotient, rest) = (scaled >> shift, scaled & ((1 << shift) - 1));
            let half = 1 << shift >> 1;
            // Ties to even; with no bits shifted out there is nothing to round.
            let tie = shift > 0 && rest == half;
            quotient + u128::from(rest > half || tie && quotient & 1 == 1)
        }
    };
    let digits = format!("{digits:0>width$}", width = decimals + 1);
    let (whole, fraction) = digits.split_at(digits.len() - decimals);
    match decimals {
        0 => format!("{sign}{whole}"),
        _ => format!("{sign}{whole}.{fraction}"),
    }
}

/// A decimal as Docker's flags take one (`1.5`, `2`, `.5`, `+1e3`) times `scale`,
/// exactly, with the fraction of the last unit cut off. None when it is no such
/// number or the result passes `u64`.
pub fn decimal(text: &str, scale: u64) -> Option<u64> {
    let text = text.strip_prefix('+').unwrap_or(text);
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    let value = match digits {
        "" => 0,
        _ => digits.parse::<u128>().ok()?.checked_mul(scale.into())?,
    };
    let power = exponent.checked_sub(i32::try_from(fraction.len()).ok()?)?;
    let ten = |power: i32| 10u128.checked_pow(power.unsigned_abs());
    let value = match power {
        0.. => value.checked_mul(ten(power)?)?,
        _ => ten(power).map_or(0, |divisor| value / divisor),
    };
    u64::try_from(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_dockers() {
        let images = |b: f64| human_size(b, Base::Decimal, 3);
        assert_eq!(images(0.0), "0B");
        assert_eq!(images(4_260_000.0), "4.26MB");
        assert_eq!(images(77_900_000.0), "77.9MB");
        assert_eq!(images(123_000_000.0), "123MB");
        assert_eq!(images(2_000_000_000.0), "2GB");
        let pulls = |b: f64| human_size(b, Base::Decimal, 4);
        assert_eq!(pulls(532.0), "532B");
        assert_eq!(pulls(16_777_216.0), "16.78MB");
        assert_eq!(pulls(1_073_741_824.0), "1.074GB");
        let memory = |b: u64| human_size(b as f64, Base::Binary, 4);
        assert_eq!(memory(32 << 20), "32MiB");
        assert_eq!(memory(1536 << 10), "1.5MiB");
        assert_eq!(memory(8_349_000_000), "7.776GiB");
        assert_eq!(memory((1 << 20) - 1), "1024KiB");
    }

    #[test]
    fn fixed_writes_what_core_writes() {
        let values = [
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            0.125,
            0.375,
            1.005,
            2.675,
            99.995,
            12.3456,
            1e-9,
            5e-324,
            1023.9999,
            4.26,
            16.777216,
            1e15,
            3.0e19,
            1.8e30,
            -7.25,
            1.0 / 3.0,
            4_503_599_627_370_497.0, // 2^52 + 1: odd, exact, nothing to round
        ];
        for value in values
            .into_iter()
            .chain((0..2000).map(|n| f64::from(n) / 64.0))
        {
            for decimals in 0..5 {
                assert_eq!(fixed(value, decimals), format!("{value:.decimals$}"));
            }
        }
        assert_eq!(fixed(f64::NAN, 2), "NaN");
        assert_eq!(fixed(f64::NEG_INFINITY, 2), "-inf");
    }

    #[test]
    fn decimals_are_exact() {
        assert_eq!(decimal("1.5", 1 << 30), Some(1_610_612_736));
        assert_eq!(decimal("0.1", 1_000_000_000), Some(100_000_000));
        assert_eq!(decimal(".5", 10), Some(5));
        assert_eq!(decimal("5.", 10), Some(50));
        assert_eq!(decimal("+1e3", 1), Some(1000));
        assert_eq!(decimal("15e-1", 10), Some(15));
        assert_eq!(decimal("1.99", 1), Some(1));
        assert_eq!(
            decimal("000000000000000000000000000000000000000002", 1),
            Some(2)
        );
        assert_eq!(decimal("1e-400", 1), Some(0));
        for wrong in [
            "", ".", "-1", "1.2.3", "1e", "inf", "NaN", "1 ", "1e99", "0x10",
        ] {
            assert_eq!(decimal(wrong, 1), None, "{wrong}");
        }
    }
}
