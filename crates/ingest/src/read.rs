//! Readers: any attachment to tables of text rows, numbered as docs/DESIGN.md §4 counts `source_row`.
//!
//! The container and the encoding are detected from the bytes, never taken from the file
//! name or `publication.toml` (a hint there may be wrong).

use std::io::Cursor;
use std::path::Path;

use calamine::{Data, Reader, open_workbook_auto_from_rs};

use crate::error::{IngestError, Result};

/// The container of an attachment, as its bytes show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// Delimited text.
    Csv,
    /// An HTML page.
    Html,
    /// Office Open XML workbook (a zip).
    Xlsx,
    /// Excel 97–2003 workbook (a Compound File).
    Xls,
    /// JSON.
    Json,
}

/// How text bytes were decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 without BOM.
    Utf8,
    /// UTF-8 with a byte-order mark.
    Utf8Bom,
    /// UTF-16 with a byte-order mark.
    Utf16,
    /// GB18030 (covers GBK and GB2312 files).
    Gb18030,
}

/// One physical row and the number a person sees for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    /// `source_row`: CSV physical line where the record starts, spreadsheet row, HTML `<tr>`
    /// within its table, or JSON record index; all 1-based.
    pub number: u32,
    /// Cell texts, in column order (a `colspan` cell is followed by empty cells).
    pub cells: Vec<String>,
}

/// One table of an attachment: a sheet, an HTML table, or the whole CSV or JSON file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTable {
    /// `source_sheet`: sheet name, 1-based HTML table index, or `None`.
    pub sheet: Option<String>,
    /// Physical rows in order.
    pub rows: Vec<RawRow>,
}

/// What was read from one attachment.
#[derive(Debug, Clone)]
pub struct Read {
    /// Its container.
    pub container: Container,
    /// Its text encoding (text containers only).
    pub encoding: Option<TextEncoding>,
    /// Its tables.
    pub tables: Vec<RawTable>,
}

/// Detects the container from the first bytes.
pub fn detect_container(path: &Path, bytes: &[u8]) -> Result<Container> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Ok(Container::Xlsx);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return Ok(Container::Xls);
    }
    if bytes.starts_with(b"%PDF") {
        return Err(IngestError::Unsupported {
            path: path.to_path_buf(),
            what: "PDF",
        });
    }
    let head: Vec<u8> = bytes
        .iter()
        .skip(if bytes.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        })
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .take(64)
        .collect();
    let lower = String::from_utf8_lossy(&head).to_ascii_lowercase();
    if lower.starts_with("<!doctype")
        || lower.starts_with("<html")
        || lower.starts_with("<table")
        || lower.starts_with("<?xml")
        || lower.starts_with("<head")
        || lower.starts_with("<meta")
    {
        return Ok(Container::Html);
    }
    if lower.starts_with('{') || lower.starts_with('[') {
        return Ok(Container::Json);
    }
    Ok(Container::Csv)
}

/// Decodes text: a BOM decides; else strict UTF-8; else GB18030. Bytes that decode in
/// neither are an error naming the first bad offset, never silently replaced.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<(String, TextEncoding)> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return strict(path, rest, encoding_rs::UTF_8).map(|t| (t, TextEncoding::Utf8Bom));
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        let (text, _, bad) = encoding_rs::UTF_16LE.decode(bytes);
        if !bad {
            return Ok((text.into_owned(), TextEncoding::Utf16));
        }
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((text.to_owned(), TextEncoding::Utf8));
    }
    strict(path, bytes, encoding_rs::GB18030).map(|t| (t, TextEncoding::Gb18030))
}

fn strict(path: &Path, bytes: &[u8], enc: &'static encoding_rs::Encoding) -> Result<String> {
    let mut decoder = enc.new_decoder_without_bom_handling();
    let mut out = String::with_capacity(bytes.len() * 3 / 2 + 16);
    let mut first_bad = None;
    let mut bad = 0usize;
    let mut read = 0usize;
    loop {
        let (result, n) =
            decoder.decode_to_string_without_replacement(&bytes[read..], &mut out, true);
        read += n;
        match result {
            encoding_rs::DecoderResult::InputEmpty => break,
            encoding_rs::DecoderResult::OutputFull => out.reserve(bytes.len() - read + 64),
            encoding_rs::DecoderResult::Malformed(len, _) => {
                bad += 1;
                first_bad.get_or_insert(read.saturating_sub(usize::from(len)));
                out.push('\u{FFFD}');
            }
        }
    }
    match first_bad {
        Some(offset) => Err(IngestError::Encoding {
            path: path.to_path_buf(),
            offset,
            bad,
        }),
        None => Ok(out),
    }
}

