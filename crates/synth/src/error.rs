//! The one error type of this crate.

use std::path::PathBuf;

/// What can stop the generator.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// A file or directory could not be written.
    #[error("{path}: cannot write: {source}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The XLSX writer failed on a workbook.
    #[error("{path}: cannot write workbook: {source}")]
    Xlsx {
        /// The workbook.
        path: PathBuf,
        /// The writer's error.
        #[source]
        source: rust_xlsxwriter::XlsxError,
    },
    /// The catalog the corpus is generated for is invalid.
    #[error(transparent)]
    Catalog(#[from] zhijian_catalog::CatalogError),
    /// A field of a resource that no generator fills (a gap in `registers`, not in the
    /// input): the generator refuses to write a column label with a counter instead.
    #[error("{resource}: no generator fills field `{field}`")]
    Uncovered {
        /// The resource.
        resource: String,
        /// The field.
        field: String,
    },
    /// An option is out of range.
    #[error("--{option}: {problem}")]
    Option {
        /// The option's name.
        option: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

/// Result alias for this crate.
pub type Result<T, E = SynthError> = std::result::Result<T, E>;
