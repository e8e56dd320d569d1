//! Sharding: which chunks of a sweep one part of it runs, and which part this process is.
//!
//! A sweep of `total` chunks split into `count` parts gives part `index` every chunk `c`
//! with `c % count == index` ([`Shard::owns`], [`Shard::chunks`]). With more parts than
//! chunks, some parts own no chunk at all: they are parts all the same, and a merge of
//! every part is the whole sweep.
//!
//! [`resolve`] turns a part's description, `I/N`, `auto` or `auto/N`, into a [`Shard`],
//! taking the part (and the number of parts) from a job scheduler's array-job variables
//! for `auto`. It is a pure function of the description and a lookup of variables: the
//! caller decides where variables come from (the process environment, in the command
//! line).
//!
//! ```
//! use slotsim::runner::shard::{Shard, resolve};
//!
//! let part = Shard::new(1, 3).unwrap();
//! assert_eq!(part.chunks(8).collect::<Vec<_>>(), vec![1, 4, 7]);
//! assert!(part.owns(4) && !part.owns(5));
//! assert!(Shard::new(3, 3).is_err());
//!
//! // Task 16 of a Slurm array numbered 1-16 runs part 15 of 16.
//! let env = |name: &str| match name {
//!     "SLURM_ARRAY_TASK_ID" => Some("16".to_string()),
//!     "SLURM_ARRAY_TASK_MIN" => Some("1".to_string()),
//!     "SLURM_ARRAY_TASK_COUNT" => Some("16".to_string()),
//!     _ => None,
//! };
//! let resolved = resolve("auto", env).unwrap();
//! assert_eq!(resolved.shard, Shard::new(15, 16).unwrap());
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

/// One part of a sharded sweep: part `index` (0-based) of `count`.
///
/// Written to a sweep directory's manifest as `[index, count]`; reading a manifest checks
/// the part as [`Shard::new`] does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "[usize; 2]", into = "[usize; 2]")]
pub struct Shard {
    index: usize,
    count: usize,
}

/// A part that cannot be: `index` not below `count`, or no parts at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "part {index} of {count} cannot be: parts are numbered from 0 to one less than their number, which is at least 1"
)]
pub struct ShardError {
    /// The part asked for.
    pub index: usize,
    /// The number of parts asked for.
    pub count: usize,
}

impl Shard {
    /// Part `index` (0-based) of `count`.
    ///
    /// # Errors
    ///
    /// `count` is 0, or `index` is not below `count`.
    pub fn new(index: usize, count: usize) -> Result<Self, ShardError> {
        if count == 0 || index >= count {
            return Err(ShardError { index, count });
        }
        Ok(Self { index, count })
    }

    /// The part, 0-based.
    pub fn index(self) -> usize {
        self.index
    }

    /// The number of parts.
    pub fn count(self) -> usize {
        self.count
    }

    /// Whether chunk `chunk` of the sweep belongs to this part.
    pub fn owns(self, chunk: usize) -> bool {
        chunk % self.count == self.index
    }

    /// The chunks of a sweep of `total` chunks that belong to this part, in order (none
    /// when `total` is not above the part's index).
    pub fn chunks(self, total: usize) -> impl Iterator<Item = usize> + Clone {
        (self.index..total).step_by(self.count)
    }
}

impl fmt::Display for Shard {
    /// `index/count`, as `I/N` is written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl TryFrom<[usize; 2]> for Shard {
    type Error = ShardError;

    fn try_from([index, count]: [usize; 2]) -> Result<Self, ShardError> {
        Self::new(index, count)
    }
}

impl From<Shard> for [usize; 2] {
    fn from(s: Shard) -> Self {
        [s.index, s.count]
    }
}

/// A job scheduler whose array-job variables [`resolve`] understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheduler {
    /// Slurm job arrays (`sbatch --array`).
    Slurm,
    /// AWS Batch array jobs.
    AwsBatch,
    /// Kubernetes indexed jobs.
    Kubernetes,
}

