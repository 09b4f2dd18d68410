//! Normalization of spot-check rows into the canonical `spot_checks` schema (docs/DESIGN.md §5).
//!
//! Every rule here is one a reader of the raw table would apply: placeholders are no value,
//! dates are read in every spelling, the product comes from the row, else its section, else
//! the publication, else the sample's name; a row whose result or product cannot be read is
//! rejected with the field and value at fault, never guessed.

mod producer;
use producer::split_producer;

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use unicode_normalization::UnicodeNormalization;
use zhijian_catalog::TableSchema;

use crate::layout::{Layout, RowClass};
use crate::places::{self, Place};
use crate::read::RawRow;

/// What `publication.toml` says, as far as rows need it.
#[derive(Debug, Clone, Default)]
pub struct Publication {
    /// Resource id (`A1-02`).
    pub resource_id: String,
    /// Publication directory name.
    pub publication_id: String,
    /// `check_level`.
    pub check_level: Option<String>,
    /// `authority`.
    pub authority: Option<String>,
    /// `announcement_no`.
    pub announcement_no: Option<String>,
    /// `published`, ISO.
    pub announced_on: Option<String>,
    /// `plan_year`.
    pub plan_year: Option<i64>,
    /// `round`.
    pub round: Option<String>,
    /// `campaign`.
    pub campaign: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// Per-file `product` and `scope`.
    pub files: HashMap<String, (Option<String>, Option<String>)>,
}

impl Publication {
    /// Reads `publication.toml`.
    pub fn parse(resource_id: &str, publication_id: &str, text: &str) -> Result<Self, String> {
        let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
        let s = |k: &str| doc.get(k).and_then(toml::Value::as_str).map(str::to_owned);
        let mut files = HashMap::new();
        if let Some(t) = doc.get("files").and_then(toml::Value::as_table) {
            for (name, v) in t {
                let get = |k: &str| v.get(k).and_then(toml::Value::as_str).map(str::to_owned);
                files.insert(name.clone(), (get("product"), get("scope")));
            }
        }
        Ok(Self {
            resource_id: resource_id.to_owned(),
            publication_id: publication_id.to_owned(),
            check_level: s("check_level"),
            authority: s("authority"),
            announcement_no: s("announcement_no"),
            announced_on: doc.get("published").map(|v| match v {
                toml::Value::Datetime(d) => d.to_string(),
                other => other.as_str().unwrap_or_default().to_owned(),
            }),
            plan_year: doc.get("plan_year").and_then(toml::Value::as_integer),
            round: s("round").map(|r| r.trim().to_owned()),
            campaign: s("campaign"),
            scope: s("scope"),
            files,
        })
    }
}

/// Why a row cannot be published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Machine reason: `unreadable_result`, `no_product`, `ragged_row`.
    pub reason: &'static str,
    /// The field at fault.
    pub field: String,
    /// The raw value at fault.
    pub value: String,
}

/// The outcome for one physical row.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A canonical row to publish.
    Row(Map<String, Value>),
    /// A row that cannot be published.
    Rejected(Rejection),
    /// Not data (`title`, `header`, `section`, `footnote`, `blank`, `duplicate`).
    NonData(&'static str),
}

/// Normalizes the rows of one table of a spot-check attachment.
pub struct SpotChecks<'a> {
    schema: &'a TableSchema,
    publication: &'a Publication,
    file: &'a str,
    placeholders: Vec<String>,
}

/// The schema's raw placeholder markers, in the form cells are compared in.
fn placeholders(schema: &TableSchema) -> Vec<String> {
    schema
        .source_missing_values
        .iter()
        .map(|p| compact(p))
        .collect()
}

const BRAND_PLACEHOLDERS: [&str; 6] =
    ["图形", "图案", "图形商标", "字母商标", "（图形）", "(图形)"];

