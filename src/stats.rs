//! Small statistics over per-fold values, shared by the report's Findings
//! (paired claims) and the regression check (paired drops): the mean with the
//! sample standard deviation, and Student's t quantile for a one-sided 95 %
//! bound.
//!
//! Must not know what the values are.

/// One-sided 95 % quantile of Student's t with `df` degrees of freedom
/// (df ≥ 1; tables to 30, beyond that 30's value, which is conservative).
pub fn t95(df: usize) -> f64 {
    const T: [f64; 30] = [
        6.314, 2.920, 2.353, 2.132, 2.015, 1.943, 1.895, 1.860, 1.833, 1.812, 1.796, 1.782, 1.771,
        1.761, 1.753, 1.746, 1.740, 1.734, 1.729, 1.725, 1.721, 1.717, 1.714, 1.711, 1.708, 1.706,
        1.703, 1.701, 1.699, 1.697,
    ];
    T[df.clamp(1, 30) - 1]
}

/// Mean and sample standard deviation, divisor n − 1 (`None` with fewer than
/// two values; the mean of no values is 0).
pub fn mean_sd(values: &[f64]) -> (f64, Option<f64>) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n.max(1.0);
    if values.len() < 2 {
        return (mean, None);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, Some(var.sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_sample_sd() {
        assert_eq!(mean_sd(&[]), (0.0, None));
        assert_eq!(mean_sd(&[2.0]), (2.0, None));
        let (mean, sd) = mean_sd(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(mean, 2.5);
        assert!((sd.unwrap() - (5.0_f64 / 3.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn t95_clamps_its_degrees_of_freedom() {
        assert_eq!(t95(0), t95(1));
        assert_eq!(t95(1), 6.314);
        assert_eq!(t95(100), t95(30));
    }
}
