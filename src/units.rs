//! Sizes as Docker prints them (its go-units package): `16.78MB` in powers of 1000 for
//! images and pulls, `1.5MiB` in powers of 1024 for memory, each with a set number of
//! significant digits and no trailing zeros.
//! <https://github.com/docker/go-units/blob/master/size.go>

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
    let text = format!("{value:.*}", significant.saturating_sub(digits));
    let text = match text.contains('.') {
        true => text.trim_end_matches('0').trim_end_matches('.'),
        false => &text,
    };
    format!("{text}{}", units[unit])
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
}
