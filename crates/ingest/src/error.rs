//! The one error type of this crate.

use std::path::PathBuf;

/// Why an attachment could not be read. Each names the file; the rest of a publication
/// still ingests.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file could not be read from disk.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are neither UTF-8 nor GB18030 (which covers GBK and GB2312).
    #[error(
        "{path}: not UTF-8 and not GB18030: {bad} undecodable byte sequences, the first at byte {offset}"
    )]
    Encoding {
        /// The file.
        path: PathBuf,
        /// Byte offset of the first undecodable sequence.
        offset: usize,
        /// How many sequences could not be decoded.
        bad: usize,
    },
    /// A workbook (XLSX or XLS) could not be opened or a sheet read.
    #[error("{path}: unreadable workbook: {source}")]
    Workbook {
        /// The file.
        path: PathBuf,
        /// The workbook reader's error.
        #[source]
        source: calamine::Error,
    },
    /// A JSON attachment is not JSON, or holds no array of records.
    #[error("{path}: {problem}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A resource could not be written into the snapshot.
    #[error("resource {resource}: cannot publish: {problem}")]
    Publish {
        /// The resource id.
        resource: String,
        /// What failed.
        problem: String,
    },
    /// Another process (an ingest or a collection) is writing into the warehouse.
    #[error("{}: another ingest or gc holds this warehouse; try again when it is done", lock.display())]
    Busy {
        /// The lock file.
        lock: PathBuf,
    },
    /// A retention policy cannot be applied.
    #[error("gc: {problem}")]
    Retention {
        /// What is wrong.
        problem: String,
    },
    /// No row of the raw root could be published: no snapshot was made.
    #[error("{}: no row could be published (see the rejected rows above)", raw.display())]
    NothingPublished {
        /// The raw root.
        raw: PathBuf,
    },
    /// The file's container is not one this ingester reads (PDF, DOC, ZIP …).
    #[error("{path}: unsupported container ({what}); publish it as CSV, XLSX, XLS, HTML or JSON")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// What it looks like.
        what: &'static str,
    },
}

/// An I/O error on `path`, as [`IngestError::Io`].
pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> IngestError + '_ {
    move |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Result alias for this crate.
pub type Result<T, E = IngestError> = std::result::Result<T, E>;
