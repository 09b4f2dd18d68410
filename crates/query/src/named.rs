//! Named, parameterised queries (`queries/*.sql`, embedded at build time).
//!
//! A file's leading comments describe it: `-- title_zh:`, `-- title_en:`, `-- description:`
//! and one `-- param: <name> <text|integer|number|date> <required|optional> <description>`
//! per parameter. The SQL names parameters `$name`. A request's values are parsed to their
//! type and substituted as SQL literals (text quoted, numbers and dates validated), a missing
//! optional one as a typed NULL; the result then runs through the same guard and limits as any
//! public SQL.

use serde::Serialize;
use zhijian_catalog::FieldType;

use crate::error::{QueryError, Result};
use crate::filter::typed_lit;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/queries.rs"));
}

/// A parameter of a named query.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Param {
    /// Its name (`$name` in the SQL, `?name=` in the request).
    pub name: String,
    /// `text`, `integer`, `number` or `date`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether a request must give it.
    pub required: bool,
    /// What it means.
    pub description: String,
}

/// A named query.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NamedQuery {
    /// Its name (the file name without `.sql`).
    pub name: String,
    /// Chinese title.
    pub title_zh: String,
    /// English title.
    pub title_en: String,
    /// What it answers.
    pub description: String,
    /// Its parameters.
    pub params: Vec<Param>,
    /// The SQL, with `$name` placeholders.
    pub sql: String,
}

fn field_type(kind: &str) -> Option<FieldType> {
    match kind {
        "text" => Some(FieldType::String),
        "integer" => Some(FieldType::Integer),
        "number" => Some(FieldType::Number),
        "date" => Some(FieldType::Date),
        _ => None,
    }
}

fn sql_type(kind: &str) -> &'static str {
    match kind {
        "integer" => "BIGINT",
        "number" => "DOUBLE",
        "date" => "DATE",
        _ => "VARCHAR",
    }
}

impl NamedQuery {
    /// Parses a query file.
    pub fn parse(name: &str, text: &str) -> std::result::Result<Self, String> {
        let mut q = Self {
            name: name.to_owned(),
            title_zh: String::new(),
            title_en: String::new(),
            description: String::new(),
            params: Vec::new(),
            sql: String::new(),
        };
        let mut body = Vec::new();
        for line in text.lines() {
            let Some(meta) = line.strip_prefix("-- ") else {
                body.push(line);
                continue;
            };
            let Some((key, value)) = meta.split_once(':') else {
                body.push(line);
                continue;
            };
            let value = value.trim().to_owned();
            match key.trim() {
                "title_zh" => q.title_zh = value,
                "title_en" => q.title_en = value,
                "description" => q.description = value,
                "param" => {
                    let mut parts = value.splitn(4, ' ');
                    let (Some(pname), Some(kind), Some(req)) =
                        (parts.next(), parts.next(), parts.next())
                    else {
                        return Err(format!(
                            "{name}.sql: `-- param: {value}` needs a name, a type and required|optional"
                        ));
                    };
                    if field_type(kind).is_none() {
                        return Err(format!(
                            "{name}.sql: parameter `{pname}` has unknown type `{kind}` (text, integer, number, date)"
                        ));
                    }
                    if !matches!(req, "required" | "optional") {
                        return Err(format!(
                            "{name}.sql: parameter `{pname}`: `{req}` is neither required nor optional"
                        ));
                    }
                    q.params.push(Param {
                        name: pname.to_owned(),
                        kind: kind.to_owned(),
                        required: req == "required",
                        description: parts.next().unwrap_or_default().to_owned(),
                    });
                }
                _ => body.push(line),
            }
        }
        q.sql = body.join("\n").trim().to_owned();
        if q.sql.is_empty() {
            return Err(format!("{name}.sql has no SQL"));
        }
        for p in &q.params {
            if !q.sql.contains(&format!("${}", p.name)) {
                return Err(format!(
                    "{name}.sql: parameter `{}` is declared but not used",
                    p.name
                ));
            }
        }
        Ok(q)
    }

