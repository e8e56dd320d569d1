//! Which part of a sharded sweep this process runs: `--shard I/N`, or `--shard auto` and
//! `--shard auto/N`, which take the part (and the number of parts) from the job
//! scheduler's environment.
//!
//! Reading the environment is the caller's business: [`resolve`] is a pure function of
//! the flag and a lookup of variables, so every scheduler's case is unit-tested without
//! touching the process environment.

use anyhow::{Result, bail};

/// A job scheduler whose array-job variables `--shard auto` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheduler {
    Slurm,
    AwsBatch,
    Kubernetes,
}

const SLURM_ID: &str = "SLURM_ARRAY_TASK_ID";
const SLURM_MIN: &str = "SLURM_ARRAY_TASK_MIN";
const SLURM_COUNT: &str = "SLURM_ARRAY_TASK_COUNT";
const AWS_INDEX: &str = "AWS_BATCH_JOB_ARRAY_INDEX";
const AWS_SIZE: &str = "AWS_BATCH_JOB_ARRAY_SIZE";
const K8S_INDEX: &str = "JOB_COMPLETION_INDEX";

impl Scheduler {
    fn name(self) -> &'static str {
        match self {
            Scheduler::Slurm => "Slurm",
            Scheduler::AwsBatch => "AWS Batch",
            Scheduler::Kubernetes => "Kubernetes",
        }
    }

    /// The scheduler's variables: those giving the part, then the one giving the count.
    fn variables(self) -> &'static [&'static str] {
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

/// The part of a sweep a process runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// 0-based part.
    pub index: usize,
    /// Number of parts.
    pub count: usize,
    /// Where the part came from, for the log: empty for an explicit `I/N`.
    pub origin: String,
}

