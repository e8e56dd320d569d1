//! The JSON interface: the scenario, its levers, sweeps (the contract of `POST
//! /api/sweep`), the page's what-if runs and `optimize` questions (streamed as one JSON
//! object a line: progress, then the answer), and downloads of finished runs.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{App, DEFAULT_REPLICATIONS, MAX_BODY, MAX_REPLICATIONS};
use crate::output::comparison::{better_text, interval, mean_pm, row, signed, verdict_sentence};
use crate::output::report::{SUMMARY_METRICS, escape, verdict_class};
use crate::output::tables::{csv_json_rows, summary_frame};
use crate::output::whatif::{EDITED, ORIGINAL, WhatIfResults, daily_csv, summary_csv};
use crate::runner::search::{self, OptimizeProblem, OptimizeQuestion, SearchError};
use crate::runner::whatif::WhatIf;
use crate::runner::{Finish, Plan, collect};
use crate::scenario::paths::value_from_text;
use crate::stats::compare::Comparison;
use crate::stats::sequential::Looks;

/// A request refused: status 400 and the message, with the path of the field at fault
/// when one is (so that the page shows it next to that control).
#[derive(Debug)]
pub struct BadRequest {
    message: String,
    path: Option<String>,
}

impl BadRequest {
    fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), path: None }
    }
}

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        (StatusCode::BAD_REQUEST, Json(json!({ "error": self.message, "path": self.path }))).into_response()
    }
}

/// The fields set, in the order given (applied in that order, as repeated `--set`s are).
#[derive(Debug, Default)]
struct Sets(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Sets {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Sets;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of dotted paths and values, e.g. {\"service.0.bands.*.slots\": 30}")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Sets, A::Error> {
                let mut sets = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    sets.push(entry);
                }
                Ok(Sets(sets))
            }
        }
        d.deserialize_map(Visitor)
    }
}

fn default_variant() -> String {
    "base".into()
}

fn default_replications() -> u64 {
    DEFAULT_REPLICATIONS
}

fn one() -> u64 {
    1
}

/// The body of `POST /api/sweep` and `POST /api/run`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepRequest {
    #[serde(default)]
    set: Sets,
    #[serde(default = "default_variant")]
    variant: String,
    #[serde(default = "default_replications")]
    replications: u64,
    #[serde(default = "one")]
    seed_start: u64,
}

/// The body of `POST /api/optimize`: the fewest slots per band of the first service so
/// that 90% of the served wait at most `days` days.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimizeRequest {
    #[serde(default)]
    set: Sets,
    #[serde(default = "default_variant")]
    variant: String,
    lo: i64,
    hi: i64,
    days: f64,
    #[serde(default = "default_max_replications")]
    max_replications: usize,
}

fn default_max_replications() -> usize {
    160
}

/// The path `optimize` varies from the page.
const VARY: &str = "service.0.bands.*.slots";

/// A JSON body, or the reason it is refused (always 400: an oversized body too).
fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, BadRequest> {
    match body {
        Ok(Json(t)) => Ok(t),
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Err(BadRequest::new(format!("the request body is larger than the limit of {MAX_BODY} bytes")))
        }
        Err(e) => Err(BadRequest::new(e.body_text())),
    }
}

/// A JSON value as the scenario's TOML value: text is read as `--set PATH=TEXT` reads it.
fn toml_value(v: &Value) -> Result<toml::Value, String> {
    Ok(match v {
        Value::String(s) => value_from_text(s),
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64().ok_or("a number out of range")?),
        },
        Value::Array(items) => toml::Value::Array(items.iter().map(toml_value).collect::<Result<_, _>>()?),
        Value::Object(m) => {
            toml::Value::Table(m.iter().map(|(k, v)| Ok((k.clone(), toml_value(v)?))).collect::<Result<_, String>>()?)
        }
        Value::Null => return Err("null is not a value; leave the path out to keep the file's value".into()),
    })
}

