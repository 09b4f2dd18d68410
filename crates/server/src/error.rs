//! The one error type of the server, and the one place errors become HTTP responses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use zhijian_query::QueryError;

/// What can go wrong answering a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query-side error (bad parameter, unknown resource or snapshot, DataFusion).
    #[error(transparent)]
    Query(#[from] QueryError),
    /// Nothing is at this path.
    #[error("no route {path}")]
    NotFound {
        /// The path asked for.
        path: String,
    },
    /// A format cannot be produced for this request.
    #[error("format `{format}`: {problem}")]
    Format {
        /// The format asked for.
        format: String,
        /// Why it cannot be produced.
        problem: String,
        /// Formats that can.
        allowed: Vec<String>,
    },
    /// The request body has a media type the endpoint does not take.
    #[error("the body must be {expected}")]
    UnsupportedMediaType {
        /// What it takes.
        expected: String,
    },
    /// The request body is larger than the server takes.
    #[error("the request body is larger than {limit} bytes, the most this server takes")]
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The request body did not arrive in time (a client sending it a byte at a time).
    #[error("the request body did not arrive within {seconds} s")]
    BodyTimeout {
        /// The time allowed.
        seconds: u64,
    },
    /// The request body could not be read (the client closed the connection, a bad chunk).
    #[error("the request body could not be read: {problem}")]
    BodyUnreadable {
        /// What went wrong.
        problem: String,
    },
    /// The server could not read its own files.
    #[error("{path}: {problem}")]
    Internal {
        /// The file.
        path: String,
        /// What went wrong.
        problem: String,
    },
}

/// The JSON envelope of every error: `{"error": {"code", "message", …}}`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// An error's fields.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine code (`bad_parameter`, `unknown_resource`, …).
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// The parameter at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// The value at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What is allowed instead, when a list helps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<String>,
    /// Where in the SQL text the error is, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
    /// Names close to an unknown table or column.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suggestions: Vec<String>,
    /// Server errors only: the request's id (`x-request-id`), which the log's entry carries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A position in SQL text.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Position {
    /// Line, from 1.
    pub line: u64,
    /// Column, from 1.
    pub column: u64,
}

impl ApiError {
    /// A DataFusion error while executing.
    pub fn from_df(e: datafusion::error::DataFusionError) -> Self {
        Self::Query(QueryError::DataFusion(e))
    }

