//! The 98 resources that are not spot-check results: registers, catalogues, lists and
//! statistics, generated from each resource's Table Schema with domain-aware values.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use zhijian_catalog::{Field, FieldType, Frequency, Resource, TableSchema};

use crate::corpus::{publish, simple_meta};
use crate::error::{Result, SynthError};
use crate::registers;
use crate::rng::Rng;
use crate::sink::{Attachment, Cell, Encoding, Format, Shape, Sheet, Truth};
use crate::text::{self, Date};
use crate::vocab::{self, PLACEHOLDERS, PROVINCES};
use crate::{Output, Stats};

/// A raw table being built: header texts, the schema field of each column (`""` for a column
/// the ingester ignores, such as 序号), and rows with their truth.
pub struct RawTable {
    headers: Vec<String>,
    fields: Vec<String>,
    rows: Vec<(Vec<Cell>, Truth)>,
    spreadsheet_dates: bool,
}

impl RawTable {
    /// A table with these headers over these fields.
    pub fn new(headers: &[&str], fields: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|s| (*s).to_owned()).collect(),
            fields: fields.iter().map(|s| (*s).to_owned()).collect(),
            rows: Vec::new(),
            spreadsheet_dates: false,
        }
    }

    /// Appends one row of canonical values (in column order); `custom` may spell a value
    /// differently in the raw cell. Nulls become placeholder cells.
    pub fn push_values(
        &mut self,
        rng: &mut Rng,
        values: Vec<Value>,
        custom: impl Fn(&str, &Value) -> Option<String>,
    ) {
        let mut cells = Vec::with_capacity(values.len());
        let mut truth = Map::new();
        for (field, value) in self.fields.iter().zip(&values) {
            let cell = match custom(field, value) {
                Some(raw) => Cell::text(raw),
                None => match value {
                    Value::Null => Cell::text(*rng.pick(PLACEHOLDERS)),
                    Value::Number(n) if field.is_empty() => {
                        Cell::Num(n.as_f64().unwrap_or_default())
                    }
                    Value::Number(n) => Cell::text(n.to_string()),
                    Value::Array(items) => Cell::text(
                        items
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join("、"),
                    ),
                    Value::String(s) => Cell::text(s.clone()),
                    other => Cell::text(other.to_string()),
                },
            };
            cells.push(cell);
            if !field.is_empty() {
                truth.insert(field.clone(), value.clone());
            }
        }
        self.rows.push((cells, Truth::Data(truth)));
    }
}

/// Lays a raw table out as an attachment: optional title row, header, rows.
pub fn table_attachment(
    table: RawTable,
    file: &str,
    format: Format,
    title: &str,
    title_row: bool,
) -> Attachment {
    let width = table.headers.len();
    let mut rows: Vec<(Shape, Truth)> = Vec::new();
    if title_row && format != Format::Json {
        rows.push((Shape::Span(title.to_owned()), Truth::NonData("title")));
    }
    rows.push((
        Shape::Cells(
            table
                .headers
                .iter()
                .map(|h| Cell::text(h.clone()))
                .collect(),
        ),
        Truth::NonData("header"),
    ));
    for (cells, truth) in table.rows {
        rows.push((Shape::Cells(cells), truth));
    }
    let name = match format {
        Format::Html { .. } => "1",
        _ => "Sheet1",
    };
    let _ = table.spreadsheet_dates;
    Attachment {
        file: file.to_owned(),
        format,
        title: title.to_owned(),
        layout: "",
        sheets: vec![Sheet {
            name: name.to_owned(),
            width,
            rows,
            ..Sheet::default()
        }],
    }
}

/// Rows of a resource at a scale (before the grid of a statistic caps them).
fn target_rows(resource: &Resource, scale: u64) -> usize {
    let ratio = match resource.id.as_str() {
        "D1-01" => 0.14,
        "D4-03" => 0.10,
        "E1-01" | "D2-04" | "D4-01" => 0.08,
        "A4-01" | "E2-01" | "D4-02" | "D2-03" => 0.05,
        "F3-01" | "F3-02" | "F4-01" | "F2-01" => 0.02,
        _ => match resource.frequency {
            Frequency::Weekly | Frequency::Monthly => 0.01,
            _ => 0.004,
        },
    };
    let rows = ((scale as f64 * ratio) as usize).max(40);
    registers::capacity(&resource.id).map_or(rows, |cap| rows.min(cap))
}

