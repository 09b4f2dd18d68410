//! The seam between the snapshot index and SQL.
//!
//! Every request of the data API can be answered by SQL (DataFusion over the snapshot's
//! Parquet files). The snapshot index (`search::Indexes`, built once per snapshot) is an
//! accelerator beside it: it answers point lookups, counts, facets, pass-rate statistics,
//! pages and exports in the default order, and the rows of a search, without planning a
//! query, when it holds what the request filters on. This module is the one place that
//! decides, per request, which engine answers and why: [`answer`] (and [`decide`] for the
//! synchronous exports) asks [`decide`] whether the index may answer at all (the mode, whether
//! it is built, the shape of the request), then lets the index try; an index that cannot
//! hold the request (a filter it does not keep, a value that is not a number, too many ties)
//! declines with a reason, and SQL answers. Both outcomes are logged at debug level and
//! returned as a [`Route`], which the server sends as the `x-answered-by` and
//! `x-answered-by-reason` headers.
//!
//! With [`IndexMode::Off`] (`zhijian serve --index off`, `ZHIJIAN_INDEX=off`) the index still
//! matches words to values for search and groups producers (nothing else can), but every row,
//! count, facet, statistic, page and export is SQL's: the tests run each answer both ways and
//! require the same result.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;

use crate::error::{QueryError, Result};
use crate::search::{Indexes, SearchIndex};
use crate::warehouse::SnapshotView;

/// Whether the snapshot index may answer requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IndexMode {
    /// The index answers what it holds; SQL the rest.
    #[default]
    On,
    /// SQL answers every row, count, facet, statistic, page and export.
    Off,
}

impl std::str::FromStr for IndexMode {
    type Err = QueryError;

    fn from_str(text: &str) -> Result<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "on" | "1" | "true" => Ok(Self::On),
            "off" | "0" | "false" => Ok(Self::Off),
            _ => Err(QueryError::BadParameter {
                parameter: "index".into(),
                value: text.to_owned(),
                problem: "expected on or off".into(),
                allowed: vec!["on".into(), "off".into()],
            }),
        }
    }
}

/// The engine that answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// The snapshot index (rows read by position from the Parquet files).
    Index,
    /// A DataFusion query.
    Sql,
}

impl Engine {
    /// `index` or `sql`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Index => "index",
            Self::Sql => "sql",
        }
    }
}

/// Which engine answered a request, and why (plain ASCII: field and operator names, never a
/// value given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The engine.
    pub engine: Engine,
    /// Why.
    pub reason: String,
}

impl Route {
    /// Answered by the index.
    pub fn index(reason: impl Into<String>) -> Self {
        Self {
            engine: Engine::Index,
            reason: reason.into(),
        }
    }

    /// Answered by SQL.
    pub fn sql(reason: impl Into<String>) -> Self {
        Self {
            engine: Engine::Sql,
            reason: reason.into(),
        }
    }

    /// The route of an answer made of two parts: SQL's when either part was.
    pub fn and(self, other: Self) -> Self {
        match (self.engine, other.engine) {
            (Engine::Index, Engine::Sql) => other,
            _ => self,
        }
    }
}

/// An answer with the route it took.
#[derive(Debug, Clone)]
pub struct Answered<T> {
    /// The answer.
    pub value: T,
    /// Who answered, and why.
    pub route: Route,
}

/// Why the index did not answer a request it was offered (a filter it does not hold, a value
/// it cannot compare, too many ties): SQL answers instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decline(pub String);

/// What the index made of a request: the answer, or why not.
pub type Held<T> = std::result::Result<T, Decline>;

/// What a request asks of a table, as far as the decision needs to know.
#[derive(Debug, Clone, Copy)]
pub enum Ask<'a> {
    /// One row by record id.
    Lookup,
    /// A page of rows and its count.
    Page,
    /// Value counts of a field (`histogram`: by year, quarter or month of a date).
    Facet {
        /// The field.
        field: &'a str,
        /// A date histogram.
        histogram: bool,
    },
    /// Pass-rate statistics grouped by fields.
    Stats {
        /// The groups.
        group_by: &'a [String],
    },
    /// The whole result streamed in the default order.
    Export {
        /// Whether the sort is the table's default order.
        default_sort: bool,
    },
    /// The rows, count and facets of a search.
    Search,
    /// A producer's history.
    Producer,
}

