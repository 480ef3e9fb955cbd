//! Server-rendered SVG line charts (no script, no external asset). Values are integers
//! (scaled rates, ppm); coordinates are computed in `f64` only for drawing, while every label
//! shows the exact integer formatted by the caller.

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

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 170.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 44.0;

/// A line chart of `points` (in frame order) with the id `id`; `format` writes axis labels.
pub fn line_chart(
    id: &str,
    title: &str,
    points: &[ChartPoint],
    format: &dyn Fn(i128) -> String,
) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg id=\"{id}\" data-testid=\"{id}\" role=\"img\" aria-label=\"{t}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\"><title>{t}</title>",
        id = escape(id),
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
    // The scale follows the applied values (final reports); withheld values, never applied and
    // often far off (that is why they were withheld), are clamped to the edge when outside.
    let scaled: Vec<i128> = if points.iter().any(|p| !p.withheld) {
        points
            .iter()
            .filter(|p| !p.withheld)
            .map(|p| p.value)
            .collect()
    } else {
        points.iter().map(|p| p.value).collect()
    };
    let lo = scaled.iter().copied().min().unwrap_or(0);
    let hi = scaled.iter().copied().max().unwrap_or(0);
    // Rates sit far from zero: scale them to their own range; signed series include zero.
    let (min, max) = if lo > 0 {
        (lo, hi)
    } else {
        (lo.min(0), hi.max(0))
    };
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
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
            TOP + plot_h * (max - v.clamp(min, max)) as f64 / (max - min) as f64
        }
    };
    // Axes and labels.
    let _ = write!(
        out,
        "<line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{b}\" stroke=\"#9aa5b1\"/><line x1=\"{LEFT}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" stroke=\"#9aa5b1\"/>",
        b = TOP + plot_h,
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
    // The applied series (final reports) as a line; withheld reports as hollow red markers.
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
    for (i, p) in points.iter().enumerate() {
        let (fill, stroke, note) = if p.withheld {
            let off = if p.value > max || p.value < min {
                ", off scale"
            } else {
                ""
            };
            (
                "#ffffff",
                "#c62828",
                format!(" (withheld, not applied{off})"),
            )
        } else {
            ("#2563eb", "#2563eb", String::new())
        };
        let _ = write!(
            out,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\" data-frame=\"{}\" data-value=\"{}\"><title>frame {}: {}{note}</title></circle>",
            x(i),
            y(p.value),
            p.frame,
            p.value,
            p.frame,
            escape(&p.label)
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

    #[test]
    fn draws_points_line_and_labels() {
        let svg = line_chart(
            "chart-x",
            "X <&>",
            &[point(0, -5, false), point(1, 10, false), point(2, 20, true)],
            &|v| format!("v{v}"),
        );
        assert!(svg.starts_with("<svg id=\"chart-x\""));
        assert!(svg.contains("<title>X &lt;&amp;&gt;</title>"));
        assert_eq!(svg.matches("<circle").count(), 3);
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert!(!svg.contains(">v20<") && svg.contains(">v-5<"));
        assert!(
            svg.contains("stroke-dasharray"),
            "zero line between -5 and 10"
        );
        assert!(svg.contains("frame 2: 20 (withheld, not applied, off scale)"));
        assert!(
            svg.contains(">v10<"),
            "the scale follows the applied values"
        );
        assert_eq!(
            svg,
            line_chart(
                "chart-x",
                "X <&>",
                &[point(0, -5, false), point(1, 10, false), point(2, 20, true)],
                &|v| format!("v{v}")
            ),
            "deterministic"
        );
    }

    #[test]
    fn empty_and_single() {
        assert!(line_chart("c", "t", &[], &|v| v.to_string()).contains("No reports yet"));
        let one = line_chart("c", "t", &[point(4, 7, false)], &|v| v.to_string());
        assert_eq!(one.matches("<circle").count(), 1);
    }
}
