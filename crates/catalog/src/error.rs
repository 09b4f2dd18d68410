//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can be wrong with a catalog or a Table Schema.
///
/// Every variant names the file at fault (relative to the schemas directory) and, where
/// there is one, the resource or schema field, so a maintainer can go straight to the line.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A file of the catalog could not be read.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file that could not be read.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },

    /// `catalog.toml` is not valid TOML or does not have the expected shape.
    #[error("{path}: {source}")]
    Toml {
        /// The TOML file.
        path: PathBuf,
        /// The parser's error, with line and column.
        #[source]
        source: Box<toml::de::Error>,
    },

    /// A Table Schema is not valid JSON or does not have the expected shape.
    #[error("{path}: {}{location}: {source}", field.as_deref().map(|f| format!("field `{f}` at ")).unwrap_or_default())]
    Json {
        /// The schema file.
        path: PathBuf,
        /// The name of the schema field at fault, when the error is inside one.
        field: Option<String>,
        /// Where in the document the error is, e.g. `fields[3].type`.
        location: String,
        /// The parser's error, with line and column.
        #[source]
        source: serde_json::Error,
    },

    /// A Table Schema parses but breaks a rule.
    #[error("{path}: {}{problem}", field.as_deref().map(|f| format!("field `{f}`: ")).unwrap_or_default())]
    Schema {
        /// The schema file.
        path: PathBuf,
        /// The schema field at fault, if the problem is in one field.
        field: Option<String>,
        /// What is wrong and what is expected instead.
        problem: String,
    },

    /// A resource, category or subcategory entry of `catalog.toml` breaks a rule.
    #[error("{path}: {kind} `{id}`: {problem}")]
    Entry {
        /// The catalog file.
        path: PathBuf,
        /// `category`, `subcategory` or `resource`.
        kind: &'static str,
        /// The entry's id.
        id: String,
        /// What is wrong and what is expected instead.
        problem: String,
    },

    /// The catalog does not have the 6 categories, 24 subcategories and 108 resources.
    #[error("{path}: expected {expected} {level}, found {found}")]
    Count {
        /// The catalog file.
        path: PathBuf,
        /// `categories`, `subcategories` or `resources`.
        level: &'static str,
        /// How many the taxonomy has.
        expected: usize,
        /// How many the file has.
        found: usize,
    },

    /// A snapshot manifest of a warehouse is not what `layout::Manifest` says.
    #[error("{path}: not a snapshot manifest: {problem}")]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// What the parser said.
        problem: String,
    },

    /// A lookup by id or name found nothing.
    #[error("no {kind} named `{name}`")]
    NotFound {
        /// `resource`, `table` or `schema`.
        kind: &'static str,
        /// What was asked for.
        name: String,
    },
}

/// Result alias for this crate.
pub type Result<T, E = CatalogError> = std::result::Result<T, E>;
