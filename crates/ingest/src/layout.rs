//! Layout: where a table's header is, which schema field each column holds, and what every
//! other row is (title, repeated header, section, footnote, blank or data).
//!
//! The header is found by scoring rows against the schema's header aliases
//! (`x-aliases`, compared by [`header_key`]), so title and scope rows above it, a header on
//! row 3 or 5, two-row headers and line breaks inside header cells all resolve the same way.

use std::collections::HashMap;

use zhijian_catalog::{TableSchema, header_key};

use crate::read::RawTable;

/// What a row is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowClass {
    /// Above the header: `附件1`, a title, a scope line.
    Title,
    /// The header, a second header row, or a repeated header block.
    Header,
    /// A product section row (`1、车用汽油清净剂`); its product applies to the rows below.
    Section(String),
    /// A note below or between data (`注：…`).
    Footnote,
    /// No text at all.
    Blank,
    /// A candidate data row (normalization decides whether it publishes or is rejected).
    Data,
}

impl RowClass {
    /// The non-data class name used in row accounting.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Title => "title",
            Self::Header => "header",
            Self::Section(_) => "section",
            Self::Footnote => "footnote",
            Self::Blank => "blank",
            Self::Data => "data",
        }
    }
}

/// One column: its header text and the schema field it maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The header text (two-row headers joined by `/`).
    pub header: String,
    /// The field, or `None` for an ignored (`序号`) or unknown column.
    pub field: Option<String>,
}

/// The layout of one table.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The columns.
    pub columns: Vec<Column>,
    /// One class per row of the table, in order.
    pub classes: Vec<RowClass>,
}

impl Layout {
    /// The columns a data row must have: up to the last one with a header. Empty cells past
    /// it (`<td>&nbsp;</td>` ending a page's header or rows) name nothing, so a row may end
    /// before them.
    pub fn width(&self) -> usize {
        self.columns
            .iter()
            .rposition(|c| !c.header.trim().is_empty())
            .map_or(0, |i| i + 1)
    }

    /// A row's cells without the empty ones past the last named column: a row printed
    /// twice is the same row whether or not one copy ends in an empty cell.
    pub fn fitted<'c>(&self, cells: &'c [String]) -> &'c [String] {
        let end = cells
            .iter()
            .rposition(|c| !c.trim().is_empty())
            .map_or(0, |i| i + 1)
            .max(self.width().min(cells.len()));
        &cells[..end]
    }

    /// Whether a data row is shorter than [`Self::width`]: a lost cell shifts the rest under
    /// the wrong columns.
    pub fn misfits(&self, cells: &[String]) -> bool {
        cells.len() < self.width()
    }
}

/// Separators that combine several headers in one cell (`不合格项目║检验结果║标准值`).
const COMBINED: [&str; 5] = ["║", "‖", "||", "︱", "|"];

/// The parts of a combined header (`不合格项目║检验结果║标准值` → its three names), `None` for
/// a plain header.
pub fn combined_parts(header: &str) -> Option<Vec<String>> {
    let sep = COMBINED.iter().find(|sep| header.contains(*sep))?;
    let parts: Vec<String> = header
        .split(sep)
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    (parts.len() >= 2).then_some(parts)
}

/// Splits one value of a combined column into its parts, by whichever combining separator it
/// uses.
pub fn split_combined(value: &str) -> Vec<String> {
    match COMBINED.iter().find(|sep| value.contains(*sep)) {
        Some(sep) => value.split(sep).map(|p| p.trim().to_owned()).collect(),
        None => vec![value.trim().to_owned()],
    }
}

/// Header texts of a schema by key: field name, or `None` for an ignored header.
pub struct Aliases(HashMap<String, Option<String>>);

impl Aliases {
    /// The alias table of a schema.
    pub fn of(schema: &TableSchema) -> Self {
        let mut map = HashMap::new();
        for f in &schema.fields {
            for text in std::iter::once(&f.title).chain(&f.aliases) {
                map.insert(header_key(text), Some(f.name.clone()));
            }
        }
        for text in &schema.ignored_headers {
            map.insert(header_key(text), None);
        }
        Self(map)
    }

