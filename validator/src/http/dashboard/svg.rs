//! Server-rendered SVG line charts (no script, no external asset). Values are integers
//! (scaled rates, ppm); coordinates are computed in `f64` only for drawing, while every label
//! shows the exact integer formatted by the caller.
//!
//! The vertical axis follows the applied values (final reports; all values when none is
//! final). [`Scale::Full`] spans all of them. [`Scale::Robust`] keeps one wild value (a first
//! frame at −243,788 %, a slashing) from flattening every other point, by [`axis_range`]:
//!
//! 1. with fewer than 3 values, or when the rule below clips nothing, the full range;
//! 2. `m` = the lower median (`sorted[(n−1)/2]`); the deviations `|v − m|` sorted ascending;
//!    `k = max(1, ⌊n/4⌋)` values may stand out; the unit `u` = the deviation `sorted[n−1−k]`
//!    (`u = 0`: the full range);
//! 3. the fences are `m ± 4u`; when the full range is at most 3 × the fences' width (`24u`)
//!    nothing is clipped;
//! 4. otherwise the axis spans the values inside the fences, and the values outside are
//!    **off scale**.
//!
//! Invariants: every point is drawn exactly once and carries `data-frame` and `data-value`
//! (its true value); a point outside the axis (off scale, or a withheld value beyond the
//! applied ones) is drawn as a triangle on the edge it crosses, pointing outwards, with
//! `data-off-scale="high|low"` and its true value both in its tooltip and in a visible label;
//! the output is a pure function of the input.

use std::fmt::Write;

use super::html::escape;

/// One point of a chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartPoint {
    /// Frame of the report.
    pub frame: u64,
    /// The value (scaled integer).
    pub value: i128,
    /// The value as shown.
    pub label: String,
    /// Whether the report was withheld (drawn apart: its value was never applied).
    pub withheld: bool,
}

/// How the vertical axis is chosen from the applied values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// From the smallest to the largest applied value (cumulative series: the exchange rate).
    Full,
    /// Outliers off scale ([`axis_range`]; per-frame series: the APR).
    Robust,
}

/// The values the axis spans (inclusive); values outside are drawn off scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AxisRange {
    /// Lowest value on the axis.
    pub lo: i128,
    /// Highest value on the axis.
    pub hi: i128,
}

/// Values that may stand out: `max(1, n/4)`.
fn outliers_allowed(n: usize) -> usize {
    (n / 4).max(1)
}

/// Fences at the median ± this many units.
const FENCE_UNITS: u128 = 4;
/// Nothing is clipped while the full range is at most this many fence widths.
const CLIP_RATIO: u128 = 3;

/// The axis range of `values` (any order; empty gives `0..=0`) under `scale` (module docs).
pub fn axis_range(values: &[i128], scale: Scale) -> AxisRange {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let (Some(&lo), Some(&hi)) = (sorted.first(), sorted.last()) else {
        return AxisRange { lo: 0, hi: 0 };
    };
    let full = AxisRange { lo, hi };
    let n = sorted.len();
    if scale == Scale::Full || n < 3 {
        return full;
    }
    let m = sorted[(n - 1) / 2];
    let mut deviations: Vec<u128> = sorted.iter().map(|v| v.abs_diff(m)).collect();
    deviations.sort_unstable();
    let unit = deviations[n - 1 - outliers_allowed(n)];
    if unit == 0 {
        return full;
    }
    let reach = unit.saturating_mul(FENCE_UNITS);
    let fence_width = reach.saturating_mul(2);
    if hi.abs_diff(lo) <= fence_width.saturating_mul(CLIP_RATIO) {
        return full;
    }
    let inside = |v: &&i128| v.abs_diff(m) <= reach;
    // `m` itself is inside, so both exist.
    let in_lo = sorted.iter().find(inside).copied().unwrap_or(m);
    let in_hi = sorted.iter().rev().find(inside).copied().unwrap_or(m);
    AxisRange {
        lo: in_lo,
        hi: in_hi,
    }
}

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 170.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 44.0;
/// Half the width of an off-scale triangle.
const MARK: f64 = 5.0;

/// Where a point lies against the axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    OnScale,
    High,
    Low,
}