fn toml_sets(sets: &Sets) -> Result<Vec<(String, toml::Value)>, BadRequest> {
    sets.0
        .iter()
        .map(|(path, v)| {
            toml_value(v)
                .map(|v| (path.clone(), v))
                .map_err(|e| BadRequest { message: format!("{path}: {e}"), path: Some(path.clone()) })
        })
        .collect()
}

/// The error of a set as the command line prints it (`FILE: message`), with the path at
/// fault: the first whose value alone the scenario refuses.
fn set_error(app: &App, variant: &str, sets: &[(String, toml::Value)], e: &SearchError) -> BadRequest {
    let path = sets
        .iter()
        .find(|set| Plan::with_sets(&app.scenario, variant, std::slice::from_ref(*set), 1, 1).is_err())
        .map(|(p, _)| p.clone());
    BadRequest { message: format!("{}: {e}", app.path), path }
}

fn check_replications(n: u64) -> Result<(), BadRequest> {
    if n == 0 {
        return Err(BadRequest::new("replications 0: at least 1 replication is needed"));
    }
    if n > MAX_REPLICATIONS {
        return Err(BadRequest::new(format!(
            "replications {n}: at most {MAX_REPLICATIONS} per request here; for more, run `slotsim sweep` on the downloaded scenario"
        )));
    }
    Ok(())
}

/// Sets its flag when dropped: a response body dropped before it ends (the connection
/// closed) stops the run that feeds it.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// `GET /api/scenario`: the scenario with every default filled in, variants included.
pub async fn scenario(State(app): State<Arc<App>>) -> Response {
    let mut value = serde_json::to_value(&app.scenario).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut value {
        m.insert("file".into(), Value::String(app.path.clone()));
        m.insert("variant_names".into(), json!(app.scenario.variant_names()));
        m.insert("default_replications".into(), json!(DEFAULT_REPLICATIONS));
        m.insert("max_replications".into(), json!(MAX_REPLICATIONS));
    }
    Json(value).into_response()
}

/// The query of `GET /api/levers`.
#[derive(Debug, Deserialize)]
pub struct LeversQuery {
    #[serde(default = "default_variant")]
    variant: String,
}

/// `GET /api/levers?variant=NAME`: the form controls with the variant's values.
pub async fn levers(State(app): State<Arc<App>>, Query(q): Query<LeversQuery>) -> Response {
    match app.scenario.variant(&q.variant) {
        Ok(resolved) => Json(json!({ "variant": q.variant, "levers": super::levers(&resolved) })).into_response(),
        Err(e) => BadRequest::new(format!("{}: {e}", app.path)).into_response(),
    }
}

