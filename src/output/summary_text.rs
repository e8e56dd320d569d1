//! One replication's summary as text, for the terminal: what `slotsim run` prints.

use std::io::Write;

use crate::stats::{self, Metric};

fn fmt_metric(m: Metric) -> String {
    match m {
        Metric::Count(n) => n.to_string(),
        Metric::Real(Some(x)) => format!("{x:.3}"),
        Metric::Day(Some(d)) => d.to_string(),
        _ => "–".into(),
    }
}

/// One replication's summary, readably: what `slotsim run` prints.
///
/// # Errors
///
/// Write errors.
pub fn write_summary(
    out: &mut impl Write,
    scenario: &str,
    variant: &str,
    seed: u64,
    s: &stats::Summary,
    elapsed: std::time::Duration,
) -> std::io::Result<()> {
    let m: std::collections::BTreeMap<&str, Metric> = s.metrics().into_iter().collect();
    let g = |k: &str| fmt_metric(m[k]);
    writeln!(out, "{scenario} · variant {variant} · seed {seed}")?;
    writeln!(
        out,
        "  parties   arrived {}  booked {}  served {}  completed {}  abandoned {}  still waiting {}",
        g("arrived"),
        g("booked"),
        g("served"),
        g("completed"),
        g("abandoned"),
        g("waiting_at_end")
    )?;
    writeln!(
        out,
        "  lead time (days, arrival → serving appointment)  mean {}  p50 {}  p90 {}  p99 {}",
        g("lead_days_mean"),
        g("lead_days_p50"),
        g("lead_days_p90"),
        g("lead_days_p99")
    )?;
    writeln!(
        out,
        "  time to first booking (days)  mean {}  p90 {};  journey (days)  mean {}  p90 {}",
        g("book_days_mean"),
        g("book_days_p90"),
        g("journey_days_mean"),
        g("journey_days_p90")
    )?;
    writeln!(
        out,
        "  lead time by party size (mean days)  1: {}  2: {}  3: {}  4: {}  5: {}",
        g("lead_days_mean_size1"),
        g("lead_days_mean_size2"),
        g("lead_days_mean_size3"),
        g("lead_days_mean_size4"),
        g("lead_days_mean_size5")
    )?;
    writeln!(out, "  served after need-by date  {}", g("deadline_miss_rate"))?;
    writeln!(
        out,
        "  slots     offered {}  used {}  utilization {}  wasted: unbooked {}  no-show {}  freed {}",
        g("slots_offered"),
        g("slots_used"),
        g("utilization"),
        g("slots_wasted_unbooked"),
        g("slots_wasted_noshow"),
        g("slots_wasted_freed")
    )?;
    writeln!(
        out,
        "  capacity  urgent slots held {}  taken by urgent parties {}  opened to all {};  overtime people {}",
        g("urgent_slots_held"),
        g("urgent_slots_taken_urgent"),
        g("urgent_slots_opened"),
        g("overtime_people")
    )?;
    writeln!(
        out,
        "  bookings  auto-cancelled {}  cancelled {}  slots reallocated {}",
        g("auto_cancelled"),
        g("voluntary_cancelled"),
        g("reallocated")
    )?;
    writeln!(
        out,
        "  fairness  bot share of bookings {}  bot advantage {}  scripts book {}× faster  Jain index {}  queue inversions {}",
        g("bot_share_of_bookings"),
        g("bot_advantage"),
        g("bot_book_speedup"),
        g("jain_book_days"),
        g("queue_inversions")
    )?;
    writeln!(
        out,
        "  legacy    served {}  drained on day {}  inversions {}",
        g("legacy_served"),
        g("legacy_drained_day"),
        g("legacy_inversions")
    )?;
    writeln!(out, "  sell-out (median minutes from release)  {}", g("sellout_minutes_p50"))?;
    writeln!(out, "  {} events in {:.3} s", g("events"), elapsed.as_secs_f64())
}
