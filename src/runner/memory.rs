//! How much memory a run or a sweep will need at its peak, estimated from the scenario
//! before anything is simulated, so that one far too big for the machine is refused with
//! a message instead of aborting in the allocator after minutes.
//!
//! The estimate counts what a replication holds at its end, when everything it built is
//! still alive: one record per party and per booking, the calendars, the per-party
//! indexes of the policies and the need-by index, the arrival instants, the summary's
//! samples. Sizes are the records' own (`size_of`); counts are expected values from the
//! scenario (arrivals with bursts, the launch backlog, legacy requests, old-portal
//! bookings; bookings per party from the confirmation, show, document and rebooking
//! probabilities). A sweep holds that for each replication in flight (one per worker
//! thread, each worker's buffers reused from one replication to the next) and nothing
//! per party besides: finished replications keep their summary and daily rows only.
//! BENCHMARKS.md compares the estimate with the measured peak.

use crate::engine::time::Stamp;
use crate::engine::{DAY, Time};
use crate::model::calendar::{CELL_BYTES, MAX_PARTY, SLOT_BYTES};
use crate::model::party::PartyId;
use crate::model::{
    Booking, DailyRow, DayRecord, DayTally, LOOKING_BYTES, ModelConfig, NEED_BY_BUCKET_BYTES, NEED_BY_ENTRY_BYTES,
    NEED_BY_PLACE_BYTES, Party,
};
use crate::stats::summary;

use super::{CHUNK, Cell, Plan};

/// What the process holds before any replication: the binary, its libraries, the table
/// writers' buffers and thread pools. Not a record size, so measured: the peak resident
/// size of `slotsim run` and `slotsim sweep` on a one-day scenario without demand was 43
/// and 56 MB (BENCHMARKS.md, "Memory").
pub const FIXED_BYTES: u64 = 56 << 20;

/// The expected size of one replication of a configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplicationSize {
    /// Expected parties: arrivals (with bursts), backlog, legacy and old-portal parties.
    pub parties: f64,
    /// Expected bookings, both services.
    pub bookings: f64,
    /// First-service and pickup calendar slots held in memory.
    pub slots: f64,
    /// Estimated peak bytes of the replication.
    pub bytes: f64,
}

/// Expected arrivals over the run: the day rates plus each burst's mass within the run.
fn expected_arrivals(config: &ModelConfig) -> f64 {
    let d = &config.demand;
    let base: f64 = d.day_rate.iter().take(config.days as usize).sum();
    let end = (i64::from(config.days) * DAY) as f64;
    let bursts: f64 = d
        .bursts
        .iter()
        .map(|b| {
            let (at, decay) = (b.at as f64, b.decay.max(1.0));
            let mass = |t: f64| 1.0 - (-(t - at).max(0.0) / decay).exp();
            b.extra * (mass(end) - mass(0.0))
        })
        .sum();
    base + bursts
}

/// Expected bookings of a party that goes all the way: a booking fails (auto-cancelled,
/// missed, incomplete documents) with some probability, and the party then books again
/// with `rebook_prob`; the pickup service, if any, adds its own. Bounded at 50 bookings
/// per service for probabilities that make a failure almost certain to repeat.
fn bookings_per_party(config: &ModelConfig) -> f64 {
    let b = &config.behaviour;
    let confirms = if config.confirmation.is_some() { b.confirm_prob.max(b.bot_confirm_prob) } else { 1.0 };
    let per_service = |success: f64| 1.0 / (1.0 - ((1.0 - success) * b.rebook_prob).clamp(0.0, 0.98));
    let first = per_service(confirms * b.show_prob * b.docs_ok_prob);
    let pickup = if config.pickup.is_some() { per_service(confirms * b.show_prob) } else { 0.0 };
    first + pickup
}

