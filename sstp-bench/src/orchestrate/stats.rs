//! Medians, percentiles and the "median (min–max)" spread the tables print.

/// Median of a sorted slice (0 for an empty one).
pub(super) fn median(sorted: &[f64]) -> f64 {
    percentile(sorted, 50.0)
}

/// The `p`-th percentile of a sorted slice by linear interpolation between closest ranks
/// (0 for an empty one).
pub(super) fn percentile(sorted: &[f64], p: f64) -> f64 {
    match sorted {
        [] => 0.0,
        [only] => *only,
        _ => {
            let rank = (p / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
            let lo = rank.floor() as usize;
            let hi = rank.ceil() as usize;
            let (a, b) = (sorted[lo], sorted[hi.min(sorted.len() - 1)]);
            a + (b - a) * (rank - lo as f64)
        }
    }
}

/// The median of several runs and their range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Spread {
    pub(super) median: f64,
    pub(super) min: f64,
    pub(super) max: f64,
    pub(super) runs: usize,
}

impl Spread {
    pub(super) fn of(values: &[f64]) -> Self {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        Self {
            median: median(&v),
            min: v.first().copied().unwrap_or(0.0),
            max: v.last().copied().unwrap_or(0.0),
            runs: v.len(),
        }
    }

    /// `median (min–max)`, or just the value for a single run, or `n/a` for none.
    pub(super) fn show(&self, decimals: usize) -> String {
        match self.runs {
            0 => "n/a".to_owned(),
            1 => format!("{:.decimals$}", self.median),
            _ => format!(
                "{:.decimals$} ({:.decimals$}–{:.decimals$})",
                self.median, self.min, self.max
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_percentiles() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[5.0]), 5.0);
        assert_eq!(median(&[1.0, 2.0, 3.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 3.0, 4.0]), 2.5);
        let v: Vec<f64> = (1..=101).map(f64::from).collect();
        assert_eq!(percentile(&v, 99.0), 100.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&v, 100.0), 101.0);
        assert_eq!(percentile(&v, 250.0), 101.0);
    }

    #[test]
    fn spread_shows_median_and_range() {
        let s = Spread::of(&[3.0, 1.0, 2.0]);
        assert_eq!((s.median, s.min, s.max, s.runs), (2.0, 1.0, 3.0, 3));
        assert_eq!(s.show(1), "2.0 (1.0–3.0)");
        assert_eq!(Spread::of(&[2.5]).show(2), "2.50");
        assert_eq!(Spread::of(&[]).show(2), "n/a");
    }
}
