//! The request governor: every request that runs a query runs in a class, with a bounded
//! number of slots, a bounded queue, a deadline and a memory budget.
//!
//! Classes ([`Class`]): **light** (lookups and pages the snapshot index answers, the catalog,
//! the web pages), **heavy** (what SQL answers for the data API: rows, facets and statistics
//! the index does not hold, the search's SQL path, producer pages, `changes`), **export**
//! (streamed and XLSX results) and **sql** (the public SQL surfaces). A request is admitted
//! to its class when it starts (the server's middleware admits every data request as light;
//! exports and SQL take their own class); a light request that reaches SQL is admitted to the
//! heavy class on the way ([`heavy`]). No slot free: the request waits in the class's queue
//! for a while; a full queue, or a wait that runs out, is [`QueryError::Busy`] (503 with
//! `Retry-After`), never a hung connection.
//!
//! Each governed request carries a [`Ticket`] (a task-local): its queries plan on a session
//! with a memory pool of its own ([`session`]) whose budget is its class's, and which also
//! counts against one shared ceiling, so the sum of what all requests hold stays under the
//! server's `--memory-limit` share for queries. Heavy work runs on a runtime of its own
//! (the governor's), so that a few heavy requests cannot take the serving runtime's workers
//! from the light ones; dropping the request (its deadline passed, or the client went away)
//! aborts that work.

use std::future::Future;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use datafusion::error::DataFusionError;
use datafusion::execution::context::SessionContext;
use datafusion::execution::memory_pool::{
    FairSpillPool, MemoryConsumer, MemoryLimit, MemoryPool, MemoryReservation,
};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{QueryError, Result};

/// What kind of work a request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Answered from the snapshot index or the catalog: cheap.
    Light,
    /// Answered by a query the API builds: rows, facets, statistics, search, producers, changes.
    Heavy,
    /// A whole result streamed (CSV, NDJSON, Parquet, Arrow) or written as XLSX.
    Export,
    /// Public SQL (`/api/v1/sql`, named queries, Flight SQL).
    Sql,
}

impl Class {
    /// Every class, in the order of [`GovernorConfig::classes`].
    pub const ALL: [Class; 4] = [Class::Light, Class::Heavy, Class::Export, Class::Sql];

    /// `light`, `heavy`, `export` or `sql`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Light => "light",
            Self::Heavy => "heavy",
            Self::Export => "export",
            Self::Sql => "sql",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Light => 0,
            Self::Heavy => 1,
            Self::Export => 2,
            Self::Sql => 3,
        }
    }

    fn of(index: u8) -> Self {
        match index {
            1 => Self::Heavy,
            2 => Self::Export,
            3 => Self::Sql,
            _ => Self::Light,
        }
    }
}

/// The limits of one class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassLimits {
    /// Requests of the class running at once.
    pub slots: usize,
    /// Requests waiting for a slot at most; one more is refused at once.
    pub queue: usize,
    /// How long a request waits for a slot before it is refused.
    pub wait: Duration,
    /// Memory one request's queries may reserve (its own pool).
    pub memory_bytes: usize,
    /// How long a request of the class may run before its work is cancelled.
    pub deadline: Duration,
}

/// The governor's limits: the server's memory ceiling and each class's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GovernorConfig {
    /// The server's memory ceiling (`--memory-limit`).
    pub memory_limit: u64,
    /// What the queries of all requests together may reserve: the sum of every class's
    /// slots × budget, and no more than half the ceiling (the rest is the snapshot index,
    /// file buffers and the process).
    pub query_memory: u64,
    /// Light, heavy, export and SQL limits.
    pub classes: [ClassLimits; 4],
    /// Worker threads of the runtime heavy work runs on.
    pub workers: usize,
}

const MIB: u64 = 1024 * 1024;

/// The smallest budget a request gets; below it a class has fewer slots instead.
const MIN_BUDGET: u64 = 32 * MIB;

