//! The comparison table and its JSON form: per server and metric the median
//! of the runs, and for headline metrics the ratio huddle/coturn against its target.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::server::ServerKind;
use crate::stats::median;

/// What a figure measures.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Metric {
    pub name: &'static str,
    pub unit: &'static str,
    /// Whether the table shows the ratio huddle/coturn (not for the CPU
    /// figures that only explain the others).
    pub compared: bool,
    /// The least huddle/coturn ratio the figure is judged against.
    pub target_ratio: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub server: ServerKind,
    pub metric: Metric,
    /// The median of `runs`.
    pub value: f64,
    pub runs: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub metric: &'static str,
    pub huddle_over_coturn: f64,
    pub target: Option<f64>,
    pub met: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub mode: &'static str,
    pub date_utc: String,
    pub settings: serde_json::Value,
    pub figures: Vec<Figure>,
    pub ratios: Vec<Ratio>,
    pub notes: Vec<String>,
}

impl Report {
    pub fn new(mode: &'static str, settings: serde_json::Value) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Report {
            mode,
            date_utc: utc_date(now),
            settings,
            figures: Vec::new(),
            ratios: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn add(&mut self, server: ServerKind, metric: Metric, runs: Vec<f64>) {
        let value = median(&runs).unwrap_or(f64::NAN);
        self.figures.push(Figure {
            server,
            metric,
            value,
            runs,
        });
        self.update_ratio(metric);
    }

    fn update_ratio(&mut self, metric: Metric) {
        let value = |kind| {
            self.figures
                .iter()
                .find(|f| f.server == kind && f.metric.name == metric.name)
                .map(|f| f.value)
        };
        let (Some(h), Some(c)) = (value(ServerKind::Huddle), value(ServerKind::Coturn)) else {
            return;
        };
        if !metric.compared || c == 0.0 {
            return;
        }
        let ratio = h / c;
        self.ratios.push(Ratio {
            metric: metric.name,
            huddle_over_coturn: ratio,
            target: metric.target_ratio,
            met: metric.target_ratio.map(|t| ratio >= t),
        });
    }

    pub fn table(&self) -> String {
        let mut out = format!("huddle-bench {} ({} UTC)\n", self.mode, self.date_utc);
        out += &format!(
            "{:<9} {:<32} {:>14}  {}\n",
            "server", "metric", "value", "unit"
        );
        for f in &self.figures {
            out += &format!(
                "{:<9} {:<32} {:>14}  {}\n",
                f.server.to_string(),
                f.metric.name,
                format_value(f.value),
                f.metric.unit
            );
        }
        for r in &self.ratios {
            let verdict = match (r.target, r.met) {
                (Some(t), Some(true)) => format!("target >= {t}: met"),
                (Some(t), _) => format!("target >= {t}: MISSED"),
                _ => "reported".to_owned(),
            };
            out += &format!(
                "{:<9} {:<32} {:>14}  huddle/coturn, {verdict}\n",
                "ratio",
                r.metric,
                format!("{:.2}", r.huddle_over_coturn)
            );
        }
        for n in &self.notes {
            out += &format!("note: {n}\n");
        }
        out
    }
}

fn format_value(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// `YYYY-MM-DD HH:MM` for a Unix time (days-from-civil, inverted).
pub fn utc_date(unix_secs: u64) -> String {
    let days = (unix_secs / 86_400) as i64;
    let (hh, mm) = ((unix_secs % 86_400) / 3600, (unix_secs % 3600) / 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {hh:02}:{mm:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: Metric = Metric {
        name: "rate",
        unit: "1/s",
        compared: true,
        target_ratio: Some(2.0),
    };

    #[test]
    fn dates() {
        assert_eq!(utc_date(0), "1970-01-01 00:00");
        assert_eq!(utc_date(1_700_000_000), "2023-11-14 22:13");
        assert_eq!(utc_date(951_782_400), "2000-02-29 00:00");
    }

    #[test]
    fn ratio_of_medians_against_target() {
        let mut r = Report::new("test", serde_json::Value::Null);
        r.add(ServerKind::Huddle, RATE, vec![300.0, 100.0, 200.0]);
        r.add(ServerKind::Coturn, RATE, vec![100.0, 90.0, 110.0]);
        assert_eq!(r.ratios.len(), 1);
        assert_eq!(r.ratios[0].huddle_over_coturn, 2.0);
        assert_eq!(r.ratios[0].met, Some(true));
        assert!(r.table().contains("target >= 2: met"));
    }
}