/// Slurm's array task ID.
pub const SLURM_ID: &str = "SLURM_ARRAY_TASK_ID";
/// Slurm's first array task ID.
pub const SLURM_MIN: &str = "SLURM_ARRAY_TASK_MIN";
/// Slurm's number of array tasks.
pub const SLURM_COUNT: &str = "SLURM_ARRAY_TASK_COUNT";
/// AWS Batch's array index (from 0).
pub const AWS_INDEX: &str = "AWS_BATCH_JOB_ARRAY_INDEX";
/// AWS Batch's array size.
pub const AWS_SIZE: &str = "AWS_BATCH_JOB_ARRAY_SIZE";
/// Kubernetes' completion index of an indexed job (from 0).
pub const K8S_INDEX: &str = "JOB_COMPLETION_INDEX";

/// Every variable [`resolve`] may read.
pub const VARIABLES: [&str; 6] = [SLURM_ID, SLURM_MIN, SLURM_COUNT, AWS_INDEX, AWS_SIZE, K8S_INDEX];

impl Scheduler {
    /// The scheduler's name.
    pub fn name(self) -> &'static str {
        match self {
            Scheduler::Slurm => "Slurm",
            Scheduler::AwsBatch => "AWS Batch",
            Scheduler::Kubernetes => "Kubernetes",
        }
    }

    /// The scheduler's variables: those giving the part, then the one giving the count.
    pub fn variables(self) -> &'static [&'static str] {
        match self {
            Scheduler::Slurm => &[SLURM_ID, SLURM_MIN, SLURM_COUNT],
            Scheduler::AwsBatch => &[AWS_INDEX, AWS_SIZE],
            Scheduler::Kubernetes => &[K8S_INDEX],
        }
    }

    /// What "the variables looked at" are for this scheduler, for messages.
    fn describe(self) -> String {
        format!("{} ({})", self.variables().join(", "), self.name())
    }
}

/// A part resolved from its description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The part.
    pub shard: Shard,
    /// Where the part came from, such as `SLURM_ARRAY_TASK_ID=16 − SLURM_ARRAY_TASK_MIN=1
    /// of SLURM_ARRAY_TASK_COUNT=16`: `None` for an explicit `I/N`.
    pub origin: Option<String>,
}

/// Why a part's description could not be resolved: the description as given, and the
/// reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("part \"{spec}\": {reason}")]
pub struct ResolveError {
    /// The description as given.
    pub spec: String,
    /// What is wrong with it, or with the scheduler's variables.
    pub reason: ResolveErrorKind,
}

/// What is wrong with a part's description or with the scheduler variables it reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveErrorKind {
    /// Neither `I/N` with 0 ≤ I < N, nor `auto`, nor `auto/N` with N ≥ 1.
    #[error("expected I/N with 0 ≤ I < N (such as 0/4), auto, or auto/N with N ≥ 1")]
    Malformed,
    /// No scheduler's variables are set.
    #[error("no job-array variables are set; looked at {looked_at}")]
    NoScheduler {
        /// The variables looked at, by scheduler.
        looked_at: String,
    },
    /// `auto` under Kubernetes, whose variables give no number of parts.
    #[error(
        "only {K8S_INDEX} (Kubernetes) is set, and it gives no number of parts: \
         give the number as auto/N, with N the job's completions (looked at {looked_at})"
    )]
    NoCount {
        /// The variables looked at, by scheduler.
        looked_at: String,
    },
    /// The variables of more than one scheduler are set.
    #[error(
        "the variables of several schedulers are set ({}), so the part is ambiguous; looked at {looked_at}",
        names(.schedulers)
    )]
    Ambiguous {
        /// The schedulers whose variables are set.
        schedulers: Vec<Scheduler>,
        /// The variables looked at, by scheduler.
        looked_at: String,
    },
    /// A variable that is not a whole number.
    #[error("{variable}={value} is not a whole number ≥ 0")]
    NotANumber {
        /// The variable.
        variable: &'static str,
        /// Its value.
        value: String,
    },
    /// A variable the scheduler sets with the others is missing.
    #[error("{variable} is not set, but other {} variables are (looked at {})", .scheduler.name(), .scheduler.describe())]
    Missing {
        /// The missing variable.
        variable: &'static str,
        /// The scheduler whose other variables are set.
        scheduler: Scheduler,
    },
    /// Slurm's task ID below the array's first ID.
    #[error("{SLURM_ID}={id} is below {SLURM_MIN}={min}")]
    BelowMinimum {
        /// `SLURM_ARRAY_TASK_ID`.
        id: usize,
        /// `SLURM_ARRAY_TASK_MIN`.
        min: usize,
    },
    /// `auto/N` in an array of another number of tasks.
    #[error(
        "{variable}={tasks} tasks for {parts} parts: {}; use auto (as many parts as tasks), or an array of {parts} tasks",
        mismatch(*.tasks, *.parts)
    )]
    CountMismatch {
        /// The scheduler's count variable.
        variable: &'static str,
        /// The number of tasks it gives.
        tasks: usize,
        /// The number of parts asked for.
        parts: usize,
    },
    /// A scheduler count of 0.
    #[error("{variable}=0: at least one part is needed")]
    NoParts {
        /// The scheduler's count variable.
        variable: &'static str,
    },
    /// A part at or above the number of parts.
    #[error(
        "part {index} ({origin}) is not below the number of parts, {count}{}",
        range_hint(*.scheduler)
    )]
    OutOfRange {
        /// The part the variables give.
        index: usize,
        /// The number of parts.
        count: usize,
        /// Where the part came from.
        origin: String,
        /// The scheduler.
        scheduler: Scheduler,
    },
}

