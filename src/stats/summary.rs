//! One replication's summary row: every metric of `spec/model.md`.

use crate::engine::time::to_days;
use crate::model::calendar::MAX_PARTY;
use crate::model::{BookingEnd, PartyKind, RunRecord};

/// The metrics of one replication (the identifying columns are added by the runner).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Counted portal parties that arrived.
    pub arrived: u64,
    /// ... that got at least one first-service booking.
    pub booked: u64,
    /// ... that attended with complete documents.
    pub served: u64,
    /// ... that collected their passport (or were served, without pickup).
    pub completed: u64,
    /// ... that gave up.
    pub abandoned: u64,
    /// ... still looking for the first service at the end.
    pub waiting_at_end: u64,
    /// Arrival to the start of the serving appointment, days.
    pub lead_days_mean: Option<f64>,
    /// Median of the same.
    pub lead_days_p50: Option<f64>,
    /// 90th percentile.
    pub lead_days_p90: Option<f64>,
    /// 99th percentile.
    pub lead_days_p99: Option<f64>,
    /// Arrival to first booking, days (parties that booked).
    pub book_days_mean: Option<f64>,
    /// 90th percentile.
    pub book_days_p90: Option<f64>,
    /// Arrival to journey end, days.
    pub journey_days_mean: Option<f64>,
    /// 90th percentile.
    pub journey_days_p90: Option<f64>,
    /// Share of served parties served after their need-by date.
    pub deadline_miss_rate: Option<f64>,
    /// First-service slots on counted open days.
    pub slots_offered: u64,
    /// ... attended.
    pub slots_used: u64,
    /// `slots_used / slots_offered`.
    pub utilization: Option<f64>,
    /// ... never booked.
    pub slots_wasted_unbooked: u64,
    /// ... held by a party that did not come.
    pub slots_wasted_noshow: u64,
    /// ... freed by a cancellation and not taken again.
    pub slots_wasted_freed: u64,
    /// Bookings of counted parties auto-cancelled.
    pub auto_cancelled: u64,
    /// Bookings of counted parties cancelled by the party.
    pub voluntary_cancelled: u64,
    /// First-service slots of counted days freed and then held again.
    pub reallocated: u64,
    /// Share of first-service bookings by counted parties made by automated ones.
    pub bot_share_of_bookings: Option<f64>,
    /// That share over `bot_share`.
    pub bot_advantage: Option<f64>,
    /// Mean arrival-to-first-booking time of counted people (not scripts) who booked, days.
    pub book_days_mean_people: Option<f64>,
    /// The same for automated parties.
    pub book_days_mean_bots: Option<f64>,
    /// People's mean time to first booking over scripts' (above 1: scripts book faster).
    /// Unlike `bot_advantage`, it shows the scripts' edge even when nearly everyone
    /// books eventually.
    pub bot_book_speedup: Option<f64>,
    /// Jain's index of arrival-to-booking times of served parties.
    pub jain_book_days: Option<f64>,
    /// First-service bookings that overtook an earlier-looking party of no larger size.
    pub queue_inversions: u64,
    /// The same by need-by date.
    pub need_by_inversions: u64,
    /// Legacy parties served.
    pub legacy_served: u64,
    /// Run day on which the last legacy party got its appointment.
    pub legacy_drained_day: Option<u32>,
    /// Legacy parties given appointments before one received earlier.
    pub legacy_inversions: u64,
    /// Median minutes from release to sell-out, over days that filled.
    pub sellout_minutes_p50: Option<f64>,
    /// Mean lead time of served parties of 1 ..= 5 people.
    pub lead_days_mean_by_size: [Option<f64>; MAX_PARTY as usize],
    /// First-service slots of counted days held for urgent parties.
    pub urgent_slots_held: u64,
    /// ... of them taken by urgent parties.
    pub urgent_slots_taken_urgent: u64,
    /// ... of them opened to everyone, still free.
    pub urgent_slots_opened: u64,
    /// People served beyond their band's slots (overbooking).
    pub overtime_people: u64,
    /// Events processed.
    pub events: u64,
}

