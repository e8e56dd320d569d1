//! One replication's summary row: every metric of `docs/model.md` (columns in `results/README.md`).

use crate::engine::Time;
use crate::engine::time::{DAY, to_days};
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
    /// Share of the counted days' time during which no first-service slot was bookable
    /// by an ordinary party of one (what a visitor at a random instant found).
    pub no_slot_share: Option<f64>,
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

/// A mean and a sum of squares built one value at a time: the same sums, in the same order,
/// as `Iterator::sum` over a vector of the values, without the vector.
#[derive(Debug, Clone, Copy)]
struct Sums {
    n: u64,
    sum: f64,
    squares: f64,
}

impl Sums {
    fn new() -> Self {
        // The starting value of `Iterator::sum` for floats.
        Self { n: 0, sum: -0.0, squares: -0.0 }
    }

    fn add(&mut self, x: f64) {
        self.n += 1;
        self.sum += x;
        self.squares += x * x;
    }

    fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }

    fn jain(&self) -> Option<f64> {
        (self.n > 0 && self.squares > 0.0).then(|| self.sum * self.sum / (self.n as f64 * self.squares))
    }
}

/// Bytes the summary holds per counted party: its flags and its samples for quantiles
/// (lead, booking and journey times as 32-bit seconds), for memory estimates.
pub const PARTY_BYTES: usize = size_of::<u8>() + 3 * size_of::<Seconds>();

/// A span of whole seconds, kept in 32 bits: runs last at most 7320 days (6.3e8 s).
type Seconds = u32;

fn seconds_between(from: Time, to: Time) -> Seconds {
    Seconds::try_from(to - from).expect("a party's milestones come after its arrival, within a run")
}

/// [`quantile`] of unsorted data, by selection (linear time): reorders `xs`.
pub fn select_quantile(xs: &mut [f64], q: f64) -> Option<f64> {
    let [x] = select_quantiles(xs, [q]);
    x
}

/// [`select_quantile`] at each of `qs` (in increasing order): each selection looks only
/// among the values above the previous one. Reorders `xs`.
pub fn select_quantiles<const N: usize>(xs: &mut [f64], qs: [f64; N]) -> [Option<f64>; N] {
    select_quantiles_of(xs, qs, f64::total_cmp, |x| x)
}

/// [`select_quantiles`] of the values `value` gives the items of `xs`, ordered by `cmp`
/// in the same order as their values: selecting among 32-bit seconds and converting the
/// order statistics to days gives what selecting among the days would.
fn select_quantiles_of<T: Copy, const N: usize>(
    xs: &mut [T],
    qs: [f64; N],
    cmp: impl Fn(&T, &T) -> std::cmp::Ordering + Copy,
    value: impl Fn(T) -> f64,
) -> [Option<f64>; N] {
    debug_assert!(qs.is_sorted(), "quantiles in increasing order");
    // Every value before `start` is at most every value from `start` on.
    let mut start = 0;
    qs.map(|q| {
        if xs.is_empty() {
            return None;
        }
        let (lo, h) = quantile_position(xs.len(), q);
        let (_, &mut at_lo, above) = xs[start..].select_nth_unstable_by(lo - start, cmp);
        // The next order statistic is the smallest value above position `lo`.
        let next = above.iter().copied().min_by(cmp).unwrap_or(at_lo);
        start = lo;
        Some(interpolate(value(at_lo), value(next), lo, h))
    })
}

/// Quantiles of spans of seconds, in days.
fn day_quantiles<const N: usize>(seconds: &mut [Seconds], qs: [f64; N]) -> [Option<f64>; N] {
    select_quantiles_of(seconds, qs, Seconds::cmp, |x| to_days(Time::from(x)))
}

/// Jain's fairness index (Σx)²/(n·Σx²); `None` if empty or all zero.
pub fn jain(xs: &[f64]) -> Option<f64> {
    let mut sums = Sums::new();
    xs.iter().for_each(|&x| sums.add(x));
    sums.jain()
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
    // Means are summed in party order, as over a vector of the samples; only the samples
    // that quantiles need are kept, as 32-bit seconds (12 bytes a party where the
    // vectors of days took 40).
    let n = run.parties.len();
    let mut lead = Vec::with_capacity(n);
    let mut book = Vec::with_capacity(n);
    let mut journey = Vec::with_capacity(n);
    let (mut lead_sums, mut book_sums, mut journey_sums) = (Sums::new(), Sums::new(), Sums::new());
    let (mut served_book, mut book_people, mut book_bots) = (Sums::new(), Sums::new(), Sums::new());
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
        let book_seconds = p.first_booked().map(|s| seconds_between(p.arrival(), s));
        let book_days = book_seconds.map(|s| to_days(Time::from(s)));
        if let Some(s) = p.served() {
            let seconds = seconds_between(p.arrival(), s);
            let days = to_days(Time::from(seconds));
            lead.push(seconds);
            lead_sums.add(days);
            let by_size = &mut lead_by_size[(p.size().clamp(1, MAX_PARTY) - 1) as usize];
            by_size.0 += days;
            by_size.1 += 1;
            missed += u64::from(s > p.need_by());
            if let Some(d) = book_days {
                served_book.add(d);
            }
        }
        if let (Some(seconds), Some(d)) = (book_seconds, book_days) {
            booked += 1;
            book.push(seconds);
            book_sums.add(d);
            if p.bot() { &mut book_bots } else { &mut book_people }.add(d);
        }
        if let Some(c) = p.completed() {
            completed += 1;
            let seconds = seconds_between(p.arrival(), c);
            journey.push(seconds);
            journey_sums.add(to_days(Time::from(seconds)));
        }
        abandoned += u64::from(p.outcome() == crate::model::Outcome::Abandoned);
        waiting_at_end += u64::from(p.outcome() == crate::model::Outcome::Waiting && p.served().is_none());
    }
    let [lead_days_p50, lead_days_p90, lead_days_p99] = day_quantiles(&mut lead, [0.5, 0.9, 0.99]);
    let served = lead.len() as u64;
    let (book_people, book_bots) = (book_people.mean(), book_bots.mean());

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
        lead_days_mean: lead_sums.mean(),
        lead_days_p50,
        lead_days_p90,
        lead_days_p99,
        book_days_mean: book_sums.mean(),
        book_days_p90: day_quantiles(&mut book, [0.9])[0],
        journey_days_mean: journey_sums.mean(),
        journey_days_p90: day_quantiles(&mut journey, [0.9])[0],
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
        jain_book_days: served_book.jain(),
        queue_inversions: run.queue_inversions,
        need_by_inversions: run.need_by_inversions,
        legacy_served,
        legacy_drained_day: run.legacy_drained_day,
        legacy_inversions: inversions(&run.legacy_order),
        sellout_minutes_p50: select_quantile(&mut sellout, 0.5),
        no_slot_share: no_slot_share(run),
        lead_days_mean_by_size: lead_by_size.map(|(sum, n)| (n > 0).then(|| sum / n as f64)),
        urgent_slots_held: reserve.held,
        urgent_slots_taken_urgent: reserve.taken_urgent,
        urgent_slots_opened: reserve.opened,
        overtime_people: slots.overtime,
        events: run.events,
    }
}