/// Jobs of the non-spot-check side: a few publications per resource.
pub fn jobs(catalog: &zhijian_catalog::Catalog, scale: u64) -> Vec<crate::Job> {
    let mut jobs = Vec::new();
    for r in &catalog.resources {
        if r.spot_check || r.id == "A1-04" || r.id == "A1-05" {
            continue;
        }
        let rows = target_rows(r, scale);
        let per_pub = match r.frequency {
            Frequency::Monthly | Frequency::Weekly => 400,
            _ => 3000,
        };
        let pubs = (rows / per_pub).clamp(2, 400);
        for i in 0..pubs {
            jobs.push(crate::Job::Other {
                resource: r.id.clone(),
                index: i,
                of: pubs,
            });
        }
    }
    jobs
}

/// The values a primary-key column ranges over, for statistics laid out on a grid.
fn domain(resource: &Resource, field: &Field, years: &[i32]) -> Option<Vec<Value>> {
    if let Some(values) = registers::domain(&resource.id, &field.name) {
        return Some(values);
    }
    Some(match field.name.as_str() {
        "year" => years.iter().map(|y| json!(y)).collect(),
        "month" => (1..=12).map(|m| json!(m)).collect(),
        "quarter" => (1..=4).map(|q| json!(q)).collect(),
        "province_code" => PROVINCES.iter().map(|p| json!(p.code)).collect(),
        _ => field.constraints.enum_values.clone()?,
    })
}

/// A value the register's generator leaves to the publication: its year, a month, the
/// row's province, or one of the field's enum values. Any other field (a text, a number, a
/// date) must come from the generator; `None` here is [`SynthError::Uncovered`].
fn publication_value(
    rng: &mut Rng,
    f: &Field,
    i: usize,
    year: i32,
    province: &vocab::Province,
) -> Option<Value> {
    Some(match f.name.as_str() {
        "year" => json!(year),
        "month" => json!(1 + i % 12),
        "quarter" => json!(1 + i % 4),
        "province_code" => json!(province.code),
        "province" => json!(province.full),
        _ => rng.pick(f.constraints.enum_values.as_ref()?).clone(),
    })
}