impl GovernorConfig {
    /// Limits derived from a memory ceiling and the machine's cores: half the ceiling is for
    /// queries, shared as SQL 40 %, heavy 40 %, export 20 %; each class's slots follow the
    /// cores (SQL 4, heavy 2 per core, export 2 per core, at least 4) and shrink when the
    /// share cannot give each slot [`MIN_BUDGET`]; budgets are capped at 256 MiB (SQL) and
    /// 192 MiB (heavy, export).
    pub fn for_machine(memory_limit: u64, cores: usize) -> Self {
        let cores = cores.max(1);
        let share = memory_limit / 2;
        let class = |part: u64, slots: usize, cap: u64, queue: usize, wait: u64, deadline: u64| {
            let memory = share * part / 100;
            let slots = slots.min((memory / MIN_BUDGET).max(1) as usize).max(1);
            let budget = (memory / slots as u64).min(cap);
            ClassLimits {
                slots,
                queue,
                wait: Duration::from_millis(wait),
                memory_bytes: budget as usize,
                deadline: Duration::from_secs(deadline),
            }
        };
        let heavy = class(40, 2 * cores, 192 * MIB, 32, 2_000, 30);
        let export = class(20, (2 * cores).max(4), 192 * MIB, 16, 2_000, 600);
        // Public SQL never waits: a busy surface says so at once (docs/SECURITY.md).
        let sql = class(40, 4, 256 * MIB, 0, 0, 10);
        // Light requests reserve nothing: their pool is only used if one reaches SQL, and
        // then it is admitted as heavy and takes the heavy budget.
        let light = ClassLimits {
            slots: 64 * cores,
            queue: 1024,
            wait: Duration::from_secs(5),
            memory_bytes: heavy.memory_bytes,
            deadline: Duration::from_secs(30),
        };
        let query_memory = [&heavy, &export, &sql]
            .iter()
            .map(|c| c.slots as u64 * c.memory_bytes as u64)
            .sum();
        Self {
            memory_limit,
            query_memory,
            classes: [light, heavy, export, sql],
            workers: cores,
        }
    }

    /// The limits of a class.
    pub fn class(&self, class: Class) -> &ClassLimits {
        &self.classes[class.index()]
    }

    /// The limits of a class, to change (a narrower deployment, a test).
    pub fn class_mut(&mut self, class: Class) -> &mut ClassLimits {
        &mut self.classes[class.index()]
    }
}

/// The memory of this machine (or of its cgroup, when that is smaller), in bytes.
pub fn machine_memory() -> Option<u64> {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    });
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok());
    match (total, cgroup) {
        (Some(t), Some(c)) => Some(t.min(c)),
        (t, c) => t.or(c),
    }
}

/// The default ceiling: half the machine's memory, at least 1 GiB (4 GiB when the machine's
/// memory is unknown).
pub fn default_memory_limit() -> u64 {
    machine_memory().map_or(4 * 1024 * MIB, |m| (m / 2).max(1024 * MIB))
}

/// Reads a size: `4G`, `512M`, `2GiB`, `1500000000`.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.parse().ok()?;
    let unit = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => MIB,
        "g" | "gb" | "gib" => 1024 * MIB,
        "t" | "tb" | "tib" => 1024 * 1024 * MIB,
        _ => return None,
    };
    let bytes = number * unit as f64;
    (bytes.is_finite() && bytes >= 1.0).then_some(bytes as u64)
}

/// Counters of one class.
#[derive(Debug, Default)]
struct Counters {
    waiting: AtomicUsize,
    admitted: AtomicU64,
    shed: AtomicU64,
    deadline: AtomicU64,
    gone: AtomicU64,
}

/// What `/metrics` shows of one class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassStats {
    /// The class.
    pub class: Class,
    /// Its slots.
    pub slots: usize,
    /// Requests running.
    pub running: usize,
    /// Requests waiting for a slot.
    pub queued: usize,
    /// Requests admitted since start.
    pub admitted: u64,
    /// Requests refused (queue full, or no slot within the wait).
    pub shed: u64,
    /// Requests cancelled at their deadline.
    pub deadline: u64,
    /// Requests whose client went away before the answer.
    pub gone: u64,
    /// One request's memory budget.
    pub memory_bytes: usize,
}

/// Memory reserved by the queries of every request together, against one ceiling.
#[derive(Debug)]
struct Shared {
    limit: usize,
    used: AtomicUsize,
}

