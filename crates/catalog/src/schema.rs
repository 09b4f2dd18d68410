//! Frictionless Table Schemas: their serde form, the rules they must follow, and Arrow.
//!
//! The JSON files in `schemas/tables/` are the contract between the ingester (which reads
//! `x-aliases`, `x-source-missing-values` and `x-ignored-headers` to understand raw
//! publications) and everything downstream (which reads types and constraints). Standard
//! Table Schema v2 properties keep their names; our extensions carry an `x-` prefix so that
//! Frictionless tools accept and ignore them.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use arrow_schema::{DataType, Field as ArrowField, Schema as ArrowSchema, TimeUnit};
use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::error::{CatalogError, Result};

/// Columns every published table carries, so any row can be traced to its source.
pub const LINEAGE_FIELDS: [&str; 5] = [
    "record_id",
    "publication_id",
    "source_file",
    "source_sheet",
    "source_row",
];

/// One Table Schema (a table's columns, keys and header aliases).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSchema {
    /// The Table Schema profile this document follows.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// The columns, in order.
    pub fields: Vec<Field>,
    /// Columns whose values identify a row.
    #[serde(rename = "primaryKey", default, skip_serializing_if = "Vec::is_empty")]
    pub primary_key: Vec<String>,
    /// Strings that mean "no value" in published CSV.
    #[serde(rename = "missingValues", default)]
    pub missing_values: Vec<String>,
    /// Placeholder cells that mean "no value" in raw publications (`/`, `—`, `未标注`, …).
    #[serde(
        rename = "x-source-missing-values",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub source_missing_values: Vec<String>,
    /// Raw header cells that are recognised but carry nothing to publish (`序号`).
    #[serde(
        rename = "x-ignored-headers",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ignored_headers: Vec<String>,
}

/// One column of a Table Schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Field {
    /// English snake_case column name.
    pub name: String,
    /// Chinese title.
    pub title: String,
    /// Chinese description.
    pub description: String,
    /// Logical type.
    #[serde(rename = "type")]
    pub field_type: FieldType,
    /// Table Schema format (only `default` is used for published data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Item separator of a `list` field in CSV.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// Type of the items of a `list` field.
    #[serde(rename = "itemType", default, skip_serializing_if = "Option::is_none")]
    pub item_type: Option<FieldType>,
    /// Value constraints.
    #[serde(default, skip_serializing_if = "Constraints::is_empty")]
    pub constraints: Constraints,
    /// A typical value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<serde_json::Value>,
    /// English title.
    #[serde(rename = "x-title-en")]
    pub title_en: String,
    /// English description.
    #[serde(rename = "x-description-en")]
    pub description_en: String,
    /// Header texts seen in real publications for this column.
    #[serde(rename = "x-aliases", default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

/// The logical types of Table Schema v2 that our tables use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Text.
    String,
    /// Whole number; its Arrow width follows from `minimum` and `maximum`.
    Integer,
    /// Floating-point number.
    Number,
    /// true / false.
    Boolean,
    /// Calendar date (ISO 8601).
    Date,
    /// Date and time (ISO 8601).
    Datetime,
    /// Calendar year.
    Year,
    /// A list of `itemType` values, joined by `delimiter` in CSV.
    List,
}

impl FieldType {
    /// The name Table Schema uses for this type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Date => "date",
            Self::Datetime => "datetime",
            Self::Year => "year",
            Self::List => "list",
        }
    }
}

/// Table Schema field constraints.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraints {
    /// The value may not be missing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub required: bool,
    /// No two rows share the value.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unique: bool,
    /// The only values allowed.
    #[serde(rename = "enum", default, skip_serializing_if = "Option::is_none")]
    pub enum_values: Option<Vec<serde_json::Value>>,
    /// A regular expression the whole value must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Smallest allowed value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<serde_json::Number>,
    /// Largest allowed value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<serde_json::Number>,
    /// Shortest allowed text.
    #[serde(rename = "minLength", default, skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    /// Longest allowed text.
    #[serde(rename = "maxLength", default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
}

