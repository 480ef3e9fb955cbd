//! A minimal HTML writer: every piece of text goes through [`escape`] (operator names come from
//! a file anyone with registry access can edit), pages share one layout with inline CSS, and no
//! external asset is ever referenced (the dashboard works offline).

use std::fmt::Write;

/// Escapes text for HTML element content and double- or single-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The dashboard's sections (navigation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Rate, APR, latest report.
    Overview,
    /// Operators table and operator pages.
    Operators,
    /// Report list.
    Reports,
}

const CSS: &str = "\
*{box-sizing:border-box}\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1f2933;background:#f5f7fa}\
header{background:#1f2933;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.5rem;align-items:baseline}\
header a{color:#cbd2d9;text-decoration:none}header a.active{color:#fff;font-weight:600}\
header .brand{font-weight:700;color:#fff}\
main{padding:1rem 1.2rem;max-width:1400px}\
h1{font-size:1.4rem;margin:.4rem 0 1rem}h2{font-size:1.1rem;margin:1.4rem 0 .6rem}\
.cards{display:flex;flex-wrap:wrap;gap:.8rem}\
.card{background:#fff;border:1px solid #e4e7eb;border-radius:6px;padding:.6rem .9rem;min-width:12rem}\
.card .label{font-size:.75rem;color:#616e7c;text-transform:uppercase;letter-spacing:.04em}\
.card .value{font-size:1.15rem;font-variant-numeric:tabular-nums;margin-top:.2rem}\
table{border-collapse:collapse;background:#fff;border:1px solid #e4e7eb;font-size:.85rem}\
th,td{padding:.35rem .6rem;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top}\
th{background:#f0f4f8;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}\
.mono{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:.8rem;word-break:break-all}\
.ok{color:#18794e;font-weight:600}.bad{color:#c62828;font-weight:600}.warn{color:#b45309;font-weight:600}\
.banner{background:#fff4e5;border:1px solid #f0b429;border-radius:6px;padding:.6rem .9rem;margin-bottom:1rem}\
.muted{color:#616e7c}.scroll{overflow-x:auto}\
svg{background:#fff;border:1px solid #e4e7eb;border-radius:6px}\
footer{padding:1rem 1.2rem;color:#9aa5b1;font-size:.75rem}";

/// A whole page: layout, navigation and `body` (already escaped HTML).
pub fn page(title: &str, section: Section, body: &str) -> String {
    let link = |href: &str, label: &str, s: Section| {
        format!(
            "<a href=\"{href}\"{}>{label}</a>",
            if s == section {
                " class=\"active\""
            } else {
                ""
            }
        )
    };
    let mut out = String::with_capacity(body.len() + 4096);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{} · poolvc</title><style>{CSS}</style></head><body>\
<header><span class=\"brand\">poolvc</span>{}{}{}</header><main>{body}</main>\
<footer>Read-only view of the pool's accounting store. Numbers: ETH with 9 decimals from gwei \
(18 from wei); rates as decimals.</footer></body></html>\n",
        escape(title),
        link("/dashboard/", "Overview", Section::Overview),
        link("/dashboard/operators", "Operators", Section::Operators),
        link("/dashboard/reports", "Reports", Section::Reports),
    );
    out
}

/// `<td>` with a stable test id; `class` is `num` for numbers.
pub fn td(test_id: &str, class: &str, text: &str) -> String {
    format!(
        "<td class=\"{class}\" data-testid=\"{}\">{}</td>",
        escape(test_id),
        escape(text)
    )
}

/// A summary card with a label and a value carrying a stable test id (also its `id`).
pub fn card(label: &str, test_id: &str, value: &str) -> String {
    format!(
        "<div class=\"card\"><div class=\"label\">{}</div><div class=\"value\" id=\"{id}\" data-testid=\"{id}\">{}</div></div>",
        escape(label),
        escape(value),
        id = escape(test_id),
    )
}

/// A yes/no verdict with its class.
pub fn verdict(test_id: &str, ok: bool, yes: &str, no: &str) -> String {
    format!(
        "<td class=\"{}\" data-testid=\"{}\">{}</td>",
        if ok { "ok" } else { "bad" },
        escape(test_id),
        escape(if ok { yes } else { no })
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        let p = page("<b>", Section::Overview, "");
        assert!(p.contains("<title>&lt;b&gt; · poolvc</title>"));
        assert!(!p.contains("http://") && !p.contains("https://"));
    }
}