/// What goes wrong when `tasks` array tasks run `auto/parts`.
fn mismatch(tasks: usize, parts: usize) -> String {
    if tasks < parts {
        format!("parts {tasks}..{} would never run", parts - 1)
    } else {
        "tasks would find no part".into()
    }
}

/// How a Slurm array gives parts out of range.
fn range_hint(scheduler: Scheduler) -> &'static str {
    match scheduler {
        Scheduler::Slurm => " (auto needs a Slurm array without steps or lists, such as 0-15 or 1-16)",
        _ => "",
    }
}

fn names(schedulers: &[Scheduler]) -> String {
    schedulers.iter().map(|s| s.name()).collect::<Vec<_>>().join(" and ")
}

/// Resolves a part's description: `I/N` (0 ≤ I < N), `auto` or `auto/N`, looking
/// scheduler variables up through `var` (unset and empty variables alike are `None`).
///
/// - `auto`: Slurm's part is `SLURM_ARRAY_TASK_ID` less `SLURM_ARRAY_TASK_MIN`, of
///   `SLURM_ARRAY_TASK_COUNT` parts; AWS Batch's `AWS_BATCH_JOB_ARRAY_INDEX` of
///   `AWS_BATCH_JOB_ARRAY_SIZE`.
/// - `auto/N`: the part from Slurm, AWS Batch or Kubernetes (`JOB_COMPLETION_INDEX`), of
///   `N` parts; a count the scheduler gives as well must be `N`.
///
/// # Errors
///
/// A malformed description; no scheduler's variables set, or several schedulers'; a
/// variable missing, not a whole number, or giving a part outside `0..count`. Each
/// message names the variables looked at.
pub fn resolve(spec: &str, var: impl Fn(&str) -> Option<String>) -> Result<Resolved, ResolveError> {
    let trimmed = spec.trim();
    resolve_trimmed(trimmed, &var).map_err(|reason| ResolveError { spec: trimmed.to_string(), reason })
}