/// One publication of a non-spot-check resource.
pub fn publication(
    out: &Output,
    r: &Resource,
    schema: &TableSchema,
    index: usize,
    of: usize,
) -> Result<Stats> {
    let seed = out.seed;
    let of = of.max(1);
    let mut rng = Rng::new(seed, &["other", &r.id, &index.to_string()]);
    let end = r.temporal_end.map_or(2025, i32::from);
    let start = i32::from(r.temporal_start).max(end - 20);
    let years: Vec<i32> = (start..=end).collect();
    let year_index = index * years.len() / of;
    let year = years[year_index];
    // Publications that share a year walk successive parts of its grid.
    let slot = index
        - (0..=index)
            .find(|&j| j * years.len() / of == year_index)
            .unwrap_or(index);
    let fields: Vec<&Field> = schema
        .fields
        .iter()
        .filter(|f| !zhijian_catalog::LINEAGE_FIELDS.contains(&f.name.as_str()))
        .collect();

    // Statistics keyed by dimensions: walk the grid of the key (within the year) instead of
    // drawing rows, so keys stay unique.
    let grid_keys: Vec<&Field> = schema
        .primary_key
        .iter()
        .filter(|k| k.as_str() != "record_id" && k.as_str() != "year")
        .filter_map(|k| schema.field(k))
        .collect();
    let grid: Option<Vec<Vec<Value>>> = if schema.primary_key.iter().any(|k| k == "year") {
        grid_keys.iter().map(|f| domain(r, f, &years)).collect()
    } else {
        None
    };
    let total = target_rows(r, out.scale);
    let rows_target = total / of + 1;
    let grid_size = grid
        .as_ref()
        .map(|dims| dims.iter().map(Vec::len).product::<usize>());
    let rows = match grid_size {
        Some(size) => size.min(rows_target.max(12)),
        None => rows_target,
    };
    let keys: Vec<&str> = schema
        .primary_key
        .iter()
        .map(String::as_str)
        .filter(|k| *k != "record_id")
        .collect();

    let headers: Vec<String> = fields.iter().map(|f| header_for(&mut rng, f)).collect();
    let with_serial = rng.chance(0.5);
    let mut all_headers: Vec<&str> = Vec::new();
    let mut all_fields: Vec<&str> = Vec::new();
    if with_serial {
        all_headers.push("序号");
        all_fields.push("");
    }
    for (h, f) in headers.iter().zip(&fields) {
        all_headers.push(h);
        all_fields.push(&f.name);
    }
    let fields_by_name: BTreeMap<&str, &&Field> =
        fields.iter().map(|f| (f.name.as_str(), f)).collect();
    let format = pick_format(&mut rng, r, index);
    let mut table = RawTable::new(&all_headers, &all_fields);
    let spreadsheet = format == Format::Xlsx;
    let gbk = format.is_gbk_family();
    let mut seen_keys: BTreeMap<String, ()> = BTreeMap::new();
    for row in 0..rows {
        let global = index * rows_target + row;
        let mut grid_values: BTreeMap<&str, Value> = BTreeMap::new();
        match (&grid, grid_size) {
            (Some(dims), Some(size)) => {
                let mut k = slot * rows + row;
                if k >= size {
                    break;
                }
                for (f, dim) in grid_keys.iter().zip(dims) {
                    grid_values.insert(f.name.as_str(), dim[k % dim.len()].clone());
                    k /= dim.len();
                }
            }
            _ if global >= total => break,
            _ => {}
        }
        let province = &PROVINCES[(global * 31 + index) % PROVINCES.len()];
        let row_province = grid_values
            .get("province_code")
            .and_then(Value::as_str)
            .and_then(vocab::province)
            .unwrap_or(province);
        let mut filled = {
            let mut ctx = registers::Ctx {
                rng: &mut rng,
                seed,
                i: global,
                year,
                start: i32::from(r.temporal_start),
                province: row_province,
                grid: &grid_values,
            };
            registers::row(&r.id, &mut ctx).ok_or_else(|| SynthError::Uncovered {
                resource: r.id.clone(),
                field: "(all)".into(),
            })?
        };
        let mut values: Vec<Value> = Vec::new();
        if with_serial {
            values.push(json!(row + 1));
        }
        for f in &fields {
            if f.name == "record_id" {
                continue;
            }
            let mut v = match grid_values.get(f.name.as_str()) {
                Some(v) => v.clone(),
                None => match filled.remove(&f.name) {
                    Some(v) => v,
                    None => publication_value(&mut rng, f, global, year, row_province).ok_or_else(
                        || SynthError::Uncovered {
                            resource: r.id.clone(),
                            field: f.name.clone(),
                        },
                    )?,
                },
            };
            // Optional cells are sometimes empty in real lists.
            if !f.constraints.required && !schema.primary_key.contains(&f.name) && rng.chance(0.04)
            {
                v = Value::Null;
            }
            if gbk
                && let Value::String(s) = &v
                && !crate::sink::gbk_encodable(s)
            {
                v = json!(
                    s.chars()
                        .map(|c| if crate::sink::gbk_encodable(&c.to_string()) {
                            c
                        } else {
                            '吉'
                        })
                        .collect::<String>()
                );
            }
            values.push(v);
        }
        // Keys are unique by construction; a repeat would be a generator bug, never written.
        let key = key_text(&keys, &all_fields, &values);
        if !key.is_empty() && seen_keys.insert(key.clone(), ()).is_some() {
            continue;
        }
        let dates_as_cells = spreadsheet && rng.chance(0.5);
        push_row(
            &mut table,
            &mut rng,
            values.clone(),
            &fields_by_name,
            dates_as_cells,
            global,
        );
        rng.next_u64();
        // A few rows lose a required value: they must be rejected, not published.
        if rng.chance(0.002)
            && let Some(pos) = all_fields.iter().position(|f| {
                fields_by_name
                    .get(f)
                    .is_some_and(|f| f.constraints.required && f.field_type == FieldType::String)
            })
            && let Some((cells, truth)) = table.rows.last_mut()
        {
            cells[pos] = Cell::Empty;
            *truth = Truth::Reject {
                reason: "missing_required",
                field: all_fields[pos].to_owned(),
                value: String::new(),
            };
        } else if grid.is_none()
            && !keys.is_empty()
            && rng.chance(0.003)
            && let Some(updated) = reissued(&fields, with_serial, &values)
        {
            // The register lists the same key again further down with a later state (a
            // renewed validity, a changed status): the later row is the register's current
            // one, and the earlier must be rejected as a duplicate key (ingest's rule).
            if let Some((_, truth)) = table.rows.last_mut() {
                *truth = Truth::Reject {
                    reason: "duplicate_key",
                    field: keys.join("+"),
                    value: key,
                };
            }
            push_row(
                &mut table,
                &mut rng,
                updated,
                &fields_by_name,
                dates_as_cells,
                global,
            );
        }
    }
    let authority = r.publisher_zh.clone();
    let mut meta = simple_meta(
        &r.id,
        &format!("{year}-{index:04}"),
        &authority,
        year,
        format!("{year}年{}", r.title_zh),
    );
    meta.announcement_no = None;
    let file = format!(
        "{}.{}",
        r.title_zh.replace(['/', '"', '“', '”'], ""),
        format.ext()
    );
    let att = table_attachment(table, &file, format, &meta.title, rng.chance(0.4));
    let hint = match format {
        Format::Csv {
            encoding: Encoding::Gbk,
            ..
        } => Some("gbk"),
        _ => None,
    };
    publish(out, &meta, vec![att], Vec::new(), hint)
}