/// Reads an attachment's bytes into tables.
pub fn read(path: &Path, bytes: &[u8]) -> Result<Read> {
    let container = detect_container(path, bytes)?;
    match container {
        Container::Xlsx | Container::Xls => Ok(Read {
            container,
            encoding: None,
            tables: workbook(path, bytes)?,
        }),
        Container::Csv | Container::Html | Container::Json => {
            let (text, encoding) = decode(path, bytes)?;
            let tables = match container {
                Container::Csv => vec![csv_table(&text)],
                Container::Html => html_tables(&text),
                _ => vec![json_table(path, &text)?],
            };
            Ok(Read {
                container,
                encoding: Some(encoding),
                tables,
            })
        }
    }
}

/// Reads a file from disk.
pub fn read_file(path: &Path) -> Result<Read> {
    let bytes = std::fs::read(path).map_err(|source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read(path, &bytes)
}

fn csv_table(text: &str) -> RawTable {
    // The csv crate counts a CRLF record's line wrongly and treats a lone CR as part of a
    // field: unify line ends first (mixed endings occur in real exports).
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    // Ragged rows, stray quotes and NUL bytes are data to classify, not reasons to stop.
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    let bytes = text.as_bytes();
    // Line numbers are counted here from byte offsets: the csv crate's count starts a record
    // at the blank lines before it.
    let (mut at, mut line) = (0usize, 1u32);
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {
                let mut start = record.position().map_or(at, |p| p.byte() as usize).max(at);
                line += bytes[at..start].iter().filter(|b| **b == b'\n').count() as u32;
                while bytes.get(start) == Some(&b'\n') {
                    start += 1;
                    line += 1;
                }
                at = start;
                rows.push(RawRow {
                    number: line,
                    cells: record.iter().map(str::to_owned).collect(),
                });
            }
            Ok(false) => break,
            // Invalid UTF-8 cannot occur (the text is decoded); keep the position moving.
            Err(_) => continue,
        }
    }
    RawTable { sheet: None, rows }
}

fn html_tables(text: &str) -> Vec<RawTable> {
    let doc = scraper::Html::parse_document(text);
    let (Ok(tables), Ok(rows_sel), Ok(cells_sel)) = (
        scraper::Selector::parse("table"),
        scraper::Selector::parse("tr"),
        scraper::Selector::parse("td, th"),
    ) else {
        return Vec::new();
    };
    doc.select(&tables)
        .enumerate()
        .map(|(t, table)| {
            let rows = table
                .select(&rows_sel)
                // Rows of a nested table belong to that table.
                .filter(|tr| {
                    tr.ancestors()
                        .filter_map(scraper::ElementRef::wrap)
                        .find(|e| e.value().name() == "table")
                        == Some(table)
                })
                .enumerate()
                .map(|(i, tr)| {
                    let cells = tr
                        .select(&cells_sel)
                        .map(|td| {
                            let span = |name| {
                                td.value()
                                    .attr(name)
                                    .and_then(|s: &str| s.trim().parse::<usize>().ok())
                                    .unwrap_or(1)
                                    .clamp(1, 1024)
                            };
                            (html_cell_text(td), span("colspan"), span("rowspan"))
                        })
                        .collect::<Vec<_>>();
                    (i, cells)
                })
                .collect::<Vec<_>>();
            RawTable {
                sheet: Some((t + 1).to_string()),
                rows: expand_spans(rows),
            }
        })
        .collect()
}

