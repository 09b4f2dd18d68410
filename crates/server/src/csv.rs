//! CSV as arrow-csv writes it (RFC 4180: a field is quoted only when it holds a comma, a
//! quote or a line break, quotes doubled; nulls empty; other types formatted by Arrow's
//! display with arrow-csv's options), with text copied as bytes.
//!
//! Measured on a 1M-row export at 5M rows, arrow-csv spent a third of the CPU formatting each
//! string through `fmt::Display` into a scratch buffer, checking it as UTF-8 again and copying
//! it twice more; text columns are most of a spot-check row.
//!
//! An ordered export encodes each batch as [`Lines`] on the thread that decoded it, its text
//! read as the bytes stored (binary columns there are text, written as they are; elsewhere
//! binary is written in hex, as arrow-csv does), and the reading thread copies the lines it
//! picks ([`copy_picked`]).

use std::fmt::Write as _;

use datafusion::arrow::array::{Array, AsArray, PrimitiveArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Date32Type, Int32Type, Int64Type};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

/// One column, as it is written.
enum Column<'a> {
    Utf8(&'a datafusion::arrow::array::StringArray),
    LargeUtf8(&'a datafusion::arrow::array::LargeStringArray),
    Utf8View(&'a datafusion::arrow::array::StringViewArray),
    /// Text read as the bytes stored (an ordered read's `Text::Bytes`).
    Bytes(&'a datafusion::arrow::array::BinaryArray),
    BytesView(&'a datafusion::arrow::array::BinaryViewArray),
    Int32(&'a PrimitiveArray<Int32Type>),
    Int64(&'a PrimitiveArray<Int64Type>),
    /// Dates of years 0 to 9999 written here; others as Arrow displays them.
    Date32(&'a PrimitiveArray<Date32Type>, ArrayFormatter<'a>),
    Other(ArrayFormatter<'a>),
}

/// Whether a field must be quoted: it holds a comma, a quote, a CR or a LF. Eight bytes are
/// tested at a time (a spot-check row is mostly text, most of it Chinese).
fn needs_quotes(field: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Whether any byte of `word` is `b` (the classic zero-byte test on `word ^ b…b`).
    let holds = |word: u64, b: u8| {
        let x = word ^ (ONES * u64::from(b));
        x.wrapping_sub(ONES) & !x & HIGHS != 0
    };
    let special = |w: u64| holds(w, b',') | holds(w, b'"') | holds(w, b'\n') | holds(w, b'\r');
    let mut chunks = field.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if special(u64::from_le_bytes(word)) {
            return true;
        }
    }
    // The rest padded with zero bytes, which are none of the four.
    let rest = chunks.remainder();
    let mut word = [0u8; 8];
    word[..rest.len()].copy_from_slice(rest);
    special(u64::from_le_bytes(word))
}

/// Appends `n` in decimal.
fn integer(out: &mut Vec<u8>, n: i64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[at..]);
}

/// Appends the date `days` after 1970-01-01 as `YYYY-MM-DD` when its year is 0 to 9999
/// (`false` otherwise: nothing written). The civil calendar from days, as in H. Hinnant's
/// `civil_from_days`.
fn date(out: &mut Vec<u8>, days: i32) -> bool {
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if !(0..=9999).contains(&year) {
        return false;
    }
    let digit = |n: i64| b'0' + (n % 10) as u8;
    out.extend_from_slice(&[
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(month / 10),
        digit(month),
        b'-',
        digit(day / 10),
        digit(day),
    ]);
    true
}

/// Appends one field, quoted when it must be.
fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    if needs_quotes(bytes) {
        out.push(b'"');
        for &b in bytes {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(bytes);
    }
}

/// The header line: the column names as fields.
pub fn header(names: &[&str], out: &mut Vec<u8>) {
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        field(out, n.as_bytes());
    }
    if names.len() == 1 && names[0].is_empty() {
        out.extend_from_slice(b"\"\"");
    }
    out.push(b'\n');
}

/// Appends the rows of `batch`.
pub fn rows(batch: &RecordBatch, out: &mut Vec<u8>) -> std::io::Result<()> {
    let picks: Vec<(usize, usize)> = (0..batch.num_rows()).map(|r| (0, r)).collect();
    picked(std::slice::from_ref(batch), &picks, out)
}

/// The columns of one batch, as they are written.
fn columns<'a>(
    batch: &'a RecordBatch,
    options: &'a FormatOptions<'a>,
    binary_is_text: bool,
) -> std::io::Result<Vec<Column<'a>>> {
    let mut columns = Vec::with_capacity(batch.num_columns());
    for a in batch.columns() {
        columns.push(match a.data_type() {
            DataType::Utf8 => Column::Utf8(a.as_string::<i32>()),
            DataType::LargeUtf8 => Column::LargeUtf8(a.as_string::<i64>()),
            DataType::Utf8View => Column::Utf8View(a.as_string_view()),
            DataType::Binary if binary_is_text => Column::Bytes(a.as_binary::<i32>()),
            DataType::BinaryView if binary_is_text => Column::BytesView(a.as_binary_view()),
            DataType::Int32 => Column::Int32(a.as_primitive()),
            DataType::Int64 => Column::Int64(a.as_primitive()),
            DataType::Date32 => Column::Date32(
                a.as_primitive(),
                ArrayFormatter::try_new(a.as_ref(), options).map_err(std::io::Error::other)?,
            ),
            t if t.is_nested() => {
                return Err(std::io::Error::other(format!(
                    "nested type {t} is not supported in CSV"
                )));
            }
            _ => Column::Other(
                ArrayFormatter::try_new(a.as_ref(), options).map_err(std::io::Error::other)?,
            ),
        });
    }
    Ok(columns)
}

/// Appends row `row` of `columns` (one batch's, as [`columns`] gives them) and its line end.
fn row(
    columns: &[Column],
    row: usize,
    scratch: &mut String,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    let start = out.len();
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match c {
            Column::Utf8(a) => {
                if a.is_valid(row) {
                    field(out, a.value(row).as_bytes());
                }
            }
            Column::LargeUtf8(a) => {
                if a.is_valid(row) {
                    field(out, a.value(row).as_bytes());
                }
            }
            Column::Utf8View(a) => {
                if a.is_valid(row) {
                    field(out, a.value(row).as_bytes());
                }
            }
            Column::Bytes(a) => {
                if a.is_valid(row) {
                    field(out, a.value(row));
                }
            }
            Column::BytesView(a) => {
                if a.is_valid(row) {
                    field(out, a.value(row));
                }
            }
            Column::Int32(a) => {
                if a.is_valid(row) {
                    integer(out, i64::from(a.value(row)));
                }
            }
            Column::Int64(a) => {
                if a.is_valid(row) {
                    integer(out, a.value(row));
                }
            }
            Column::Date32(a, f) => {
                if a.is_valid(row) && !date(out, a.value(row)) {
                    scratch.clear();
                    write!(scratch, "{}", f.value(row)).map_err(std::io::Error::other)?;
                    field(out, scratch.as_bytes());
                }
            }
            Column::Other(f) => {
                scratch.clear();
                write!(scratch, "{}", f.value(row)).map_err(std::io::Error::other)?;
                field(out, scratch.as_bytes());
            }
        }
    }
    // A record of one empty field is written as `""`, or it would read as no record.
    if columns.len() == 1 && out.len() == start {
        out.extend_from_slice(b"\"\"");
    }
    out.push(b'\n');
    Ok(())
}

/// Appends rows picked from batches of one schema: row `r` of batch `b` for each `(b, r)`, in
/// that order (the rows of an ordered read, written without copying them into one batch).
pub fn picked(
    batches: &[RecordBatch],
    picks: &[(usize, usize)],
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    let options = FormatOptions::default().with_null("");
    let columns: Vec<Vec<Column>> = batches
        .iter()
        .map(|b| columns(b, &options, false))
        .collect::<std::io::Result<_>>()?;
    let mut scratch = String::new();
    for &(b, r) in picks {
        let Some(columns) = columns.get(b) else {
            return Err(std::io::Error::other(format!("no batch {b} to pick from")));
        };
        row(columns, r, &mut scratch, out)?;
    }
    Ok(())
}

/// The rows of one batch written as CSV lines (no header), where each line ends: an ordered
/// read encodes a batch on the thread that decoded it, and the reading thread copies the
/// lines it picks ([`copy_picked`]).
#[derive(Debug, Default)]
pub struct Lines {
    bytes: Vec<u8>,
    /// Where each row's line ends in `bytes`.
    ends: Vec<usize>,
}

impl Lines {
    /// The lines of `batch`, whose binary columns are text read as bytes (an ordered read's
    /// `Text::Bytes`): written as they are, where Arrow would write them in hex.
    pub fn of(batch: &RecordBatch) -> std::io::Result<Self> {
        let options = FormatOptions::default().with_null("");
        let columns = columns(batch, &options, true)?;
        let rows = batch.num_rows();
        // Sized once: the text's bytes, a separator per field, 11 bytes per other value.
        fn span<O: datafusion::arrow::array::OffsetSizeTrait>(offsets: &[O]) -> usize {
            match (offsets.first(), offsets.last()) {
                (Some(a), Some(b)) => (*b - *a).as_usize(),
                _ => 0,
            }
        }
        let size: usize = columns
            .iter()
            .map(|c| match c {
                Column::Utf8(a) => span(a.value_offsets()),
                Column::LargeUtf8(a) => span(a.value_offsets()),
                Column::Utf8View(a) => a.total_bytes_len(),
                Column::Bytes(a) => span(a.value_offsets()),
                Column::BytesView(a) => a.total_bytes_len(),
                _ => 11 * rows,
            })
            .sum();
        let mut lines = Self {
            bytes: Vec::with_capacity(size + rows * columns.len()),
            ends: Vec::with_capacity(rows),
        };
        let mut scratch = String::new();
        for r in 0..rows {
            row(&columns, r, &mut scratch, &mut lines.bytes)?;
            lines.ends.push(lines.bytes.len());
        }
        Ok(lines)
    }

    /// The bytes of rows `rows` (their lines, one after another).
    fn of_rows(&self, rows: std::ops::Range<usize>) -> Option<&[u8]> {
        let start = match rows.start {
            0 => 0,
            r => *self.ends.get(r - 1)?,
        };
        let end = *self.ends.get(rows.end.checked_sub(1)?)?;
        self.bytes.get(start..end)
    }
}

impl zhijian_query::spot_rows::Decoded for Lines {
    fn num_rows(&self) -> usize {
        self.ends.len()
    }
}

/// Appends the lines picked: line `r` of `lines[b]` for each `(b, r)`, in that order, a run
/// of consecutive lines of one batch copied at once.
pub fn copy_picked(
    lines: &[Lines],
    picks: &[(usize, usize)],
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    let mut i = 0;
    while let Some(&(b, first)) = picks.get(i) {
        let mut end = first + 1;
        i += 1;
        while picks.get(i) == Some(&(b, end)) {
            end += 1;
            i += 1;
        }
        let bytes = lines
            .get(b)
            .and_then(|l| l.of_rows(first..end))
            .ok_or_else(|| std::io::Error::other(format!("no rows {first}..{end} of {b}")))?;
        out.extend_from_slice(bytes);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{ArrayRef, Date32Array, Int64Array, StringArray};
    use datafusion::arrow::datatypes::{Field, Schema};

    use super::*;

    /// What arrow-csv writes for `batch`.
    fn arrow_csv_of(batch: &RecordBatch, header: bool) -> String {
        let mut out = Vec::new();
        arrow_csv::WriterBuilder::new()
            .with_header(header)
            .build(&mut out)
            .write(batch)
            .unwrap_or_else(|e| panic!("{e}"));
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Our CSV is byte for byte what arrow-csv writes, quoting, nulls, dates and numbers
    /// included.
    #[test]
    fn rows_are_what_arrow_csv_writes() {
        let text: ArrayRef = Arc::new(StringArray::from(vec![
            Some("plain"),
            Some("a,b"),
            Some("say \"hi\""),
            Some("two\nlines"),
            Some("cr\rhere"),
            None,
            Some(""),
            Some("电热水壶"),
        ]));
        let view: ArrayRef = datafusion::arrow::compute::cast(&text, &DataType::Utf8View)
            .unwrap_or_else(|e| panic!("{e}"));
        let numbers: ArrayRef = Arc::new(Int64Array::from(vec![
            Some(1),
            None,
            Some(-3),
            Some(2020),
            Some(0),
            Some(7),
            None,
            Some(i64::MAX),
        ]));
        let dates: ArrayRef = Arc::new(Date32Array::from(vec![
            Some(0),
            Some(19000),
            None,
            Some(-1),
            Some(1),
            Some(2),
            Some(3),
            Some(4),
        ]));
        let schema = Arc::new(Schema::new(vec![
            Field::new("t", DataType::Utf8, true),
            Field::new("v", DataType::Utf8View, true),
            Field::new("n", DataType::Int64, true),
            Field::new("d", DataType::Date32, true),
        ]));
        let batch = RecordBatch::try_new(schema, vec![text.clone(), view, numbers, dates])
            .unwrap_or_else(|e| panic!("{e}"));
        let mut ours = Vec::new();
        header(&["t", "v", "n", "d"], &mut ours);
        rows(&batch, &mut ours).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(String::from_utf8_lossy(&ours), arrow_csv_of(&batch, true));
        // One column, an empty value: `""`, as the csv crate writes it.
        let one = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("t", DataType::Utf8, true)])),
            vec![text],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut ours = Vec::new();
        rows(&one, &mut ours).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(String::from_utf8_lossy(&ours), arrow_csv_of(&one, false));
    }

    /// Lines encoded per batch and copied as picked are the bytes `picked` writes from the
    /// batches themselves: runs of one batch, batches interleaved, a row picked alone, the
    /// first and the last.
    #[test]
    fn lines_copied_as_picked_are_the_rows_written_in_place() {
        let batch = |names: Vec<Option<&str>>, from: i64| {
            let n = names.len() as i64;
            RecordBatch::try_new(
                Arc::new(Schema::new(vec![
                    Field::new("name", DataType::Utf8, true),
                    Field::new("n", DataType::Int64, false),
                ])),
                vec![
                    Arc::new(StringArray::from(names)),
                    Arc::new(Int64Array::from((from..from + n).collect::<Vec<_>>())),
                ],
            )
            .unwrap_or_else(|e| panic!("{e}"))
        };
        let batches = [
            batch(
                vec![Some("a"), None, Some("c,d"), Some("e\"f"), Some("")],
                0,
            ),
            batch(vec![Some("甲"), Some("乙"), None], 100),
        ];
        let picks = [
            (0, 0),
            (0, 1),
            (1, 0),
            (0, 2),
            (0, 3),
            (0, 4),
            (1, 1),
            (1, 2),
        ];
        let mut expected = Vec::new();
        picked(&batches, &picks, &mut expected).unwrap_or_else(|e| panic!("{e}"));
        let lines: Vec<Lines> = batches
            .iter()
            .map(|b| Lines::of(b).unwrap_or_else(|e| panic!("{e}")))
            .collect();
        let mut copied = Vec::new();
        copy_picked(&lines, &picks, &mut copied).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            String::from_utf8_lossy(&copied),
            String::from_utf8_lossy(&expected)
        );
        assert!(copied.starts_with(b"a,0\n,1\n\xE7\x94\xB2,100\n\"c,d\",2\n"));
        // Text read as bytes (binary views; lists joined as binary): the same lines.
        let as_bytes = |b: &RecordBatch, to: &DataType| {
            let mut columns = b.columns().to_vec();
            columns[0] =
                datafusion::arrow::compute::cast(&columns[0], to).unwrap_or_else(|e| panic!("{e}"));
            let schema = Schema::new(vec![
                Field::new("name", to.clone(), true),
                Field::new("n", DataType::Int64, false),
            ]);
            RecordBatch::try_new(Arc::new(schema), columns).unwrap_or_else(|e| panic!("{e}"))
        };
        let bytes: Vec<Lines> = [
            as_bytes(&batches[0], &DataType::BinaryView),
            as_bytes(&batches[1], &DataType::Binary),
        ]
        .iter()
        .map(|b| Lines::of(b).unwrap_or_else(|e| panic!("{e}")))
        .collect();
        let mut from_bytes = Vec::new();
        copy_picked(&bytes, &picks, &mut from_bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(from_bytes, copied);
        // A pick past a batch's rows is an error, not a short file.
        assert!(copy_picked(&lines, &[(1, 3)], &mut copied).is_err());
        assert!(copy_picked(&lines, &[(2, 0)], &mut copied).is_err());
    }

    /// The fast paths (quoting tested eight bytes at a time, integers, dates) write what
    /// arrow-csv writes: a special byte at every place of texts of 0 to 19 bytes, integers at
    /// their limits and powers of ten, dates across five millennia and past year 9999.
    #[test]
    fn fast_paths_write_what_arrow_csv_writes() {
        let mut texts: Vec<Option<String>> = vec![None];
        for len in 0..20 {
            texts.push(Some("字".repeat(len / 3) + &"x".repeat(len % 3)));
            for at in 0..len {
                for special in [",", "\"", "\n", "\r"] {
                    let mut t: Vec<String> = (0..len).map(|_| "a".to_owned()).collect();
                    t[at] = special.to_owned();
                    texts.push(Some(t.concat()));
                }
            }
        }
        let mut longs: Vec<Option<i64>> = vec![None, Some(i64::MIN), Some(i64::MAX), Some(0)];
        for k in 0..19 {
            let p = 10i64.pow(k);
            longs.extend([Some(p), Some(p - 1), Some(-p), Some(1 - p)]);
        }
        let ints: Vec<Option<i32>> = longs
            .iter()
            .map(|v| v.map(|v| v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32))
            .collect();
        let mut days: Vec<Option<i32>> = vec![None, Some(2_932_896), Some(2_932_897)];
        days.extend((-1_000_000..3_000_000).step_by(997).map(Some));
        days.extend((-719_530..-719_520).map(Some));
        let count = texts.len().max(longs.len()).max(days.len());
        let cycle = |n: usize| (0..count).map(move |r| r % n);
        let schema = Arc::new(Schema::new(vec![
            Field::new("t", DataType::Utf8, true),
            Field::new("l", DataType::Int64, true),
            Field::new("i", DataType::Int32, true),
            Field::new("d", DataType::Date32, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(
                    cycle(texts.len())
                        .map(|r| texts[r].clone())
                        .collect::<Vec<_>>(),
                )),
                Arc::new(Int64Array::from(
                    cycle(longs.len()).map(|r| longs[r]).collect::<Vec<_>>(),
                )),
                Arc::new(datafusion::arrow::array::Int32Array::from(
                    cycle(ints.len()).map(|r| ints[r]).collect::<Vec<_>>(),
                )),
                Arc::new(Date32Array::from(
                    cycle(days.len()).map(|r| days[r]).collect::<Vec<_>>(),
                )),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut ours = Vec::new();
        rows(&batch, &mut ours).unwrap_or_else(|e| panic!("{e}"));
        let theirs = arrow_csv_of(&batch, false);
        // Line by line, so a difference names its row.
        for (r, (a, b)) in String::from_utf8_lossy(&ours)
            .split('\n')
            .zip(theirs.split('\n'))
            .enumerate()
        {
            assert_eq!(a, b, "row {r}");
        }
        assert_eq!(String::from_utf8_lossy(&ours), theirs);
    }
}