    /// Status, code and details: every variant is mapped here and only here.
    fn parts(
        &self,
    ) -> (
        StatusCode,
        &'static str,
        Option<String>,
        Option<String>,
        Vec<String>,
    ) {
        match self {
            Self::Query(q) => match q {
                QueryError::BadParameter {
                    parameter,
                    value,
                    allowed,
                    ..
                } => (
                    StatusCode::BAD_REQUEST,
                    "bad_parameter",
                    Some(parameter.clone()),
                    Some(value.clone()),
                    allowed.clone(),
                ),
                QueryError::UnknownResource { id } => (
                    StatusCode::NOT_FOUND,
                    "unknown_resource",
                    None,
                    Some(id.clone()),
                    Vec::new(),
                ),
                QueryError::UnknownEnterprise { key } => (
                    StatusCode::NOT_FOUND,
                    "unknown_enterprise",
                    None,
                    Some(key.clone()),
                    Vec::new(),
                ),
                QueryError::SnapshotCollected { id, oldest } => (
                    StatusCode::GONE,
                    "snapshot_collected",
                    Some("_as_of".into()),
                    Some(id.clone()),
                    vec![oldest.clone()],
                ),
                QueryError::UnknownSnapshot { id } => (
                    StatusCode::NOT_FOUND,
                    "unknown_snapshot",
                    Some("_as_of".into()),
                    Some(id.clone()),
                    Vec::new(),
                ),
                QueryError::NoSnapshot { .. } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "no_snapshot",
                    None,
                    None,
                    Vec::new(),
                ),
                QueryError::Refused { .. } => (
                    StatusCode::BAD_REQUEST,
                    "refused",
                    Some("sql".into()),
                    None,
                    Vec::new(),
                ),
                QueryError::Invalid { .. } => (
                    StatusCode::BAD_REQUEST,
                    "invalid_query",
                    Some("sql".into()),
                    None,
                    Vec::new(),
                ),
                QueryError::ResourcesExhausted { .. } => (
                    StatusCode::BAD_REQUEST,
                    "resources_exhausted",
                    None,
                    None,
                    Vec::new(),
                ),
                QueryError::Deadline { .. } => (
                    StatusCode::BAD_REQUEST,
                    "deadline_exceeded",
                    None,
                    None,
                    Vec::new(),
                ),
                QueryError::ClusterUnavailable { .. } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "cluster_unavailable",
                    None,
                    None,
                    Vec::new(),
                ),
                QueryError::Busy { .. } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    None,
                    None,
                    Vec::new(),
                ),
                QueryError::DataFusion(_)
                | QueryError::Output(_)
                | QueryError::Manifest { .. }
                | QueryError::Data { .. } => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    None,
                    None,
                    Vec::new(),
                ),
            },
            Self::NotFound { path } => (
                StatusCode::NOT_FOUND,
                "not_found",
                None,
                Some(path.clone()),
                Vec::new(),
            ),
            Self::Format {
                format, allowed, ..
            } => (
                StatusCode::BAD_REQUEST,
                "bad_format",
                Some("_format".into()),
                Some(format.clone()),
                allowed.clone(),
            ),
            Self::UnsupportedMediaType { expected } => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                Some("Content-Type".into()),
                None,
                vec![expected.clone()],
            ),
            Self::BodyTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                None,
                None,
                vec![format!("at most {limit} bytes")],
            ),
            Self::BodyTimeout { .. } => (
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                None,
                None,
                Vec::new(),
            ),
            Self::BodyUnreadable { .. } => (
                StatusCode::BAD_REQUEST,
                "body_unreadable",
                None,
                None,
                Vec::new(),
            ),
            Self::Internal { .. } => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                None,
                None,
                Vec::new(),
            ),
        }
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    /// The machine-readable code of the error (`bad_parameter`, `deadline_exceeded`, …).
    pub fn code(&self) -> &'static str {
        self.parts().1
    }

    /// The JSON body. A server error (5xx) says only its code, a plain sentence and the
    /// request id: its detail (paths, the engine's text) goes to the log with that id.
    pub fn body(&self) -> ErrorBody {
        let (status, code, parameter, value, allowed) = self.parts();
        if status.is_server_error() {
            let message = match self {
                Self::Query(QueryError::Busy { .. } | QueryError::NoSnapshot { .. }) => {
                    self.to_string()
                }
                // The scheduler's address and the transport's words go to the log only.
                Self::Query(QueryError::ClusterUnavailable { .. }) => {
                    "the cluster that runs SQL cannot answer now; retry in a few seconds".into()
                }
                _ => "the server failed answering this request; quote its request_id when reporting it".into(),
            };
            return ErrorBody {
                error: ErrorDetail {
                    code: code.to_owned(),
                    message,
                    parameter: None,
                    value: None,
                    allowed: Vec::new(),
                    position: None,
                    suggestions: Vec::new(),
                    request_id: request_id(),
                },
            };
        }
        let (position, suggestions) = match self {
            Self::Query(QueryError::Invalid {
                position,
                suggestions,
                ..
            }) => (
                position.map(|(line, column)| Position { line, column }),
                suggestions.clone(),
            ),
            _ => (None, Vec::new()),
        };
        ErrorBody {
            error: ErrorDetail {
                code: code.to_owned(),
                message: self.to_string(),
                parameter,
                value,
                allowed,
                position,
                suggestions,
                request_id: None,
            },
        }
    }
}

tokio::task_local! {
    /// The id of the request being answered (set by the server's outermost middleware).
    pub static REQUEST_ID: String;
}

/// The id of the request this task answers, when known.
pub fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match self {
            Self::Query(QueryError::Busy { .. }) => {}
            _ if status.is_server_error() => {
                tracing::error!(error = %self, request_id = request_id().unwrap_or_default(), "request failed");
            }
            _ => {}
        }
        let body = serde_json::to_vec(&self.body()).unwrap_or_else(|_| {
            json!({"error": {"code": "internal", "message": "error"}})
                .to_string()
                .into_bytes()
        });
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            let seconds = match &self {
                Self::Query(QueryError::Busy { retry_after, .. }) => *retry_after,
                _ => 5,
            };
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;
