//! Statistics as pure functions over samples: order statistics with linear
//! interpolation (Hyndman–Fan type 7, the R/NumPy default), mean, sample
//! standard deviation, coefficient of variation, and a distribution-free
//! 95 % confidence interval of the median from binomial order statistics.

use serde::{Deserialize, Serialize};

/// The summary every record carries.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Stats {
    pub min: f64,
    pub median: f64,
    pub mean: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub stddev: f64,
    pub cv: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
}

/// Quantile `q` in [0, 1] of an ascending slice (type 7). NaN if empty.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
            let lo = h.floor() as usize;
            let hi = h.ceil() as usize;
            sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
        }
    }
}

pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation (n − 1). Zero for fewer than two samples.
pub fn stddev(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs);
    let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() - 1) as f64;
    var.sqrt()
}

/// Student's t at 97.5 % for 1 to 4 degrees of freedom.
const T975: [f64; 4] = [12.706, 4.303, 3.182, 2.776];

/// Student's t distribution function at `t` for `df` ≥ 1 degrees of
/// freedom, in closed form (Abramowitz & Stegun 26.7.3–4): with
/// θ = atan(t/√df), a finite series in cos θ.
pub fn t_cdf(t: f64, df: u32) -> f64 {
    let df = df.max(1);
    let th = (t / (df as f64).sqrt()).atan();
    let (s, c) = th.sin_cos();
    let c2 = c * c;
    let a = if df.is_multiple_of(2) {
        let (mut term, mut sum) = (1.0, 1.0);
        for k in 1..df / 2 {
            term *= c2 * (2 * k - 1) as f64 / (2 * k) as f64;
            sum += term;
        }
        s * sum
    } else {
        let mut sum = 0.0;
        if df > 1 {
            let mut term = c;
            sum = term;
            for k in 1..(df - 1) / 2 {
                term *= c2 * (2 * k) as f64 / (2 * k + 1) as f64;
                sum += term;
            }
        }
        2.0 / std::f64::consts::PI * (th + s * sum)
    };
    0.5 + 0.5 * a
}

/// The standard normal distribution function (erfc by its Chebyshev
/// fit, Numerical Recipes' `erfcc`: relative error under 1.2e-7).
pub fn normal_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    if x >= 0.0 {
        1.0 - 0.5 * erfc
    } else {
        0.5 * erfc
    }
}

/// The `p` quantile (0.5 ≤ p < 1) of an increasing distribution
/// function, by bisection.
fn upper_quantile(p: f64, cdf: impl Fn(f64) -> f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 1e7);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// 95 % CI of the median of an ascending slice: the order statistics at
/// ranks n/2 ∓ 1.96·√n/2 (normal approximation to the binomial), clamped to
/// the sample. Under 6 values no pair of order statistics reaches 95 %
/// (the whole range of 3 covers the median 75 % of the time, of 4
/// 87.5 %), so there the interval is Student's t times the standard error
/// about the median, never narrower than the range: a case measured in 3
/// rounds (a budget's base) must not look surer than one measured in 9.
/// Positive values (times, rates) are taken on a log scale, so the
/// interval is a factor either way, as their spread is; others (a switch
/// less its overhead, a count that can be 0) on a linear one.
pub fn median_ci95_sorted(sorted: &[f64]) -> (f64, f64) {
    median_ci_with(sorted, |df| T975[df - 1], 1.96)
}

/// The median's CI as [`median_ci95_sorted`] builds it, at any `level`
/// (0.5 ≤ level < 1): what a verdict that reads many pairs at once tests
/// each pair at, so that all of them together hold at 95 %.
pub fn median_ci_sorted(sorted: &[f64], level: f64) -> (f64, f64) {
    if (level - 0.95).abs() < 1e-12 {
        return median_ci95_sorted(sorted);
    }
    let p = 0.5 + level / 2.0;
    median_ci_with(
        sorted,
        |df| upper_quantile(p, |t| t_cdf(t, df as u32)),
        upper_quantile(p, normal_cdf),
    )
}