/// The estimated size of one replication of `config`.
pub fn replication(config: &ModelConfig) -> ReplicationSize {
    let d = &config.demand;
    let arrivals = expected_arrivals(config);
    let parties = arrivals
        + f64::from(d.initial_backlog)
        + f64::from(config.legacy.requests)
        + f64::from(config.preexisting.bookings);
    let bookings = parties * bookings_per_party(config);
    let size = |bytes: usize| bytes as f64;

    // Per party: its record; each service's policy's position table (three families of
    // pool and position, one word each); the need-by index's place; while looking, one
    // entry in each of the looking queue, the give-up lists, the need-by buckets and the
    // pools; the summary's per-party flags and samples (lead, booking and journey times).
    let looking = size(LOOKING_BYTES) + size(NEED_BY_ENTRY_BYTES) + 2.0 * size(std::mem::size_of::<PartyId>());
    let per_party = size(std::mem::size_of::<Party>())
        + config.services.len() as f64 * size(crate::model::policy::POSITION_BYTES)
        + size(NEED_BY_PLACE_BYTES)
        + looking
        + size(summary::PARTY_BYTES);
    let per_booking = size(std::mem::size_of::<Booking>());
    let per_arrival = size(std::mem::size_of::<Stamp>());

    // Calendars under their capacity plans: every place of every calendar day's bands
    // (more than its slots with overbooking), and per day and band its cell; per day its
    // record, tally and daily row.
    let days = config.office.open.len() as f64;
    let (mut slots, mut cells) = (0.0, 0.0);
    for service in &config.services {
        for day in 0..service.day_layout.len() {
            let bands = service.bands_on(day);
            slots += bands.iter().map(|b| f64::from(b.places)).sum::<f64>();
            cells += bands.len() as f64;
        }
    }
    let per_cell = size(CELL_BYTES);
    let per_day = size(
        std::mem::size_of::<DayRecord>()
            + std::mem::size_of::<Option<DayTally>>()
            + std::mem::size_of::<DailyRow>()
            + 2 * std::mem::size_of::<Option<Time>>(),
    );
    // The need-by index keeps one (empty) bucket per party size and need-by day.
    let need_by_days = f64::from(config.days) + f64::from(d.need_by_days.1) + 1.0;
    let buckets = need_by_days * f64::from(MAX_PARTY) * size(NEED_BY_BUCKET_BYTES);

    let bytes = parties * per_party
        + bookings * per_booking
        + arrivals * per_arrival
        + slots * size(SLOT_BYTES)
        + days * per_day
        + cells * per_cell
        + buckets;
    ReplicationSize { parties, bookings, slots, bytes }
}

/// The estimated peak memory of a run or a sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryEstimate {
    /// The largest replication (of the largest cell).
    pub replication: ReplicationSize,
    /// Replications simulated at the same time.
    pub in_flight: usize,
    /// Finished replications waiting to be written, and the table being written.
    pub buffers: f64,
    /// What the process holds before any replication ([`FIXED_BYTES`]).
    pub fixed: f64,
}

impl MemoryEstimate {
    /// Estimated peak bytes in all.
    pub fn total(&self) -> f64 {
        self.fixed + self.in_flight as f64 * self.replication.bytes + self.buffers
    }
}

/// The estimate for `slotsim run` of `config`, which also builds a per-party table of
/// `party_columns` columns to write.
pub fn run(config: &ModelConfig, party_columns: usize) -> MemoryEstimate {
    let replication = replication(config);
    let table = replication.parties * (party_columns * std::mem::size_of::<u64>()) as f64;
    MemoryEstimate { replication, in_flight: 1, buffers: table, fixed: FIXED_BYTES as f64 }
}

/// The estimate for a sweep of `jobs` replications of `plan` on `threads` worker threads
/// (the actual count, not 0).
pub fn sweep(plan: &Plan, jobs: usize, threads: usize) -> MemoryEstimate {
    let largest = largest(&plan.cells);
    let days = plan.cells.iter().map(|c| c.config.days).max().unwrap_or(0) as f64;
    // Up to four chunks of finished replications queue for the writer (the runner's
    // bounded channel) and one chunk is being assembled into a table.
    let waiting = 5.0 * CHUNK.min(jobs.max(1)) as f64;
    let buffers = waiting * days * std::mem::size_of::<DailyRow>() as f64;
    MemoryEstimate {
        replication: largest,
        in_flight: threads.max(1).min(jobs.max(1)),
        buffers,
        fixed: FIXED_BYTES as f64,
    }
}

/// The largest replication among `cells`.
fn largest<'a>(cells: impl IntoIterator<Item = &'a Cell>) -> ReplicationSize {
    cells
        .into_iter()
        .map(|c| replication(&c.config))
        .max_by(|a, b| a.bytes.total_cmp(&b.bytes))
        .unwrap_or(ReplicationSize { parties: 0.0, bookings: 0.0, slots: 0.0, bytes: 0.0 })
}

/// The estimate for a sequential search (`optimize`, `select`) over `cells` on `threads`
/// worker threads (the actual count): a replication in flight per thread, of the largest
/// cell; finished replications keep only their summaries, which are small.
pub fn search<'a>(cells: impl IntoIterator<Item = &'a Cell>, threads: usize) -> MemoryEstimate {
    MemoryEstimate { replication: largest(cells), in_flight: threads.max(1), buffers: 0.0, fixed: FIXED_BYTES as f64 }
}