impl Constraints {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The key under which a raw header cell is matched against aliases: NFKC-folded (full-width
/// brackets and letters become half-width) with all whitespace, including line breaks inside
/// a cell, removed.
pub fn header_key(text: &str) -> String {
    text.nfkc().filter(|c| !c.is_whitespace()).collect()
}

impl TableSchema {
    /// Parses and checks a schema document; `path` is only used to name the file in errors.
    pub fn from_json(path: &Path, text: &str) -> Result<Self> {
        let mut de = serde_json::Deserializer::from_str(text);
        match serde_path_to_error::deserialize::<_, Self>(&mut de) {
            Ok(schema) => {
                schema.validate(path)?;
                Ok(schema)
            }
            Err(err) => {
                let location = err.path().to_string();
                Err(CatalogError::Json {
                    path: path.to_path_buf(),
                    field: field_name_at(text, err.path()),
                    location,
                    source: err.into_inner(),
                })
            }
        }
    }

    /// The field with this name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Checks the rules every schema of the catalog follows beyond what parsing checks.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let problem = |field: Option<&str>, problem: String| CatalogError::Schema {
            path: path.to_path_buf(),
            field: field.map(str::to_owned),
            problem,
        };
        if self.fields.is_empty() {
            return Err(problem(None, "has no fields".into()));
        }
        let mut seen = HashMap::new();
        for field in &self.fields {
            if seen.insert(field.name.as_str(), ()).is_some() {
                return Err(problem(Some(&field.name), "appears twice".into()));
            }
            field
                .validate()
                .map_err(|why| problem(Some(&field.name), why))?;
        }
        for name in LINEAGE_FIELDS {
            if !seen.contains_key(name) {
                return Err(problem(
                    None,
                    format!("lacks the lineage field `{name}` every table carries"),
                ));
            }
        }
        for key in &self.primary_key {
            if !seen.contains_key(key.as_str()) {
                return Err(problem(
                    None,
                    format!("primaryKey names `{key}`, which is not a field"),
                ));
            }
        }
        if self.primary_key.is_empty() {
            return Err(problem(None, "has no primaryKey".into()));
        }
        self.check_aliases()
            .map_err(|(field, why)| problem(Some(&field), why))
    }

    /// Every header text (a field's title or alias, or an ignored header) must point at one
    /// field only, compared by [`header_key`].
    fn check_aliases(&self) -> std::result::Result<(), (String, String)> {
        let mut owner: BTreeMap<String, (&str, &str)> = BTreeMap::new();
        let ignored = "(x-ignored-headers)";
        let texts = self
            .fields
            .iter()
            .flat_map(|f| {
                std::iter::once(&f.title)
                    .chain(&f.aliases)
                    .map(move |t| (f.name.as_str(), t.as_str()))
            })
            .chain(self.ignored_headers.iter().map(|t| (ignored, t.as_str())));
        for (field, text) in texts {
            let key = header_key(text);
            if key.is_empty() {
                return Err((field.to_owned(), "has an empty alias".into()));
            }
            match owner.get(&key) {
                Some((other, other_text)) if *other != field => {
                    let problem = if field == ignored {
                        format!(
                            "alias `{other_text}` is also listed in x-ignored-headers as `{text}`"
                        )
                    } else {
                        format!(
                            "alias `{text}` collides with `{other_text}` of field `{other}`: a header must map to one field"
                        )
                    };
                    let at = if field == ignored { *other } else { field };
                    return Err((at.to_owned(), problem));
                }
                Some(_) => {}
                None => {
                    owner.insert(key, (field, text));
                }
            }
        }
        Ok(())
    }

    /// The Arrow schema of the published table.
    pub fn to_arrow(&self) -> ArrowSchema {
        let fields: Vec<ArrowField> = self
            .fields
            .iter()
            .map(|f| {
                let required = f.constraints.required || self.primary_key.contains(&f.name);
                let metadata = HashMap::from([
                    ("title_zh".to_owned(), f.title.clone()),
                    ("title_en".to_owned(), f.title_en.clone()),
                ]);
                ArrowField::new(&f.name, f.arrow_type(), !required).with_metadata(metadata)
            })
            .collect();
        ArrowSchema::new(fields)
    }
}