impl Ask<'_> {
    fn name(&self) -> &'static str {
        match self {
            Self::Lookup => "lookup",
            Self::Page => "page",
            Self::Facet { .. } => "facet",
            Self::Stats { .. } => "stats",
            Self::Export { .. } => "export",
            Self::Search => "search",
            Self::Producer => "producer",
        }
    }
}

/// A request on a table as the decision sees it: the table (a spot-check resource or
/// `spot_checks`) and its filters, or why there are none the index could use.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// The table.
    pub table: &'a str,
    /// The filters as (field, operator, value), or why they are not only filters.
    pub filters: std::result::Result<&'a [(String, String, String)], &'static str>,
}

/// The fields the index can group pass-rate statistics by.
const STATS_GROUPS_HELD: [&str; 3] = ["product", "enterprise_province", "plan_year"];

/// Whether the index may answer `ask` on `target`: its indexes when it may, else the SQL route
/// with the reason. The checks that need the index's values (filters, cursors, ties) are the
/// index's own, reported through [`Decline`].
pub fn decide(
    view: &SnapshotView,
    target: Target<'_>,
    ask: Ask<'_>,
) -> std::result::Result<Arc<Indexes>, Route> {
    if view.index_mode() == IndexMode::Off {
        return Err(Route::sql("index off"));
    }
    let Some(indexes) = view.indexes_ready() else {
        return Err(Route::sql("index not built yet"));
    };
    if let Err(why) = target.filters {
        return Err(Route::sql(why));
    }
    let is_spot = matches!(ask, Ask::Search | Ask::Producer)
        || indexes.search.spot_rows().range_of(target.table).is_some();
    if !is_spot {
        return Err(Route::sql("not a spot-check table"));
    }
    match ask {
        Ask::Facet {
            histogram: true, ..
        } => return Err(Route::sql("date histogram")),
        Ask::Stats { group_by } => {
            if let Some(g) = group_by
                .iter()
                .find(|g| !STATS_GROUPS_HELD.contains(&g.as_str()))
            {
                return Err(Route::sql(format!("group_by {g} is not held by the index")));
            }
        }
        Ask::Export {
            default_sort: false,
        } => {
            return Err(Route::sql(
                "an export sorted otherwise than the default order",
            ));
        }
        _ => {}
    }
    Ok(indexes)
}

fn logged(view: &SnapshotView, target: &Target<'_>, ask: &Ask<'_>, route: &Route) {
    tracing::debug!(
        snapshot = %view.id,
        table = target.table,
        ask = ask.name(),
        engine = route.engine.name(),
        reason = route.reason.as_str(),
        "answered by"
    );
}

/// Answers `ask` on `target` from the index when [`decide`] lets it and it holds the request,
/// else by SQL; logs and returns the route taken.
pub async fn answer<T, F, Fut>(
    view: &SnapshotView,
    target: Target<'_>,
    ask: Ask<'_>,
    by_index: impl FnOnce(&SearchIndex) -> Result<Held<T>>,
    by_sql: F,
) -> Result<Answered<T>>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let route = match decide(view, target, ask) {
        Ok(indexes) => match by_index(&indexes.search)? {
            Ok(value) => {
                let route = Route::index(format!("the index holds this {}", ask.name()));
                logged(view, &target, &ask, &route);
                return Ok(Answered { value, route });
            }
            Err(Decline(why)) => Route::sql(why),
        },
        Err(route) => route,
    };
    logged(view, &target, &ask, &route);
    Ok(Answered {
        value: by_sql().await?,
        route,
    })
}

/// As [`answer`], for a caller that goes on without the index when it declines (the exports,
/// whose SQL stream the caller opens): the index's answer with its route, or the SQL route.
pub fn try_index<T>(
    view: &SnapshotView,
    target: Target<'_>,
    ask: Ask<'_>,
    by_index: impl FnOnce(Arc<Indexes>) -> Result<Held<T>>,
) -> Result<std::result::Result<Answered<T>, Route>> {
    let route = match decide(view, target, ask) {
        Ok(indexes) => match by_index(indexes)? {
            Ok(value) => {
                let route = Route::index(format!("the index holds this {}", ask.name()));
                logged(view, &target, &ask, &route);
                return Ok(Ok(Answered { value, route }));
            }
            Err(Decline(why)) => Route::sql(why),
        },
        Err(route) => route,
    };
    logged(view, &target, &ask, &route);
    Ok(Err(route))
}