impl<'a> SpotChecks<'a> {
    /// A normalizer for an attachment (`file` is its name within the publication).
    pub fn new(schema: &'a TableSchema, publication: &'a Publication, file: &'a str) -> Self {
        let placeholders = placeholders(schema);
        Self {
            schema,
            publication,
            file,
            placeholders,
        }
    }

    fn is_placeholder(&self, text: &str) -> bool {
        let t = compact(text);
        t.is_empty()
            || self.placeholders.contains(&t)
            || t.chars().all(|c| c == '/' || c == '-' || c == '—')
    }

    fn clean(&self, text: &str) -> Option<String> {
        let t = text.trim_matches(|c: char| c.is_whitespace());
        (!self.is_placeholder(t)).then(|| t.to_owned())
    }

    /// Outcomes for every row of a table, in order.
    pub fn rows(&self, rows: &[RawRow], layout: &Layout) -> Vec<Outcome> {
        let mut section: Option<String> = None;
        let mut seen: std::collections::HashSet<Vec<String>> = std::collections::HashSet::new();
        rows.iter()
            .zip(&layout.classes)
            .map(|(row, class)| match class {
                RowClass::Section(product) => {
                    section = Some(product.clone());
                    Outcome::NonData("section")
                }
                RowClass::Data => {
                    if !seen.insert(layout.fitted(&row.cells).to_vec()) {
                        return Outcome::NonData("duplicate");
                    }
                    self.row(row, layout, section.as_deref())
                }
                other => Outcome::NonData(other.name()),
            })
            .collect()
    }