/// The `q`-quantile (0 ≤ q ≤ 1) of `sorted` by linear interpolation between order
/// statistics (numpy's default, Hyndman and Fan's type 7); `None` if empty.
///
/// ```
/// assert_eq!(slotsim::stats::quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
/// assert_eq!(slotsim::stats::quantile(&[], 0.5), None);
/// ```
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let (lo, h) = quantile_position(sorted.len(), q);
    let next = sorted.get(lo + 1).copied().unwrap_or(sorted[lo]);
    Some(interpolate(sorted[lo], next, lo, h))
}

/// The value at fractional position `h` between order statistics `lo` (value `at_lo`)
/// and `lo + 1` (value `next`).
fn interpolate(at_lo: f64, next: f64, lo: usize, h: f64) -> f64 {
    at_lo + (h - lo as f64) * (next - at_lo)
}

/// Where the `q`-quantile of `n` (> 0) ordered values lies: the lower order statistic's
/// index and the fractional position `h` between it and the next.
fn quantile_position(n: usize, q: f64) -> (usize, f64) {
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    (h.floor() as usize, h)
}

fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// [`quantile`] of unsorted data, by selection (linear time): reorders `xs`.
fn select_quantile(xs: &mut [f64], q: f64) -> Option<f64> {
    let [x] = select_quantiles(xs, [q]);
    x
}

/// [`select_quantile`] at each of `qs` (in increasing order): each selection looks only
/// among the values above the previous one. Reorders `xs`.
fn select_quantiles<const N: usize>(xs: &mut [f64], qs: [f64; N]) -> [Option<f64>; N] {
    debug_assert!(qs.is_sorted(), "quantiles in increasing order");
    // Every value before `start` is at most every value from `start` on.
    let mut start = 0;
    qs.map(|q| {
        if xs.is_empty() {
            return None;
        }
        let (lo, h) = quantile_position(xs.len(), q);
        let (_, &mut at_lo, above) = xs[start..].select_nth_unstable_by(lo - start, f64::total_cmp);
        // The next order statistic is the smallest value above position `lo`.
        let next = above.iter().copied().min_by(f64::total_cmp).unwrap_or(at_lo);
        start = lo;
        Some(interpolate(at_lo, next, lo, h))
    })
}

/// Jain's fairness index (Σx)²/(n·Σx²); `None` if empty or all zero.
pub fn jain(xs: &[f64]) -> Option<f64> {
    let s: f64 = xs.iter().sum();
    let s2: f64 = xs.iter().map(|x| x * x).sum();
    (!xs.is_empty() && s2 > 0.0).then(|| s * s / (xs.len() as f64 * s2))
}

/// Number of pairs out of order (a later element smaller than an earlier one).
fn inversions(order: &[u32]) -> u64 {
    // Fenwick tree over values.
    let n = order.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut tree = vec![0u64; n + 1];
    let mut count = 0;
    for (seen, &v) in order.iter().enumerate() {
        // Elements already seen that are <= v.
        let mut i = v as usize + 1;
        let mut not_greater = 0;
        while i > 0 {
            not_greater += tree[i];
            i &= i - 1;
        }
        count += seen as u64 - not_greater;
        let mut i = v as usize + 1;
        while i <= n {
            tree[i] += 1;
            i += i & i.wrapping_neg();
        }
    }
    count
}

