//! Arrow Flight SQL on a port of its own (`zhijian serve --flight-addr`): the public read-only
//! SQL of `/api/v1/sql` for DBeaver, ADBC and JDBC users, under the same guard and limits.
//!
//! Every statement is planned by [`plan_public`] and runs on a thread and runtime of its own
//! holding one of the shared SQL slots (one more than the slots answers `UNAVAILABLE` at once),
//! under the same wall-clock deadline and memory pool; a client that goes away stops its query.
//! Statement and prepared-statement handles are stateless: they carry the snapshot and the SQL
//! text, so a query planned on one snapshot runs on it even when a new one is published in
//! between, and any server can answer a ticket. Anonymous access: a handshake with or without
//! basic credentials gets a token, and no call requires one (the data is public).

use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::flight_service_server::{FlightService, FlightServiceServer};
use arrow_flight::sql::metadata::{SqlInfoData, SqlInfoDataBuilder};
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest,
    ActionCreatePreparedStatementResult, CommandGetCatalogs, CommandGetDbSchemas,
    CommandGetSqlInfo, CommandGetTableTypes, CommandGetTables, CommandPreparedStatementQuery,
    CommandStatementQuery, DoPutPreparedStatementResult, ProstMessageExt, SqlInfo,
    SqlSupportedTransaction, TicketStatementQuery,
};
use arrow_flight::{
    Action, FlightData, FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest,
    HandshakeResponse, IpcMessage, SchemaAsIpc, Ticket,
};
use bytes::Bytes;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::ipc::writer::IpcWriteOptions;
use datafusion::arrow::record_batch::RecordBatch;
use futures::{Stream, StreamExt, TryStreamExt};
use prost::Message;
use serde::{Deserialize, Serialize};
use tonic::metadata::MetadataValue;
use tonic::{Request, Response, Status, Streaming};
use zhijian_query::QueryError;
use zhijian_query::sql::explain_error;

use crate::AppState;
use crate::error::ApiError;
use crate::sql::run_public;

/// The catalog and schema every table is in (DataFusion's defaults).
const CATALOG: &str = "datafusion";
const SCHEMA: &str = "public";

/// What a statement or prepared-statement handle carries.
#[derive(Debug, Serialize, Deserialize)]
struct Handle {
    /// The snapshot the statement was planned on.
    snapshot: String,
    /// The SQL text.
    sql: String,
}

impl Handle {
    fn encode(&self) -> Bytes {
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }

    fn decode(bytes: &[u8]) -> Result<Self, Status> {
        serde_json::from_slice(bytes).map_err(|e| {
            Status::invalid_argument(format!(
                "not a statement handle of this server ({e}); plan the statement again"
            ))
        })
    }
}

/// A stream of encoded Flight data.
type DataStream = Pin<Box<dyn Stream<Item = Result<FlightData, Status>> + Send + 'static>>;

/// Batches of a running query, each as it is computed.
type Batches = tokio::sync::mpsc::Receiver<Result<RecordBatch, QueryError>>;

/// The batches of a running query, held to its deadline.
type BatchStream = futures::stream::BoxStream<'static, Result<RecordBatch, QueryError>>;

/// The gRPC status of a query error, derived from the server's one mapping of errors
/// ([`ApiError::status`] and its code): the same message, with the position and suggestions
/// of an invalid query.
pub fn status(e: QueryError) -> Status {
    // An engine error is explained first (an invalid plan, memory), as `/api/v1/sql` does.
    let e = match e {
        QueryError::DataFusion(d) => explain_error(d, &[]),
        other => other,
    };
    let e = ApiError::from(e);
    let body = e.body().error;
    let mut text = body.message;
    if let Some(p) = body.position {
        text.push_str(&format!(" (line {}, column {})", p.line, p.column));
    }
    let suggestions: Vec<&String> = body.suggestions.iter().filter(|s| !s.is_empty()).collect();
    if !suggestions.is_empty() {
        let names: Vec<&str> = suggestions.iter().map(|s| s.as_str()).collect();
        text.push_str(&format!("; did you mean {}?", names.join(", ")));
    }
    let code = match (body.code.as_str(), e.status().as_u16()) {
        ("deadline_exceeded", _) => tonic::Code::DeadlineExceeded,
        ("resources_exhausted", _) => tonic::Code::ResourceExhausted,
        (_, 400 | 413 | 415) => tonic::Code::InvalidArgument,
        (_, 404) => tonic::Code::NotFound,
        (_, 503) => tonic::Code::Unavailable,
        _ => tonic::Code::Internal,
    };
    Status::new(code, text)
}

