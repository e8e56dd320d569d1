//! The scenario's levers as the page's form controls: each a dotted path (as in a
//! variant's `set`), a label, the kind of control and the variant's value.

use serde::Serialize;

use crate::scenario::{PolicyName, Scenario};

/// One form control.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lever {
    /// The field's dotted path.
    pub path: String,
    /// The group it is shown in.
    pub group: String,
    /// What a planner calls it.
    pub label: String,
    /// `integer`, `number`, `text` or `choice`.
    pub kind: &'static str,
    /// The allowed values of a choice.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// The value as the variant has it, as typed in the form.
    pub value: String,
}

fn lever(path: String, group: &str, label: String, kind: &'static str, value: String) -> Lever {
    Lever { path, group: group.to_string(), label, kind, choices: Vec::new(), value }
}

fn choice(path: &str, group: &str, label: &str, choices: &[&str], value: &str) -> Lever {
    Lever {
        path: path.to_string(),
        group: group.to_string(),
        label: label.to_string(),
        kind: "choice",
        choices: choices.iter().map(|c| c.to_string()).collect(),
        value: value.to_string(),
    }
}

/// The levers of a resolved scenario (a variant as `Scenario::variant` gives it).
pub fn levers(s: &Scenario) -> Vec<Lever> {
    let mut out = Vec::new();
    for (i, service) in s.services.iter().enumerate() {
        let group = format!("Slots: {}", service.name);
        for (j, band) in service.bands.iter().enumerate() {
            out.push(lever(
                format!("service.{i}.bands.{j}.slots"),
                &group,
                format!("band {} slots per open day", band.start),
                "integer",
                band.slots.to_string(),
            ));
        }
        for (k, period) in service.periods.iter().enumerate() {
            let group = format!("Staffing period {} of {}", k + 1, service.name);
            let at = format!("service.{i}.period.{k}");
            out.push(lever(format!("{at}.from"), &group, "from".into(), "text", period.from.0.clone()));
            out.push(lever(format!("{at}.until"), &group, "until".into(), "text", period.until.0.clone()));
            for (j, band) in period.bands.iter().enumerate() {
                out.push(lever(
                    format!("{at}.bands.{j}.slots"),
                    &group,
                    format!("band {} slots per open day", band.start),
                    "integer",
                    band.slots.to_string(),
                ));
            }
        }
    }
    let r = &s.release;
    out.push(choice("release.kind", "Release", "kind", &["rolling", "batch"], &r.kind));
    out.push(lever("release.time".into(), "Release", "time (HH:MM)".into(), "text", r.time.clone()));
    out.push(lever(
        "release.horizon_days".into(),
        "Release",
        "horizon (days)".into(),
        "integer",
        r.horizon_days.to_string(),
    ));
    out.push(lever(
        "release.every_days".into(),
        "Release",
        "batch: days between releases".into(),
        "integer",
        r.every_days.to_string(),
    ));
    let policies: Vec<&str> = PolicyName::ALL.iter().map(|p| p.name()).collect();
    out.push(choice("allocation.policy", "Policy", "allocation policy", &policies, s.allocation.policy.name()));
    let c = &s.confirmation;
    out.push(choice(
        "confirmation.enabled",
        "Confirmation",
        "bookings must be confirmed",
        &["true", "false"],
        &c.enabled.to_string(),
    ));
    out.push(lever(
        "confirmation.lead_days".into(),
        "Confirmation",
        "e-mail days before".into(),
        "integer",
        c.lead_days.to_string(),
    ));
    out.push(lever(
        "confirmation.window_days".into(),
        "Confirmation",
        "days to confirm".into(),
        "integer",
        c.window_days.to_string(),
    ));
    out.push(lever(
        "legacy.quota_per_day".into(),
        "Legacy queue",
        "slots per open day for the queue".into(),
        "integer",
        s.legacy.quota_per_day.to_string(),
    ));
    let a = &s.allocation;
    out.push(lever(
        "allocation.urgent_share".into(),
        "Urgent reserve",
        "share of each band held".into(),
        "number",
        a.urgent_share.to_string(),
    ));
    out.push(lever(
        "allocation.urgent_within_days".into(),
        "Urgent reserve",
        "urgent within (days of need-by)".into(),
        "integer",
        a.urgent_within_days.to_string(),
    ));
    out.push(lever(
        "allocation.urgent_open_days".into(),
        "Urgent reserve",
        "opened to all (days before)".into(),
        "integer",
        a.urgent_open_days.to_string(),
    ));
    out.push(lever(
        "allocation.overbook_share".into(),
        "Overbooking",
        "share over the band's slots".into(),
        "number",
        a.overbook_share.to_string(),
    ));
    out
}