/// Computes every metric of one replication.
pub fn summarize(run: &RunRecord) -> Summary {
    // One pass over the party table (several megabytes): every per-party sample and count.
    // Samples are collected in party order, so sums (and means) do not depend on how the
    // pass is organised.
    // Sized for every party at once: growing them by doubling copied megabytes.
    let n = run.parties.len();
    let mut lead = Vec::with_capacity(n);
    let mut book = Vec::with_capacity(n);
    let mut journey = Vec::with_capacity(n);
    let mut served_book = Vec::with_capacity(n);
    let (mut book_people, mut book_bots) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut arrived, mut booked, mut completed, mut abandoned, mut waiting_at_end) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut missed, mut legacy_served) = (0u64, 0u64);
    let mut lead_by_size = [(0.0f64, 0u64); MAX_PARTY as usize];
    // What the booking pass needs of each party, in a table small enough to stay in cache.
    const COUNTED: u8 = 1;
    const BOT: u8 = 2;
    let mut flags = Vec::with_capacity(run.parties.len());
    for p in &run.parties {
        flags.push(if p.counted() { COUNTED | if p.bot() { BOT } else { 0 } } else { 0 });
        if p.kind() == PartyKind::Legacy && p.served().is_some() {
            legacy_served += 1;
        }
        if !p.counted() {
            continue;
        }
        arrived += 1;
        let book_days = p.first_booked().map(|s| to_days(s - p.arrival()));
        if let Some(s) = p.served() {
            let days = to_days(s - p.arrival());
            lead.push(days);
            let by_size = &mut lead_by_size[(p.size().clamp(1, MAX_PARTY) - 1) as usize];
            by_size.0 += days;
            by_size.1 += 1;
            missed += u64::from(s > p.need_by());
            served_book.extend(book_days);
        }
        if let Some(d) = book_days {
            booked += 1;
            book.push(d);
            if p.bot() { &mut book_bots } else { &mut book_people }.push(d);
        }
        if let Some(c) = p.completed() {
            completed += 1;
            journey.push(to_days(c - p.arrival()));
        }
        abandoned += u64::from(p.outcome() == crate::model::Outcome::Abandoned);
        waiting_at_end += u64::from(p.outcome() == crate::model::Outcome::Waiting && p.served().is_none());
    }
    // Means first: selection reorders the data.
    let (lead_mean, book_mean_all, journey_mean) = (mean(&lead), mean(&book), mean(&journey));
    let [lead_days_p50, lead_days_p90, lead_days_p99] = select_quantiles(&mut lead, [0.5, 0.9, 0.99]);
    let served = lead.len() as u64;
    let (book_people, book_bots) = (mean(&book_people), mean(&book_bots));

    let (lo, hi) = (run.warmup_days as usize, run.days as usize);
    let mut slots = crate::model::DayTally::default();
    let mut reserve = crate::model::ReserveTally::default();
    for d in run.calendar.iter().take(hi).skip(lo).filter(|d| d.open) {
        slots.offered += d.tally.offered;
        slots.used += d.tally.used;
        slots.wasted_noshow += d.tally.wasted_noshow;
        slots.wasted_freed += d.tally.wasted_freed;
        slots.wasted_unbooked += d.tally.wasted_unbooked;
        slots.overtime += d.tally.overtime;
        reserve.held += d.reserve.held;
        reserve.taken_urgent += d.reserve.taken_urgent;
        reserve.opened += d.reserve.opened;
    }

    let mut auto_cancelled = 0;
    let mut voluntary = 0;
    let (mut first_bookings, mut bot_bookings) = (0u64, 0u64);
    for b in &run.bookings {
        let party = flags[b.party() as usize];
        if party & COUNTED == 0 {
            continue;
        }
        match b.end() {
            Some((_, BookingEnd::AutoCancelled)) => auto_cancelled += 1,
            Some((_, BookingEnd::Cancelled)) => voluntary += 1,
            _ => {}
        }
        if b.service() == 0 {
            first_bookings += 1;
            bot_bookings += u64::from(party & BOT != 0);
        }
    }
    let bot_share_of_bookings = (first_bookings > 0).then(|| bot_bookings as f64 / first_bookings as f64);

    let mut sellout: Vec<f64> = run
        .calendar
        .iter()
        .take(hi)
        .skip(lo)
        .filter_map(|d| Some((d.filled_at? - d.released_at?) as f64 / 60.0))
        .collect();

    Summary {
        arrived,
        booked,
        served,
        completed,
        abandoned,
        waiting_at_end,
        lead_days_mean: lead_mean,
        lead_days_p50,
        lead_days_p90,
        lead_days_p99,
        book_days_mean: book_mean_all,
        book_days_p90: select_quantile(&mut book, 0.9),
        journey_days_mean: journey_mean,
        journey_days_p90: select_quantile(&mut journey, 0.9),
        deadline_miss_rate: (served > 0).then(|| missed as f64 / served as f64),
        slots_offered: slots.offered,
        slots_used: slots.used,
        utilization: (slots.offered > 0).then(|| slots.used as f64 / slots.offered as f64),
        slots_wasted_unbooked: slots.wasted_unbooked,
        slots_wasted_noshow: slots.wasted_noshow,
        slots_wasted_freed: slots.wasted_freed,
        auto_cancelled,
        voluntary_cancelled: voluntary,
        reallocated: run.reallocated,
        bot_share_of_bookings,
        bot_advantage: bot_share_of_bookings.filter(|_| run.bot_share > 0.0).map(|s| s / run.bot_share),
        book_days_mean_people: book_people,
        book_days_mean_bots: book_bots,
        bot_book_speedup: book_people.zip(book_bots).filter(|(_, b)| *b > 0.0).map(|(p, b)| p / b),
        jain_book_days: jain(&served_book),
        queue_inversions: run.queue_inversions,
        need_by_inversions: run.need_by_inversions,
        legacy_served,
        legacy_drained_day: run.legacy_drained_day,
        legacy_inversions: inversions(&run.legacy_order),
        sellout_minutes_p50: select_quantile(&mut sellout, 0.5),
        lead_days_mean_by_size: lead_by_size.map(|(sum, n)| (n > 0).then(|| sum / n as f64)),
        urgent_slots_held: reserve.held,
        urgent_slots_taken_urgent: reserve.taken_urgent,
        urgent_slots_opened: reserve.opened,
        overtime_people: slots.overtime,
        events: run.events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy() {
        // numpy.percentile([3, 1, 4, 1, 5, 9, 2, 6], [50, 90, 99]) = 3.5, 6.9, 8.79
        let data = vec![3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        let mut xs = data.clone();
        xs.sort_by(f64::total_cmp);
        for (q, want) in [(0.5, 3.5), (0.9, 6.9), (0.99, 8.79), (0.0, 1.0), (1.0, 9.0)] {
            assert!((quantile(&xs, q).unwrap() - want).abs() < 1e-12, "sorted, q {q}");
            let mut unsorted = data.clone();
            assert!((select_quantile(&mut unsorted, q).unwrap() - want).abs() < 1e-12, "selected, q {q}");
        }
        let mut unsorted = data.clone();
        let several = select_quantiles(&mut unsorted, [0.0, 0.5, 0.9, 0.99, 1.0]);
        assert_eq!(several, [0.0, 0.5, 0.9, 0.99, 1.0].map(|q| quantile(&xs, q)), "several at once");
        assert_eq!(select_quantile(&mut [], 0.5), None);
        assert_eq!(select_quantiles(&mut [], [0.5, 0.9]), [None, None]);
        assert_eq!(select_quantile(&mut [7.0], 0.9), Some(7.0));
    }

    #[test]
    fn selection_agrees_with_sorting_on_many_draws() {
        let mut r = crate::engine::Streams::new(3).stream(crate::engine::Purpose::Policy, 0);
        let data: Vec<f64> = (0..1001).map(|_| (r.uniform() * 50.0).floor()).collect();
        let mut xs = data.clone();
        xs.sort_by(f64::total_cmp);
        let qs = [0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0];
        for q in qs {
            assert_eq!(select_quantile(&mut data.clone(), q), quantile(&xs, q), "q {q}");
        }
        assert_eq!(select_quantiles(&mut data.clone(), qs), qs.map(|q| quantile(&xs, q)));
    }

    #[test]
    fn jain_index_bounds() {
        assert_eq!(jain(&[2.0, 2.0, 2.0]), Some(1.0));
        assert!((jain(&[1.0, 0.0, 0.0, 0.0]).unwrap() - 0.25).abs() < 1e-12);
        assert_eq!(jain(&[0.0, 0.0]), None);
    }

    #[test]
    fn inversion_count_matches_brute_force() {
        let order = [3u32, 0, 4, 1, 2, 7, 5, 6];
        let brute = (0..order.len())
            .flat_map(|i| (i + 1..order.len()).map(move |j| (i, j)))
            .filter(|&(i, j)| order[i] > order[j])
            .count() as u64;
        assert_eq!(inversions(&order), brute);
        assert_eq!(inversions(&[0, 1, 2, 3]), 0);
    }
}

/// One metric's value, typed for tables.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// A count.
    Count(u64),
    /// A real number, absent where undefined (no served party, ...).
    Real(Option<f64>),
    /// A run day, absent where it never happened.
    Day(Option<u32>),
}