    fn row(&self, row: &RawRow, layout: &Layout, section: Option<&str>) -> Outcome {
        let width = layout.width();
        // A row shorter than its header lost a cell: the cells after it sit under the wrong
        // columns, so nothing in it can be trusted.
        if layout.misfits(&row.cells) {
            return Outcome::Rejected(Rejection {
                reason: "ragged_row",
                field: "row".into(),
                value: format!("{} cells, header has {width}", row.cells.len()),
            });
        }
        let mut cell: HashMap<&str, &str> = HashMap::new();
        for (col, text) in layout.columns.iter().zip(&row.cells) {
            if let Some(f) = &col.field {
                let slot = cell.entry(f.as_str()).or_insert("");
                if slot.trim().is_empty() {
                    *slot = text.as_str();
                }
            }
        }
        let has = |f: &str| layout.columns.iter().any(|c| c.field.as_deref() == Some(f));
        let get = |f: &str| cell.get(f).and_then(|t| self.clean(t));

        let p = self.publication;
        if p.check_level.is_none() {
            return Outcome::Rejected(Rejection {
                reason: "missing_required",
                field: "check_level".into(),
                value: "publication.toml has no check_level".into(),
            });
        }
        let mut t = Map::new();
        for f in &self.schema.fields {
            if !matches!(
                f.name.as_str(),
                "record_id" | "source_file" | "source_sheet" | "source_row"
            ) {
                t.insert(f.name.clone(), Value::Null);
            }
        }
        t.insert("resource_id".into(), json!(p.resource_id));
        t.insert("publication_id".into(), json!(p.publication_id));
        t.insert("check_level".into(), json!(p.check_level));
        t.insert("authority".into(), json!(p.authority));
        t.insert("announcement_no".into(), json!(p.announcement_no));
        t.insert("announced_on".into(), json!(p.announced_on));
        t.insert("plan_year".into(), json!(p.plan_year));
        t.insert("round".into(), json!(p.round));
        t.insert("campaign".into(), json!(p.campaign));

        // Product: the row's 产品种类, its section, the file in publication.toml, its 产品名称.
        let (file_product, file_scope) = p.files.get(self.file).cloned().unwrap_or_default();
        let sample = get("sample_name");
        let product = get("product")
            .or_else(|| section.map(str::to_owned))
            .or(file_product)
            .or_else(|| sample.clone());
        let Some(product) = product else {
            return Outcome::Rejected(Rejection {
                reason: "no_product",
                field: "product".into(),
                value: String::new(),
            });
        };
        if sample.as_deref().is_some_and(|s| s != product) {
            t.insert("sample_name".into(), json!(sample));
        }
        t.insert("product".into(), json!(product));
        for f in [
            "product_category",
            "product_subcategory",
            "ecommerce_platform",
            "listing_id",
            "inspection_agency",
            "certification_body",
            "campaign",
        ] {
            if let Some(v) = get(f) {
                t.insert(f.into(), json!(v));
            }
        }

        // Result: the result cell, else the file's or publication's scope.
        let scope = file_scope.or_else(|| p.scope.clone());
        t.insert("publication_scope".into(), json!(scope));
        let raw_result = cell.get("result").copied().unwrap_or_default();
        let fail = if has("result") {
            match read_result(raw_result) {
                Some(fail) => fail,
                None => {
                    return Outcome::Rejected(Rejection {
                        reason: "unreadable_result",
                        field: "result".into(),
                        value: raw_result.trim().to_owned(),
                    });
                }
            }
        } else {
            match scope.as_deref() {
                Some("fail_only") => true,
                Some("pass_only") => false,
                _ => {
                    return Outcome::Rejected(Rejection {
                        reason: "unreadable_result",
                        field: "result".into(),
                        value: String::new(),
                    });
                }
            }
        };
        t.insert("result".into(), json!(if fail { "fail" } else { "pass" }));
        let mut remarks: Vec<String> = get("remarks").into_iter().collect();
        let mut item_details = Vec::new();
        let raw_items = cell.get("failed_items").copied().unwrap_or_default();
        let combined = layout
            .columns
            .iter()
            .find(|c| c.field.as_deref() == Some("failed_items"))
            .and_then(|c| crate::layout::combined_parts(&c.header));
        let items: Vec<String> = match (fail, combined) {
            (false, _) => Vec::new(),
            // `不合格项目║检验结果║标准值`: the item names are the failed items; the measured and
            // limit values go to remarks, labelled by their headers, so nothing is lost.
            (true, Some(labels)) => {
                let (items, details) = split_combined_items(raw_items, &labels, self);
                item_details = details;
                items
            }
            (true, None) => split_items(raw_items, self),
        };
        t.insert("failed_items".into(), json!(items));

        // Enterprise, with 委托 notes moved to remarks.
        let mut flags: Vec<&'static str> = Vec::new();
        if raw_result.contains("假冒") {
            flags.push("counterfeit_suspected");
        }
        let enterprise = get("enterprise").map(|e| {
            let producer = split_producer(&fullwidth_brackets(&e));
            remarks.extend(producer.notes);
            producer.name
        });
        for r in &remarks {
            flags.extend(remark_flags(r));
        }
        t.insert("enterprise".into(), json!(enterprise));
        remarks.extend(item_details);
        if !remarks.is_empty() {
            t.insert("remarks".into(), json!(remarks.join("；")));
        }
        flags.sort_by_key(|f| FLAG_ORDER.iter().position(|o| o == f));
        flags.dedup();
        t.insert("flags".into(), json!(flags));
        if let Some(unit) = get("inspected_unit") {
            t.insert("inspected_unit".into(), json!(fullwidth_brackets(&unit)));
        }

        // Where the producer is: the location cell, else the address, else the name.
        let address = get("enterprise_address");
        t.insert("enterprise_address".into(), json!(address));
        let place: Option<Place> = get("enterprise_province")
            .and_then(|l| places::resolve_location(&l))
            .or_else(|| address.as_deref().and_then(places::resolve_prefix))
            .or_else(|| {
                address
                    .as_deref()
                    .and_then(|a| places::county_prefix(a, true))
            })
            .or_else(|| enterprise.as_deref().and_then(places::resolve_prefix))
            .or_else(|| {
                enterprise
                    .as_deref()
                    .and_then(|e| places::county_prefix(e, false))
            });
        if let Some(place) = place {
            t.insert(
                "enterprise_province_code".into(),
                json!(place.province.code),
            );
            t.insert("enterprise_province".into(), json!(place.province.full));
            t.insert("enterprise_city".into(), json!(place.city));
        }
        if let Some(code) = get("enterprise_uscc").filter(|c| uscc_valid(c)) {
            t.insert("enterprise_uscc".into(), json!(code));
        }
        if let Some(channel) = get("sampling_channel") {
            let v = if channel.contains("生产") {
                Some("production")
            } else if channel.contains("电商")
                || channel.contains("网")
                || channel.contains("电子商务")
            {
                Some("ecommerce")
            } else if channel.contains("流通")
                || channel.contains("销售")
                || channel.contains("市场")
            {
                Some("distribution")
            } else {
                None
            };
            t.insert("sampling_channel".into(), json!(v));
        }
        if let Some(brand) = get("brand").filter(|b| !BRAND_PLACEHOLDERS.contains(&b.as_str())) {
            t.insert("brand".into(), json!(brand));
        }
        if let Some(model) = get("model_spec") {
            t.insert("model_spec".into(), json!(fold(&model)));
        }
        let batch = get("batch_raw");
        let mut produced = batch.as_deref().and_then(parse_date);
        if let Some(d) = get("production_date").and_then(|d| parse_date_cell(&d)) {
            produced = Some(d);
        }
        t.insert("batch_raw".into(), json!(batch));
        t.insert("production_date".into(), json!(produced));
        t.insert(
            "sampled_on".into(),
            json!(get("sampled_on").and_then(|d| parse_date_cell(&d))),
        );
        Outcome::Row(t)
    }
}