/// The share of the counted days' seconds during which nothing was bookable (`None` for
/// a run with no counted day).
fn no_slot_share(run: &RunRecord) -> Option<f64> {
    let counted = run.daily.get(run.warmup_days as usize..).unwrap_or_default();
    let seconds: u64 = counted.iter().map(|d| u64::from(d.no_slot_seconds)).sum();
    (!counted.is_empty()).then(|| seconds as f64 / (counted.len() as f64 * DAY as f64))
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
        let mut r = crate::model::Streams::new(3).stream(crate::model::Purpose::Policy, 0);
        let data: Vec<f64> = (0..1001).map(|_| (r.uniform() * 50.0).floor()).collect();
        let mut xs = data.clone();
        xs.sort_by(f64::total_cmp);
        let qs = [0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 1.0];
        for q in qs {
            assert_eq!(select_quantile(&mut data.clone(), q), quantile(&xs, q), "q {q}");
        }
        assert_eq!(select_quantiles(&mut data.clone(), qs), qs.map(|q| quantile(&xs, q)));
    }

    /// Sums built one value at a time are bit for bit those of the vector they replace
    /// (the summary's means must not change with how its pass is organised).
    #[test]
    fn running_sums_equal_sums_over_vectors() {
        let mut rng = crate::model::Streams::new(3).stream(crate::model::Purpose::Policy, 0);
        for n in [1, 2, 7, 1000] {
            let xs: Vec<f64> = (0..n).map(|_| to_days(rng.integer(0, 400 * 86_400))).collect();
            let mut sums = Sums::new();
            xs.iter().for_each(|&x| sums.add(x));
            let mean = xs.iter().sum::<f64>() / n as f64;
            assert_eq!(sums.mean().map(f64::to_bits), Some(mean.to_bits()), "n {n}");
            let (s, s2) = (xs.iter().sum::<f64>(), xs.iter().map(|x| x * x).sum::<f64>());
            assert_eq!(sums.jain().map(f64::to_bits), Some((s * s / (n as f64 * s2)).to_bits()), "n {n}");
        }
        assert_eq!(Sums::new().mean(), None);
        let mut zeros = Sums::new();
        zeros.add(0.0);
        assert_eq!((zeros.mean(), zeros.jain()), (Some(0.0), None));
    }

    /// Quantiles selected among whole seconds are bit for bit those of the same spans in days.
    #[test]
    fn quantiles_of_seconds_equal_quantiles_of_days() {
        let mut rng = crate::model::Streams::new(4).stream(crate::model::Purpose::Policy, 0);
        for n in [1, 2, 3, 10, 999] {
            // Few distinct values too, so that ties are common.
            let top = if n == 999 { 50 } else { 400 * 86_400 };
            let seconds: Vec<u32> = (0..n).map(|_| rng.integer(0, top) as u32).collect();
            let qs = [0.0, 0.5, 0.9, 0.99, 1.0];
            let mut days: Vec<f64> = seconds.iter().map(|&s| to_days(Time::from(s))).collect();
            let want = select_quantiles(&mut days, qs).map(|q| q.map(f64::to_bits));
            let got = day_quantiles(&mut seconds.clone(), qs).map(|q| q.map(f64::to_bits));
            assert_eq!(got, want, "n {n}");
        }
        assert_eq!(day_quantiles(&mut [], [0.5]), [None]);
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
    /// Every metric with its column name, in table order (the registry,
    /// [`super::metrics::METRICS`], read on this summary).
    pub fn metrics(&self) -> Vec<(&'static str, Metric)> {
        super::metrics::all().iter().map(|m| (m.name, m.metric(self))).collect()
    }

    /// The metric column names, in table order.
    pub fn metric_names() -> Vec<&'static str> {
        super::metrics::all().iter().map(|m| m.name).collect()
    }
}