/// A line chart of `points` (in frame order) with the id `id`; `format` writes axis labels.
pub fn line_chart(
    id: &str,
    title: &str,
    points: &[ChartPoint],
    format: &dyn Fn(i128) -> String,
    scale: Scale,
) -> String {
    let mut out = String::new();
    let id = escape(id);
    let _ = write!(
        out,
        "<svg id=\"{id}\" data-testid=\"{id}\" role=\"img\" aria-label=\"{t}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\"><title>{t}</title>",
        t = escape(title),
    );
    if points.is_empty() {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#616e7c\">No reports yet</text></svg>",
            WIDTH / 2.0,
            HEIGHT / 2.0
        );
        return out;
    }
    // The axis follows the applied values (final reports); withheld values, never applied and
    // often far off (that is why they were withheld), are off scale when outside.
    let applied: Vec<i128> = if points.iter().any(|p| !p.withheld) {
        points
            .iter()
            .filter(|p| !p.withheld)
            .map(|p| p.value)
            .collect()
    } else {
        points.iter().map(|p| p.value).collect()
    };
    let AxisRange { lo, hi } = axis_range(&applied, scale);
    // Rates sit far from zero: scale them to their own range; signed series include zero.
    let (min, max) = if lo > 0 {
        (lo, hi)
    } else {
        (lo.min(0), hi.max(0))
    };
    let placement = |v: i128| {
        if v > max {
            Placement::High
        } else if v < min {
            Placement::Low
        } else {
            Placement::OnScale
        }
    };
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let bottom = TOP + plot_h;
    let x = |i: usize| {
        if points.len() == 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (points.len() - 1) as f64
        }
    };
    let y = |v: i128| {
        if max == min {
            TOP + plot_h / 2.0
        } else {
            let above = max.abs_diff(v.clamp(min, max)) as f64;
            TOP + plot_h * above / max.abs_diff(min) as f64
        }
    };
    // Axes and labels.
    let _ = write!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{bottom}\" stroke=\"#9aa5b1\"/><line x1=\"{LEFT}\" y1=\"{bottom}\" x2=\"{r}\" y2=\"{bottom}\" stroke=\"#9aa5b1\"/>",
        r = WIDTH - RIGHT,
    );
    for (value, anchor_y) in [(max, y(max) + 4.0), (min, y(min) + 4.0)] {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{anchor_y:.1}\" text-anchor=\"end\" font-size=\"11\" fill=\"#52606d\">{}</text>",
            LEFT - 6.0,
            escape(&format(value))
        );
    }
    if min < 0 && max > 0 {
        let zero = y(0);
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" y1=\"{zero:.1}\" x2=\"{}\" y2=\"{zero:.1}\" stroke=\"#cbd2d9\" stroke-dasharray=\"4 3\"/>",
            WIDTH - RIGHT
        );
    }
    let (first, last) = (points[0].frame, points[points.len() - 1].frame);
    let _ = write!(
        out,
        "<text x=\"{LEFT}\" y=\"{ly}\" font-size=\"11\" fill=\"#52606d\">frame {first}</text><text x=\"{}\" y=\"{ly}\" text-anchor=\"end\" font-size=\"11\" fill=\"#52606d\">frame {last}</text>",
        WIDTH - RIGHT,
        ly = HEIGHT - BOTTOM + 18.0,
    );
    // The applied series (final reports) as a line (off-scale points on the edge); withheld
    // reports as hollow red markers.
    let line: Vec<String> = points
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.withheld)
        .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.value)))
        .collect();
    if line.len() > 1 {
        let _ = write!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#2563eb\" stroke-width=\"2\"/>",
            line.join(" ")
        );
    }
    let mut off_scale = 0usize;
    for (i, p) in points.iter().enumerate() {
        let (fill, stroke) = if p.withheld {
            ("#ffffff", "#c62828")
        } else {
            ("#2563eb", "#2563eb")
        };
        let place = placement(p.value);
        let off = match place {
            Placement::OnScale => "",
            Placement::High => ", off scale: above the axis",
            Placement::Low => ", off scale: below the axis",
        };
        let note = if p.withheld {
            format!(" (withheld, not applied{off})")
        } else if place == Placement::OnScale {
            String::new()
        } else {
            format!(" ({})", &off[2..])
        };
        let tooltip = format!(
            "<title>frame {}: {}{note}</title>",
            p.frame,
            escape(&p.label)
        );
        let (cx, cy) = (x(i), y(p.value));
        match place {
            Placement::OnScale => {
                let _ = write!(
                    out,
                    "<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"3.5\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\" data-frame=\"{}\" data-value=\"{}\">{tooltip}</circle>",
                    p.frame, p.value,
                );
            }
            Placement::High | Placement::Low => {
                off_scale += 1;
                // A triangle on the edge, pointing out of the plot; the true value beside it.
                let (tip, base, side, label_y) = if place == Placement::High {
                    (cy - MARK, cy + MARK, "high", cy + MARK + 11.0)
                } else {
                    (cy + MARK, cy - MARK, "low", cy - MARK - 4.0)
                };
                let anchor = if i + 1 == points.len() && points.len() > 1 {
                    ("end", cx - MARK - 2.0)
                } else {
                    ("start", cx + MARK + 2.0)
                };
                let _ = write!(
                    out,
                    "<polygon points=\"{cx:.1},{tip:.1} {:.1},{base:.1} {:.1},{base:.1}\" fill=\"{fill}\" stroke=\"#c62828\" stroke-width=\"1.5\" data-frame=\"{f}\" data-value=\"{v}\" data-off-scale=\"{side}\" data-testid=\"{id}-off-scale-{f}\">{tooltip}</polygon><text x=\"{:.1}\" y=\"{label_y:.1}\" text-anchor=\"{}\" font-size=\"10\" fill=\"#c62828\" data-testid=\"{id}-off-scale-{f}-label\">{}</text>",
                    cx - MARK,
                    cx + MARK,
                    anchor.1,
                    anchor.0,
                    escape(&p.label),
                    f = p.frame,
                    v = p.value,
                );
            }
        }
    }
    if off_scale > 0 {
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"10\" fill=\"#616e7c\" data-testid=\"{id}-off-scale-note\">{off_scale} off scale (▲ above, ▼ below the axis): true value beside the marker</text>",
            LEFT + plot_w / 2.0,
            HEIGHT - 6.0,
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(frame: u64, value: i128, withheld: bool) -> ChartPoint {
        ChartPoint {
            frame,
            value,
            label: value.to_string(),
            withheld,
        }
    }

    fn range(values: &[i128]) -> (i128, i128) {
        let r = axis_range(values, Scale::Robust);
        (r.lo, r.hi)
    }

    #[test]
    fn robust_range_clips_a_lone_outlier() {
        // APR in ppm: a first frame at −243,788 % among frames near 5,000 %.
        let apr = [
            -2_437_880_000,
            50_000_000,
            51_000_000,
            49_000_000,
            50_500_000,
        ];
        assert_eq!(range(&apr), (49_000_000, 51_000_000));
        assert_eq!(
            axis_range(&apr, Scale::Full),
            AxisRange {
                lo: -2_437_880_000,
                hi: 51_000_000
            }
        );
        // Order does not matter; an outlier above is clipped the same way.
        assert_eq!(range(&[51, 50, 5_000_000, 49, 50]), (49, 51));
        // Three values: the one far from the other two is off scale.
        assert_eq!(
            range(&[-2_437_880_000, 50_000_000, 51_000_000]),
            (50_000_000, 51_000_000)
        );
    }

    #[test]
    fn robust_range_keeps_ordinary_series_whole() {
        // Too few values to tell.
        assert_eq!(
            range(&[-2_437_880_000, 50_000_000]),
            (-2_437_880_000, 50_000_000)
        );
        assert_eq!(range(&[7]), (7, 7));
        assert_eq!(range(&[]), (0, 0));
        // A steady trend, noise, a wider spread of ordinary values: nothing is clipped.
        let trend: Vec<i128> = (0..500).map(|i| 1_000_000 + 37 * i).collect();
        assert_eq!(range(&trend), (1_000_000, 1_000_000 + 37 * 499));
        assert_eq!(range(&[5_000, 5_100, 6_000]), (5_000, 6_000));
        // Two regimes of ten frames each: both stay on the axis.
        let regimes: Vec<i128> = (0..20)
            .map(|i| if i < 10 { 5_000 + i } else { 9_000 + i })
            .collect();
        assert_eq!(range(&regimes), (5_000, 9_019));
        // Mostly equal values: no unit, nothing clipped (nothing would be hidden either).
        assert_eq!(range(&[-243_788, 5, 5, 5, 5]), (-243_788, 5));
        // Extremes do not overflow; two wild values of five are more than may stand out.
        assert_eq!(
            range(&[i128::MIN, 0, 1, 2, i128::MAX]),
            (i128::MIN, i128::MAX)
        );
        assert_eq!(range(&[0, 1, 2, 1, i128::MAX]), (0, 2));
    }

    #[test]
    fn off_scale_points_are_marked_with_their_true_value() {
        let mut points: Vec<ChartPoint> = [-2_437_880_000, 50_000_000, 51_000_000, 49_000_000]
            .iter()
            .enumerate()
            .map(|(i, v)| point(i as u64, *v, false))
            .collect();
        points[0].label = "-243788.0000%".into();
        points.push(point(4, 9_000_000_000, true));
        let svg = line_chart(
            "chart-apr",
            "APR",
            &points,
            &|v| v.to_string(),
            Scale::Robust,
        );
        assert_eq!(
            svg.matches("data-frame=").count(),
            5,
            "every point drawn once"
        );
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains(
            "data-frame=\"0\" data-value=\"-2437880000\" data-off-scale=\"low\" data-testid=\"chart-apr-off-scale-0\"><title>frame 0: -243788.0000% (off scale: below the axis)</title>"
        ));
        assert!(svg.contains("data-testid=\"chart-apr-off-scale-0-label\">-243788.0000%</text>"));
        assert!(svg.contains("data-off-scale=\"high\" data-testid=\"chart-apr-off-scale-4\""));
        assert!(
            svg.contains("frame 4: 9000000000 (withheld, not applied, off scale: above the axis)")
        );
        assert!(svg.contains("data-testid=\"chart-apr-off-scale-note\">2 off scale"));
        // The axis spans the ordinary values only.
        assert!(svg.contains(">51000000<") && svg.contains(">49000000<"));
        assert!(!svg.contains(">-2437880000<"));
        // The line still goes through every applied point (off-scale ones on the edge).
        let line = svg.split("<polyline points=\"").nth(1).unwrap();
        let line = &line[..line.find('"').unwrap()];
        assert_eq!(line.split(' ').count(), 4);
        assert!(
            line.starts_with("170.0,216.0 "),
            "frame 0 on the bottom edge: {line}"
        );

        // Full scale: the same points all on the axis (except the withheld one).
        let full = line_chart("chart-apr", "APR", &points, &|v| v.to_string(), Scale::Full);
        assert_eq!(full.matches("data-off-scale=").count(), 1);
        assert!(full.contains(">-2437880000<"));
    }

    #[test]
    fn draws_points_line_and_labels() {
        let points = [point(0, -5, false), point(1, 10, false), point(2, 20, true)];
        let svg = line_chart(
            "chart-x",
            "X <&>",
            &points,
            &|v| format!("v{v}"),
            Scale::Full,
        );
        assert!(svg.starts_with("<svg id=\"chart-x\""));
        assert!(svg.contains("<title>X &lt;&amp;&gt;</title>"));
        assert_eq!(svg.matches("<circle").count(), 2);
        assert_eq!(svg.matches("data-frame=").count(), 3);
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert!(!svg.contains(">v20<") && svg.contains(">v-5<"));
        assert!(
            svg.contains("stroke-dasharray"),
            "zero line between -5 and 10"
        );
        assert!(svg.contains("frame 2: 20 (withheld, not applied, off scale: above the axis)"));
        assert!(
            svg.contains(">v10<"),
            "the scale follows the applied values"
        );
        assert_eq!(
            svg,
            line_chart(
                "chart-x",
                "X <&>",
                &points,
                &|v| format!("v{v}"),
                Scale::Full
            ),
            "deterministic"
        );
    }

    #[test]
    fn empty_and_single() {
        assert!(
            line_chart("c", "t", &[], &|v| v.to_string(), Scale::Robust).contains("No reports yet")
        );
        let one = line_chart(
            "c",
            "t",
            &[point(4, 7, false)],
            &|v| v.to_string(),
            Scale::Robust,
        );
        assert_eq!(one.matches("<circle").count(), 1);
        assert!(!one.contains("off-scale"));
    }
}
