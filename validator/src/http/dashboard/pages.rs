//! The dashboard's pages, as pure functions of the data (no I/O): the same data always gives
//! the same bytes. Key numbers carry a stable `data-testid` (and `id` on cards).

use std::fmt::Write;

use pool_registry::report::{ReportEnvelope, ReportStatus, Tally};

use super::html::{Section, card, escape, page, td, verdict};
use super::svg::{ChartPoint, Scale, line_chart};
use crate::http::format::{
    bps_percent, eth_from_gwei, eth_from_gwei_signed, eth_from_wei, ppm_percent, rate, utc_time,
};
use crate::http::reports::data::{LedgerRecords, OperatorDetail, OperatorsData, ValidatorsSource};
use crate::http::reports::views::reasons;
use crate::http::state::ChainInfo;
use crate::http::verify::{SignatureCheck, Verification};

fn reasons_text(envelope: &ReportEnvelope) -> String {
    reasons(&envelope.violations)
        .iter()
        .map(|r| r.message.clone())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The overview: latest final report, a withheld-report banner, rate and APR charts.
pub fn overview(
    pool_name: &str,
    latest_final: Option<&ReportEnvelope>,
    history: &[ReportEnvelope],
    chain: &ChainInfo,
) -> String {
    let mut body = format!("<h1 data-testid=\"pool-name\">{}</h1>", escape(pool_name));
    if let Some(last) = history
        .last()
        .filter(|r| r.status == ReportStatus::Withheld)
    {
        let _ = write!(
            body,
            "<div class=\"banner\">The latest report, frame <span data-testid=\"latest-withheld-frame\">{}</span>, is <span class=\"warn\">withheld</span>: <span data-testid=\"latest-withheld-reasons\">{}</span></div>",
            last.report.frame,
            escape(&reasons_text(last))
        );
    }
    match latest_final {
        None => body.push_str("<p>No final report yet.</p>"),
        Some(env) => {
            let r = &env.report;
            let t = &r.totals;
            body.push_str("<h2>Latest final report</h2><div class=\"cards\">");
            for (label, id, value) in [
                ("Frame", "latest-frame", r.frame.to_string()),
                (
                    "Reference slot",
                    "latest-reference-slot",
                    r.reference_slot.as_u64().to_string(),
                ),
                (
                    "Reference time",
                    "latest-reference-time",
                    utc_time(chain.slot_time(r.reference_slot.as_u64())),
                ),
                ("Exchange rate (ETH per share)", "latest-rate", rate(r.rate)),
                ("APR", "latest-apr", ppm_percent(r.apr_ppm)),
                (
                    "Net rewards (ETH)",
                    "latest-net-rewards",
                    eth_from_gwei_signed(t.net_rewards_gwei),
                ),
                ("Fees (ETH)", "latest-fees", eth_from_gwei(t.fee_gwei)),
                (
                    "Active validators",
                    "latest-validators-active",
                    t.validators_active.to_string(),
                ),
                (
                    "Effectiveness",
                    "latest-effectiveness",
                    ppm_percent(t.effectiveness_ppm as i64),
                ),
            ] {
                body.push_str(&card(label, id, &value));
            }
            body.push_str("</div>");
        }
    }
    let finals = history
        .iter()
        .filter(|r| r.status == ReportStatus::Final)
        .count();
    let _ = write!(
        body,
        "<p class=\"muted\">Reports shown: <span data-testid=\"reports-final-count\">{finals}</span> final, <span data-testid=\"reports-withheld-count\">{}</span> withheld.</p>",
        history.len() - finals
    );
    let points = |value: &dyn Fn(&ReportEnvelope) -> i128, label: &dyn Fn(i128) -> String| {
        history
            .iter()
            .map(|r| ChartPoint {
                frame: r.report.frame,
                value: value(r),
                label: label(value(r)),
                withheld: r.status == ReportStatus::Withheld,
            })
            .collect::<Vec<_>>()
    };
    let rate_label = |v: i128| rate(types::U256::from(v.unsigned_abs()));
    let apr_label = |v: i128| ppm_percent(v as i64);
    let rate_value = |r: &ReportEnvelope| i128::try_from(r.report.rate).unwrap_or(i128::MAX);
    let apr_value = |r: &ReportEnvelope| i128::from(r.report.apr_ppm);
    body.push_str("<h2>Exchange rate (ETH per share)</h2>");
    body.push_str(&line_chart(
        "chart-rate",
        "Exchange rate by frame",
        &points(&rate_value, &rate_label),
        &rate_label,
        Scale::Full,
    ));
    body.push_str("<h2>APR</h2>");
    body.push_str(&line_chart(
        "chart-apr",
        "APR by frame",
        &points(&apr_value, &apr_label),
        &apr_label,
        // One frame's APR can be wild (a slashing, a short first frame): keep it off scale.
        Scale::Robust,
    ));
    page("Overview", Section::Overview, &body)
}

fn operator_cells(prefix: &str, t: &Tally) -> String {
    [
        (
            format!("{prefix}-validators-active"),
            t.validators_active.to_string(),
        ),
        (
            format!("{prefix}-net-rewards"),
            eth_from_gwei_signed(t.net_rewards_gwei),
        ),
        (
            format!("{prefix}-cl-rewards"),
            eth_from_gwei(t.cl_rewards_gwei),
        ),
        (
            format!("{prefix}-penalties"),
            eth_from_gwei(t.penalties_gwei),
        ),
        (
            format!("{prefix}-el-rewards"),
            eth_from_gwei(t.el_rewards_gwei),
        ),
        (format!("{prefix}-fee"), eth_from_gwei(t.operator_fee_gwei)),
        (
            format!("{prefix}-effectiveness"),
            ppm_percent(t.effectiveness_ppm as i64),
        ),
        (
            format!("{prefix}-attestations-missed"),
            t.attestations_missed.to_string(),
        ),
        (
            format!("{prefix}-proposals-missed"),
            t.proposals_missed.to_string(),
        ),
        (format!("{prefix}-sync-missed"), t.sync_missed.to_string()),
        (
            format!("{prefix}-slashed"),
            t.validators_slashed.to_string(),
        ),
        (
            format!("{prefix}-slashing-losses"),
            eth_from_gwei(t.slashing_losses_gwei),
        ),
        (
            format!("{prefix}-credential-mismatches"),
            t.credential_mismatches.to_string(),
        ),
        (
            format!("{prefix}-fee-recipient-mismatches"),
            t.fee_recipient_mismatches.to_string(),
        ),
    ]
    .iter()
    .map(|(id, v)| td(id, "num", v))
    .collect()
}

const OPERATOR_HEADERS: &str = "<th>Active</th><th>Net rewards (ETH)</th><th>CL rewards (ETH)</th><th>Penalties (ETH)</th><th>EL rewards (ETH)</th><th>Operator fee (ETH)</th><th>Effectiveness</th><th>Missed attestations</th><th>Missed proposals</th><th>Missed sync</th><th>Slashed</th><th>Slashing losses (ETH)</th><th>Credential mismatches</th><th>Fee recipient mismatches</th>";

/// The operators table of the latest final report.
pub fn operators(data: Option<&OperatorsData>) -> String {
    let Some(data) = data else {
        return page(
            "Operators",
            Section::Operators,
            "<h1>Operators</h1><p>No final report yet.</p>",
        );
    };
    let mut body = format!(
        "<h1>Operators</h1><p class=\"muted\">From the final report of frame <span data-testid=\"operators-frame\">{}</span> (root <span class=\"mono\">{}</span>).</p><div class=\"scroll\"><table><thead><tr><th>Id</th><th>Name</th><th>Fee rate</th>{OPERATOR_HEADERS}<th>Cumulative fees (ETH)</th></tr></thead><tbody>",
        data.report.report.frame, data.report.root
    );
    for row in &data.rows {
        let prefix = format!("op-{}", row.id);
        let name = row.name.as_deref().unwrap_or("(not in registry)");
        let _ = write!(
            body,
            "<tr data-testid=\"operator-row-{id}\"><td>{id}</td><td data-testid=\"{prefix}-name\"><a href=\"/dashboard/operators/{id}\">{}</a></td>{}{}{}</tr>",
            escape(name),
            td(
                &format!("{prefix}-bps"),
                "num",
                &bps_percent(row.operator_bps)
            ),
            operator_cells(&prefix, &row.tally),
            td(
                &format!("{prefix}-cumulative-fee"),
                "num",
                &eth_from_wei(row.cumulative_fee_wei)
            ),
            id = row.id,
        );
    }
    let _ = write!(
        body,
        "<tr data-testid=\"operator-row-totals\"><th colspan=\"3\">Pool</th>{}<td></td></tr></tbody></table></div>",
        operator_cells("totals", &data.report.report.totals)
    );
    page("Operators", Section::Operators, &body)
}

fn signature_text(check: SignatureCheck) -> (&'static str, bool) {
    match check {
        SignatureCheck::Valid => ("valid", true),
        SignatureCheck::NotSigned => ("not signed (withheld)", true),
        SignatureCheck::Invalid => ("INVALID", false),
        SignatureCheck::Missing => ("missing", false),
        SignatureCheck::WrongSigner => ("wrong signer", false),
        SignatureCheck::UnexpectedSignature => ("signed while withheld", false),
        SignatureCheck::NoOracleKey => ("unchecked: no oracle key", false),
    }
}

/// The report list with status, root and verification; `older` links the next page.
pub fn reports(
    items: &[(ReportEnvelope, Verification)],
    older: Option<u64>,
    chain: &ChainInfo,
) -> String {
    let mut body = String::from(
        "<h1>Reports</h1><div class=\"scroll\"><table><thead><tr><th>Frame</th><th>Epochs</th><th>Reference</th><th>Status</th><th>Root</th><th>Rate</th><th>APR</th><th>Signature</th><th>Root recomputed</th><th>Merkle proofs</th><th>Verified</th></tr></thead><tbody>",
    );
    for (env, v) in items {
        let r = &env.report;
        let f = r.frame;
        let status = match env.status {
            ReportStatus::Final => "<span class=\"ok\">final</span>".to_owned(),
            ReportStatus::Withheld => format!(
                "<span class=\"warn\">withheld</span><div data-testid=\"report-{f}-reasons\">{}</div>",
                escape(&reasons_text(env))
            ),
        };
        let (signature, signature_ok) = signature_text(v.signature);
        let _ = write!(
            body,
            "<tr data-testid=\"report-row-{f}\"><td>{f}</td><td>{}–{}</td><td>slot {}<br><span class=\"muted\">{}</span></td><td data-testid=\"report-{f}-status\" data-status=\"{}\">{status}</td><td class=\"mono\" data-testid=\"report-{f}-root\">{}</td>{}{}{}{}{}{}</tr>",
            r.first_epoch.as_u64(),
            r.last_epoch.as_u64(),
            r.reference_slot.as_u64(),
            utc_time(chain.slot_time(r.reference_slot.as_u64())),
            env.status.as_str(),
            env.root,
            td(&format!("report-{f}-rate"), "num", &rate(r.rate)),
            td(&format!("report-{f}-apr"), "num", &ppm_percent(r.apr_ppm)),
            verdict(
                &format!("report-{f}-signature"),
                signature_ok,
                signature,
                signature
            ),
            verdict(
                &format!("report-{f}-root-check"),
                v.root_matches,
                "matches",
                "MISMATCH"
            ),
            verdict(
                &format!("report-{f}-merkle"),
                v.rewards_root_matches && v.proofs_verify,
                "verify",
                "FAIL"
            ),
            verdict(&format!("report-{f}-verified"), v.verified, "yes", "NO"),
        );
    }
    body.push_str("</tbody></table></div>");
    if items.is_empty() {
        body.push_str("<p>No reports.</p>");
    }
    if let Some(to) = older {
        let _ = write!(
            body,
            "<p><a href=\"/dashboard/reports?to_frame={to}\">Older reports</a></p>"
        );
    }
    page("Reports", Section::Reports, &body)
}

/// One operator: figures, validators and Merkle proof.
pub fn operator(d: &OperatorDetail) -> String {
    let name = d.row.name.as_deref().unwrap_or("(not in registry)");
    let mut body = format!(
        "<h1><span data-testid=\"operator-name\">{}</span> <span class=\"muted\">#{}</span></h1><p class=\"muted\">Frame {} report{}. Reward address <span class=\"mono\">{}</span>, fee rate {}.</p>",
        escape(name),
        d.row.id,
        d.report.report.frame,
        if d.in_report {
            ""
        } else {
            " (operator not in it yet)"
        },
        d.row.reward_address,
        bps_percent(d.row.operator_bps),
    );
    let t = &d.row.tally;
    body.push_str("<div class=\"cards\">");
    for (label, id, value) in [
        (
            "Net rewards (ETH)",
            "operator-net-rewards",
            eth_from_gwei_signed(t.net_rewards_gwei),
        ),
        (
            "Operator fee (ETH)",
            "operator-fee",
            eth_from_gwei(t.operator_fee_gwei),
        ),
        (
            "Cumulative fees (ETH)",
            "operator-cumulative-fee",
            eth_from_wei(d.row.cumulative_fee_wei),
        ),
        (
            "Effectiveness",
            "operator-effectiveness",
            ppm_percent(t.effectiveness_ppm as i64),
        ),
        (
            "Active validators",
            "operator-validators-active",
            t.validators_active.to_string(),
        ),
        (
            "Slashed",
            "operator-slashed",
            t.validators_slashed.to_string(),
        ),
        (
            "Credential mismatches",
            "operator-credential-mismatches",
            t.credential_mismatches.to_string(),
        ),
    ] {
        body.push_str(&card(label, id, &value));
    }
    body.push_str("</div>");
    let source = match d.source {
        ValidatorsSource::Snapshot => "the frame's assignment snapshot",
        ValidatorsSource::Registry => "the live registry (no snapshot stored)",
    };
    let records = match d.records {
        LedgerRecords::Available => "",
        LedgerRecords::Pruned => " Records of that epoch were pruned.",
        LedgerRecords::Missing => " That epoch is not in the ledger.",
    };
    let _ = write!(
        body,
        "<h2>Validators (<span data-testid=\"operator-validator-count\">{}</span>)</h2><p class=\"muted\">Keys from {source}; state at epoch {}.{records}</p><div class=\"scroll\"><table><thead><tr><th>Index</th><th>Public key</th><th>Status</th><th>Balance (ETH)</th><th>Effective (ETH)</th><th>Income (ETH)</th><th>Slashed</th><th>Credentials</th></tr></thead><tbody>",
        d.validators.len(),
        d.epoch.as_u64()
    );
    for v in &d.validators {
        let key = v.pubkey.to_string();
        let short = &key[..key.len().min(18)];
        match &v.record {
            Some(r) => {
                let _ = write!(
                    body,
                    "<tr data-testid=\"validator-row-{short}\">{}<td class=\"mono\">{key}</td>{}{}{}{}<td>{}</td><td class=\"{}\">{}</td></tr>",
                    td(
                        &format!("validator-{short}-index"),
                        "num",
                        &r.validator_index.to_string()
                    ),
                    td(
                        &format!("validator-{short}-status"),
                        "",
                        &format!("{:?}", r.status)
                    ),
                    td(
                        &format!("validator-{short}-balance"),
                        "num",
                        &eth_from_gwei(r.balance_end)
                    ),
                    td(
                        &format!("validator-{short}-effective"),
                        "num",
                        &eth_from_gwei(r.effective_balance)
                    ),
                    td(
                        &format!("validator-{short}-income"),
                        "num",
                        &eth_from_gwei_signed(r.income)
                    ),
                    if r.slashed_end { "yes" } else { "no" },
                    if r.credentials_mismatch { "bad" } else { "ok" },
                    if r.credentials_mismatch {
                        "mismatch"
                    } else {
                        "pool"
                    },
                );
            }
            None => {
                let _ = write!(
                    body,
                    "<tr data-testid=\"validator-row-{short}\"><td class=\"muted\">–</td><td class=\"mono\">{key}</td><td colspan=\"6\" class=\"muted\">no ledger record at this epoch</td></tr>"
                );
            }
        }
    }
    body.push_str("</tbody></table></div><h2>Merkle proof</h2>");
    match &d.proof {
        None => body.push_str("<p>The report has no entry for this operator.</p>"),
        Some(p) => {
            let _ = write!(
                body,
                "<table><tbody><tr><th>Leaf</th><td class=\"mono\">(operatorId {}, cumulativeWei <span data-testid=\"proof-cumulative-wei\">{}</span>)</td></tr><tr><th>Leaf hash</th><td class=\"mono\" data-testid=\"proof-leaf-hash\">{}</td></tr><tr><th>Proof</th><td class=\"mono\">",
                p.operator_id, p.cumulative_fee_wei, p.leaf_hash
            );
            if p.proof.is_empty() {
                body.push_str("(empty: single leaf)");
            }
            for (i, node) in p.proof.iter().enumerate() {
                let _ = write!(body, "<div data-testid=\"proof-node-{i}\">{node}</div>");
            }
            let _ = write!(
                body,
                "</td></tr><tr><th>Rewards root</th><td class=\"mono\" data-testid=\"proof-root\">{}</td></tr><tr><th>Verifies</th>{}</tr></tbody></table>",
                p.rewards_root,
                verdict("proof-verifies", p.verifies, "yes", "NO")
            );
        }
    }
    page(&format!("Operator {name}"), Section::Operators, &body)
}