/// A cell's text with its ends trimmed; a line break (`<br>`, or a paragraph, block or list
/// item inside the cell) is a `\n`, as a line break inside a spreadsheet cell is.
fn html_cell_text(td: scraper::ElementRef<'_>) -> String {
    let mut text = String::new();
    for node in td.descendants() {
        match node.value() {
            scraper::Node::Text(t) => text.push_str(t),
            scraper::Node::Element(e) if matches!(e.name(), "br" | "p" | "div" | "li") => {
                text.push('\n')
            }
            _ => {}
        }
    }
    text.trim_matches(|c: char| c.is_whitespace()).to_owned()
}

/// An HTML cell: its text, `colspan` and `rowspan`.
type SpanCell = (String, usize, usize);

/// Rows of `(text, colspan, rowspan)` cells laid on a grid: a `colspan` cell is followed by
/// empty cells; a `rowspan` cell's text is repeated in the rows below it, at its columns, so
/// that every row's cells stand under their headers.
fn expand_spans(rows: Vec<(usize, Vec<SpanCell>)>) -> Vec<RawRow> {
    // Per column: the text still to be repeated and for how many more rows.
    let mut pending: Vec<Option<(String, usize)>> = Vec::new();
    let mut out = Vec::with_capacity(rows.len());
    for (i, cells) in rows {
        let mut row: Vec<String> = Vec::new();
        let mut col = 0;
        let take_pending =
            |row: &mut Vec<String>, col: &mut usize, pending: &mut Vec<Option<(String, usize)>>| {
                while let Some(Some((text, left))) = pending.get_mut(*col) {
                    row.push(text.clone());
                    *left -= 1;
                    if *left == 0 {
                        pending[*col] = None;
                    }
                    *col += 1;
                }
            };
        for (text, colspan, rowspan) in cells {
            take_pending(&mut row, &mut col, &mut pending);
            for k in 0..colspan {
                row.push(if k == 0 { text.clone() } else { String::new() });
                if rowspan > 1 {
                    if pending.len() <= col {
                        pending.resize(col + 1, None);
                    }
                    let carried = if k == 0 { text.clone() } else { String::new() };
                    pending[col] = Some((carried, rowspan - 1));
                }
                col += 1;
            }
        }
        // Spans from above to the right of the last cell.
        while col < pending.len() {
            if pending[col].is_some() {
                take_pending(&mut row, &mut col, &mut pending);
            } else {
                break;
            }
        }
        out.push(RawRow {
            number: i as u32 + 1,
            cells: row,
        });
    }
    out
}

fn json_table(path: &Path, text: &str) -> Result<RawTable> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| IngestError::Json {
        path: path.to_path_buf(),
        problem: format!("not JSON: {e}"),
    })?;
    let records = match &doc {
        serde_json::Value::Array(items) => Some(items),
        serde_json::Value::Object(map) => ["rows", "data", "records", "list", "items", "result"]
            .iter()
            .find_map(|k| map.get(*k).and_then(serde_json::Value::as_array))
            .or_else(|| {
                map.values().find_map(|v| {
                    v.as_array()
                        .filter(|a| a.iter().any(serde_json::Value::is_object))
                })
            }),
        _ => None,
    }
    .ok_or_else(|| IngestError::Json {
        path: path.to_path_buf(),
        problem: "holds no array of records".into(),
    })?;
    // The header is the union of keys in first-seen order; row 0 carries it.
    let mut keys: Vec<String> = Vec::new();
    for r in records.iter().filter_map(serde_json::Value::as_object) {
        for k in r.keys() {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    let mut rows = vec![RawRow {
        number: 0,
        cells: keys.clone(),
    }];
    for (i, r) in records.iter().enumerate() {
        let cells = keys
            .iter()
            .map(|k| match r.get(k) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            })
            .collect();
        rows.push(RawRow {
            number: i as u32 + 1,
            cells,
        });
    }
    Ok(RawTable { sheet: None, rows })
}

