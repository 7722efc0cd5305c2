//! Statistics of the flood: per-session goodput, its spread, and Jain's
//! fairness index.

/// Megabits per second for `bytes` in `secs`.
pub(crate) fn mbit_per_sec(bytes: u64, secs: f64) -> f64 {
    if secs <= 0.0 {
        return 0.0;
    }
    bytes as f64 * 8.0 / secs / 1e6
}

/// Jain's fairness index (Jain, Chiu, Hawe 1984): (Σx)² / (n·Σx²), 1 when
/// every session got the same, 1/n when one got everything. `None` for no
/// sessions or when every value is zero (the index is undefined there).
pub(crate) fn jain_index(values: &[f64]) -> Option<f64> {
    let sum: f64 = values.iter().sum();
    let squares: f64 = values.iter().map(|x| x * x).sum();
    if values.is_empty() || squares <= 0.0 {
        return None;
    }
    Some(sum * sum / (values.len() as f64 * squares))
}

/// Minimum, median and maximum of a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Spread {
    pub(crate) min: f64,
    pub(crate) median: f64,
    pub(crate) max: f64,
}

/// The spread of `values` (the median of an even count is the mean of the
/// middle two); `None` when empty. NaNs sort last.
pub(crate) fn spread(values: &[f64]) -> Option<Spread> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let min = *sorted.first()?;
    let max = *sorted.last()?;
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Some(Spread { min, median, max })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn mbit() {
        assert!(close(mbit_per_sec(125_000_000, 1.0), 1000.0));
        assert!(close(mbit_per_sec(1_250_000, 10.0), 1.0));
        assert_eq!(mbit_per_sec(1, 0.0), 0.0);
    }

    #[test]
    fn jain_equal_shares_is_one() {
        assert!(close(jain_index(&[5.0; 64]).expect("defined"), 1.0));
        assert!(close(jain_index(&[3.0]).expect("defined"), 1.0));
    }

    #[test]
    fn jain_one_takes_all_is_one_over_n() {
        let mut v = vec![0.0; 4];
        v[2] = 10.0;
        assert!(close(jain_index(&v).expect("defined"), 0.25));
    }

    #[test]
    fn jain_worked_example() {
        // (1+2+3)² / (3·(1+4+9)) = 36/42.
        assert!(close(
            jain_index(&[1.0, 2.0, 3.0]).expect("defined"),
            36.0 / 42.0
        ));
    }

    #[test]
    fn jain_undefined() {
        assert_eq!(jain_index(&[]), None);
        assert_eq!(jain_index(&[0.0, 0.0]), None);
    }

    #[test]
    fn spreads() {
        assert_eq!(spread(&[]), None);
        assert_eq!(
            spread(&[3.0, 1.0, 2.0]),
            Some(Spread {
                min: 1.0,
                median: 2.0,
                max: 3.0
            })
        );
        assert_eq!(
            spread(&[4.0, 1.0, 3.0, 2.0]),
            Some(Spread {
                min: 1.0,
                median: 2.5,
                max: 4.0
            })
        );
        assert_eq!(spread(&[7.0]).map(|s| s.median), Some(7.0));
    }
}