/// The schema's flag order.
pub const FLAG_ORDER: [&str; 6] = [
    "counterfeit_suspected",
    "refused",
    "producer_denied",
    "recheck_failed",
    "recheck_passed",
    "unlicensed",
];

fn remark_flags(text: &str) -> Vec<&'static str> {
    let mut f = Vec::new();
    if text.contains("假冒") {
        f.push("counterfeit_suspected");
    }
    if text.contains("拒检") || text.contains("拒绝检查") {
        f.push("refused");
    }
    if text.contains("否认") {
        f.push("producer_denied");
    }
    if text.contains("仍不合格") || text.contains("复检不合格") || text.contains("复查不合格")
    {
        f.push("recheck_failed");
    }
    if text.contains("复查检验合格") || text.contains("复检合格") || text.contains("复查合格")
    {
        f.push("recheck_passed");
    }
    if text.contains("无证") {
        f.push("unlicensed");
    }
    f
}

/// pass/fail from a result cell; `None` when it says neither.
pub fn read_result(text: &str) -> Option<bool> {
    let t = compact(text);
    if t.is_empty() {
        return None;
    }
    if t.contains("不合格") || t.contains("不符合") || t == "F" || t == "f" {
        return Some(true);
    }
    let pass = [
        "合格",
        "P",
        "p",
        "符合本次监督检查要求",
        "经检验合格",
        "所检项目符合标准要求",
        "符合",
        "未发现不合格项目",
        "合格(复检)",
        "合格（复检）",
    ];
    pass.contains(&t.as_str()).then_some(false)
}

/// Test-item names that themselves contain `、` (clause titles of GB 4706.1 and GB 2099.1):
/// a list is never split inside them.
const ITEMS_WITH_COMMAS: [&str; 4] = [
    "电气间隙、爬电距离和固体绝缘",
    "爬电距离、电气间隙和通过密封胶的距离",
    "耐非正常热、耐燃和耐电痕化",
    "耐热、耐燃和耐漏电起痕",
];

