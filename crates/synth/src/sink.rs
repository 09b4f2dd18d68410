//! Attachments: rows of cells written as CSV (any encoding), HTML, XLSX or JSON, each with its
//! ground truth, numbered the way docs/DESIGN.md §4 counts `source_row`.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format as XlsxFormat, FormatAlign, Workbook};
use serde_json::{Map, Value, json};

use crate::error::{Result, SynthError};
use crate::text::Date;

/// One cell of a raw table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// A number (XLSX stores serial numbers as floats: `1.0`).
    Num(f64),
    /// A real spreadsheet date (XLSX); text elsewhere.
    Date(Date),
    /// Nothing.
    Empty,
}

impl Cell {
    /// A text cell.
    pub fn text(s: impl Into<String>) -> Self {
        Self::Text(s.into())
    }

    /// How the cell reads as text (CSV, HTML, JSON).
    pub fn as_text(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Self::Num(n) => n.to_string(),
            Self::Date(d) => d.iso(),
            Self::Empty => String::new(),
        }
    }
}

/// What the ingester must do with a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Truth {
    /// Publish this canonical row (schema field → value).
    Data(Map<String, Value>),
    /// Reject the row, and say why.
    Reject {
        /// A short machine reason: `unreadable_result`, `ragged_row`, `no_product`, `missing_required`.
        reason: &'static str,
        /// The field at fault.
        field: String,
        /// The raw value at fault.
        value: String,
    },
    /// Not data: `title`, `header`, `section`, `footnote`, `blank` or `duplicate`.
    NonData(&'static str),
}

impl Truth {
    /// A short name of the kind: `data`, `reject`, `non_data`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Data(_) => "data",
            Self::Reject { .. } => "reject",
            Self::NonData(_) => "non_data",
        }
    }
}

/// A physical row: cells, or one text spanning the table's width (titles, notes, sections).
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Cells in column order (a ragged row has fewer).
    Cells(Vec<Cell>),
    /// One text across the whole width (a merged cell, a `colspan`, or the first CSV cell).
    Span(String),
}

/// One sheet (or HTML table) of an attachment.
#[derive(Debug, Clone, Default)]
pub struct Sheet {
    /// Sheet name (XLSX); HTML tables are numbered, CSV and JSON have none.
    pub name: String,
    /// Number of columns.
    pub width: usize,
    /// The rows with their truth.
    pub rows: Vec<(Shape, Truth)>,
    /// Cells an HTML page merges with `rowspan`/`colspan` (other formats write the grid).
    pub merges: Vec<Merge>,
    /// Rows an HTML page ends with one more, empty cell (`<td>&nbsp;</td>`), as pages
    /// exported from word processors do.
    pub padded: Vec<usize>,
}

/// A block of cells an HTML page writes as one `<td rowspan colspan>`. The rows' cells hold
/// what a reader lays out on the grid again: the anchor's text, repeated below it in its
/// column, empty to its right.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merge {
    /// Row of the anchor cell (index into the sheet's rows).
    pub row: usize,
    /// Column of the anchor cell.
    pub col: usize,
    /// Rows covered, the anchor's included.
    pub rows: usize,
    /// Columns covered, the anchor's included.
    pub cols: usize,
}

impl Sheet {
    /// Where each merge starts and which cells it covers, for one pass over the rows.
    fn merge_grid(&self) -> HashMap<(usize, usize), Option<Merge>> {
        let mut grid = HashMap::new();
        for m in &self.merges {
            for row in m.row..m.row + m.rows {
                for col in m.col..m.col + m.cols {
                    grid.insert((row, col), None);
                }
            }
            grid.insert((m.row, m.col), Some(*m));
        }
        grid
    }
}

/// Character encodings of text attachments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 without BOM.
    Utf8,
    /// UTF-8 with a byte-order mark.
    Utf8Bom,
    /// GBK (text restricted to what GBK encodes).
    Gbk,
    /// GB18030, including characters GBK cannot encode.
    Gb18030,
    /// Declared GB2312 (HTML), written with the GBK superset as real sites did.
    Gb2312,
}