impl Shared {
    fn try_take(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|n| *n <= self.limit)
            })
            .is_ok()
    }

    fn give(&self, bytes: usize) {
        let _ = self
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                Some(used.saturating_sub(bytes))
            });
    }
}

/// One request's pool: DataFusion's fair spill pool of the request's budget, each
/// reservation also counted against the shared ceiling.
#[derive(Debug)]
struct RequestPool {
    own: FairSpillPool,
    budget: usize,
    shared: Arc<Shared>,
}

impl std::fmt::Display for RequestPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "request pool of {} bytes", self.budget)
    }
}

impl MemoryPool for RequestPool {
    fn name(&self) -> &str {
        "zhijian-request"
    }

    fn register(&self, consumer: &MemoryConsumer) {
        self.own.register(consumer);
    }

    fn unregister(&self, consumer: &MemoryConsumer) {
        self.own.unregister(consumer);
    }

    fn grow(&self, reservation: &MemoryReservation, additional: usize) {
        self.shared.used.fetch_add(additional, Ordering::AcqRel);
        self.own.grow(reservation, additional);
    }

    fn shrink(&self, reservation: &MemoryReservation, shrink: usize) {
        self.shared.give(shrink);
        self.own.shrink(reservation, shrink);
    }

    fn try_grow(
        &self,
        reservation: &MemoryReservation,
        additional: usize,
    ) -> datafusion::error::Result<()> {
        if !self.shared.try_take(additional) {
            return Err(DataFusionError::ResourcesExhausted(format!(
                "the server's query memory ({} MiB for all requests together) is in use; \
                 {} bytes more were asked for {}",
                self.shared.limit / MIB as usize,
                additional,
                reservation.consumer().name()
            )));
        }
        self.own.try_grow(reservation, additional).inspect_err(|_| {
            self.shared.give(additional);
        })
    }

    fn reserved(&self) -> usize {
        self.own.reserved()
    }

    fn memory_limit(&self) -> MemoryLimit {
        MemoryLimit::Finite(self.budget)
    }
}

/// The governor: classes, the shared memory ceiling and the runtime heavy work runs on.
pub struct Governor {
    config: GovernorConfig,
    slots: [Arc<Semaphore>; 4],
    counters: [Counters; 4],
    shared: Arc<Shared>,
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    handle: tokio::runtime::Handle,
}

impl std::fmt::Debug for Governor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Governor")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Drop for Governor {
    fn drop(&mut self) {
        // The governor may be dropped on an async worker, where a runtime cannot wait for
        // its threads.
        if let Some(rt) = self.runtime.lock().ok().and_then(|mut r| r.take()) {
            rt.shutdown_background();
        }
    }
}