fn arrow_status(e: datafusion::arrow::error::ArrowError) -> Status {
    Status::internal(format!("cannot encode the result: {e}"))
}

/// The Flight SQL service over the server's warehouse.
#[derive(Debug, Clone)]
pub struct FlightSql {
    app: Arc<AppState>,
}

impl FlightSql {
    /// The service over `app`'s warehouse, sharing its SQL slots and limits.
    pub fn new(app: Arc<AppState>) -> Self {
        Self { app }
    }

    /// A handle for `sql` on the current snapshot.
    async fn handle(&self, sql: String) -> Result<Handle, Status> {
        let view = self.app.warehouse.current().await.map_err(status)?;
        Ok(Handle {
            snapshot: view.id.clone(),
            sql,
        })
    }

    /// Plans (and with `execute`, runs) a statement on its snapshot with the one public-SQL
    /// runner ([`run_public`]); answers its schema and, when run, its batches (held to the
    /// deadline, and stopped when the client goes away).
    async fn run(
        &self,
        handle: &Handle,
        execute: bool,
    ) -> Result<(SchemaRef, Option<BatchStream>), QueryError> {
        let head = run_public(
            &self.app,
            Some(&handle.snapshot),
            handle.sql.clone(),
            move |p, reply| async move {
                let schema: SchemaRef = p.query.schema();
                if !execute {
                    reply.send(Ok((schema, None, p.deadline, p.seconds)));
                    return;
                }
                let over = || QueryError::Deadline { seconds: p.seconds };
                let stream = tokio::time::timeout_at(p.deadline, p.query.execute_stream())
                    .await
                    .map_err(|_| over())
                    .and_then(|r| r.map_err(|e| explain_error(e, &p.tables)));
                let mut stream = match stream {
                    Ok(stream) => stream,
                    Err(e) => {
                        reply.send(Err(e));
                        return;
                    }
                };
                let (tx, rx) = tokio::sync::mpsc::channel(2);
                if !reply.send(Ok((schema, Some(rx), p.deadline, p.seconds))) {
                    return;
                }
                loop {
                    let next = tokio::select! {
                        next = tokio::time::timeout_at(p.deadline, stream.next()) => next,
                        // The client is gone: stop.
                        () = tx.closed() => return,
                    };
                    let item = match next {
                        Err(_) => Err(over()),
                        Ok(None) => return,
                        Ok(Some(batch)) => batch.map_err(|e| explain_error(e, &p.tables)),
                    };
                    let failed = item.is_err();
                    // A client that reads too slowly is also held to the deadline.
                    match tokio::time::timeout_at(p.deadline, tx.send(item)).await {
                        Ok(Ok(())) if !failed => {}
                        _ => return,
                    }
                }
            },
        )
        .await?;
        let (schema, batches, deadline, seconds) = head;
        // The deadline is kept here too, in case the query's own threads are stuck.
        let grace = deadline + std::time::Duration::from_millis(250);
        Ok((
            schema,
            batches.map(|rx| deadline_bound(rx, grace, seconds).boxed()),
        ))
    }

    /// The flight info of a statement: its schema and one ticket that runs it.
    async fn statement_info(
        &self,
        handle: Handle,
        descriptor: FlightDescriptor,
    ) -> Result<Response<FlightInfo>, Status> {
        let (schema, _) = self.run(&handle, false).await.map_err(status)?;
        let ticket = TicketStatementQuery {
            statement_handle: handle.encode(),
        };
        let info = FlightInfo::new()
            .try_with_schema(&schema)
            .map_err(arrow_status)?
            .with_endpoint(
                FlightEndpoint::new().with_ticket(Ticket::new(ticket.as_any().encode_to_vec())),
            )
            .with_descriptor(descriptor)
            .with_ordered(true);
        Ok(Response::new(info))
    }