fn split_items(text: &str, n: &SpotChecks<'_>) -> Vec<String> {
    if read_result(text) == Some(false) {
        return Vec::new();
    }
    let mut protected = text.to_owned();
    for (i, item) in ITEMS_WITH_COMMAS.iter().enumerate() {
        protected = protected.replace(item, &format!("\u{e000}{i}\u{e000}"));
    }
    let restore = |mut s: String| {
        for (i, item) in ITEMS_WITH_COMMAS.iter().enumerate() {
            s = s.replace(&format!("\u{e000}{i}\u{e000}"), item);
        }
        s
    };
    let text = protected.as_str();
    // A list uses one separator: the strongest present decides (`；` lists may hold `、`
    // inside an item such as 电气间隙、爬电距离和固体绝缘).
    let strong: &[char] = &['；', ';', '\n', '\r'];
    let seps: &[char] = if text.contains(strong) {
        strong
    } else {
        &['、', '，', ',']
    };
    text.split(seps)
        // Sentence punctuation closing an item (泛霜。) is not part of it.
        .map(|s| {
            restore(
                s.trim()
                    .trim_end_matches(['*', '＊', '。', '．', '.', '!', '！'])
                    .trim()
                    .to_owned(),
            )
        })
        .filter(|s| !s.is_empty() && !n.is_placeholder(s))
        .collect()
}

/// Items of a combined column: one item per line (or `；`), each `item║value║limit`.
/// Returns the item names and, per item with values, `item：检验结果 value，标准值 limit`.
fn split_combined_items(
    text: &str,
    labels: &[String],
    n: &SpotChecks<'_>,
) -> (Vec<String>, Vec<String>) {
    let mut items = Vec::new();
    let mut details = Vec::new();
    for segment in text.split(['\n', '\r', '；', ';']) {
        let parts = crate::layout::split_combined(segment);
        let Some(item) = parts
            .first()
            .filter(|i| !i.is_empty() && !n.is_placeholder(i))
        else {
            continue;
        };
        let values: Vec<String> = labels
            .iter()
            .skip(1)
            .zip(parts.iter().skip(1))
            .filter(|(_, v)| !v.is_empty() && !n.is_placeholder(v))
            .map(|(label, v)| format!("{label} {v}"))
            .collect();
        if !values.is_empty() {
            details.push(format!("{item}：{}", values.join("，")));
        }
        items.push(item.clone());
    }
    (items, details)
}

fn fullwidth_brackets(text: &str) -> String {
    text.replace('(', "（").replace(')', "）")
}