/// A row's primary key as ingest spells it: the key fields' values joined by `|`.
fn key_text(keys: &[&str], all_fields: &[&str], values: &[Value]) -> String {
    keys.iter()
        .filter_map(|k| all_fields.iter().position(|f| f == k).map(|p| &values[p]))
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .collect::<Vec<_>>()
        .join("|")
}

/// The same register entry in a later state: its validity a year longer, or its status
/// changed. `None` when the register has neither.
fn reissued(fields: &[&Field], with_serial: bool, values: &[Value]) -> Option<Vec<Value>> {
    let offset = usize::from(with_serial);
    let mut updated = values.to_vec();
    let position = |name: &str| {
        fields
            .iter()
            .filter(|f| f.name != "record_id")
            .position(|f| f.name == name)
            .map(|p| p + offset)
    };
    if let Some(p) = position("valid_until")
        && let Some(d) = updated[p].as_str().and_then(parse_iso)
    {
        updated[p] = json!(
            Date {
                y: d.y + 1,
                m: d.m,
                d: d.d.min(text::days_in_month(d.y + 1, d.m)),
            }
            .iso()
        );
        return Some(updated);
    }
    let p = position("status")?;
    let f = fields.iter().find(|f| f.name == "status")?;
    let other = f
        .constraints
        .enum_values
        .as_ref()?
        .iter()
        .find(|v| **v != updated[p])?
        .clone();
    updated[p] = other;
    Some(updated)
}

/// Appends a row of canonical values, spelled as publications spell them: dates in several
/// formats (or as real spreadsheet dates), rates with `%`, thousands separators.
fn push_row(
    table: &mut RawTable,
    rng: &mut Rng,
    values: Vec<Value>,
    fields_by_name: &BTreeMap<&str, &&Field>,
    dates_as_cells: bool,
    global: usize,
) {
    table.push_values(&mut rng.clone(), values, |field, v| {
        let f = fields_by_name.get(field)?;
        match (f.field_type, v) {
            (FieldType::Date, Value::String(iso)) if !dates_as_cells => {
                Some(spell_date(iso, global))
            }
            (FieldType::Number, Value::Number(n))
                if f.title.contains("率") && global.is_multiple_of(3) =>
            {
                Some(format!("{n}%"))
            }
            (FieldType::Integer, Value::Number(n))
                if f.name != "year"
                    && global.is_multiple_of(17)
                    && n.as_i64().is_some_and(|x| x >= 1000) =>
            {
                let x = n.as_i64().unwrap_or_default();
                Some(format!("{},{:03}", x / 1000, x % 1000))
            }
            _ => None,
        }
    });
    if dates_as_cells && let Some((cells, _)) = table.rows.last_mut() {
        for (cell, field) in cells.iter_mut().zip(&table.fields) {
            if let (Some(f), Cell::Text(s)) = (fields_by_name.get(field.as_str()), &*cell)
                && f.field_type == FieldType::Date
                && let Some(d) = parse_iso(s)
            {
                *cell = Cell::Date(d);
            }
        }
    }
}

fn header_for(rng: &mut Rng, f: &Field) -> String {
    if !f.aliases.is_empty() && rng.chance(0.7) {
        rng.pick(&f.aliases).clone()
    } else {
        f.title.clone()
    }
}

fn pick_format(rng: &mut Rng, r: &Resource, index: usize) -> Format {
    let h = crate::rng::hash(0, &[&r.id]) as usize + index;
    let _ = rng;
    match h % 8 {
        0 => Format::Csv {
            encoding: Encoding::Utf8,
            crlf: false,
        },
        1 => Format::Csv {
            encoding: Encoding::Utf8Bom,
            crlf: true,
        },
        2 => Format::Csv {
            encoding: Encoding::Gbk,
            crlf: true,
        },
        3 => Format::Csv {
            encoding: Encoding::Gb18030,
            crlf: true,
        },
        4 | 5 => Format::Xlsx,
        6 => Format::Html {
            encoding: Encoding::Utf8,
        },
        _ => Format::Json,
    }
}

fn parse_iso(s: &str) -> Option<Date> {
    let mut parts = s.split('-');
    let y = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let d = parts.next()?.parse().ok()?;
    Some(Date { y, m, d })
}

fn spell_date(iso: &str, salt: usize) -> String {
    let Some(d) = parse_iso(iso) else {
        return iso.to_owned();
    };
    match salt % 5 {
        0 | 1 => d.iso(),
        2 => format!("{}年{}月{}日", d.y, d.m, d.d),
        3 => format!("{}/{}/{}", d.y, d.m, d.d),
        _ => format!("{}.{:02}.{:02}", d.y, d.m, d.d),
    }
}
