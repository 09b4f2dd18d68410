//! CSV as arrow-csv writes it (RFC 4180: a field is quoted only when it holds a comma, a
//! quote or a line break, quotes doubled; nulls empty; other types formatted by Arrow's
//! display with arrow-csv's options), with text copied as bytes.
//!
//! Measured on a 1M-row export at 5M rows, arrow-csv spent a third of the CPU formatting each
//! string through `fmt::Display` into a scratch buffer, checking it as UTF-8 again and copying
//! it twice more; text columns are most of a spot-check row.

use std::fmt::Write as _;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

/// One column, as it is written.
enum Column<'a> {
    Utf8(&'a datafusion::arrow::array::StringArray),
    LargeUtf8(&'a datafusion::arrow::array::LargeStringArray),
    Utf8View(&'a datafusion::arrow::array::StringViewArray),
    Other(ArrayFormatter<'a>),
}

/// Whether a field must be quoted.
fn needs_quotes(field: &[u8]) -> bool {
    field
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
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
) -> std::io::Result<Vec<Column<'a>>> {
    let mut columns = Vec::with_capacity(batch.num_columns());
    for a in batch.columns() {
        columns.push(match a.data_type() {
            DataType::Utf8 => Column::Utf8(a.as_string::<i32>()),
            DataType::LargeUtf8 => Column::LargeUtf8(a.as_string::<i64>()),
            DataType::Utf8View => Column::Utf8View(a.as_string_view()),
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
        .map(|b| columns(b, &options))
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
    /// The lines of `batch`.
    pub fn of(batch: &RecordBatch) -> std::io::Result<Self> {
        let options = FormatOptions::default().with_null("");
        let columns = columns(batch, &options)?;
        let rows = batch.num_rows();
        let mut lines = Self {
            bytes: Vec::with_capacity(rows * 64),
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
        // A pick past a batch's rows is an error, not a short file.
        assert!(copy_picked(&lines, &[(1, 3)], &mut copied).is_err());
        assert!(copy_picked(&lines, &[(2, 0)], &mut copied).is_err());
    }
}
