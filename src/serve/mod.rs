//! `slotsim serve`: the what-if page for planners, and its JSON interface.
//!
//! One scenario file is served: its levers as form controls, a run of the edited
//! scenario against the file's own over common seeds, the `optimize` question, and
//! downloads. Every number, sentence and chart comes from the library (runner, stats,
//! output); the page's script only sends requests and places what comes back. The page,
//! its script and style are built into the binary; nothing is fetched from elsewhere and
//! nothing is written to disk.
//!
//! Simulations run on tokio's blocking threads (each run on its own rayon pool, as the
//! command line's), never on the async executor. A run stops when its connection is
//! dropped (a closed tab, the page's Cancel), and every run stops when the server shuts
//! down.

mod api;
mod levers;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};

use crate::scenario::Scenario;

pub use levers::{Lever, levers};

/// Most replications one request may run (each of the edited and the file's variant).
pub const MAX_REPLICATIONS: u64 = 200;
/// Most bytes of a request's body.
pub const MAX_BODY: usize = 64 * 1024;
/// Replications of the page's default run: an answer in a few seconds on two cores.
pub const DEFAULT_REPLICATIONS: u64 = 30;

/// The scenario served, as the page and the JSON interface see it.
#[derive(Debug)]
pub struct App {
    /// The file's name as given on the command line: messages start with it, as the
    /// command line's do.
    pub path: String,
    /// The scenario.
    pub scenario: Scenario,
    /// Worker threads per run (0 = one per core).
    pub threads: usize,
    /// A calibration's posterior: the capacity question's replications draw the fitted
    /// fields from it (`slotsim serve --posterior DIR`).
    pub posterior: Option<Arc<crate::runner::calibrate::Posterior>>,
    runs: Mutex<Vec<(u64, Arc<api::Finished>)>>,
    next_run: std::sync::atomic::AtomicU64,
    active: Mutex<Vec<Weak<AtomicBool>>>,
}

/// Finished runs kept for their downloads (the oldest is dropped first).
const KEPT_RUNS: usize = 16;

impl App {
    /// The app serving `scenario`, read from the file named `path`.
    pub fn new(path: impl Into<String>, scenario: Scenario, threads: usize) -> Self {
        Self {
            path: path.into(),
            scenario,
            threads,
            posterior: None,
            runs: Mutex::new(Vec::new()),
            next_run: Default::default(),
            active: Mutex::new(Vec::new()),
        }
    }

    /// A stop flag for a new run, set by [`App::stop_all`].
    fn stop_flag(&self) -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(false));
        let mut active = self.active.lock().expect("no thread panics holding the lock");
        active.retain(|w| w.strong_count() > 0);
        active.push(Arc::downgrade(&flag));
        flag
    }

    /// Simulations under way: stop flags still held by a run.
    fn runs_under_way(&self) -> usize {
        self.active.lock().expect("no thread panics holding the lock").iter().filter(|w| w.strong_count() > 0).count()
    }

    /// Asks every running simulation to stop (at shutdown).
    fn stop_all(&self) {
        for flag in self.active.lock().expect("no thread panics holding the lock").iter().filter_map(Weak::upgrade) {
            flag.store(true, Ordering::Relaxed);
        }
    }

    fn keep(&self, finished: api::Finished) -> u64 {
        let id = self.next_run.fetch_add(1, Ordering::Relaxed) + 1;
        let mut runs = self.runs.lock().expect("no thread panics holding the lock");
        if runs.len() >= KEPT_RUNS {
            runs.remove(0);
        }
        runs.push((id, Arc::new(finished)));
        id
    }

    fn finished(&self, id: u64) -> Option<Arc<api::Finished>> {
        let runs = self.runs.lock().expect("no thread panics holding the lock");
        runs.iter().find(|(i, _)| *i == id).map(|(_, f)| Arc::clone(f))
    }
}

/// The page's routes and the JSON interface.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(|| async { Html(include_str!("page.html")) }))
        .route(
            "/page.js",
            get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("page.js")) }),
        )
        .route(
            "/page.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("page.css")) }),
        )
        .route("/api/scenario", get(api::scenario))
        .route("/api/levers", get(api::levers))
        .route("/api/sweep", post(api::sweep))
        .route("/api/run", post(api::run))
        .route("/api/optimize", post(api::optimize))
        .route("/api/runs/{id}/{file}", get(api::download))
        .fallback(|| async { (axum::http::StatusCode::NOT_FOUND, "not found: the page is at /").into_response() })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(app)
}

/// A server running on its own threads, until [`Running::stop`].
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    app: Arc<App>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    /// The address it listens on (with the port chosen, if port 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Simulations under way (runs and questions not yet finished or stopped).
    pub fn runs_under_way(&self) -> usize {
        self.app.runs_under_way()
    }

    /// Stops every run, finishes the responses under way and stops listening.
    ///
    /// # Errors
    ///
    /// An I/O error of the server.
    pub fn stop(mut self) -> std::io::Result<()> {
        self.finish()
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.thread.take().map(std::thread::JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(std::io::Error::other("the server thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Listens on `addr` (port 0: any free port) and serves `app` on background threads until
/// [`Running::stop`] (or until the `Running` is dropped).
///
/// # Errors
///
/// The address cannot be bound (say, the port is in use).
pub fn start(app: App, addr: SocketAddr) -> std::io::Result<Running> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind(addr))?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let app = Arc::new(app);
    let served = Arc::clone(&app);
    let thread = std::thread::Builder::new().name("slotsim-serve".into()).spawn(move || {
        let result = runtime.block_on(serve(listener, served, async {
            let _ = rx.await;
        }));
        // Runs stop within a replication; do not wait for ever on one that does not.
        runtime.shutdown_timeout(Duration::from_secs(10));
        result
    })?;
    Ok(Running { addr, app, shutdown: Some(tx), thread: Some(thread) })
}

/// Serves `app` on `listener` until `until` resolves; then asks every run to stop and
/// finishes the responses under way.
///
/// # Errors
///
/// An I/O error of the listener.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    until: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stopper = Arc::clone(&app);
    axum::serve(listener, router(app))
        .with_graceful_shutdown(async move {
            until.await;
            stopper.stop_all();
        })
        .await
}

/// Serves `app` on `addr` until Ctrl-C, on a runtime of its own; `ready` is called with the
/// address once it listens.
///
/// # Errors
///
/// The address cannot be bound, or an I/O error of the server.
pub fn serve_until_ctrl_c(app: App, addr: SocketAddr, ready: impl FnOnce(SocketAddr)) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        ready(listener.local_addr()?);
        serve(listener, Arc::new(app), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    });
    runtime.shutdown_timeout(Duration::from_secs(10));
    result
}