fn workbook(path: &Path, bytes: &[u8]) -> Result<Vec<RawTable>> {
    let err = |source| IngestError::Workbook {
        path: path.to_path_buf(),
        source,
    };
    let mut wb = open_workbook_auto_from_rs(Cursor::new(bytes.to_vec())).map_err(err)?;
    let mut tables = Vec::new();
    for name in wb.sheet_names() {
        let range = wb.worksheet_range(&name).map_err(err)?;
        // A range starts at its first used cell; rows and columns count from A1.
        let (r0, c0) = range.start().unwrap_or((0, 0));
        let rows = range
            .rows()
            .enumerate()
            .map(|(i, row)| {
                let mut cells: Vec<String> = vec![String::new(); c0 as usize];
                cells.extend(row.iter().map(cell_text));
                RawRow {
                    number: r0 + i as u32 + 1,
                    cells,
                }
            })
            .collect();
        tables.push(RawTable {
            sheet: Some(name),
            rows,
        });
    }
    Ok(tables)
}

/// A workbook cell as text: whole floats without `.0`, dates as ISO dates.
fn cell_text(d: &Data) -> String {
    match d {
        Data::String(s) => s.clone(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => excel_date(dt.as_f64()),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
        Data::Empty => String::new(),
    }
}

/// An Excel serial (1900 system) as an ISO date (time of day dropped).
fn excel_date(serial: f64) -> String {
    let (y, m, d) = zhijian_catalog::civil_from_days(serial.floor() as i64 - 25_569);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn html_rows(html: &str) -> Vec<Vec<String>> {
        html_tables(html)
            .remove(0)
            .rows
            .into_iter()
            .map(|r| r.cells)
            .collect()
    }

    #[test]
    fn html_spans_are_expanded_so_every_cell_stands_under_its_header() {
        let rows = html_rows(
            "<table><tr><td rowspan=2>序号</td><td colspan=3>产品信息</td><td rowspan=2>结果</td></tr>\
             <tr><td>产品名称</td><td>商标</td><td>规格型号</td></tr>\
             <tr><td>1</td><td rowspan=2>电热水壶</td><td>美的</td><td>MK-1</td><td>合格</td></tr>\
             <tr><td>2</td><td>苏泊尔</td><td>SW-2</td><td>不合格</td></tr>\
             <tr><td>3</td><td>插座</td><td>公牛</td><td></td><td></td></tr></table>",
        );
        assert_eq!(rows[0], ["序号", "产品信息", "", "", "结果"]);
        assert_eq!(rows[1], ["序号", "产品名称", "商标", "规格型号", "结果"]);
        assert_eq!(rows[2], ["1", "电热水壶", "美的", "MK-1", "合格"]);
        assert_eq!(rows[3], ["2", "电热水壶", "苏泊尔", "SW-2", "不合格"]);
        assert_eq!(rows[4], ["3", "插座", "公牛", "", ""]);
    }

    #[test]
    fn html_line_breaks_inside_a_cell_are_newlines() {
        let rows = html_rows(
            "<table><tr><td> 泛霜<br>石灰爆裂<br/>  </td><td><p>A</p><p>B</p></td></tr></table>",
        );
        assert_eq!(rows[0], ["泛霜\n石灰爆裂", "A\nB"]);
    }

    #[test]
    fn serials_become_iso_dates() {
        assert_eq!(excel_date(42297.0), "2015-10-20");
        assert_eq!(excel_date(61.0), "1900-03-01");
    }

    #[test]
    fn csv_rows_are_numbered_by_physical_line() {
        let t = csv_table("a,\"b\nc\",d\r\n1,2,3\r\n\r\n4,5\r\n");
        let numbers: Vec<u32> = t.rows.iter().map(|r| r.number).collect();
        assert_eq!(numbers, [1, 3, 5]);
        assert_eq!(t.rows[2].cells, ["4", "5"]);
    }

    #[test]
    fn gbk_bytes_decode_and_garbage_is_reported() {
        let path = Path::new("x.csv");
        let (gbk, _, _) = encoding_rs::GBK.encode("序号,企业名称");
        let (text, enc) = decode(path, &gbk).expect("decodes");
        assert_eq!(
            (text.as_str(), enc),
            ("序号,企业名称", TextEncoding::Gb18030)
        );
        let err = decode(path, b"ok\xFF\xFF\xFF").expect_err("undecodable");
        assert!(err.to_string().contains("byte 2"), "{err}");
    }
}