/// `POST /api/sweep`: the edited variant's replications, one summary object each.
pub async fn sweep(State(app): State<Arc<App>>, request: Result<Json<SweepRequest>, JsonRejection>) -> Response {
    let r = match body(request) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let plan = match sweep_plan(&app, &r) {
        Ok(plan) => plan,
        Err(e) => return e.into_response(),
    };
    let stop = app.stop_flag();
    // Dropped with this handler's future, as when its connection closes.
    let _guard = StopOnDrop(Arc::clone(&stop));
    let threads = app.threads;
    let task = tokio::task::spawn_blocking(move || {
        let (finish, rows) = collect(&plan, threads, &stop, &|_| {});
        (finish == Finish::Complete)
            .then(|| summary_frame(&plan, &rows).map_err(anyhow::Error::from).and_then(|mut df| csv_json_rows(&mut df)))
    });
    match task.await {
        Ok(Some(Ok(rows))) => Json(json!({ "summary": rows })).into_response(),
        Ok(Some(Err(e))) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        Ok(None) => (StatusCode::SERVICE_UNAVAILABLE, "stopped: the server is shutting down").into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// The plan a sweep request asks for, checked.
fn sweep_plan(app: &App, r: &SweepRequest) -> Result<Plan, BadRequest> {
    check_replications(r.replications)?;
    let sets = toml_sets(&r.set)?;
    Plan::with_sets(&app.scenario, &r.variant, &sets, r.seed_start, r.replications)
        .map_err(|e| set_error(app, &r.variant, &sets, &e))
}

/// A stream of lines: progress from `progress` every 200 ms while `work` runs on a blocking
/// thread, then the line `work` ends with (none if it was stopped). Dropping the stream
/// (a closed connection, a cancel) sets `stop`.
fn line_stream(
    stop: Arc<AtomicBool>,
    progress: impl Fn() -> Value + Send + 'static,
    work: impl FnOnce(&AtomicBool) -> Option<Value> + Send + 'static,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<String>(16);
    // `Some(last)` once the work is over; one task sends every line, so the last is last.
    let outcome: Arc<Mutex<Option<Option<Value>>>> = Arc::default();
    {
        let (stop, outcome) = (Arc::clone(&stop), Arc::clone(&outcome));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            loop {
                tick.tick().await;
                let over = outcome.lock().expect("no thread panics holding the lock").take();
                let last = over.is_some();
                let line = match over {
                    Some(Some(last)) => last,
                    Some(None) => break,
                    None if stop.load(Ordering::Relaxed) => break,
                    None => progress(),
                };
                if tx.send(format!("{line}\n")).await.is_err() {
                    stop.store(true, Ordering::Relaxed);
                    break;
                }
                if last {
                    break;
                }
            }
        });
    }
    {
        let stop = Arc::clone(&stop);
        tokio::task::spawn_blocking(move || {
            let last = work(&stop);
            *outcome.lock().expect("no thread panics holding the lock") = Some(last);
        });
    }
    let guard = StopOnDrop(stop);
    let stream = futures_util::stream::unfold((rx, guard), |(mut rx, guard)| async move {
        rx.recv().await.map(|line| (Ok::<_, Infallible>(line), (rx, guard)))
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from_stream(stream))
        .expect("a valid response")
}

/// A finished what-if run, kept for its downloads.
#[derive(Debug)]
pub struct Finished {
    files: Vec<(&'static str, &'static str, Vec<u8>)>,
}

/// `POST /api/run`: the edited variant against the file's over common seeds, streamed as
/// progress lines and then `{"result": ...}` (or `{"error": ...}`).
pub async fn run(State(app): State<Arc<App>>, request: Result<Json<SweepRequest>, JsonRejection>) -> Response {
    let checked = body(request).and_then(|r| {
        check_replications(r.replications)?;
        let sets = toml_sets(&r.set)?;
        WhatIf::new(&app.scenario, &r.variant, &sets, r.seed_start, r.replications)
            .map(|w| (w, r.variant.clone()))
            .map_err(|e| set_error(&app, &r.variant, &sets, &e))
    });
    let (whatif, variant) = match checked {
        Ok(w) => w,
        Err(e) => return e.into_response(),
    };
    let total = whatif.jobs();
    let done = Arc::new(AtomicUsize::new(0));
    let stop = app.stop_flag();
    let seen = Arc::clone(&done);
    line_stream(
        stop,
        move || json!({ "progress": seen.load(Ordering::Relaxed), "total": total }),
        move |stop| {
            let started = Instant::now();
            let runs = whatif.run(app.threads, stop, &|n| done.store(n, Ordering::Relaxed))?;
            let seconds = started.elapsed().as_secs_f64();
            Some(match finished(&app, &whatif, &runs, &variant, seconds) {
                Ok(result) => json!({ "result": result }),
                Err(e) => json!({ "error": format!("{e:#}") }),
            })
        },
    )
}

fn finished(
    app: &App,
    whatif: &WhatIf,
    runs: &crate::runner::whatif::WhatIfRuns,
    variant: &str,
    seconds: f64,
) -> anyhow::Result<Value> {
    let results = WhatIfResults::new(whatif, runs);
    let charts = results.charts()?;
    let files = vec![
        ("edited.toml", "application/toml", whatif.edited_toml().into_bytes()),
        ("edited-summary.csv", "text/csv", summary_csv(&whatif.edited, &runs.edited)?),
        ("file-summary.csv", "text/csv", summary_csv(&whatif.original, &runs.original)?),
        ("edited-daily.csv", "text/csv", daily_csv(&whatif.edited, &runs.edited)?),
        ("file-daily.csv", "text/csv", daily_csv(&whatif.original, &runs.original)?),
        ("compare.csv", "text/csv", results.compare_csv()?),
    ];
    let names: Vec<&str> = files.iter().map(|(n, _, _)| *n).collect();
    let id = app.keep(Finished { files });
    let plan = &whatif.edited;
    let last = plan.seed_start + plan.replications - 1;
    Ok(json!({
        "id": id,
        "summary": format!(
            "{} replications each of {variant} as in {} and edited, seeds {}–{last} (common seeds), {:.1} s",
            plan.replications, app.path, plan.seed_start, seconds
        ),
        "html": table_html(&results.comparison),
        "charts": charts.iter().map(|c| json!({ "name": c.name, "caption": c.caption, "svg": c.svg })).collect::<Vec<_>>(),
        "downloads": names.iter().map(|n| json!({ "name": n, "href": format!("/api/runs/{id}/{n}") })).collect::<Vec<_>>(),
        "reproduce": format!(
            "slotsim run edited.toml --seed S --out DIR for S in {}..={last} gives the edited rows; slotsim sweep edited.toml --replications {} --seed-start {} all of them",
            plan.seed_start, plan.replications, plan.seed_start
        ),
    }))
}

/// The comparison as the page's table: headline metrics first, then the others folded.
fn table_html(c: &Comparison) -> String {
    let header = format!(
        "<thead><tr><th>metric</th><th>{ORIGINAL}: mean ± 95% half-width</th><th>{EDITED}: mean ± 95% half-width</th><th>difference ({EDITED} − {ORIGINAL}), 95% interval</th><th>verdict</th></tr></thead>"
    );
    let mut h = format!("<table class=\"results\" id=\"headline\">{header}<tbody>");
    metric_rows(&mut h, c, SUMMARY_METRICS);
    h.push_str("</tbody></table>");
    let others = crate::output::comparison::metric_order(c).into_iter().filter(|m| !SUMMARY_METRICS.contains(m));
    let _ = write!(
        h,
        "<details><summary>Every metric</summary><table class=\"results\" id=\"all-metrics\">{header}<tbody>"
    );
    metric_rows(&mut h, c, others);
    h.push_str("</tbody></table></details>");
    h
}

/// One row per metric: the file's mean, the edited mean, the paired difference and the
/// verdict in words, each marked with its metric and column for the page's tests.
fn metric_rows<'a>(h: &mut String, c: &Comparison, metrics: impl IntoIterator<Item = &'a str>) {
    let mean = |r: &crate::stats::compare::Row| r.estimate.as_ref().map_or("–".to_string(), mean_pm);
    for metric in metrics {
        let (Some(file), Some(edited)) = (row(c, 0, metric), row(c, 1, metric)) else { continue };
        let (difference, class) = match edited.difference.as_ref().and_then(|d| d.estimate.map(|e| (e, d.verdict))) {
            Some((e, v)) => (format!("{} {}", signed(&e), interval(&e)), verdict_class(v)),
            None => ("–".to_string(), "same"),
        };
        let _ = write!(
            h,
            "<tr data-metric=\"{m}\"><th scope=\"row\">{label} <code>{m}</code><br><small>{unit}, {better}</small></th><td class=\"num\" data-cell=\"{ORIGINAL}\">{file}</td><td class=\"num\" data-cell=\"{EDITED}\">{edited_mean}</td><td class=\"num {class}\" data-cell=\"difference\">{difference}</td><td class=\"{class}\">{sentence}</td></tr>",
            m = escape(metric),
            label = escape(edited.info.label),
            unit = escape(edited.info.unit),
            better = better_text(edited.info.better),
            file = escape(&mean(file)),
            edited_mean = escape(&mean(edited)),
            difference = escape(&difference),
            sentence = escape(&verdict_sentence(c, edited).unwrap_or_default()),
        );
    }
}