impl Governor {
    /// A governor with these limits; starts the runtime heavy work runs on.
    pub fn new(config: GovernorConfig) -> std::io::Result<Arc<Self>> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.workers.max(1))
            .thread_name("zhijian-heavy")
            // DataFusion plans and optimises recursively: deep expressions need a deep stack.
            .thread_stack_size(16 * 1024 * 1024)
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let slots = Class::ALL.map(|c| Arc::new(Semaphore::new(config.class(c).slots)));
        Ok(Arc::new(Self {
            shared: Arc::new(Shared {
                limit: usize::try_from(config.query_memory).unwrap_or(usize::MAX),
                used: AtomicUsize::new(0),
            }),
            slots,
            counters: Default::default(),
            config,
            runtime: Mutex::new(Some(runtime)),
            handle,
        }))
    }

    /// A governor sized to this machine with this ceiling.
    pub fn for_memory(memory_limit: u64) -> std::io::Result<Arc<Self>> {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self::new(GovernorConfig::for_machine(memory_limit, cores))
    }

    /// Its limits.
    pub fn config(&self) -> &GovernorConfig {
        &self.config
    }

    /// The runtime heavy work and streamed exports run on.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        &self.handle
    }

    /// Bytes reserved by every request's queries now.
    pub fn memory_used(&self) -> usize {
        self.shared.used.load(Ordering::Acquire)
    }

    fn busy(&self, class: Class, why: &str) -> QueryError {
        self.counters[class.index()]
            .shed
            .fetch_add(1, Ordering::Relaxed);
        let limits = self.config.class(class);
        tracing::info!(class = class.name(), why, "request shed");
        QueryError::Busy {
            class: class.name().into(),
            slots: limits.slots,
            retry_after: limits.wait.as_secs().clamp(1, 5),
        }
    }

    /// A slot of `class` now, or [`QueryError::Busy`].
    pub fn try_admit(&self, class: Class) -> Result<OwnedSemaphorePermit> {
        let permit = self.slots[class.index()]
            .clone()
            .try_acquire_owned()
            .map_err(|_| self.busy(class, "every slot is taken"))?;
        self.counters[class.index()]
            .admitted
            .fetch_add(1, Ordering::Relaxed);
        Ok(permit)
    }

    /// A slot of `class`: at once, or after a wait in the class's queue; a full queue or a
    /// wait that runs out is [`QueryError::Busy`].
    pub async fn admit(&self, class: Class) -> Result<OwnedSemaphorePermit> {
        if let Ok(permit) = self.slots[class.index()].clone().try_acquire_owned() {
            self.counters[class.index()]
                .admitted
                .fetch_add(1, Ordering::Relaxed);
            return Ok(permit);
        }
        let limits = self.config.class(class);
        let counters = &self.counters[class.index()];
        let queued = counters.waiting.fetch_add(1, Ordering::AcqRel);
        struct Leave<'a>(&'a AtomicUsize);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        let _leave = Leave(&counters.waiting);
        if queued >= limits.queue {
            return Err(self.busy(class, "the queue is full"));
        }
        let acquire = self.slots[class.index()].clone().acquire_owned();
        match tokio::time::timeout(limits.wait, acquire).await {
            Ok(Ok(permit)) => {
                counters.admitted.fetch_add(1, Ordering::Relaxed);
                Ok(permit)
            }
            _ => Err(self.busy(class, "no slot within the wait")),
        }
    }

    /// Counts a request of `class` cancelled at its deadline.
    pub fn count_deadline(&self, class: Class) {
        self.counters[class.index()]
            .deadline
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request of `class` whose client went away.
    pub fn count_gone(&self, class: Class) {
        self.counters[class.index()]
            .gone
            .fetch_add(1, Ordering::Relaxed);
    }

    /// What `/metrics` shows of each class.
    pub fn stats(&self) -> Vec<ClassStats> {
        Class::ALL
            .iter()
            .map(|&class| {
                let limits = self.config.class(class);
                let c = &self.counters[class.index()];
                ClassStats {
                    class,
                    slots: limits.slots,
                    running: limits
                        .slots
                        .saturating_sub(self.slots[class.index()].available_permits()),
                    queued: c.waiting.load(Ordering::Relaxed),
                    admitted: c.admitted.load(Ordering::Relaxed),
                    shed: c.shed.load(Ordering::Relaxed),
                    deadline: c.deadline.load(Ordering::Relaxed),
                    gone: c.gone.load(Ordering::Relaxed),
                    memory_bytes: limits.memory_bytes,
                }
            })
            .collect()
    }

    /// A memory pool of `class`'s budget that also counts against the shared ceiling.
    pub fn pool(&self, class: Class) -> Arc<dyn MemoryPool> {
        self.pool_of(self.config.class(class).memory_bytes)
    }

    /// A memory pool of `budget` bytes that also counts against the shared ceiling.
    pub fn pool_of(&self, budget: usize) -> Arc<dyn MemoryPool> {
        Arc::new(RequestPool {
            own: FairSpillPool::new(budget),
            budget,
            shared: self.shared.clone(),
        })
    }

    /// Runs a request of `class`: admits it (or answers [`QueryError::Busy`]), gives it a
    /// [`Ticket`], and cancels it at the class's deadline ([`QueryError::Deadline`]). A
    /// request dropped before it ends (its client went away) is counted as gone.
    pub async fn govern<T>(
        self: &Arc<Self>,
        class: Class,
        work: impl Future<Output = T>,
    ) -> Result<T> {
        let permit = self.admit(class).await?;
        let limits = self.config.class(class);
        let ticket = Arc::new(Ticket {
            governor: self.clone(),
            class: AtomicU8::new(class.index() as u8),
            _permit: permit,
            heavy: tokio::sync::OnceCell::new(),
            pool: OnceLock::new(),
        });
        struct Gone<'a>(Option<(&'a Governor, Class)>);
        impl Drop for Gone<'_> {
            fn drop(&mut self) {
                if let Some((governor, class)) = self.0 {
                    governor.count_gone(class);
                }
            }
        }
        let mut gone = Gone(Some((self, class)));
        let answer = tokio::time::timeout(limits.deadline, TICKET.scope(ticket, work)).await;
        gone.0 = None;
        answer.map_err(|_| {
            self.count_deadline(class);
            QueryError::Deadline {
                seconds: limits.deadline.as_secs(),
            }
        })
    }
}