impl Encoding {
    /// The label used in `publication.toml` and in coverage reports.
    pub fn label(self) -> &'static str {
        match self {
            Self::Utf8 => "utf-8",
            Self::Utf8Bom => "utf-8-bom",
            Self::Gbk => "gbk",
            Self::Gb18030 => "gb18030",
            Self::Gb2312 => "gb2312",
        }
    }

    /// Whether text must stay within GBK.
    pub fn is_gbk_family(self) -> bool {
        matches!(self, Self::Gbk | Self::Gb2312)
    }

    fn encode(self, text: &str) -> Vec<u8> {
        match self {
            Self::Utf8 => text.as_bytes().to_vec(),
            Self::Utf8Bom => [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
            Self::Gbk | Self::Gb2312 => encoding_rs::GBK.encode(text).0.into_owned(),
            Self::Gb18030 => encoding_rs::GB18030.encode(text).0.into_owned(),
        }
    }
}

/// Whether GBK can encode the text (so it can go into a GBK or GB2312 file unchanged).
pub fn gbk_encodable(text: &str) -> bool {
    !encoding_rs::GBK.encode(text).2
}

/// The container of an attachment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values; `crlf` for Windows line ends.
    Csv {
        /// Character encoding.
        encoding: Encoding,
        /// `\r\n` line ends.
        crlf: bool,
    },
    /// An HTML page with `<table>`s.
    Html {
        /// Character encoding (declared in a `<meta>`).
        encoding: Encoding,
    },
    /// An Office Open XML workbook.
    Xlsx,
    /// A legacy Excel 97–2003 workbook (BIFF8).
    Xls,
    /// JSON: `{"title", "total", "rows": [{header: value}]}`.
    Json,
}

impl Format {
    /// File extension.
    pub fn ext(self) -> &'static str {
        match self {
            Self::Csv { .. } => "csv",
            Self::Html { .. } => "html",
            Self::Xlsx => "xlsx",
            Self::Xls => "xls",
            Self::Json => "json",
        }
    }

    /// Encoding label for text formats, `binary` otherwise.
    pub fn encoding_label(self) -> &'static str {
        match self {
            Self::Csv { encoding, .. } | Self::Html { encoding } => encoding.label(),
            Self::Json => "utf-8",
            Self::Xlsx | Self::Xls => "binary",
        }
    }

    /// Whether text must stay within GBK.
    pub fn is_gbk_family(self) -> bool {
        match self {
            Self::Csv { encoding, .. } | Self::Html { encoding } => encoding.is_gbk_family(),
            _ => false,
        }
    }
}

/// A raw attachment, ready to be written.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// File name inside the publication directory.
    pub file: String,
    /// Container and encoding.
    pub format: Format,
    /// Page or document title (HTML `<title>`, JSON `title`).
    pub title: String,
    /// Sheets or tables (CSV and JSON use the first only).
    pub sheets: Vec<Sheet>,
    /// The header set (`H1` … `H12`, or our own variants); empty for non-spot-check tables.
    pub layout: &'static str,
}

/// Row accounting of a written attachment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Rows to publish.
    pub data: u64,
    /// Rows to reject.
    pub reject: u64,
    /// Rows that are not data.
    pub non_data: u64,
}

impl Counts {
    /// Adds another count.
    pub fn add(&mut self, other: Self) {
        self.data += other.data;
        self.reject += other.reject;
        self.non_data += other.non_data;
    }

