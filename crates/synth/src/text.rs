//! Small text helpers: GB 32100 credit codes, date spellings, width variants.

use unicode_normalization::UnicodeNormalization;

use crate::rng::Rng;

const USCC_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// The GB 32100 check character for the first 17 characters of a credit code.
pub fn uscc_check(body: &str) -> Option<char> {
    let mut sum = 0u32;
    for (i, b) in body.bytes().enumerate().take(17) {
        let v = USCC_CHARS.iter().position(|c| *c == b)? as u32;
        sum += v * USCC_WEIGHTS[i];
    }
    let check = (31 - sum % 31) % 31;
    Some(char::from(USCC_CHARS[check as usize]))
}

/// The GB 11714 check character of an organisation code's first eight characters.
pub fn org_code_check(code: &[u8]) -> char {
    const W: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = code
        .iter()
        .zip(W)
        .map(|(c, w)| {
            let v = if c.is_ascii_digit() {
                u32::from(c - b'0')
            } else {
                u32::from(c - b'A') + 10
            };
            v * w
        })
        .sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        d => char::from(b'0' + d as u8),
    }
}

/// A valid 统一社会信用代码 for an enterprise registered in `division` (six digits).
pub fn uscc(rng: &mut Rng, division: &str) -> String {
    // 9 = market regulation registration, 1 = enterprise; then the division code and a
    // nine-character organisation code (GB 11714, with its own check character).
    let mut org: Vec<u8> = (0..8)
        .map(|_| {
            if rng.chance(0.8) {
                b'0' + rng.below(10) as u8
            } else {
                *rng.pick(&USCC_CHARS[10..])
            }
        })
        .collect();
    let check = org_code_check(&org);
    org.push(check as u8);
    let body = format!("91{division}{}", String::from_utf8_lossy(&org));
    let check = uscc_check(&body).unwrap_or('0');
    format!("{body}{check}")
}

/// NFKC with runs of whitespace collapsed to one space and the ends trimmed: the published
/// form of model and specification cells.
pub fn fold(text: &str) -> String {
    let folded: String = text.nfkc().collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The full-width form of ASCII letters, digits and `-`, as some tables print them.
pub fn to_fullwidth(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c),
            ' ' => '\u{3000}',
            c => c,
        })
        .collect()
}

/// Half-width brackets, as some tables print names.
pub fn halfwidth_brackets(text: &str) -> String {
    text.replace('（', "(").replace('）', ")")
}

/// Days in a month of a year.
pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// Year.
    pub y: i32,
    /// Month 1–12.
    pub m: u32,
    /// Day 1–31.
    pub d: u32,
}

impl Date {
    /// A random date within a year.
    pub fn random_in(rng: &mut Rng, year: i32) -> Self {
        let m = rng.range(1, 12) as u32;
        let d = rng.range(1, i64::from(days_in_month(year, m))) as u32;
        Self { y: year, m, d }
    }

    /// Days since 1899-12-30: the serial of Excel's 1900 date system.
    pub fn excel_serial(self) -> f64 {
        // Days from civil (Howard Hinnant), relative to 1970-01-01, then shifted.
        let y = i64::from(self.y) - i64::from(self.m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.m);
        let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.d) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        (days + 25_569) as f64
    }

    /// ISO 8601.
    pub fn iso(self) -> String {
        format!("{:04}-{:02}-{:02}", self.y, self.m, self.d)
    }

    /// Days before (negative) or after this date, staying within sane calendars.
    pub fn minus_days(self, days: u32) -> Self {
        let mut d = self;
        for _ in 0..days {
            if d.d > 1 {
                d.d -= 1;
            } else if d.m > 1 {
                d.m -= 1;
                d.d = days_in_month(d.y, d.m);
            } else {
                d.y -= 1;
                d.m = 12;
                d.d = 31;
            }
        }
        d
    }
}

/// How a production date is written in a raw cell, and what the published truth is.
pub struct DateSpelling {
    /// The raw cell.
    pub raw: String,
    /// The published `production_date` (ISO), if the cell holds a readable date.
    pub date: Option<String>,
}

/// A production date spelled in one of the forms of docs/REAL-DATA.md §4.8. Month-only spellings
/// publish the first day of the month; a batch number publishes no date.
pub fn spell_production_date(rng: &mut Rng, date: Date) -> DateSpelling {
    let Date { y, m, d } = date;
    let full = Some(date.iso());
    let month = Some(format!("{y:04}-{m:02}-01"));
    let (raw, date) = match rng.below(16) {
        0 | 1 => (format!("{y}.{m}.{d}"), full),
        2 | 3 => (date.iso(), full),
        4 => (format!("{y}/{m}/{d}"), full),
        5 => (format!("{y}年{m}月{d}日"), full),
        6 => (format!("{y}年{m}月"), month),
        7 => (format!("{y}-{m:02}"), month),
        8 => (format!("{y}.{m:02}"), month),
        9 => (format!("{y:04}{m:02}{d:02}"), full),
        10 => (format!("{}/未标注", date.iso()), full),
        11 => (format!("{y:04}{m:02}{d:02}//"), full),
        12 => (format!("批号：{:02}{m:02}{d:02}", y % 100), None),
        13 => (format!("B{y:04}{m:02}{d:02}"), None),
        14 => (format!("{:02}{m:02}{d:02}/未标注", y % 100), None),
        _ => (format!("{y}.{m:02}.{d:02}"), full),
    };
    DateSpelling { raw, date }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_codes_carry_a_valid_check_character() {
        // A published example of a valid code.
        assert_eq!(uscc_check("91350100M000100Y4"), Some('3'));
        let mut rng = Rng::new(1, &["uscc"]);
        for _ in 0..100 {
            let code = uscc(&mut rng, "330302");
            assert_eq!(code.len(), 18);
            assert_eq!(uscc_check(&code[..17]), code.chars().last());
        }
    }

    #[test]
    fn fold_is_nfkc_with_collapsed_spaces() {
        assert_eq!(fold("ＨＤ－１７１８\u{3000}1800W"), "HD-1718 1800W");
        assert_eq!(fold(&to_fullwidth("SL-15A 1500W")), "SL-15A 1500W");
    }
}
