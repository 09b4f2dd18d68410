//! The filter grammar of the rows, facets and stats endpoints (docs/DESIGN.md §7), typed against the
//! resource's Table Schema and rendered to SQL.
//!
//! `field=v` (equals), `field__op=v` with `ne lt lte gt gte in notin contains startswith isnull
//! notnull`; `_q` text search; `_sort=a,-b`; `_fields=a,b`; `_limit`; `_cursor`; `_count=exact|none`;
//! `_as_of`. Field names come only from the schema and values are parsed to their type before
//! they become SQL literals, so nothing a client sends is ever spliced into SQL as text.

use zhijian_catalog::{FieldType, TableSchema};

use crate::error::{QueryError, Result};

/// The operators of the grammar.
pub const OPERATORS: [&str; 12] = [
    "eq",
    "ne",
    "lt",
    "lte",
    "gt",
    "gte",
    "in",
    "notin",
    "contains",
    "startswith",
    "isnull",
    "notnull",
];

/// Reserved parameters every filtered endpoint accepts.
pub const COMMON_PARAMETERS: [&str; 8] = [
    "_q", "_sort", "_fields", "_limit", "_cursor", "_count", "_as_of", "_format",
];

/// A comparison on one field.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// The field.
    pub field: String,
    /// The operator.
    pub op: String,
    /// The SQL condition.
    pub sql: String,
}

/// A 400 naming the parameter, its value, what is wrong and what is allowed.
pub(crate) fn bad(
    parameter: &str,
    value: &str,
    problem: impl Into<String>,
    allowed: Vec<String>,
) -> QueryError {
    QueryError::BadParameter {
        parameter: parameter.to_owned(),
        value: value.to_owned(),
        problem: problem.into(),
        allowed,
    }
}

/// `"name"` for a schema field name (schema names are `[a-z0-9_]`; quotes are doubled anyway).
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A SQL string literal.
pub fn string_lit(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| text.get(r).and_then(|s| s.parse::<u32>().ok());
    match (num(0..4), num(5..7), num(8..10)) {
        (Some(y), Some(m), Some(d)) if (1..=12).contains(&m) && d >= 1 => {
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let days = match m {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d <= days
        }
        _ => false,
    }
}

/// A SQL literal of a field's (or a list field's item) type, parsed from request text.
pub fn typed_lit(parameter: &str, t: FieldType, text: &str) -> Result<String> {
    let wrong = |what: &str| bad(parameter, text, format!("expected {what}"), Vec::new());
    match t {
        FieldType::String | FieldType::List => Ok(string_lit(text)),
        FieldType::Integer | FieldType::Year => text
            .trim()
            .parse::<i64>()
            .map(|v| v.to_string())
            .map_err(|_| wrong("an integer")),
        FieldType::Number => match text.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(format!("{v:?}")),
            _ => Err(wrong("a finite number")),
        },
        FieldType::Boolean => match text.trim() {
            "true" | "1" => Ok("TRUE".into()),
            "false" | "0" => Ok("FALSE".into()),
            _ => Err(wrong("true or false")),
        },
        FieldType::Date => {
            if is_date(text.trim()) {
                Ok(format!("DATE '{}'", text.trim()))
            } else {
                Err(wrong("an ISO 8601 date (YYYY-MM-DD)"))
            }
        }
        FieldType::Datetime => {
            let t = text.trim();
            if t.len() >= 10
                && is_date(&t[..10])
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-:.+ ".contains(c))
            {
                Ok(format!("TIMESTAMP {}", string_lit(t)))
            } else {
                Err(wrong("an ISO 8601 date-time"))
            }
        }
    }
}

fn field_names(schema: &TableSchema) -> Vec<String> {
    schema.fields.iter().map(|f| f.name.clone()).collect()
}

/// A field of the schema, or a 400 naming it and listing the fields.
pub fn field<'a>(
    schema: &'a TableSchema,
    parameter: &str,
    name: &str,
) -> Result<&'a zhijian_catalog::Field> {
    schema.field(name).ok_or_else(|| {
        bad(
            parameter,
            name,
            format!("unknown field `{name}`"),
            field_names(schema),
        )
    })
}