/// `POST /api/optimize`: the fewest slots per band of the first service so that the mean
/// over replications of the 90th percentile of the lead time is at most `days`, as
/// `slotsim optimize` answers it, on the edited scenario; streamed as progress lines and
/// then `{"answer": ...}`.
pub async fn optimize(State(app): State<Arc<App>>, request: Result<Json<OptimizeRequest>, JsonRejection>) -> Response {
    let checked = body(request).and_then(|r| optimize_problem(&app, &r));
    let (problem, command) = match checked {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let state = Arc::new(Mutex::new((String::from("starting"), 0usize)));
    let seen = Arc::clone(&state);
    line_stream(
        app.stop_flag(),
        move || {
            let (doing, n) = seen.lock().expect("no thread panics holding the lock").clone();
            json!({ "progress": n, "doing": doing })
        },
        move |stop| {
            let progress = |p: &search::Progress| {
                *state.lock().expect("no thread panics holding the lock") = (p.doing.clone(), p.replications);
            };
            Some(match search::optimize(&problem, app.threads, stop, &progress) {
                Ok(outcome) if outcome.interrupted => return None,
                Ok(outcome) => json!({
                    "answer": crate::output::answer_text::optimize_answer(&problem, &outcome),
                    "warnings": crate::output::answer_text::optimize_warnings(&problem, &outcome),
                    "value": outcome.answer,
                    "replications": outcome.replications(),
                    "command": command,
                }),
                Err(e) => json!({ "error": format!("{}: {e}", app.path) }),
            })
        },
    )
}

/// The problem an optimize request asks, checked, and the same question as a command line.
fn optimize_problem(app: &App, r: &OptimizeRequest) -> Result<(OptimizeProblem, String), BadRequest> {
    let sets = toml_sets(&r.set)?;
    let plan =
        Plan::with_sets(&app.scenario, &r.variant, &sets, 1, 1).map_err(|e| set_error(app, &r.variant, &sets, &e))?;
    let target = format!("lead_days_p90<={}", r.days);
    let requirement = target.parse().map_err(|e| BadRequest::new(format!("{target}: {e}")))?;
    if r.max_replications > MAX_REPLICATIONS as usize {
        return Err(BadRequest::new(format!(
            "max_replications {}: at most {MAX_REPLICATIONS} here; for more, run `slotsim optimize` on the downloaded scenario",
            r.max_replications
        )));
    }
    let question = OptimizeQuestion {
        variant: "base".into(),
        path: VARY.into(),
        lo: r.lo,
        hi: r.hi,
        largest: false,
        requirements: vec![requirement],
        confidence: 0.95,
        looks: Looks { first: 10, max: r.max_replications },
        seed_start: 1,
        posterior: app.posterior.clone(),
    };
    let command = format!(
        "slotsim optimize edited.toml --vary '{VARY}={}..{}' --target '{target}' --max-replications {} --out DIR",
        r.lo, r.hi, r.max_replications
    );
    let edited = plan.cells[0].scenario.clone();
    OptimizeProblem::new(edited, question)
        .map(|p| (p, command))
        .map_err(|e| BadRequest::new(format!("{}: {e}", app.path)))
}

/// `GET /api/runs/{id}/{file}`: a table or the edited scenario of a finished run.
pub async fn download(State(app): State<Arc<App>>, Path((id, file)): Path<(u64, String)>) -> Response {
    let Some(run) = app.finished(id) else {
        return (StatusCode::NOT_FOUND, format!("no run {id} is kept (the server keeps the last 16): run again"))
            .into_response();
    };
    let Some((name, kind, bytes)) = run.files.iter().find(|(n, _, _)| *n == file) else {
        let names: Vec<&str> = run.files.iter().map(|(n, _, _)| *n).collect();
        return (StatusCode::NOT_FOUND, format!("no file {file}; there are: {}", names.join(", "))).into_response();
    };
    Response::builder()
        .header(header::CONTENT_TYPE, *kind)
        .header(header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\""))
        .body(Body::from(bytes.clone()))
        .expect("a valid response")
}