/// Resolves a `--shard` flag: `I/N` (0 ≤ I < N), `auto` or `auto/N`, looking scheduler
/// variables up through `var` (unset and empty variables alike are `None`).
///
/// - `auto`: Slurm's part is `SLURM_ARRAY_TASK_ID` less `SLURM_ARRAY_TASK_MIN`, of
///   `SLURM_ARRAY_TASK_COUNT` parts; AWS Batch's `AWS_BATCH_JOB_ARRAY_INDEX` of
///   `AWS_BATCH_JOB_ARRAY_SIZE`.
/// - `auto/N`: the part from Slurm, AWS Batch or Kubernetes (`JOB_COMPLETION_INDEX`), of
///   `N` parts; a count the scheduler gives as well must be `N`.
///
/// # Errors
///
/// A malformed flag; no scheduler's variables set, or several schedulers'; a variable
/// missing, not a whole number, or giving a part outside `0..count`. Each message names
/// the variables looked at.
pub fn resolve(flag: &str, var: impl Fn(&str) -> Option<String>) -> Result<Shard> {
    let flag = flag.trim();
    let Some(rest) = flag.strip_prefix("auto") else {
        let [index, count] = explicit(flag)?;
        return Ok(Shard { index, count, origin: String::new() });
    };
    let given = match rest {
        "" => None,
        _ => match rest.strip_prefix('/').map(str::trim).map(str::parse::<usize>) {
            Some(Ok(n)) if n > 0 => Some(n),
            _ => bail!("--shard {flag}: expected auto, auto/N with N ≥ 1, or I/N with 0 ≤ I < N"),
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
        [] if given.is_none() && lookup(K8S_INDEX).is_some() => bail!(
            "--shard auto: only {K8S_INDEX} (Kubernetes) is set, and it gives no number of parts: \
             use --shard auto/N with N the job's completions (looked at {looked_at})"
        ),
        [] => bail!("--shard {flag}: no job-array variables are set; looked at {looked_at}"),
        several => bail!(
            "--shard {flag}: the variables of several schedulers are set ({}), so the part is ambiguous; \
             looked at {looked_at}",
            several.iter().map(|s| s.name()).collect::<Vec<_>>().join(" and ")
        ),
    };
    let number = |name: &str| -> Result<Option<usize>> {
        match lookup(name) {
            None => Ok(None),
            Some(v) => match v.parse::<usize>() {
                Ok(n) => Ok(Some(n)),
                Err(_) => bail!("--shard {flag}: {name}={v} is not a whole number ≥ 0"),
            },
        }
    };
    let required = |name: &str| -> Result<usize> {
        number(name)?.ok_or_else(|| {
            anyhow::anyhow!(
                "--shard {flag}: {name} is not set, but other {} variables are (looked at {})",
                scheduler.name(),
                scheduler.describe()
            )
        })
    };
    let (index, origin, scheduler_count, count_var) = match scheduler {
        Scheduler::Slurm => {
            let (id, min) = (required(SLURM_ID)?, required(SLURM_MIN)?);
            if id < min {
                bail!("--shard {flag}: {SLURM_ID}={id} is below {SLURM_MIN}={min}");
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
        (Some(n), Some(c)) if n != c => bail!(
            "--shard {flag}: {count_var}={c} tasks for {n} parts: parts {} would never run, or tasks find no part; \
             use --shard auto, or an array of {n} tasks",
            if c < n { format!("{c}..{}", n - 1) } else { "none".into() }
        ),
        (Some(n), _) => n,
        (None, Some(c)) => c,
        (None, None) => required(count_var)?,
    };
    if count == 0 {
        bail!("--shard {flag}: {count_var}=0: at least one part is needed");
    }
    if index >= count {
        let hint = match scheduler {
            Scheduler::Slurm => " (--shard auto needs an array without steps or lists, e.g. --array=0-15 or 1-16)",
            _ => "",
        };
        bail!("--shard {flag}: part {index} ({origin}) is not below the number of parts, {count}{hint}");
    }
    let origin = match given {
        Some(_) => origin,
        None => format!("{origin} of {count_var}={count}"),
    };
    Ok(Shard { index, count, origin })
}

/// `I/N` with 0 ≤ I < N.
fn explicit(s: &str) -> Result<[usize; 2]> {
    let err = || anyhow::anyhow!("--shard {s}: expected I/N with 0 ≤ I < N (e.g. --shard 0/4), auto, or auto/N");
    let (i, n) = s.split_once('/').ok_or_else(err)?;
    let (i, n): (usize, usize) = (i.trim().parse().map_err(|_| err())?, n.trim().parse().map_err(|_| err())?);
    if n == 0 || i >= n {
        return Err(err());
    }
    Ok([i, n])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variable `--shard auto` and `--shard auto/N` may read.
    const VARIABLES: [&str; 6] = [SLURM_ID, SLURM_MIN, SLURM_COUNT, AWS_INDEX, AWS_SIZE, K8S_INDEX];

    fn with(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn part(flag: &str, vars: &[(&str, &str)]) -> [usize; 2] {
        let s = resolve(flag, with(vars)).unwrap_or_else(|e| panic!("{flag} {vars:?}: {e:#}"));
        [s.index, s.count]
    }

    fn error(flag: &str, vars: &[(&str, &str)]) -> String {
        match resolve(flag, with(vars)) {
            Ok(s) => panic!("{flag} {vars:?} was accepted as {s:?}"),
            Err(e) => format!("{e:#}"),
        }
    }

    #[test]
    fn explicit_parts() {
        assert_eq!(part("2/4", &[(SLURM_ID, "9")]), [2, 4], "an explicit part ignores the environment");
        assert_eq!(part(" 0 / 1 ", &[]), [0, 1]);
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2", ""] {
            assert!(error(bad, &[]).contains("expected I/N"), "{bad}");
        }
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
        let e = resolve("auto", with(&slurm("16", "1", "16"))).unwrap();
        assert!(e.origin.contains("SLURM_ARRAY_TASK_ID=16") && e.origin.contains("SLURM_ARRAY_TASK_MIN=1"), "{e:?}");
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
        for v in [SLURM_ID, SLURM_MIN, SLURM_COUNT, AWS_INDEX, AWS_SIZE] {
            assert!(e.contains(v), "{e}");
        }
        let e = error("auto/4", &[(SLURM_ID, "")]);
        for v in VARIABLES {
            assert!(e.contains(v), "{e}");
        }
        let e = error("auto", &[(K8S_INDEX, "2")]);
        assert!(e.contains("auto/N") && e.contains(K8S_INDEX), "{e}");
    }

    #[test]
    fn several_schedulers_are_ambiguous() {
        let e =
            error("auto", &[(SLURM_ID, "1"), (SLURM_MIN, "0"), (SLURM_COUNT, "2"), (AWS_INDEX, "0"), (AWS_SIZE, "2")]);
        assert!(e.contains("several") && e.contains("Slurm and AWS Batch") && e.contains(AWS_SIZE), "{e}");
        let e = error("auto/2", &[(AWS_INDEX, "0"), (K8S_INDEX, "1")]);
        assert!(e.contains("AWS Batch and Kubernetes") && e.contains(K8S_INDEX), "{e}");
    }

    #[test]
    fn incomplete_or_inconsistent_variables_are_refused() {
        assert!(error("auto", &[(SLURM_ID, "1"), (SLURM_COUNT, "2")]).contains("SLURM_ARRAY_TASK_MIN is not set"));
        assert!(error("auto", &[(AWS_INDEX, "1")]).contains("AWS_BATCH_JOB_ARRAY_SIZE is not set"));
        assert!(error("auto", &[(AWS_INDEX, "x"), (AWS_SIZE, "2")]).contains("not a whole number"));
        assert!(error("auto", &[(AWS_INDEX, "2"), (AWS_SIZE, "2")]).contains("not below the number of parts, 2"));
        // An array with a step: IDs 1, 3, 5 give parts 0, 2, 4 of 3.
        let e = error("auto", &[(SLURM_ID, "5"), (SLURM_MIN, "1"), (SLURM_COUNT, "3")]);
        assert!(e.contains("without steps"), "{e}");
        assert!(error("auto", &[(SLURM_ID, "0"), (SLURM_MIN, "1"), (SLURM_COUNT, "3")]).contains("below"));
        assert!(error("auto/8", &[(AWS_INDEX, "1"), (AWS_SIZE, "4")]).contains("AWS_BATCH_JOB_ARRAY_SIZE=4"));
        assert!(error("auto", &[(AWS_INDEX, "0"), (AWS_SIZE, "0")]).contains("at least one part"));
        for bad in ["auto/0", "auto/x", "auto3", "autox/2"] {
            assert!(error(bad, &[(AWS_INDEX, "0")]).contains("expected auto"), "{bad}");
        }
    }
}