tokio::task_local! {
    static TICKET: Arc<Ticket>;
}

/// What a governed request carries: its class, its slots and its memory pool.
pub struct Ticket {
    governor: Arc<Governor>,
    class: AtomicU8,
    _permit: OwnedSemaphorePermit,
    heavy: tokio::sync::OnceCell<Option<OwnedSemaphorePermit>>,
    pool: OnceLock<Arc<dyn MemoryPool>>,
}

impl Ticket {
    /// The class the request runs in now.
    pub fn class(&self) -> Class {
        Class::of(self.class.load(Ordering::Acquire))
    }

    /// The governor.
    pub fn governor(&self) -> &Arc<Governor> {
        &self.governor
    }

    /// The request's pool: its class's budget (a light request's queries take the heavy one).
    fn pool(&self) -> Arc<dyn MemoryPool> {
        self.pool
            .get_or_init(|| {
                let class = match self.class() {
                    Class::Light => Class::Heavy,
                    other => other,
                };
                self.governor.pool(class)
            })
            .clone()
    }

    /// A light request reaching SQL takes a heavy slot too (once), held to its end.
    async fn upgrade(&self) -> Result<()> {
        if self.class() != Class::Light {
            return Ok(());
        }
        self.heavy
            .get_or_try_init(|| async { self.governor.admit(Class::Heavy).await.map(Some) })
            .await
            .map(|_| ())
    }
}

/// The ticket of the request this task serves, if it is governed.
pub fn ticket() -> Option<Arc<Ticket>> {
    TICKET.try_with(Arc::clone).ok()
}

/// The runtime the governed request's heavy work and streams run on (the current one when
/// the request is not governed), and the deadline of its class from now.
pub fn runtime() -> (tokio::runtime::Handle, Option<Duration>) {
    match ticket() {
        Some(t) => (
            t.governor.handle().clone(),
            Some(t.governor.config().class(t.class()).deadline),
        ),
        None => (tokio::runtime::Handle::current(), None),
    }
}

/// Moves the governed request to the export class: a slot of it (waiting in its queue, or
/// [`QueryError::Busy`]), which the caller holds to the end of the stream, and the export
/// budget for its queries. `None` when the request is not governed.
pub async fn admit_export() -> Result<Option<OwnedSemaphorePermit>> {
    let Some(ticket) = ticket() else {
        return Ok(None);
    };
    let permit = ticket.governor.admit(Class::Export).await?;
    ticket
        .class
        .store(Class::Export.index() as u8, Ordering::Release);
    Ok(Some(permit))
}

/// A session over `base`'s tables whose queries reserve memory from the governed request's
/// pool; `base` itself when the request is not governed.
pub fn session(base: &SessionContext) -> SessionContext {
    let Some(ticket) = ticket() else {
        return base.clone();
    };
    let runtime = RuntimeEnvBuilder::from_runtime_env(base.runtime_env().as_ref())
        .with_memory_pool(ticket.pool())
        .build_arc();
    match runtime {
        Ok(runtime) => {
            let mut state = SessionStateBuilder::new_from_existing(base.state())
                .with_runtime_env(runtime)
                .build();
            // A sort's merge reservation is a small part of the budget (DataFusion's 10 MiB
            // default would take most of a small pool over the union of many files).
            let budget = ticket.pool().memory_limit();
            if let MemoryLimit::Finite(bytes) = budget {
                state
                    .config_mut()
                    .options_mut()
                    .execution
                    .sort_spill_reservation_bytes = bytes / 256;
            }
            SessionContext::new_with_state(state)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot build a governed session; using the base one");
            base.clone()
        }
    }
}