impl Field {
    /// The Arrow type this field is stored as.
    ///
    /// Integers take the narrowest width their declared range fits (years become `Int16`,
    /// row numbers `Int32`); without a range they are `Int64`.
    pub fn arrow_type(&self) -> DataType {
        scalar_arrow_type(self.field_type, &self.constraints).unwrap_or_else(|| {
            let item = self.item_type.unwrap_or(FieldType::String);
            let item_type =
                scalar_arrow_type(item, &Constraints::default()).unwrap_or(DataType::Utf8);
            DataType::List(Arc::new(ArrowField::new("item", item_type, true)))
        })
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if !is_snake_case(&self.name) {
            return Err("name must be English snake_case ([a-z][a-z0-9_]*)".into());
        }
        for (what, text) in [
            ("title", &self.title),
            ("description", &self.description),
            ("x-title-en", &self.title_en),
            ("x-description-en", &self.description_en),
        ] {
            if text.trim().is_empty() {
                return Err(format!("`{what}` is empty"));
            }
        }
        let c = &self.constraints;
        let ty = self.field_type;
        match ty {
            FieldType::List => {
                if self.delimiter.as_deref().is_none_or(str::is_empty) {
                    return Err("a list field needs a `delimiter`".into());
                }
                if matches!(self.item_type, Some(FieldType::List)) {
                    return Err("lists of lists are not supported".into());
                }
            }
            _ if self.delimiter.is_some() || self.item_type.is_some() => {
                return Err(format!(
                    "`delimiter` and `itemType` apply to list fields, not {}",
                    ty.as_str()
                ));
            }
            _ => {}
        }
        let numeric = matches!(ty, FieldType::Integer | FieldType::Number | FieldType::Year);
        if (c.minimum.is_some() || c.maximum.is_some()) && !numeric && ty != FieldType::Date {
            return Err(format!(
                "minimum/maximum apply to numbers, not {}",
                ty.as_str()
            ));
        }
        if ty == FieldType::Integer {
            for bound in [&c.minimum, &c.maximum].into_iter().flatten() {
                if bound.as_i64().is_none() {
                    return Err(format!("integer bound {bound} is not a whole number"));
                }
            }
        }
        if let (Some(lo), Some(hi)) = (
            c.minimum.as_ref().and_then(serde_json::Number::as_f64),
            c.maximum.as_ref().and_then(serde_json::Number::as_f64),
        ) && lo > hi
        {
            return Err(format!("minimum {lo} is above maximum {hi}"));
        }
        if (c.pattern.is_some() || c.min_length.is_some() || c.max_length.is_some())
            && ty != FieldType::String
        {
            return Err(format!(
                "pattern/minLength/maxLength apply to strings, not {}",
                ty.as_str()
            ));
        }
        if let Some(pattern) = &c.pattern {
            regex::Regex::new(pattern).map_err(|e| {
                format!("pattern `{pattern}` is not a valid regular expression: {e}")
            })?;
        }
        if let Some(values) = &c.enum_values {
            if values.is_empty() {
                return Err("`enum` is empty".into());
            }
            let fits = |v: &serde_json::Value| match ty {
                FieldType::String => v.is_string(),
                FieldType::Integer | FieldType::Year => v.is_i64(),
                FieldType::Number => v.is_number(),
                FieldType::Boolean => v.is_boolean(),
                _ => false,
            };
            if let Some(bad) = values.iter().find(|v| !fits(v)) {
                return Err(format!("enum value {bad} is not a {}", ty.as_str()));
            }
            if let (Some(pattern), Some(re)) = (
                &c.pattern,
                c.pattern.as_deref().and_then(|p| regex::Regex::new(p).ok()),
            ) && let Some(bad) = values
                .iter()
                .filter_map(serde_json::Value::as_str)
                .find(|v| !re.is_match(v))
            {
                return Err(format!(
                    "enum value `{bad}` does not match pattern `{pattern}`"
                ));
            }
        }
        if let (Some(example), Some(re)) = (
            self.example.as_ref().and_then(serde_json::Value::as_str),
            c.pattern.as_deref().and_then(|p| regex::Regex::new(p).ok()),
        ) && !re.is_match(example)
        {
            return Err(format!(
                "example `{example}` does not match its own pattern"
            ));
        }
        Ok(())
    }
}

fn scalar_arrow_type(ty: FieldType, c: &Constraints) -> Option<DataType> {
    Some(match ty {
        FieldType::String => DataType::Utf8,
        FieldType::Integer => {
            let lo = c.minimum.as_ref().and_then(serde_json::Number::as_i64);
            let hi = c.maximum.as_ref().and_then(serde_json::Number::as_i64);
            match (lo, hi) {
                (Some(lo), Some(hi)) if lo >= i16::MIN.into() && hi <= i16::MAX.into() => {
                    DataType::Int16
                }
                (Some(lo), Some(hi)) if lo >= i32::MIN.into() && hi <= i32::MAX.into() => {
                    DataType::Int32
                }
                _ => DataType::Int64,
            }
        }
        FieldType::Number => DataType::Float64,
        FieldType::Boolean => DataType::Boolean,
        FieldType::Date => DataType::Date32,
        FieldType::Datetime => DataType::Timestamp(TimeUnit::Microsecond, Some("+08:00".into())),
        FieldType::Year => DataType::Int16,
        FieldType::List => return None,
    })
}

fn is_snake_case(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// For an error at `fields[i]…`, the `name` of that field, read leniently from the raw text.
fn field_name_at(text: &str, path: &serde_path_to_error::Path) -> Option<String> {
    use serde_path_to_error::Segment;
    let mut segments = path.iter();
    let is_fields = matches!(segments.next(), Some(Segment::Map { key }) if key == "fields");
    let Some(Segment::Seq { index }) = segments.next() else {
        return None;
    };
    if !is_fields {
        return None;
    }
    let doc: serde_json::Value = serde_json::from_str(text).ok()?;
    doc.get("fields")?
        .get(*index)?
        .get("name")?
        .as_str()
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_key_folds_width_and_whitespace() {
        assert_eq!(header_key("生产日期/\n批号"), header_key("生产日期/批号"));
        assert_eq!(header_key("生产企业（标称）"), header_key("生产企业(标称)"));
        assert_eq!(header_key("标称生产 单位所在地"), "标称生产单位所在地");
        assert_eq!(header_key("\u{3000}检验 结论 "), "检验结论");
    }

    #[test]
    fn integer_width_follows_range() {
        let mut c = Constraints {
            minimum: Some(1949.into()),
            maximum: Some(2100.into()),
            ..Constraints::default()
        };
        assert_eq!(
            scalar_arrow_type(FieldType::Integer, &c),
            Some(DataType::Int16)
        );
        c.maximum = Some(2_147_483_647.into());
        assert_eq!(
            scalar_arrow_type(FieldType::Integer, &c),
            Some(DataType::Int32)
        );
        c.maximum = None;
        assert_eq!(
            scalar_arrow_type(FieldType::Integer, &c),
            Some(DataType::Int64)
        );
    }
}