    /// The field a header cell names: `Some(Some(field))`, `Some(None)` for an ignored header,
    /// `None` when the text is no header of this schema.
    pub fn lookup(&self, cell: &str) -> Option<Option<&str>> {
        let key = header_key(cell);
        if key.is_empty() {
            return None;
        }
        if let Some(hit) = self.0.get(&key) {
            return Some(hit.as_deref());
        }
        // A combined header names its first part.
        COMBINED
            .iter()
            .find(|sep| key.contains(*sep))
            .and_then(|sep| key.split(sep).next())
            .and_then(|first| self.0.get(first))
            .map(Option::as_deref)
    }

    fn matches(&self, cells: &[String]) -> (usize, usize) {
        let filled = cells.iter().filter(|c| !c.trim().is_empty()).count();
        let hits = cells.iter().filter(|c| self.lookup(c).is_some()).count();
        (hits, filled)
    }
}

fn is_header_row(aliases: &Aliases, cells: &[String]) -> bool {
    let (hits, filled) = aliases.matches(cells);
    // Half the cells name columns, or at least five do (a table with thousands of extra
    // columns still has its header).
    hits >= 2 && (hits * 2 >= filled || hits >= 5)
}

fn is_section(text: &str) -> Option<String> {
    let t = text.trim();
    let rest = t.trim_start_matches(|c: char| {
        c.is_ascii_digit() || "一二三四五六七八九十（()）".contains(c)
    });
    let stripped = rest.strip_prefix(['、', '.', '．', ' ', '　']);
    match stripped {
        Some(product) if rest.len() < t.len() && !product.trim().is_empty() => {
            Some(product.trim().to_owned())
        }
        _ => None,
    }
}

fn is_footnote(text: &str) -> bool {
    let t = text.trim();
    ["注", "备注：", "说明", "附注", "数据来源", "来源："]
        .iter()
        .any(|p| t.starts_with(p))
}

/// Finds the layout of a table under a schema; `None` when no row looks like its header.
pub fn detect(table: &RawTable, schema: &TableSchema) -> Option<Layout> {
    let aliases = Aliases::of(schema);
    let rows = &table.rows;
    let header_at = rows
        .iter()
        .take(40)
        .position(|r| is_header_row(&aliases, &r.cells))?;
    let width = rows[header_at].cells.len();
    let mut headers: Vec<String> = rows[header_at].cells.clone();
    let mut header_rows = vec![header_at];

    // A second header row names the columns the first only grouped (`产品信息` over four).
    if let Some(next) = rows.get(header_at + 1) {
        let (hits, filled) = aliases.matches(&next.cells);
        let first_unmatched = headers
            .iter()
            .filter(|h| aliases.lookup(h).is_none() && !h.trim().is_empty())
            .count();
        let grouped = headers.windows(2).any(|w| !w[0].is_empty() && w[0] == w[1]);
        if hits >= 1 && hits == filled && (grouped || first_unmatched > 0 || filled < width) {
            for (h, below) in headers.iter_mut().zip(&next.cells) {
                if !below.trim().is_empty() {
                    *h = below.clone();
                }
            }
            header_rows.push(header_at + 1);
        }
    }
    let columns: Vec<Column> = headers
        .iter()
        .map(|h| Column {
            header: h.clone(),
            field: aliases.lookup(h).flatten().map(str::to_owned),
        })
        .collect();
    let header_keys: Vec<String> = headers.iter().map(|h| header_key(h)).collect();

    let mut classes = Vec::with_capacity(rows.len());
    let mut seen_data = false;
    for (i, row) in rows.iter().enumerate() {
        let filled: Vec<&String> = row.cells.iter().filter(|c| !c.trim().is_empty()).collect();
        let class = if header_rows.contains(&i) {
            RowClass::Header
        } else if filled.is_empty() {
            RowClass::Blank
        } else if i < header_at {
            RowClass::Title
        } else if filled.len() == 1 && width > 2 {
            let text = filled[0];
            if is_footnote(text) {
                RowClass::Footnote
            } else if let Some(product) = is_section(text) {
                RowClass::Section(product)
            } else if seen_data {
                RowClass::Footnote
            } else {
                RowClass::Title
            }
        } else if row
            .cells
            .iter()
            .zip(&header_keys)
            .filter(|(c, k)| !c.is_empty() && header_key(c) == **k)
            .count()
            * 2
            > filled.len().max(1)
        {
            RowClass::Header
        } else {
            seen_data = true;
            RowClass::Data
        };
        classes.push(class);
    }
    Some(Layout { columns, classes })
}