    /// Runs a statement and streams its batches as Flight data.
    async fn statement_data(&self, handle: &Handle) -> Result<Response<DataStream>, Status> {
        self.app.usage.record(crate::usage::Kind::Sql, "flight");
        let (schema, batches) = self.run(handle, true).await.map_err(status)?;
        let batches = batches.ok_or_else(|| Status::internal("the query did not run"))?;
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(
                batches.map_err(|e| arrow_flight::error::FlightError::Tonic(Box::new(status(e)))),
            )
            .map_err(Status::from);
        Ok(Response::new(Box::pin(stream)))
    }

    /// The flight info of a metadata command: the command itself is the ticket.
    fn metadata_info(
        schema: &Schema,
        command: impl ProstMessageExt,
        descriptor: FlightDescriptor,
    ) -> Result<Response<FlightInfo>, Status> {
        let info = FlightInfo::new()
            .try_with_schema(schema)
            .map_err(arrow_status)?
            .with_endpoint(
                FlightEndpoint::new().with_ticket(Ticket::new(command.as_any().encode_to_vec())),
            )
            .with_descriptor(descriptor);
        Ok(Response::new(info))
    }

    /// One batch as Flight data.
    fn one_batch(
        schema: SchemaRef,
        batch: Result<RecordBatch, arrow_flight::error::FlightError>,
    ) -> Response<DataStream> {
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(futures::stream::once(async move { batch }))
            .map_err(Status::from);
        Response::new(Box::pin(stream))
    }

    /// The tables of the current snapshot with their types and schemas.
    async fn tables(&self) -> Result<Vec<(String, &'static str, SchemaRef)>, Status> {
        let view = self.app.warehouse.current().await.map_err(status)?;
        let mut tables = Vec::new();
        for name in view.tables() {
            let provider = view
                .ctx
                .table_provider(name.as_str())
                .await
                .map_err(|e| status(e.into()))?;
            let kind = match provider.table_type() {
                datafusion::datasource::TableType::View => "VIEW",
                _ => "TABLE",
            };
            tables.push((name, kind, provider.schema()));
        }
        Ok(tables)
    }
}

/// The batches of `rx` until the deadline; past it, one deadline error and the end.
fn deadline_bound(
    rx: Batches,
    deadline: tokio::time::Instant,
    seconds: u64,
) -> impl Stream<Item = Result<RecordBatch, QueryError>> + Send + 'static {
    futures::stream::unfold(Some(rx), move |rx| async move {
        let mut rx = rx?;
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(item)) => Some((item, Some(rx))),
            Ok(None) => None,
            Err(_) => Some((Err(QueryError::Deadline { seconds }), None)),
        }
    })
}

/// What the server says about itself to clients (`GetSqlInfo`).
fn sql_info() -> &'static SqlInfoData {
    static INFO: OnceLock<SqlInfoData> = OnceLock::new();
    INFO.get_or_init(|| {
        let mut info = SqlInfoDataBuilder::new();
        info.append(SqlInfo::FlightSqlServerName, "Zhijian open data");
        info.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
        info.append(SqlInfo::FlightSqlServerArrowVersion, "59.3");
        info.append(SqlInfo::FlightSqlServerReadOnly, true);
        info.append(SqlInfo::FlightSqlServerSql, true);
        info.append(SqlInfo::FlightSqlServerSubstrait, false);
        info.append(
            SqlInfo::FlightSqlServerTransaction,
            SqlSupportedTransaction::None as i32,
        );
        info.append(SqlInfo::FlightSqlServerCancel, false);
        info.append(SqlInfo::FlightSqlServerStatementTimeout, 10_000i32);
        info.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
        info.append(SqlInfo::SqlDdlCatalog, false);
        info.append(SqlInfo::SqlDdlSchema, false);
        info.append(SqlInfo::SqlDdlTable, false);
        // Every entry above has a type the builder takes; failing here is a bug in this list.
        info.build().expect("the server's SqlInfo list")
    })
}

#[tonic::async_trait]
impl FlightSqlService for FlightSql {
    type FlightService = Self;