/// The estimate for a sweep run to a precision over `plan`'s cells, on `threads` worker
/// threads: as a sweep, and every replication's daily rows kept until the end, up to
/// `max_per_cell` replications per cell.
pub fn precision(plan: &Plan, max_per_cell: u64, threads: usize) -> MemoryEstimate {
    let days = plan.cells.iter().map(|c| c.config.days).max().unwrap_or(0) as f64;
    let kept = plan.cells.len() as f64 * max_per_cell as f64;
    let buffers =
        kept * (days * std::mem::size_of::<DailyRow>() as f64 + std::mem::size_of::<super::Replication>() as f64);
    MemoryEstimate { replication: largest(&plan.cells), in_flight: threads.max(1), buffers, fixed: FIXED_BYTES as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    fn config(extra: &str) -> ModelConfig {
        Scenario::from_toml_str(&format!("name = \"m\"\n{extra}")).unwrap().model_config().unwrap()
    }

    #[test]
    fn expected_parties_count_arrivals_bursts_backlog_legacy_and_old_portal() {
        let base = replication(&config("days = 100\n[demand]\narrivals_per_day = 10.0\n"));
        assert!((base.parties - 1000.0).abs() < 1e-6, "{base:?}");
        let more = replication(&config(
            "days = 100\n[demand]\narrivals_per_day = 10.0\ninitial_backlog = 50\n\
             [[demand.burst]]\nat = \"2021-06-24T00:00\"\nextra = 300.0\ndecay_days = 2.0\n\
             [legacy]\nrequests = 20\nquota_per_day = 5\n[preexisting]\nbookings = 7\n",
        ));
        assert!((more.parties - (1000.0 + 300.0 + 50.0 + 20.0 + 7.0)).abs() < 1e-3, "{more:?}");
        // A burst near the end of the run counts only its mass within the run.
        let late = replication(&config(
            "days = 10\n[demand]\narrivals_per_day = 0.0\n\
             [[demand.burst]]\nat = \"2021-06-23T00:00\"\nextra = 100.0\ndecay_days = 1.0\n",
        ));
        assert!((late.parties - 100.0 * (1.0 - (-1.0f64).exp())).abs() < 1e-6, "{late:?}");
    }

    #[test]
    fn the_estimate_grows_with_parties_slots_and_threads() {
        let small = replication(&config("[demand]\narrivals_per_day = 10.0\n"));
        let large = replication(&config("[demand]\narrivals_per_day = 1000.0\n"));
        assert!(large.bytes > 50.0 * small.bytes, "{small:?} {large:?}");
        assert!(large.bytes / large.parties > std::mem::size_of::<Party>() as f64);
        let wide = replication(&config(
            "[demand]\narrivals_per_day = 10.0\n[[service]]\nname = \"p\"\nbands = [{ start = \"09:00\", slots = 100000 }]\n",
        ));
        assert!(wide.bytes > small.bytes + wide.slots * SLOT_BYTES as f64 * 0.99, "{wide:?}");
        let scenario = Scenario::from_toml_str("name = \"m\"\n[demand]\narrivals_per_day = 100.0\n").unwrap();
        let plan = Plan::new(&scenario, None, 1, 100).unwrap();
        let (one, four) = (sweep(&plan, 100, 1), sweep(&plan, 100, 4));
        assert_eq!(four.in_flight, 4);
        assert!((four.total() - one.total() - 3.0 * one.replication.bytes).abs() < 1.0);
        assert_eq!(sweep(&plan, 2, 8).in_flight, 2, "no more in flight than replications to run");
    }

    #[test]
    fn bookings_per_party_follow_the_failure_and_rebooking_chances() {
        let sure = config("[behaviour]\nshow_prob = 1.0\nconfirm_prob = 1.0\ndocs_ok_prob = 1.0\n");
        assert!((bookings_per_party(&sure) - 1.0).abs() < 1e-12);
        // Half the bookings fail and every failed party books again: two bookings on average.
        let half =
            config("[behaviour]\nshow_prob = 0.5\nconfirm_prob = 1.0\nbot_confirm_prob = 1.0\nrebook_prob = 1.0\n");
        assert!((bookings_per_party(&half) - 2.0).abs() < 1e-12);
        let never = config("[behaviour]\nshow_prob = 0.0\nrebook_prob = 1.0\n");
        assert!(bookings_per_party(&never) <= 50.0 + 1e-9);
    }
}