impl Summary {
    /// Every metric with its column name, in table order.
    pub fn metrics(&self) -> Vec<(&'static str, Metric)> {
        use Metric::{Count as C, Day as D, Real as R};
        vec![
            ("arrived", C(self.arrived)),
            ("booked", C(self.booked)),
            ("served", C(self.served)),
            ("completed", C(self.completed)),
            ("abandoned", C(self.abandoned)),
            ("waiting_at_end", C(self.waiting_at_end)),
            ("lead_days_mean", R(self.lead_days_mean)),
            ("lead_days_p50", R(self.lead_days_p50)),
            ("lead_days_p90", R(self.lead_days_p90)),
            ("lead_days_p99", R(self.lead_days_p99)),
            ("book_days_mean", R(self.book_days_mean)),
            ("book_days_p90", R(self.book_days_p90)),
            ("journey_days_mean", R(self.journey_days_mean)),
            ("journey_days_p90", R(self.journey_days_p90)),
            ("deadline_miss_rate", R(self.deadline_miss_rate)),
            ("slots_offered", C(self.slots_offered)),
            ("slots_used", C(self.slots_used)),
            ("utilization", R(self.utilization)),
            ("slots_wasted_unbooked", C(self.slots_wasted_unbooked)),
            ("slots_wasted_noshow", C(self.slots_wasted_noshow)),
            ("slots_wasted_freed", C(self.slots_wasted_freed)),
            ("auto_cancelled", C(self.auto_cancelled)),
            ("voluntary_cancelled", C(self.voluntary_cancelled)),
            ("reallocated", C(self.reallocated)),
            ("bot_share_of_bookings", R(self.bot_share_of_bookings)),
            ("bot_advantage", R(self.bot_advantage)),
            ("book_days_mean_people", R(self.book_days_mean_people)),
            ("book_days_mean_bots", R(self.book_days_mean_bots)),
            ("bot_book_speedup", R(self.bot_book_speedup)),
            ("jain_book_days", R(self.jain_book_days)),
            ("queue_inversions", C(self.queue_inversions)),
            ("need_by_inversions", C(self.need_by_inversions)),
            ("legacy_served", C(self.legacy_served)),
            ("legacy_drained_day", D(self.legacy_drained_day)),
            ("legacy_inversions", C(self.legacy_inversions)),
            ("sellout_minutes_p50", R(self.sellout_minutes_p50)),
            ("lead_days_mean_size1", R(self.lead_days_mean_by_size[0])),
            ("lead_days_mean_size2", R(self.lead_days_mean_by_size[1])),
            ("lead_days_mean_size3", R(self.lead_days_mean_by_size[2])),
            ("lead_days_mean_size4", R(self.lead_days_mean_by_size[3])),
            ("lead_days_mean_size5", R(self.lead_days_mean_by_size[4])),
            ("urgent_slots_held", C(self.urgent_slots_held)),
            ("urgent_slots_taken_urgent", C(self.urgent_slots_taken_urgent)),
            ("urgent_slots_opened", C(self.urgent_slots_opened)),
            ("overtime_people", C(self.overtime_people)),
            ("events", C(self.events)),
        ]
    }
}

impl Summary {
    /// The metric column names, in table order.
    pub fn metric_names() -> Vec<&'static str> {
        Summary::default().metrics().into_iter().map(|(n, _)| n).collect()
    }
}