/// The interval with `t(df)` as Student's quantile and `z` as the
/// normal one.
fn median_ci_with(sorted: &[f64], t: impl Fn(usize) -> f64, z: f64) -> (f64, f64) {
    let n = sorted.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    if n < 6 {
        let (lo, hi) = (sorted[0], sorted[n - 1]);
        if n == 1 {
            return (lo, hi);
        }
        let m = quantile_sorted(sorted, 0.5);
        let t = t(n - 1) / (n as f64).sqrt();
        let (a, b) = if lo > 0.0 {
            let logs: Vec<f64> = sorted.iter().map(|x| x.ln()).collect();
            let h = t * stddev(&logs);
            (m * (-h).exp(), m * h.exp())
        } else {
            let h = t * stddev(sorted);
            (m - h, m + h)
        };
        return (a.min(lo), b.max(hi));
    }
    let half = z * (n as f64).sqrt() / 2.0;
    let mid = n as f64 / 2.0;
    // 1-based ranks, converted to 0-based indices.
    let lo = ((mid - half).floor() as isize).max(1) as usize - 1;
    let hi = ((mid + half).ceil() as usize + 1).min(n) - 1;
    (sorted[lo], sorted[hi])
}

/// All statistics of `xs` (any order).
pub fn summarize(xs: &[f64]) -> Stats {
    let mut s: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    s.sort_by(|a, b| a.total_cmp(b));
    if s.is_empty() {
        let nan = f64::NAN;
        return Stats {
            min: nan,
            median: nan,
            mean: nan,
            p90: nan,
            p99: nan,
            p999: nan,
            max: nan,
            stddev: nan,
            cv: nan,
            ci95_low: nan,
            ci95_high: nan,
        };
    }
    let m = mean(&s);
    let sd = stddev(&s);
    let (lo, hi) = median_ci95_sorted(&s);
    Stats {
        min: s[0],
        median: quantile_sorted(&s, 0.5),
        mean: m,
        p90: quantile_sorted(&s, 0.90),
        p99: quantile_sorted(&s, 0.99),
        p999: quantile_sorted(&s, 0.999),
        max: s[s.len() - 1],
        stddev: sd,
        cv: if m != 0.0 { sd / m.abs() } else { 0.0 },
        ci95_low: lo,
        ci95_high: hi,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn quantiles_match_type7() {
        let s = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert!(close(quantile_sorted(&s, 0.5), 5.5));
        assert!(close(quantile_sorted(&s, 0.9), 9.1));
        assert!(close(quantile_sorted(&s, 0.99), 9.91));
        assert!(close(quantile_sorted(&s, 0.0), 1.0));
        assert!(close(quantile_sorted(&s, 1.0), 10.0));
        assert!(close(quantile_sorted(&[7.0], 0.3), 7.0));
        assert!(quantile_sorted(&[], 0.5).is_nan());
    }

    #[test]
    fn median_of_odd_and_even() {
        assert!(close(summarize(&[3.0, 1.0, 2.0]).median, 2.0));
        assert!(close(summarize(&[4.0, 1.0, 3.0, 2.0]).median, 2.5));
    }

    #[test]
    fn mean_stddev_cv() {
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let st = summarize(&xs);
        assert!(close(st.mean, 5.0));
        // sample variance = 32/7
        assert!(close(st.stddev, (32.0f64 / 7.0).sqrt()));
        assert!(close(st.cv, (32.0f64 / 7.0).sqrt() / 5.0));
        assert!(close(st.min, 2.0));
        assert!(close(st.max, 9.0));
    }

    #[test]
    fn ci95_of_median_uses_order_statistics() {
        // n = 100: half-width 1.96*10/2 = 9.8 → ranks floor(40.2)=40 and
        // ceil(59.8)+1 = 61 (1-based) → values 40 and 61 for 1..=100.
        let xs: Vec<f64> = (1..=100).map(|i| i as f64).collect();
        let (lo, hi) = median_ci95_sorted(&xs);
        assert!(close(lo, 40.0), "lo = {lo}");
        assert!(close(hi, 61.0), "hi = {hi}");
        let st = summarize(&xs);
        assert!(st.ci95_low <= st.median && st.median <= st.ci95_high);
    }

    #[test]
    fn ci95_small_samples_use_students_t_and_span_the_range() {
        // 10, 20, 40: logs a ln 2 apart, sd ln 2, so a factor of
        // 2^(4.303/√3) either way of 20.
        let f = 2f64.powf(4.303 / 3f64.sqrt());
        let (lo, hi) = median_ci95_sorted(&[10.0, 20.0, 40.0]);
        assert!(close(lo, 20.0 / f) && close(hi, 20.0 * f), "{lo} {hi}");
        // With a value at or below zero, linear: 0, 1, 2 has sd 1.
        let (lo, hi) = median_ci95_sorted(&[0.0, 1.0, 2.0]);
        assert!(close(lo, 1.0 - 4.303 / 3f64.sqrt()), "lo = {lo}");
        assert!(close(hi, 1.0 + 4.303 / 3f64.sqrt()), "hi = {hi}");
        // Never narrower than the range.
        let (lo, hi) = median_ci95_sorted(&[-3.0, 0.0, 0.0, 1.0, 40.0]);
        assert!(lo < -3.0 && hi > 40.0 - 1e-9, "{lo} {hi}");
        assert_eq!(median_ci95_sorted(&[7.0]), (7.0, 7.0));
        assert_eq!(median_ci95_sorted(&[7.0, 7.0, 7.0]), (7.0, 7.0));
        let st = summarize(&[40.0, 10.0, 20.0]);
        assert!(close(st.ci95_low, lo_of(&[10.0, 20.0, 40.0])));
    }

    #[test]
    fn t_and_normal_quantiles_match_the_tables() {
        // Student's t at 97.5 %, 1 to 4 df, and at 99.5 % for 3 df; the
        // normal's 97.5 % and 99.5 %.
        for (df, want) in [(1, 12.706), (2, 4.303), (3, 3.182), (4, 2.776)] {
            let got = upper_quantile(0.975, |t| t_cdf(t, df));
            assert!((got - want).abs() < 1e-3, "df {df}: {got}");
        }
        assert!((upper_quantile(0.995, |t| t_cdf(t, 3)) - 5.841).abs() < 1e-3);
        assert!((upper_quantile(0.975, |t| t_cdf(t, 30)) - 2.042).abs() < 1e-3);
        assert!((upper_quantile(0.975, normal_cdf) - 1.960).abs() < 1e-3);
        assert!((upper_quantile(0.995, normal_cdf) - 2.576).abs() < 1e-3);
        assert!((t_cdf(0.0, 5) - 0.5).abs() < 1e-12);
        assert!((t_cdf(-1.0, 1) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn a_stricter_level_widens_the_interval() {
        // 95 % is the table's interval exactly; 99 % uses t(0.995).
        let xs = [10.0, 20.0, 40.0];
        assert_eq!(median_ci_sorted(&xs, 0.95), median_ci95_sorted(&xs));
        let f = 2f64.powf(9.925 / 3f64.sqrt());
        let (lo, hi) = median_ci_sorted(&xs, 0.99);
        assert!(
            (lo - 20.0 / f).abs() < 1e-2 && (hi - 20.0 * f).abs() < 2.0,
            "{lo} {hi}"
        );
        // n = 100 at 99 %: half-width 2.576·10/2 = 12.88 → ranks 37 and 64.
        let ys: Vec<f64> = (1..=100).map(|i| i as f64).collect();
        assert_eq!(median_ci_sorted(&ys, 0.99), (37.0, 64.0));
    }

    fn lo_of(xs: &[f64]) -> f64 {
        median_ci95_sorted(xs).0
    }

    #[test]
    fn constant_samples_have_zero_spread() {
        let st = summarize(&[4.0; 50]);
        assert_eq!(st.stddev, 0.0);
        assert_eq!(st.cv, 0.0);
        assert_eq!((st.ci95_low, st.ci95_high), (4.0, 4.0));
    }

    #[test]
    fn non_finite_samples_are_dropped() {
        let st = summarize(&[1.0, f64::NAN, 3.0, f64::INFINITY]);
        assert!(close(st.median, 2.0));
        assert!(summarize(&[]).median.is_nan());
    }

    #[test]
    fn ci_is_ordered_for_any_permutation() {
        let mut xs: Vec<f64> = (0..997).map(|i| ((i * 7919) % 997) as f64).collect();
        let a = summarize(&xs);
        xs.reverse();
        let b = summarize(&xs);
        assert_eq!(a, b);
        assert!(a.ci95_low <= a.median && a.median <= a.ci95_high);
        assert!(close(a.median, 498.0));
    }
}