    /// Anonymous: with or without basic credentials (ADBC sends them base64 without padding),
    /// the answer is a token no call requires.
    async fn do_handshake(
        &self,
        _request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<
        Response<Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>>,
        Status,
    > {
        let reply = HandshakeResponse {
            protocol_version: 0,
            payload: Bytes::from_static(b"anonymous"),
        };
        let mut response: Response<
            Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>,
        > = Response::new(Box::pin(futures::stream::iter([Ok(reply)])));
        response.metadata_mut().insert(
            "authorization",
            MetadataValue::from_static("Bearer anonymous"),
        );
        Ok(response)
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let handle = self.handle(query.query).await?;
        self.statement_info(handle, request.into_inner()).await
    }

    async fn get_flight_info_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let handle = Handle::decode(&query.prepared_statement_handle)?;
        self.statement_info(handle, request.into_inner()).await
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let handle = Handle::decode(&ticket.statement_handle)?;
        self.statement_data(&handle).await
    }

    async fn do_get_prepared_statement(
        &self,
        query: CommandPreparedStatementQuery,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let handle = Handle::decode(&query.prepared_statement_handle)?;
        self.statement_data(&handle).await
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        _request: Request<Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        if query.transaction_id.is_some() {
            return Err(Status::invalid_argument(
                "transactions are not supported: the data is read-only",
            ));
        }
        let handle = self.handle(query.query).await?;
        let (schema, _) = self.run(&handle, false).await.map_err(status)?;
        let message: IpcMessage = SchemaAsIpc::new(&schema, &IpcWriteOptions::default())
            .try_into()
            .map_err(arrow_status)?;
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: handle.encode(),
            dataset_schema: message.0,
            parameter_schema: Bytes::new(),
        })
    }

    /// Handles are stateless: there is nothing to free.
    async fn do_action_close_prepared_statement(
        &self,
        _query: ActionClosePreparedStatementRequest,
        _request: Request<Action>,
    ) -> Result<(), Status> {
        Ok(())
    }

    /// Statements take no parameters (values go in the SQL text): an empty binding is
    /// accepted, any bound value is refused rather than ignored.
    async fn do_put_prepared_statement_query(
        &self,
        query: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        Handle::decode(&query.prepared_statement_handle)?;
        let mut stream = request.into_inner();
        while let Some(data) = stream.next().await {
            if !data?.data_body.is_empty() {
                return Err(Status::invalid_argument(
                    "statements here take no parameters: put the values in the SQL text",
                ));
            }
        }
        Ok(DoPutPreparedStatementResult {
            prepared_statement_handle: Some(query.prepared_statement_handle),
        })
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        Self::metadata_info(SqlInfoDataBuilder::schema(), query, request.into_inner())
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let builder = query.into_builder(sql_info());
        Ok(Self::one_batch(builder.schema(), builder.build()))
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.into_builder().schema();
        Self::metadata_info(&schema, query, request.into_inner())
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let mut builder = query.into_builder();
        builder.append(CATALOG);
        Ok(Self::one_batch(builder.schema(), builder.build()))
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder().schema();
        Self::metadata_info(&schema, query, request.into_inner())
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let mut builder = query.into_builder();
        builder.append(CATALOG, SCHEMA);
        Ok(Self::one_batch(builder.schema(), builder.build()))
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.clone().into_builder().schema();
        Self::metadata_info(&schema, query, request.into_inner())
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let tables = self.tables().await?;
        let mut builder = query.into_builder();
        for (name, kind, schema) in &tables {
            builder
                .append(CATALOG, SCHEMA, name, kind, schema)
                .map_err(Status::from)?;
        }
        Ok(Self::one_batch(builder.schema(), builder.build()))
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let schema = query.into_builder().schema();
        Self::metadata_info(&schema, query, request.into_inner())
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        _request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let mut builder = query.into_builder();
        builder.append("TABLE");
        builder.append("VIEW");
        Ok(Self::one_batch(builder.schema(), builder.build()))
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}

/// Serves Flight SQL on a bound listener until `shutdown` resolves.
pub async fn serve_flight(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tracing::info!(addr = %listener.local_addr()?, "Flight SQL listening");
    tonic::transport::Server::builder()
        .add_service(FlightServiceServer::new(FlightSql::new(state)))
        .serve_with_incoming_shutdown(
            // Results stream in many messages: no Nagle delay between them.
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
        .await
        .map_err(std::io::Error::other)
}
