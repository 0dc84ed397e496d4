//! The expressions the differential test asks about: a fixed-seed generator of five-field
//! cron expressions and macros, with names, ranges, steps and lists in every field.

/// SplitMix64: a small deterministic generator, so every run checks the same cases.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.next() as usize % items.len()]
    }
}

pub const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
pub const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

struct FieldGen {
    lo: i64,
    hi: i64,
    /// Values drawn more often (the hours of a zone's clock changes).
    hot: Vec<i64>,
    names: &'static [&'static str],
    first_name: i64,
}

impl FieldGen {
    fn value(&self, rng: &mut Rng) -> i64 {
        if !self.hot.is_empty() && rng.chance(60) {
            *rng.pick(&self.hot)
        } else {
            rng.range(self.lo, self.hi)
        }
    }

    fn show(&self, rng: &mut Rng, v: i64) -> String {
        let i = v - self.first_name;
        if !self.names.is_empty() && (0..self.names.len() as i64).contains(&i) && rng.chance(40) {
            let name = self.names[i as usize];
            match rng.range(0, 2) {
                0 => name.to_string(),
                1 => name.to_ascii_lowercase(),
                _ => format!("{}{}", &name[..1], name[1..].to_ascii_lowercase()),
            }
        } else {
            v.to_string()
        }
    }

    fn item(&self, rng: &mut Rng) -> String {
        let step = |rng: &mut Rng| rng.range(1, (self.hi - self.lo).clamp(1, 20));
        match rng.range(0, 9) {
            0 | 1 => "*".to_string(),
            2 | 3 => format!("*/{}", step(rng)),
            4..=6 => {
                let v = self.value(rng);
                self.show(rng, v)
            }
            7 | 8 => {
                let (a, b) = (self.value(rng), self.value(rng));
                format!("{}-{}", self.show(rng, a.min(b)), self.show(rng, a.max(b)))
            }
            _ => {
                let (a, b) = (self.value(rng), self.value(rng));
                let s = step(rng);
                format!(
                    "{}-{}/{s}",
                    self.show(rng, a.min(b)),
                    self.show(rng, a.max(b))
                )
            }
        }
    }

    /// A field; `star` is the chance (percent) of a plain `*`.
    fn field(&self, rng: &mut Rng, star: u64) -> String {
        if rng.chance(star) {
            return "*".to_string();
        }
        let count = if rng.chance(25) { rng.range(2, 3) } else { 1 };
        (0..count)
            .map(|_| self.item(rng))
            .collect::<Vec<_>>()
            .join(",")
    }
}

pub fn expression(rng: &mut Rng, hot_hours: &[i64], day_star: u64) -> String {
    if rng.chance(4) {
        return rng
            .pick(&[
                "@yearly",
                "@annually",
                "@monthly",
                "@weekly",
                "@daily",
                "@midnight",
                "@hourly",
            ])
            .to_string();
    }
    let plain = |lo, hi| FieldGen {
        lo,
        hi,
        hot: vec![],
        names: &[],
        first_name: 0,
    };
    let minute = FieldGen {
        hot: vec![0, 15, 30, 45],
        ..plain(0, 59)
    };
    let hour = FieldGen {
        hot: hot_hours.to_vec(),
        ..plain(0, 23)
    };
    let month = FieldGen {
        names: &MONTHS,
        first_name: 1,
        ..plain(1, 12)
    };
    let dow = FieldGen {
        names: &DAYS,
        ..plain(0, 7)
    };
    format!(
        "{} {} {} {} {}",
        minute.field(rng, 15),
        hour.field(rng, 15),
        plain(1, 31).field(rng, day_star),
        month.field(rng, day_star),
        dow.field(rng, day_star),
    )
}

/// The five fields a macro stands for (§3.1), for the oracles that take no macros.
pub fn expand(expr: &str) -> &str {
    match expr {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        other => other,
    }
}