/// Aborts the task when dropped (the request it serves is gone).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs heavy work for the governed request: takes a heavy slot when the request is light
/// (or answers [`QueryError::Busy`]), then runs `work` on the governor's runtime, aborted if
/// the request is dropped. Not governed (the command line, tests of this crate): runs `work`
/// here.
pub async fn heavy<T, F>(work: F) -> Result<T>
where
    T: Send + 'static,
    F: Future<Output = Result<T>> + Send + 'static,
{
    let Some(ticket) = ticket() else {
        return work.await;
    };
    ticket.upgrade().await?;
    let handle = ticket.governor.handle().clone();
    let mut task = AbortOnDrop(handle.spawn(TICKET.scope(ticket, work)));
    match (&mut task.0).await {
        Ok(answer) => answer,
        Err(e) if e.is_panic() => Err(QueryError::Output(format!(
            "a query of the server failed: {}",
            panic_text(e.into_panic().as_ref())
        ))),
        Err(_) => Err(QueryError::Output("the query was cancelled".into())),
    }
}

/// The message of a panic payload.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_read_with_units() {
        assert_eq!(parse_size("4G"), Some(4 * 1024 * MIB));
        assert_eq!(parse_size("512MiB"), Some(512 * MIB));
        assert_eq!(parse_size("1.5g"), Some(1536 * MIB));
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("0"), None);
        assert_eq!(parse_size("-1G"), None);
    }

    #[test]
    fn budgets_stay_under_half_the_ceiling() {
        for (limit, cores) in [(1024 * MIB, 2), (2048 * MIB, 2), (24 * 1024 * MIB, 16)] {
            let c = GovernorConfig::for_machine(limit, cores);
            assert!(c.query_memory <= limit / 2, "{limit} {cores}: {c:?}");
            for class in [Class::Heavy, Class::Export, Class::Sql] {
                assert!(c.class(class).slots >= 1);
                assert!(c.class(class).memory_bytes >= 1);
            }
        }
        let small = GovernorConfig::for_machine(256 * MIB, 8);
        assert!(small.query_memory <= 128 * MIB, "{small:?}");
    }

    #[tokio::test]
    async fn a_full_class_sheds_and_counts() {
        let mut config = GovernorConfig::for_machine(1024 * MIB, 1);
        config.classes[1].slots = 1;
        config.classes[1].queue = 0;
        let governor = Governor::new(config).expect("runtime");
        let held = governor.admit(Class::Heavy).await.expect("a free slot");
        let refused = governor.admit(Class::Heavy).await;
        assert!(
            matches!(refused, Err(QueryError::Busy { .. })),
            "{refused:?}"
        );
        drop(held);
        assert!(governor.admit(Class::Heavy).await.is_ok());
        let heavy = &governor.stats()[1];
        assert_eq!((heavy.admitted, heavy.shed), (2, 1));
    }

    #[tokio::test]
    async fn the_shared_ceiling_refuses_a_reservation_past_it() {
        let mut config = GovernorConfig::for_machine(1024 * MIB, 1);
        config.query_memory = 10 * MIB;
        let governor = Governor::new(config).expect("runtime");
        let pool = governor.pool(Class::Heavy);
        let a = MemoryConsumer::new("a").register(&pool);
        a.try_grow(8 * MIB as usize).expect("under the ceiling");
        let other = governor.pool(Class::Heavy);
        let b = MemoryConsumer::new("b").register(&other);
        assert!(b.try_grow(4 * MIB as usize).is_err());
        assert_eq!(governor.memory_used(), 8 * MIB as usize);
        drop(a);
        assert_eq!(governor.memory_used(), 0);
        b.try_grow(4 * MIB as usize).expect("freed");
    }

    #[tokio::test]
    async fn a_deadline_cancels_and_counts() {
        let mut config = GovernorConfig::for_machine(1024 * MIB, 1);
        config.classes[0].deadline = Duration::from_millis(50);
        let governor = Governor::new(config).expect("runtime");
        let answer = governor
            .govern(Class::Light, tokio::time::sleep(Duration::from_secs(5)))
            .await;
        assert!(matches!(answer, Err(QueryError::Deadline { .. })));
        assert_eq!(governor.stats()[0].deadline, 1);
    }
}