fn resolve_trimmed(spec: &str, var: &dyn Fn(&str) -> Option<String>) -> Result<Resolved, ResolveErrorKind> {
    use ResolveErrorKind as E;
    let Some(rest) = spec.strip_prefix("auto") else {
        return Ok(Resolved { shard: explicit(spec).ok_or(E::Malformed)?, origin: None });
    };
    let given = match rest {
        "" => None,
        _ => match rest.strip_prefix('/').map(str::trim).map(str::parse::<usize>) {
            Some(Ok(n)) if n > 0 => Some(n),
            _ => return Err(E::Malformed),
        },
    };
    let candidates: &[Scheduler] = match given {
        None => &[Scheduler::Slurm, Scheduler::AwsBatch],
        Some(_) => &[Scheduler::Slurm, Scheduler::AwsBatch, Scheduler::Kubernetes],
    };
    let looked_at = candidates.iter().map(|s| s.describe()).collect::<Vec<_>>().join("; ");
    let lookup = |name: &str| var(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let set: Vec<Scheduler> =
        candidates.iter().copied().filter(|s| s.variables().iter().any(|v| lookup(v).is_some())).collect();
    let scheduler = match set.as_slice() {
        [one] => *one,
        [] if given.is_none() && lookup(K8S_INDEX).is_some() => return Err(E::NoCount { looked_at }),
        [] => return Err(E::NoScheduler { looked_at }),
        several => return Err(E::Ambiguous { schedulers: several.to_vec(), looked_at }),
    };
    let number = |variable: &'static str| -> Result<Option<usize>, ResolveErrorKind> {
        match lookup(variable) {
            None => Ok(None),
            Some(value) => value.parse::<usize>().map(Some).map_err(|_| E::NotANumber { variable, value }),
        }
    };
    let required = |variable: &'static str| number(variable)?.ok_or(E::Missing { variable, scheduler });
    let (index, origin, scheduler_count, count_var) = match scheduler {
        Scheduler::Slurm => {
            let (id, min) = (required(SLURM_ID)?, required(SLURM_MIN)?);
            if id < min {
                return Err(E::BelowMinimum { id, min });
            }
            (id - min, format!("{SLURM_ID}={id} − {SLURM_MIN}={min}"), number(SLURM_COUNT)?, SLURM_COUNT)
        }
        Scheduler::AwsBatch => {
            let index = required(AWS_INDEX)?;
            (index, format!("{AWS_INDEX}={index}"), number(AWS_SIZE)?, AWS_SIZE)
        }
        Scheduler::Kubernetes => {
            let index = required(K8S_INDEX)?;
            (index, format!("{K8S_INDEX}={index}"), None, K8S_INDEX)
        }
    };
    let count = match (given, scheduler_count) {
        (Some(parts), Some(tasks)) if parts != tasks => {
            return Err(E::CountMismatch { variable: count_var, tasks, parts });
        }
        (Some(n), _) => n,
        (None, Some(c)) => c,
        (None, None) => required(count_var)?,
    };
    if count == 0 {
        return Err(E::NoParts { variable: count_var });
    }
    let Ok(shard) = Shard::new(index, count) else {
        return Err(E::OutOfRange { index, count, origin, scheduler });
    };
    let origin = match given {
        Some(_) => origin,
        None => format!("{origin} of {count_var}={count}"),
    };
    Ok(Resolved { shard, origin: Some(origin) })
}