    /// All rows.
    pub fn total(self) -> u64 {
        self.data + self.reject + self.non_data
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SynthError + '_ {
    move |source| SynthError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes the attachment to `dir`, and its truth (one JSON line per row) to `truth` when
/// given; `source_file` is the attachment's path relative to the raw root.
pub fn write(
    att: &Attachment,
    dir: &Path,
    source_file: &str,
    truth: Option<&Path>,
) -> Result<Counts> {
    let path = dir.join(&att.file);
    // (sheet label, source_row, truth) for every row.
    let mut numbered: Vec<(Option<String>, u64, &Truth)> = Vec::new();
    match att.format {
        Format::Csv { encoding, crlf } => {
            let sheet = att.sheets.first().cloned().unwrap_or_default();
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = String::new();
            let mut line = 1u64;
            for (shape, truth) in &att.sheets[0].rows {
                let record = match shape {
                    Shape::Span(t) => csv_field(t),
                    Shape::Cells(cells) => cells
                        .iter()
                        .map(|c| csv_field(&c.as_text()))
                        .collect::<Vec<_>>()
                        .join(","),
                };
                numbered.push((None, line, truth));
                line += 1 + record.matches('\n').count() as u64;
                text.push_str(&record);
                text.push_str(eol);
            }
            let _ = sheet;
            std::fs::write(&path, encoding.encode(&text)).map_err(io(&path))?;
        }
        Format::Html { encoding } => {
            let charset = match encoding {
                Encoding::Gb2312 => "gb2312",
                Encoding::Gbk => "gbk",
                Encoding::Gb18030 => "gb18030",
                Encoding::Utf8 | Encoding::Utf8Bom => "utf-8",
            };
            let mut html = String::new();
            let _ = write!(
                html,
                "<html>\r\n<head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset={charset}\">\r\n<title>{}</title>\r\n</head>\r\n<body>\r\n<div class=\"TRS_Editor\">\r\n<h1>{}</h1>\r\n",
                escape(&att.title),
                escape(&att.title)
            );
            for (t, sheet) in att.sheets.iter().enumerate() {
                html.push_str("<table border=\"1\" cellspacing=\"0\" cellpadding=\"0\">\r\n");
                let merges = sheet.merge_grid();
                let padded: HashSet<usize> = sheet.padded.iter().copied().collect();
                for (r, (shape, truth)) in sheet.rows.iter().enumerate() {
                    numbered.push((Some((t + 1).to_string()), r as u64 + 1, truth));
                    html.push_str("<tr>");
                    match shape {
                        Shape::Span(text) => {
                            let _ = write!(
                                html,
                                "<td colspan=\"{}\"><font>{}</font></td>",
                                sheet.width,
                                escape(text)
                            );
                        }
                        Shape::Cells(cells) => {
                            for (col, c) in cells.iter().enumerate() {
                                let spans = match merges.get(&(r, col)) {
                                    Some(None) => continue,
                                    None => String::new(),
                                    Some(Some(m)) => {
                                        let mut a = String::new();
                                        if m.rows > 1 {
                                            let _ = write!(a, " rowspan=\"{}\"", m.rows);
                                        }
                                        if m.cols > 1 {
                                            let _ = write!(a, " colspan=\"{}\"", m.cols);
                                        }
                                        a
                                    }
                                };
                                let _ = write!(
                                    html,
                                    "<td{spans}><font>{}</font></td>",
                                    // A line break inside a cell is `<br>` on a page.
                                    escape(&c.as_text()).replace('\n', "<br>")
                                );
                            }
                            if padded.contains(&r) {
                                html.push_str("<td>&nbsp;</td>");
                            }
                        }
                    }
                    html.push_str("</tr>\r\n");
                }
                html.push_str("</table>\r\n");
            }
            html.push_str("</div>\r\n</body>\r\n</html>\r\n");
            std::fs::write(&path, encoding.encode(&html)).map_err(io(&path))?;
        }
        Format::Xlsx | Format::Xls => {
            if att.format == Format::Xls {
                crate::xls::write_xls(att, &path)?;
            } else {
                write_xlsx(att, &path)?;
            }
            for sheet in &att.sheets {
                for (r, (_, truth)) in sheet.rows.iter().enumerate() {
                    numbered.push((Some(sheet.name.clone()), r as u64 + 1, truth));
                }
            }
        }
        Format::Json => {
            let sheet = &att.sheets[0];
            let mut headers: Vec<String> = Vec::new();
            let mut records = Vec::new();
            for (shape, truth) in &sheet.rows {
                let Shape::Cells(cells) = shape else { continue };
                if headers.is_empty() {
                    headers = cells.iter().map(Cell::as_text).collect();
                    continue;
                }
                let mut rec = Map::new();
                for (h, c) in headers.iter().zip(cells) {
                    let v = match c {
                        Cell::Num(n) => json!(n),
                        Cell::Empty => Value::Null,
                        other => Value::String(other.as_text()),
                    };
                    rec.insert(h.clone(), v);
                }
                records.push(Value::Object(rec));
                numbered.push((None, records.len() as u64, truth));
            }
            let doc = json!({ "title": att.title, "total": records.len(), "rows": records });
            let bytes = serde_json::to_vec_pretty(&doc).unwrap_or_default();
            std::fs::write(&path, bytes).map_err(io(&path))?;
        }
    }

    let mut counts = Counts::default();
    let mut out = match truth {
        Some(dir) => {
            let tpath = dir.join(format!("{}.ndjson", att.file));
            Some((
                BufWriter::new(File::create(&tpath).map_err(io(&tpath))?),
                tpath,
            ))
        }
        None => None,
    };
    for (sheet, row, truth) in numbered {
        match truth {
            Truth::Data(_) => counts.data += 1,
            Truth::Reject { .. } => counts.reject += 1,
            Truth::NonData(_) => counts.non_data += 1,
        }
        if let Some((w, tpath)) = out.as_mut() {
            let mut line = json!({
                "source_file": source_file,
                "source_sheet": sheet,
                "source_row": row,
                "kind": truth.kind(),
            });
            match truth {
                Truth::Data(map) => {
                    let mut row_value = map.clone();
                    let publication = source_file.split('/').nth(1).unwrap_or_default();
                    row_value.insert("publication_id".into(), json!(publication));
                    row_value.insert("source_file".into(), json!(source_file));
                    row_value.insert("source_sheet".into(), json!(sheet));
                    row_value.insert("source_row".into(), json!(row));
                    line["row"] = Value::Object(row_value);
                }
                Truth::Reject {
                    reason,
                    field,
                    value,
                } => {
                    line["reason"] = json!(reason);
                    line["field"] = json!(field);
                    line["value"] = json!(value);
                }
                Truth::NonData(class) => line["class"] = json!(class),
            }
            serde_json::to_writer(&mut *w, &line).map_err(|e| SynthError::Write {
                path: tpath.clone(),
                source: e.into(),
            })?;
            w.write_all(b"\n").map_err(io(tpath))?;
        }
    }
    if let Some((mut w, tpath)) = out {
        w.flush().map_err(io(&tpath))?;
    }
    Ok(counts)
}

fn write_xlsx(att: &Attachment, path: &PathBuf) -> Result<()> {
    let err = |source| SynthError::Xlsx {
        path: path.clone(),
        source,
    };
    let mut wb = Workbook::new();
    // A fixed creation time keeps the bytes identical from run to run.
    let created = ExcelDateTime::from_ymd(2020, 1, 1).map_err(err)?;
    wb.set_properties(
        &DocProperties::new()
            .set_creation_datetime(&created)
            .set_author("zhijian-synth"),
    );
    let title = XlsxFormat::new().set_bold().set_align(FormatAlign::Center);
    let date_formats = [
        XlsxFormat::new().set_num_format("yyyy-mm-dd"),
        XlsxFormat::new().set_num_format("yyyy/m/d"),
    ];
    for sheet in &att.sheets {
        let ws = wb.add_worksheet();
        ws.set_name(&sheet.name).map_err(err)?;
        for (r, (shape, _)) in sheet.rows.iter().enumerate() {
            let r = r as u32;
            match shape {
                Shape::Span(text) if sheet.width > 1 => {
                    ws.merge_range(r, 0, r, (sheet.width - 1) as u16, text, &title)
                        .map_err(err)?;
                }
                Shape::Span(text) => {
                    ws.write_string(r, 0, text).map_err(err)?;
                }
                Shape::Cells(cells) => {
                    for (c, cell) in cells.iter().enumerate() {
                        let c = c as u16;
                        match cell {
                            Cell::Text(s) if !s.is_empty() => {
                                ws.write_string(r, c, s).map_err(err)?;
                            }
                            Cell::Num(n) => {
                                ws.write_number(r, c, *n).map_err(err)?;
                            }
                            Cell::Date(d) => {
                                let dt = ExcelDateTime::from_ymd(d.y as u16, d.m as u8, d.d as u8)
                                    .map_err(err)?;
                                let fmt = &date_formats[(d.d % 2) as usize];
                                ws.write_datetime_with_format(r, c, &dt, fmt).map_err(err)?;
                            }
                            Cell::Text(_) | Cell::Empty => {}
                        }
                    }
                }
            }
        }
    }
    wb.save(path).map_err(err)
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // Old pages write non-breaking spaces as entities.
            '\u{a0}' => out.push_str("&nbsp;"),
            c => out.push(c),
        }
    }
    out
}