    /// The SQL with the request's values in place of the placeholders.
    pub fn render(&self, values: &[(String, String)]) -> Result<String> {
        for (k, v) in values {
            if !k.starts_with('_') && !self.params.iter().any(|p| &p.name == k) {
                return Err(QueryError::BadParameter {
                    parameter: k.clone(),
                    value: v.clone(),
                    problem: format!("`{}` takes no parameter `{k}`", self.name),
                    allowed: self.params.iter().map(|p| p.name.clone()).collect(),
                });
            }
        }
        let mut literals = Vec::new();
        for p in &self.params {
            let given = values
                .iter()
                .find(|(k, _)| *k == p.name)
                .map(|(_, v)| v.as_str());
            let lit = match given.filter(|v| !v.is_empty()) {
                Some(v) => typed_lit(&p.name, field_type(&p.kind).unwrap_or(FieldType::String), v)?,
                None if p.required => {
                    return Err(QueryError::BadParameter {
                        parameter: p.name.clone(),
                        value: String::new(),
                        problem: format!("`{}` needs `{}` ({})", self.name, p.name, p.description),
                        allowed: Vec::new(),
                    });
                }
                None => format!("CAST(NULL AS {})", sql_type(&p.kind)),
            };
            literals.push((p.name.as_str(), lit));
        }
        // Longest names first, so `$year_from` is not taken for `$year`.
        literals.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
        Ok(substitute(&self.sql, &literals))
    }
}

/// Replaces `$name` outside string literals and quoted identifiers.
fn substitute(sql: &str, literals: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    let mut quote: Option<char> = None;
    while let Some(c) = rest.chars().next() {
        match quote {
            Some(q) => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
                rest = &rest[1..];
            }
            None if c == '$' => {
                let hit = literals.iter().find(|(n, _)| {
                    rest[1..].starts_with(n)
                        && !rest[1 + n.len()..]
                            .chars()
                            .next()
                            .is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                match hit {
                    Some((n, lit)) => {
                        out.push_str(lit);
                        rest = &rest[1 + n.len()..];
                    }
                    None => {
                        out.push(c);
                        rest = &rest[1..];
                    }
                }
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// Every named query, sorted by name. A file that does not parse is a build-time bug the
/// tests catch; it is left out here rather than failing every request.
pub fn all() -> Vec<NamedQuery> {
    embedded::FILES
        .iter()
        .filter_map(|(name, text)| NamedQuery::parse(name, text).ok())
        .collect()
}

/// Problems of the embedded query files (for the tests).
pub fn problems() -> Vec<String> {
    embedded::FILES
        .iter()
        .filter_map(|(name, text)| NamedQuery::parse(name, text).err())
        .collect()
}

/// A named query by name.
pub fn get(name: &str) -> Result<NamedQuery> {
    all()
        .into_iter()
        .find(|q| q.name == name)
        .ok_or_else(|| QueryError::BadParameter {
            parameter: "name".into(),
            value: name.to_owned(),
            problem: format!("no named query `{name}`"),
            allowed: all().into_iter().map(|q| q.name).collect(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_query_file_parses() {
        assert!(problems().is_empty(), "{:?}", problems());
        assert!(all().len() >= 5);
    }

    #[test]
    fn values_become_literals_and_only_declared_names_are_taken() {
        let q = NamedQuery::parse(
            "t",
            "-- param: year integer optional y\n-- param: year_from integer optional f\n-- param: who text required w\nSELECT '$year', $year, $year_from, $who",
        )
        .expect("parses");
        let sql = q
            .render(&[
                ("year".into(), "2020".into()),
                ("who".into(), "x' OR '1'='1".into()),
            ])
            .expect("renders");
        assert_eq!(
            sql,
            "SELECT '$year', 2020, CAST(NULL AS BIGINT), 'x'' OR ''1''=''1'"
        );
        assert!(
            q.render(&[("year".into(), "abc".into()), ("who".into(), "a".into())])
                .is_err()
        );
        assert!(q.render(&[]).is_err(), "who is required");
        assert!(
            q.render(&[("who".into(), "a".into()), ("other".into(), "1".into())])
                .is_err()
        );
    }
}