/// `I/N` with 0 ≤ I < N.
fn explicit(s: &str) -> Option<Shard> {
    let (i, n) = s.split_once('/')?;
    Shard::new(i.trim().parse().ok()?, n.trim().parse().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_is_below_its_count() {
        assert!(Shard::new(0, 1).is_ok());
        assert!(Shard::new(15, 16).is_ok());
        assert_eq!(Shard::new(3, 3), Err(ShardError { index: 3, count: 3 }));
        assert_eq!(Shard::new(0, 0), Err(ShardError { index: 0, count: 0 }));
        assert!(Shard::new(4, 3).unwrap_err().to_string().contains("part 4 of 3"));
        assert_eq!(Shard::new(2, 5).unwrap().to_string(), "2/5");
    }

    #[test]
    fn parts_share_the_chunks_out_once_each() {
        for count in 1..=7 {
            for total in 0..=20 {
                let mut seen = vec![0; total];
                for index in 0..count {
                    let s = Shard::new(index, count).unwrap();
                    let chunks: Vec<usize> = s.chunks(total).collect();
                    assert!(chunks.windows(2).all(|w| w[0] < w[1]), "in order");
                    assert_eq!(chunks, (0..total).filter(|&c| s.owns(c)).collect::<Vec<_>>(), "{s} of {total}");
                    for c in chunks {
                        seen[c] += 1;
                    }
                }
                assert!(seen.iter().all(|&n| n == 1), "{count} parts of {total} chunks: {seen:?}");
            }
        }
    }

    #[test]
    fn more_parts_than_chunks_leaves_parts_without_chunks() {
        let total = 3;
        let sizes: Vec<usize> = (0..16).map(|i| Shard::new(i, 16).unwrap().chunks(total).count()).collect();
        assert_eq!(sizes[..3], [1, 1, 1]);
        assert!(sizes[3..].iter().all(|&n| n == 0));
        assert_eq!(Shard::new(0, 1).unwrap().chunks(0).count(), 0);
        assert_eq!(Shard::new(0, 4).unwrap().chunks(1).collect::<Vec<_>>(), [0]);
    }

    #[test]
    fn a_manifest_holds_a_part_as_a_pair_and_checks_it() {
        let s = Shard::new(1, 3).unwrap();
        assert_eq!(serde_json::to_string(&s).unwrap(), "[1,3]");
        assert_eq!(serde_json::from_str::<Shard>("[1,3]").unwrap(), s);
        assert_eq!(serde_json::from_str::<Option<Shard>>("null").unwrap(), None);
        let bad = serde_json::from_str::<Shard>("[3,3]").unwrap_err().to_string();
        assert!(bad.contains("part 3 of 3"), "{bad}");
    }

    fn with(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn part(spec: &str, vars: &[(&str, &str)]) -> [usize; 2] {
        let r = resolve(spec, with(vars)).unwrap_or_else(|e| panic!("{spec} {vars:?}: {e}"));
        r.shard.into()
    }

    fn error(spec: &str, vars: &[(&str, &str)]) -> ResolveError {
        match resolve(spec, with(vars)) {
            Ok(r) => panic!("{spec} {vars:?} was accepted as {r:?}"),
            Err(e) => e,
        }
    }

    fn message(spec: &str, vars: &[(&str, &str)]) -> String {
        error(spec, vars).to_string()
    }

    #[test]
    fn explicit_parts() {
        assert_eq!(part("2/4", &[(SLURM_ID, "9")]), [2, 4], "an explicit part ignores the environment");
        assert_eq!(part(" 0 / 1 ", &[]), [0, 1]);
        assert_eq!(resolve("2/4", with(&[])).unwrap().origin, None);
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2", ""] {
            let e = error(bad, &[]);
            assert_eq!(e.reason, ResolveErrorKind::Malformed, "{bad}");
            assert_eq!(e.spec, bad.trim());
            assert!(e.to_string().contains("expected I/N"), "{bad}");
        }
        assert!(message("4/4", &[]).starts_with("part \"4/4\": "), "the description as given");
    }

    #[test]
    fn slurm_parts_count_from_the_array_minimum() {
        fn slurm<'a>(id: &'a str, min: &'a str, count: &'a str) -> [(&'static str, &'a str); 3] {
            [(SLURM_ID, id), (SLURM_MIN, min), (SLURM_COUNT, count)]
        }
        assert_eq!(part("auto", &slurm("0", "0", "16")), [0, 16]);
        assert_eq!(part("auto", &slurm("16", "1", "16")), [15, 16], "an array numbered from 1");
        assert_eq!(part("auto", &slurm("7", "5", "3")), [2, 3]);
        assert_eq!(part("auto/3", &slurm("7", "5", "3")), [2, 3]);
        assert_eq!(part("auto/3", &[(SLURM_ID, "7"), (SLURM_MIN, "5")]), [2, 3], "auto/N needs no count");
        let origin = resolve("auto", with(&slurm("16", "1", "16"))).unwrap().origin.unwrap();
        assert_eq!(origin, "SLURM_ARRAY_TASK_ID=16 − SLURM_ARRAY_TASK_MIN=1 of SLURM_ARRAY_TASK_COUNT=16");
    }

    #[test]
    fn aws_batch_and_kubernetes_parts() {
        assert_eq!(part("auto", &[(AWS_INDEX, "3"), (AWS_SIZE, "10")]), [3, 10]);
        assert_eq!(part("auto/10", &[(AWS_INDEX, "3")]), [3, 10]);
        assert_eq!(part("auto/8", &[(K8S_INDEX, "7")]), [7, 8]);
        assert_eq!(part("auto/8", &[(K8S_INDEX, " 0 ")]), [0, 8]);
    }

    #[test]
    fn nothing_set_names_every_variable_looked_at() {
        let e = error("auto", &[]);
        assert!(matches!(e.reason, ResolveErrorKind::NoScheduler { .. }), "{e:?}");
        for v in [SLURM_ID, SLURM_MIN, SLURM_COUNT, AWS_INDEX, AWS_SIZE] {
            assert!(e.to_string().contains(v), "{e}");
        }
        let e = message("auto/4", &[(SLURM_ID, "")]);
        for v in VARIABLES {
            assert!(e.contains(v), "{e}");
        }
        let e = error("auto", &[(K8S_INDEX, "2")]);
        assert!(matches!(e.reason, ResolveErrorKind::NoCount { .. }), "{e:?}");
        assert!(e.to_string().contains("auto/N") && e.to_string().contains(K8S_INDEX), "{e}");
    }

    #[test]
    fn several_schedulers_are_ambiguous() {
        let e =
            error("auto", &[(SLURM_ID, "1"), (SLURM_MIN, "0"), (SLURM_COUNT, "2"), (AWS_INDEX, "0"), (AWS_SIZE, "2")]);
        assert!(
            matches!(&e.reason, ResolveErrorKind::Ambiguous { schedulers, .. } if schedulers == &[Scheduler::Slurm, Scheduler::AwsBatch])
        );
        let e = e.to_string();
        assert!(e.contains("several") && e.contains("Slurm and AWS Batch") && e.contains(AWS_SIZE), "{e}");
        let e = message("auto/2", &[(AWS_INDEX, "0"), (K8S_INDEX, "1")]);
        assert!(e.contains("AWS Batch and Kubernetes") && e.contains(K8S_INDEX), "{e}");
    }

    #[test]
    fn incomplete_or_inconsistent_variables_are_refused() {
        use ResolveErrorKind as E;
        let reason = |spec: &str, vars: &[(&str, &str)]| error(spec, vars).reason;
        assert_eq!(
            reason("auto", &[(SLURM_ID, "1"), (SLURM_COUNT, "2")]),
            E::Missing { variable: SLURM_MIN, scheduler: Scheduler::Slurm }
        );
        assert!(message("auto", &[(AWS_INDEX, "1")]).contains("AWS_BATCH_JOB_ARRAY_SIZE is not set"));
        assert_eq!(
            reason("auto", &[(AWS_INDEX, "x"), (AWS_SIZE, "2")]),
            E::NotANumber { variable: AWS_INDEX, value: "x".into() }
        );
        assert!(message("auto", &[(AWS_INDEX, "x"), (AWS_SIZE, "2")]).contains("not a whole number"));
        assert!(message("auto", &[(AWS_INDEX, "2"), (AWS_SIZE, "2")]).contains("not below the number of parts, 2"));
        // An array with a step: IDs 1, 3, 5 give parts 0, 2, 4 of 3.
        let e = error("auto", &[(SLURM_ID, "5"), (SLURM_MIN, "1"), (SLURM_COUNT, "3")]);
        assert!(matches!(e.reason, E::OutOfRange { index: 4, count: 3, .. }), "{e:?}");
        assert!(e.to_string().contains("without steps"), "{e}");
        assert_eq!(
            reason("auto", &[(SLURM_ID, "0"), (SLURM_MIN, "1"), (SLURM_COUNT, "3")]),
            E::BelowMinimum { id: 0, min: 1 }
        );
        assert_eq!(
            reason("auto/8", &[(AWS_INDEX, "1"), (AWS_SIZE, "4")]),
            E::CountMismatch { variable: AWS_SIZE, tasks: 4, parts: 8 }
        );
        assert!(message("auto/8", &[(AWS_INDEX, "1"), (AWS_SIZE, "4")]).contains("parts 4..7 would never run"));
        assert_eq!(reason("auto", &[(AWS_INDEX, "0"), (AWS_SIZE, "0")]), E::NoParts { variable: AWS_SIZE });
        for bad in ["auto/0", "auto/x", "auto3", "autox/2"] {
            assert_eq!(reason(bad, &[(AWS_INDEX, "0")]), E::Malformed, "{bad}");
        }
    }

    #[test]
    fn messages_name_no_command_line_flag() {
        let cases: [(&str, &[(&str, &str)]); 6] = [
            ("auto", &[(K8S_INDEX, "2")]),
            ("auto", &[(SLURM_ID, "5"), (SLURM_MIN, "1"), (SLURM_COUNT, "3")]),
            ("auto/8", &[(AWS_INDEX, "1"), (AWS_SIZE, "4")]),
            ("x", &[]),
            ("auto", &[]),
            ("auto", &[(AWS_INDEX, "0"), (AWS_SIZE, "0")]),
        ];
        for (spec, vars) in cases {
            let e = message(spec, vars);
            assert!(!e.contains("--"), "{e}");
        }
    }
}