/// Parses `field` or `field__op` with its value into a condition.
pub fn parse_filter(schema: &TableSchema, key: &str, value: &str) -> Result<Filter> {
    let (name, op) = match key.rsplit_once("__") {
        Some((name, op)) => (name, op),
        None => (key, "eq"),
    };
    let f = field(schema, key, name)?;
    if !OPERATORS.contains(&op) {
        return Err(bad(
            key,
            value,
            format!("unknown operator `{op}`"),
            OPERATORS.iter().map(|s| (*s).to_owned()).collect(),
        ));
    }
    let item_type = f.item_type.unwrap_or(FieldType::String);
    let is_list = f.field_type == FieldType::List;
    let c = ident(&f.name);
    let one = |v: &str| typed_lit(key, if is_list { item_type } else { f.field_type }, v);
    let many = || -> Result<Vec<String>> {
        let items: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect();
        if items.is_empty() {
            return Err(bad(
                key,
                value,
                "expected a comma-separated list of values",
                Vec::new(),
            ));
        }
        if items.len() > 1000 {
            return Err(bad(
                key,
                value,
                "at most 1000 values are accepted",
                Vec::new(),
            ));
        }
        items.into_iter().map(one).collect()
    };
    let ordered = || {
        if is_list || f.field_type == FieldType::Boolean {
            Err(bad(
                key,
                value,
                format!("`{op}` does not apply to a {} field", f.field_type.as_str()),
                vec![
                    "eq".into(),
                    "ne".into(),
                    "in".into(),
                    "notin".into(),
                    "isnull".into(),
                    "notnull".into(),
                ],
            ))
        } else {
            Ok(())
        }
    };
    let textual = || {
        if matches!(f.field_type, FieldType::String | FieldType::List) {
            Ok(())
        } else {
            Err(bad(
                key,
                value,
                format!(
                    "`{op}` applies to text fields; `{}` is a {} field",
                    f.name,
                    f.field_type.as_str()
                ),
                Vec::new(),
            ))
        }
    };
    let flag = || match value.trim() {
        "" | "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(bad(key, value, "expected true or false", Vec::new())),
    };
    let empty_list = format!("({c} IS NULL OR cardinality({c}) = 0)");
    let sql = match op {
        "eq" if is_list => format!("array_has({c}, {})", one(value)?),
        "eq" => format!("{c} = {}", one(value)?),
        "ne" if is_list => format!("NOT array_has({c}, {})", one(value)?),
        "ne" => format!("{c} <> {}", one(value)?),
        "lt" | "lte" | "gt" | "gte" => {
            ordered()?;
            let sym = match op {
                "lt" => "<",
                "lte" => "<=",
                "gt" => ">",
                _ => ">=",
            };
            format!("{c} {sym} {}", one(value)?)
        }
        "in" if is_list => format!("array_has_any({c}, make_array({}))", many()?.join(", ")),
        "in" => format!("{c} IN ({})", many()?.join(", ")),
        "notin" if is_list => format!("NOT array_has_any({c}, make_array({}))", many()?.join(", ")),
        "notin" => format!("{c} NOT IN ({})", many()?.join(", ")),
        "contains" => {
            textual()?;
            if value.is_empty() {
                return Err(bad(key, value, "expected some text", Vec::new()));
            }
            if is_list {
                format!(
                    "strpos(array_to_string({c}, '\u{1f}'), {}) > 0",
                    string_lit(value)
                )
            } else {
                format!("strpos({c}, {}) > 0", string_lit(value))
            }
        }
        "startswith" => {
            textual()?;
            if is_list {
                return Err(bad(
                    key,
                    value,
                    "`startswith` does not apply to a list field",
                    Vec::new(),
                ));
            }
            format!("starts_with({c}, {})", string_lit(value))
        }
        "isnull" | "notnull" => {
            let want_null = flag()? == (op == "isnull");
            match (is_list, want_null) {
                (true, true) => empty_list,
                (true, false) => format!("NOT {empty_list}"),
                (false, true) => format!("{c} IS NULL"),
                (false, false) => format!("{c} IS NOT NULL"),
            }
        }
        _ => unreachable_op(op),
    };
    Ok(Filter {
        field: f.name.clone(),
        op: op.to_owned(),
        sql,
    })
}

fn unreachable_op(op: &str) -> String {
    // Every member of OPERATORS is matched above; an operator added to the list without a
    // rendering matches nothing rather than everything.
    format!("FALSE /* {op} */")
}

/// `_q`: a case-sensitive substring over every text field (the public search of issue 7 adds
/// ranking and folding; this is the plain grammar's text filter).
pub fn text_search(schema: &TableSchema, q: &str) -> Option<String> {
    let q = q.trim();
    if q.is_empty() {
        return None;
    }
    let lit = string_lit(q);
    let parts: Vec<String> = schema
        .fields
        .iter()
        .filter(|f| {
            !zhijian_catalog::LINEAGE_FIELDS.contains(&f.name.as_str()) && f.name != "record_id"
        })
        .filter_map(|f| match f.field_type {
            FieldType::String => Some(format!("strpos({}, {lit}) > 0", ident(&f.name))),
            FieldType::List => Some(format!(
                "strpos(array_to_string({}, '\u{1f}'), {lit}) > 0",
                ident(&f.name)
            )),
            _ => None,
        })
        .collect();
    Some(if parts.is_empty() {
        "FALSE".to_owned()
    } else {
        format!("({})", parts.join(" OR "))
    })
}

