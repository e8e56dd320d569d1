//! From a validated scenario to the model's configuration.

use crate::engine::{DAY, HOUR, MINUTE};
use crate::model::config::{
    AllocationConfig, Band, BehaviourConfig, Burst, ConfirmationConfig, DemandConfig, LegacyConfig, ModelConfig,
    OfficeConfig, PolicyKind, PreexistingConfig, ReleaseConfig, ReleaseKind, ReserveConfig, Service,
};

use super::dates::{parse_clock, parse_date, parse_datetime, weekday};
use super::{BandSpec, PolicyName, Scenario, ScenarioError, ServiceSpec};

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Scenario {
    /// Days since 1970-01-01 of the first simulated day.
    pub fn start_day(&self) -> i64 {
        parse_date(&self.start.0).unwrap_or(0)
    }

    /// The model's configuration for this (resolved) scenario.
    ///
    /// # Errors
    ///
    /// The scenario does not validate.
    pub fn model_config(&self) -> Result<ModelConfig, ScenarioError> {
        self.validate()?;
        let start = self.start_day();
        let start_s = start * DAY;
        let calendar_days = (self.days + self.release.horizon_days + 1) as usize;
        let holidays: Vec<i64> = self.office.holidays.iter().filter_map(|h| parse_date(&h.0)).collect();
        let open_weekdays: Vec<usize> = self
            .office
            .open_weekdays
            .iter()
            .filter_map(|w| WEEKDAYS.iter().position(|d| *d == w.to_lowercase()))
            .collect();
        let open: Vec<bool> = (0..calendar_days)
            .map(|d| {
                let date = start + d as i64;
                open_weekdays.contains(&weekday(date)) && !holidays.contains(&date)
            })
            .collect();

        let w = &self.demand.weekday_weights;
        let mean_weight = w.iter().sum::<f64>() / 7.0;
        let day_rate =
            (0..self.days as i64).map(|d| self.demand.arrivals_per_day * w[weekday(start + d)] / mean_weight).collect();
        let mut size_weights = [0.0; 5];
        size_weights.copy_from_slice(&self.demand.party_size_weights);

        let services: Vec<Service> =
            self.services.iter().enumerate().map(|(i, s)| self.service_plan(i, s, &open, &holidays)).collect();
        let reserve = services[0].layouts.iter().flatten().any(|b| b.held > 0).then_some(ReserveConfig {
            urgent_within: i64::from(self.allocation.urgent_within_days) * DAY,
            open_days: self.allocation.urgent_open_days,
        });
        let pickup = services.iter().skip(1).position(|s| s.name == "pickup").map(|i| i + 1);
        let b = &self.behaviour;
        let policy = match self.allocation.policy {
            PolicyName::Fcfs => PolicyKind::Fcfs,
            PolicyName::Waitlist => PolicyKind::Waitlist,
            PolicyName::Priority => PolicyKind::Priority,
            PolicyName::Lottery => PolicyKind::Lottery { every_days: self.allocation.lottery_every_days },
        };
        Ok(ModelConfig {
            days: self.days,
            office: OfficeConfig { open },
            services,
            pickup,
            release: ReleaseConfig {
                kind: if self.release.kind == "batch" {
                    ReleaseKind::Batch { every_days: self.release.every_days }
                } else {
                    ReleaseKind::Rolling
                },
                time_of_day: parse_clock(&self.release.time).unwrap_or(0),
                jitter: i64::from(self.release.jitter_minutes) * MINUTE,
                horizon_days: self.release.horizon_days,
                min_lead_days: self.release.min_lead_days,
            },
            demand: DemandConfig {
                day_rate,
                bursts: self
                    .demand
                    .burst
                    .iter()
                    .map(|x| Burst {
                        at: parse_datetime(&x.at.0).unwrap_or(start_s) - start_s,
                        extra: x.extra,
                        decay: x.decay_days * DAY as f64,
                    })
                    .collect(),
                initial_backlog: self.demand.initial_backlog,
                size_weights,
                need_by_days: (self.demand.need_by_days.min, self.demand.need_by_days.max),
                patience: (self.demand.patience_days > 0.0).then_some(self.demand.patience_days * DAY as f64),
                warmup_days: self.warmup_days,
            },
            behaviour: BehaviourConfig {
                human_check_rate: b.human_checks_per_day / DAY as f64,
                watch_release_prob: b.watch_release_prob,
                watch_delay: b.watch_delay_minutes * MINUTE as f64,
                bot_share: b.bot_share,
                bot_check_rate: 1.0 / b.bot_check_interval_seconds,
                confirm_prob: b.confirm_prob,
                bot_confirm_prob: b.bot_confirm_prob,
                confirm_delay: b.confirm_delay_hours * HOUR as f64,
                cancel_rate: b.cancel_per_day / DAY as f64,
                show_prob: b.show_prob,
                docs_ok_prob: b.docs_ok_prob,
                rebook_prob: b.rebook_prob,
                processing_days: (b.processing_days.min, b.processing_days.max),
            },
            confirmation: self.confirmation.enabled.then_some(ConfirmationConfig {
                lead_days: self.confirmation.lead_days,
                window_days: self.confirmation.window_days,
            }),
            allocation: AllocationConfig {
                policy,
                bot_detection_prob: self.allocation.bot_detection_prob,
                max_party: self.allocation.max_party,
                reserve,
            },
            legacy: LegacyConfig {
                requests: self.legacy.requests,
                received_from: parse_date(&self.legacy.received_from.0).unwrap_or(start) * DAY - start_s,
                received_until: (parse_date(&self.legacy.received_until.0).unwrap_or(start) + 1) * DAY - 1 - start_s,
                quota_per_day: self.legacy.quota_per_day,
                needs_confirmation: self.legacy.needs_confirmation,
            },
            preexisting: PreexistingConfig {
                bookings: self.preexisting.bookings,
                over_days: self.preexisting.over_days,
            },
        })
    }

    /// Service `index`'s capacity plan over the calendar: its usual bands on the office's
    /// open days, and each period's bands on its own open weekdays (holidays closed).
    /// Overbooking and held slots apply to the first service only.
    fn service_plan(&self, index: usize, spec: &ServiceSpec, office_open: &[bool], holidays: &[i64]) -> Service {
        let a = &self.allocation;
        let (overbook, urgent) = if index == 0 { (a.overbook_share, a.urgent_share) } else { (0.0, 0.0) };
        let bands = |specs: &[BandSpec]| -> Vec<Band> {
            specs
                .iter()
                .map(|b| {
                    let start = parse_clock(&b.start).unwrap_or(0);
                    // A hair above the product, so that 20 × 1.15 gives 23, not 22.999….
                    let places = (f64::from(b.slots) * (1.0 + overbook) + 1e-9).floor() as u32;
                    let held = (f64::from(b.slots) * urgent + 1e-9).floor() as u32;
                    Band { start, slots: b.slots, places: places.max(b.slots), held: held.min(b.slots) }
                })
                .collect()
        };
        let start = self.start_day();
        let mut layouts = vec![bands(&spec.bands)];
        // Per period: its date range, its layout (None: closed) and its open weekdays.
        struct Period {
            from: i64,
            until: i64,
            layout: Option<u16>,
            weekdays: Option<Vec<usize>>,
        }
        let periods: Vec<Period> =
            spec.periods
                .iter()
                .map(|p| {
                    let layout = (!p.bands.is_empty()).then(|| {
                        layouts.push(bands(&p.bands));
                        (layouts.len() - 1) as u16
                    });
                    let weekdays = p.open_weekdays.as_ref().map(|w| {
                        w.iter().filter_map(|w| WEEKDAYS.iter().position(|d| *d == w.to_lowercase())).collect()
                    });
                    let (from, until) = (parse_date(&p.from.0).unwrap_or(0), parse_date(&p.until.0).unwrap_or(-1));
                    Period { from, until, layout, weekdays }
                })
                .collect();
        let day_layout = office_open
            .iter()
            .enumerate()
            .map(|(d, &open)| {
                let date = start + d as i64;
                match periods.iter().find(|p| (p.from..=p.until).contains(&date)) {
                    None => open.then_some(0),
                    Some(p) => {
                        let weekday_open = match &p.weekdays {
                            Some(w) => w.contains(&weekday(date)),
                            None => open,
                        };
                        p.layout.filter(|_| weekday_open && !holidays.contains(&date))
                    }
                }
            })
            .collect();
        Service { name: spec.name.clone(), layouts, day_layout }
    }
}