/// NFKC with runs of whitespace collapsed and the ends trimmed.
pub fn fold(text: &str) -> String {
    let folded: String = text.nfkc().collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn compact(text: &str) -> String {
    text.nfkc().filter(|c| !c.is_whitespace()).collect()
}

/// GB 32100 check character.
pub fn uscc_valid(code: &str) -> bool {
    const CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    const W: [usize; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    let values: Option<Vec<usize>> = code.chars().map(|c| CHARS.find(c)).collect();
    match values {
        Some(v) if v.len() == 18 => {
            (31 - v[..17].iter().zip(W).map(|(a, w)| a * w).sum::<usize>() % 31) % 31 == v[17]
        }
        _ => false,
    }
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn ymd(y: &str, m: &str, d: Option<&str>) -> Option<String> {
    let y: i32 = y.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    let d: u32 = match d {
        Some(d) => d.parse().ok()?,
        None => 1,
    };
    ((1949..=2100).contains(&y) && (1..=12).contains(&m) && (1..=days_in_month(y, m)).contains(&d))
        .then(|| format!("{y:04}-{m:02}-{d:02}"))
}

/// A date in any spelling of docs/REAL-DATA.md §4.8 (ISO); month-only gives the first day; a batch
/// number, a six-digit code or an impossible date gives `None`. A trailing `/未标注` or `//`
/// after a date is ignored.
pub fn parse_date(text: &str) -> Option<String> {
    let t = compact(text);
    let t = t.split('/').collect::<Vec<_>>();
    // `2024-09-09/未标注`, `20250214//`: the date is the first part; `2017/4/23` is one date.
    let joined;
    let t: &str = if t.len() == 3
        && t.iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    {
        joined = t.join("-");
        &joined
    } else {
        t[0]
    };
    let t = t.trim_end_matches('日');
    let digits_only = t.chars().all(|c| c.is_ascii_digit());
    if digits_only {
        return (t.len() == 8)
            .then(|| ymd(&t[..4], &t[4..6], Some(&t[6..])))
            .flatten();
    }
    let parts: Vec<&str> = t
        .split(['-', '.', '年', '月'])
        .filter(|p| !p.is_empty())
        .collect();
    if !parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit()))
        || parts.first().is_none_or(|y| y.len() != 4)
    {
        return None;
    }
    match parts.as_slice() {
        [y, m] => ymd(y, m, None),
        [y, m, d] => ymd(y, m, Some(d)),
        _ => None,
    }
}

/// A date column's cell: any spelling [`parse_date`] reads, or an Excel serial day number
/// left in a cell not formatted as a date (`44315` is 2021-04-29; a time of day after the
/// point is dropped), from 1990 to 2049. Not for batch numbers, which may be five digits.
pub fn parse_date_cell(text: &str) -> Option<String> {
    if let Some(d) = parse_date(text) {
        return Some(d);
    }
    let t = text.trim();
    let (whole, fraction) = t.split_once('.').unwrap_or((t, "0"));
    if whole.len() != 5
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !fraction.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let serial: i64 = whole.parse().ok()?;
    // 32874 is 1990-01-01 and 54788 is 2049-12-31 in Excel's 1900 system.
    if !(32_874..=54_788).contains(&serial) {
        return None;
    }
    let (y, m, d) = zhijian_catalog::civil_from_days(serial - 25_569);
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// Normalizes rows of the resources that are not spot checks: each cell read as its field's
/// type (numbers without thousands separators or `%`, dates in any spelling, lists split).
pub struct Typed<'a> {
    schema: &'a TableSchema,
    publication: &'a Publication,
    placeholders: Vec<String>,
}

impl<'a> Typed<'a> {
    /// A normalizer for a resource's attachment.
    pub fn new(schema: &'a TableSchema, publication: &'a Publication) -> Self {
        let placeholders = placeholders(schema);
        Self {
            schema,
            publication,
            placeholders,
        }
    }

    /// Outcomes for every row of a table, in order.
    pub fn rows(&self, rows: &[RawRow], layout: &Layout) -> Vec<Outcome> {
        let mut seen: std::collections::HashSet<Vec<String>> = std::collections::HashSet::new();
        rows.iter()
            .zip(&layout.classes)
            .map(|(row, class)| match class {
                RowClass::Data if !seen.insert(layout.fitted(&row.cells).to_vec()) => {
                    Outcome::NonData("duplicate")
                }
                RowClass::Data => self.row(row, layout),
                other => Outcome::NonData(other.name()),
            })
            .collect()
    }

    fn row(&self, row: &RawRow, layout: &Layout) -> Outcome {
        use zhijian_catalog::FieldType;
        let width = layout.width();
        if layout.misfits(&row.cells) {
            return Outcome::Rejected(Rejection {
                reason: "ragged_row",
                field: "row".into(),
                value: format!("{} cells, header has {width}", row.cells.len()),
            });
        }
        let mut t = Map::new();
        for f in &self.schema.fields {
            if matches!(
                f.name.as_str(),
                "record_id" | "source_file" | "source_sheet" | "source_row"
            ) {
                continue;
            }
            if f.name == "publication_id" {
                t.insert(f.name.clone(), json!(self.publication.publication_id));
                continue;
            }
            let raw = layout
                .columns
                .iter()
                .zip(&row.cells)
                .find(|(c, _)| c.field.as_deref() == Some(f.name.as_str()))
                .map(|(_, v)| v.trim())
                .filter(|v| {
                    let k = compact(v);
                    !k.is_empty() && !self.placeholders.contains(&k)
                });
            let value = match raw {
                None => Value::Null,
                Some(v) => {
                    let parsed = match f.field_type {
                        FieldType::Integer | FieldType::Year => v
                            .replace([',', '，'], "")
                            .parse::<i64>()
                            .ok()
                            .map(|n| json!(n)),
                        FieldType::Number => v
                            .trim_end_matches(['%', '％'])
                            .replace(',', "")
                            .parse::<f64>()
                            .ok()
                            .map(|n| json!(n)),
                        FieldType::Date => parse_date_cell(v).map(|d| json!(d)),
                        FieldType::Boolean => match v {
                            "true" | "是" | "1" => Some(json!(true)),
                            "false" | "否" | "0" => Some(json!(false)),
                            _ => None,
                        },
                        FieldType::List => Some(json!(
                            v.split(['、', '；', ';', ',', '，'])
                                .map(str::trim)
                                .filter(|s| !s.is_empty())
                                .collect::<Vec<_>>()
                        )),
                        FieldType::String | FieldType::Datetime => {
                            Some(json!(canonical_text(&f.name, v)))
                        }
                    };
                    match parsed {
                        Some(p) => p,
                        None => {
                            return Outcome::Rejected(Rejection {
                                reason: "invalid_value",
                                field: f.name.clone(),
                                value: v.to_owned(),
                            });
                        }
                    }
                }
            };
            if value.is_null()
                && (f.constraints.required || self.schema.primary_key.contains(&f.name))
            {
                return Outcome::Rejected(Rejection {
                    reason: "missing_required",
                    field: f.name.clone(),
                    value: String::new(),
                });
            }
            t.insert(f.name.clone(), value);
        }
        Outcome::Row(t)
    }
}

/// Published spellings of coded text fields: provinces by their full name, situations of
/// A1-05 by their code.
fn canonical_text(field: &str, v: &str) -> String {
    match field {
        "province" => {
            places::resolve_location(v).map_or_else(|| v.to_owned(), |p| p.province.full.to_owned())
        }
        "situation" => {
            let code = if v.contains("拒检") || v.contains("拒绝") {
                "refused"
            } else if v.contains("假冒") {
                "counterfeit_suspected"
            } else if v.contains("否认") {
                "producer_denied"
            } else if v.contains("无证") {
                "unlicensed"
            } else {
                v
            };
            code.to_owned()
        }
        _ => v.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_every_spelling() {
        for (raw, want) in [
            ("2017.8.8", Some("2017-08-08")),
            ("2017-04-23", Some("2017-04-23")),
            ("2017/4/23", Some("2017-04-23")),
            ("2017年6月5日", Some("2017-06-05")),
            ("2017年6月", Some("2017-06-01")),
            ("2016-04", Some("2016-04-01")),
            ("2020.07", Some("2020-07-01")),
            ("20250214", Some("2025-02-14")),
            ("2024-09-09/未标注", Some("2024-09-09")),
            ("20250214//", Some("2025-02-14")),
            ("240815/未标注", None),
            ("批号：170315", None),
            ("B20170301", None),
            ("2015-02-30", None),
            ("0000-00-00", None),
        ] {
            assert_eq!(parse_date(raw).as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn excel_serials_in_date_cells() {
        assert_eq!(parse_date_cell("44315").as_deref(), Some("2021-04-29"));
        assert_eq!(parse_date_cell("44315.375").as_deref(), Some("2021-04-29"));
        assert_eq!(parse_date_cell("2021-04-29").as_deref(), Some("2021-04-29"));
        assert_eq!(
            parse_date_cell("12345"),
            None,
            "before 1990: a number, not a date"
        );
        assert_eq!(parse_date_cell("170315"), None);
        assert_eq!(
            parse_date("44315"),
            None,
            "a batch number stays a batch number"
        );
    }

    #[test]
    fn results_in_every_spelling() {
        assert_eq!(read_result("不合格（涉嫌假冒）"), Some(true));
        assert_eq!(read_result("P"), Some(false));
        assert_eq!(read_result("符合本次监督检查要求"), Some(false));
        assert_eq!(read_result("待定"), None);
    }
}