/// One sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKey {
    /// The field.
    pub field: String,
    /// Descending?
    pub desc: bool,
    /// Its type.
    pub field_type: FieldType,
}

impl SortKey {
    /// `ORDER BY` term: ascending with nulls first, descending with nulls last (the exact
    /// reverse), matching the order the Parquet files are written in.
    pub fn order_by(&self) -> String {
        if self.desc {
            format!("{} DESC NULLS LAST", ident(&self.field))
        } else {
            format!("{} ASC NULLS FIRST", ident(&self.field))
        }
    }
}

/// Parses `_sort=a,-b`; `record_id` is appended so the order is total.
pub fn parse_sort(
    schema: &TableSchema,
    value: Option<&str>,
    default: &[String],
) -> Result<Vec<SortKey>> {
    let mut keys = Vec::new();
    let spec: Vec<(String, bool)> = match value {
        Some(v) if !v.trim().is_empty() => v
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| match s.strip_prefix('-') {
                Some(name) => (name.to_owned(), true),
                None => (s.trim_start_matches('+').to_owned(), false),
            })
            .collect(),
        _ => default.iter().map(|n| (n.clone(), false)).collect(),
    };
    for (name, desc) in spec {
        let f = field(schema, "_sort", &name)?;
        if f.field_type == FieldType::List {
            return Err(bad(
                "_sort",
                &name,
                format!("`{name}` is a list and cannot be sorted"),
                schema
                    .fields
                    .iter()
                    .filter(|f| f.field_type != FieldType::List)
                    .map(|f| f.name.clone())
                    .collect(),
            ));
        }
        if keys.iter().any(|k: &SortKey| k.field == name) {
            continue;
        }
        keys.push(SortKey {
            field: name,
            desc,
            field_type: f.field_type,
        });
    }
    if !keys.iter().any(|k| k.field == "record_id") && schema.field("record_id").is_some() {
        keys.push(SortKey {
            field: "record_id".into(),
            desc: false,
            field_type: FieldType::String,
        });
    }
    Ok(keys)
}

/// The keyset condition "after the row with these sort values".
pub fn after(keys: &[SortKey], values: &[serde_json::Value]) -> Result<String> {
    if keys.len() != values.len() {
        return Err(bad(
            "_cursor",
            "",
            "the cursor does not match the sort order",
            Vec::new(),
        ));
    }
    let lit = |k: &SortKey, v: &serde_json::Value| -> Result<Option<String>> {
        match v {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::String(s) => typed_lit("_cursor", k.field_type, s).map(Some),
            other => typed_lit("_cursor", k.field_type, &other.to_string()).map(Some),
        }
    };
    let mut ors = Vec::new();
    let mut equal_prefix: Vec<String> = Vec::new();
    for (k, v) in keys.iter().zip(values) {
        let c = ident(&k.field);
        let l = lit(k, v)?;
        let after_here = match (&l, k.desc) {
            (Some(l), false) => Some(format!("{c} > {l}")),
            (None, false) => Some(format!("{c} IS NOT NULL")),
            (Some(l), true) => Some(format!("({c} < {l} OR {c} IS NULL)")),
            (None, true) => None,
        };
        if let Some(a) = after_here {
            let mut terms = equal_prefix.clone();
            terms.push(a);
            ors.push(format!("({})", terms.join(" AND ")));
        }
        equal_prefix.push(match &l {
            Some(l) => format!("{c} = {l}"),
            None => format!("{c} IS NULL"),
        });
    }
    Ok(if ors.is_empty() {
        "FALSE".to_owned()
    } else {
        format!("({})", ors.join(" OR "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_checked_for_real() {
        assert!(is_date("2024-02-29"));
        assert!(!is_date("2023-02-29"));
        assert!(!is_date("2024-13-01"));
        assert!(!is_date("2024-1-01"));
        assert!(!is_date("0000-00-00"));
    }

    #[test]
    fn literals_cannot_escape_their_quotes() {
        assert_eq!(string_lit("a'; DROP"), "'a''; DROP'");
        assert!(typed_lit("x", FieldType::Integer, "1; DROP").is_err());
        assert!(typed_lit("x", FieldType::Number, "1e309").is_err());
        assert_eq!(
            typed_lit("x", FieldType::Date, "2020-01-31")
                .ok()
                .as_deref(),
            Some("DATE '2020-01-31'")
        );
    }
}
