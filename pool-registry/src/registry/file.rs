//! The registry TOML file as written by the operator, with source spans, and its validation
//! into a [`super::Registry`].
//!
//! Every validation error names the file, the 1-based line and the field path. Spans come from
//! `toml::Spanned`; syntax and type errors use the span the TOML parser reports.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use types::{Address, Hash256, PublicKeyBytes, U256};

use super::{FeeConfig, FrameConfig, Operator, PoolConfig, Registry, SanityLimits};
use crate::error::{Error, Result};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    pool: Spanned<RawPool>,
    #[serde(default)]
    operators: Vec<Spanned<RawOperator>>,
    #[serde(default)]
    oracle: Option<Spanned<super::oracle::RawOracle>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPool {
    name: Spanned<String>,
    withdrawal_credentials: Spanned<String>,
    el_rewards_vault: Spanned<String>,
    #[serde(default)]
    allow_other_fee_recipients: bool,
    #[serde(default = "default_frame_epochs")]
    frame_epochs: Spanned<u64>,
    #[serde(default)]
    frame_start_epoch: u64,
    fees: Spanned<RawFees>,
    shares: Spanned<RawShares>,
    #[serde(default)]
    sanity: RawSanity,
}

fn default_frame_epochs() -> Spanned<u64> {
    Spanned::new(0..0, super::DEFAULT_FRAME_EPOCHS)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFees {
    protocol_bps: Spanned<u64>,
    operator_bps: Spanned<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawShares {
    initial_total_shares: Spanned<IntOrString>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum IntOrString {
    Int(i64),
    Str(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSanity {
    #[serde(default = "d_annual")]
    annual_balance_increase_bps: Spanned<u64>,
    #[serde(default = "d_rebase")]
    max_positive_rebase_1e9: Spanned<u64>,
    #[serde(default = "d_slashing")]
    initial_slashing_amount_pwei: Spanned<u64>,
    #[serde(default = "d_inactivity")]
    inactivity_penalties_amount_pwei: Spanned<u64>,
    #[serde(default = "d_window")]
    negative_rebase_window_epochs: Spanned<u64>,
}

fn d_annual() -> Spanned<u64> {
    Spanned::new(0..0, SanityLimits::LIDO_MAINNET.annual_balance_increase_bps)
}
fn d_rebase() -> Spanned<u64> {
    Spanned::new(0..0, SanityLimits::LIDO_MAINNET.max_positive_rebase_1e9)
}
fn d_slashing() -> Spanned<u64> {
    Spanned::new(
        0..0,
        SanityLimits::LIDO_MAINNET.initial_slashing_amount_pwei,
    )
}
fn d_inactivity() -> Spanned<u64> {
    Spanned::new(
        0..0,
        SanityLimits::LIDO_MAINNET.inactivity_penalties_amount_pwei,
    )
}
fn d_window() -> Spanned<u64> {
    Spanned::new(
        0..0,
        SanityLimits::LIDO_MAINNET.negative_rebase_window_epochs,
    )
}

impl Default for RawSanity {
    fn default() -> Self {
        Self {
            annual_balance_increase_bps: d_annual(),
            max_positive_rebase_1e9: d_rebase(),
            initial_slashing_amount_pwei: d_slashing(),
            inactivity_penalties_amount_pwei: d_inactivity(),
            negative_rebase_window_epochs: d_window(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOperator {
    id: Spanned<u64>,
    name: Spanned<String>,
    reward_address: Spanned<String>,
    operator_bps: Option<Spanned<u64>>,
    #[serde(default)]
    keys: Vec<Spanned<String>>,
    keys_file: Option<Spanned<String>>,
}

/// Maps byte offsets to 1-based line numbers.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }
}

/// Builds errors for one file.
pub(super) struct Ctx<'a> {
    file: &'a Path,
    lines: Lines,
    /// Line used for defaulted values (no span): the `[pool]` header line.
    fallback: usize,
}

impl Ctx<'_> {
    pub(super) fn err(
        &self,
        span: Range<usize>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Error {
        let line = if span == (0..0) {
            self.fallback
        } else {
            self.lines.line(span.start)
        };
        Error::Registry {
            file: self.file.to_path_buf(),
            line,
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The dotted field path at a 1-based line: the nearest `[table]` header above it joined with
/// the key assigned on the line (the TOML parser reports spans, not key paths).
fn field_at_line(text: &str, line: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let Some(current) = all.get(line.saturating_sub(1)) else {
        return "(end of file)".to_owned();
    };
    let header_of = |l: &str| {
        let t = l.trim();
        t.starts_with('[')
            .then(|| t.trim_matches(|c| c == '[' || c == ']').trim().to_owned())
    };
    if let Some(header) = header_of(current) {
        return header;
    }
    let key = current.split('=').next().unwrap_or("").trim().to_owned();
    let table = all[..line.saturating_sub(1)]
        .iter()
        .rev()
        .find_map(|l| header_of(l))
        .unwrap_or_default();
    match (table.is_empty(), key.is_empty()) {
        (true, _) => key,
        (false, true) => table,
        (false, false) => format!("{table}.{key}"),
    }
}

/// What is wrong with one value; the caller places it with the file, line and field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid(pub(crate) String);

impl From<Invalid> for String {
    fn from(invalid: Invalid) -> Self {
        invalid.0
    }
}

/// Parses `0x`-prefixed hex of exactly `N` bytes.
pub(crate) fn parse_hex<const N: usize>(text: &str) -> std::result::Result<[u8; N], Invalid> {
    let digits = text
        .strip_prefix("0x")
        .ok_or_else(|| Invalid(format!("{text:?} must start with 0x")))?;
    if digits.len() != 2 * N {
        return Err(Invalid(format!(
            "{text:?} must be {N} bytes ({} hex digits), found {} digits",
            2 * N,
            digits.len()
        )));
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(digits, &mut out)
        .map_err(|e| Invalid(format!("{text:?} is not hex: {e}")))?;
    Ok(out)
}

/// Loads and validates a registry file.
pub(crate) fn load(path: &Path) -> Result<Registry> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

/// Parses and validates registry text; `path` names the file in errors and anchors `keys_file`.
pub(crate) fn parse(path: &Path, text: &str) -> Result<Registry> {
    let lines = Lines::new(text);
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| lines.line(s.start));
        Error::Registry {
            file: path.to_path_buf(),
            line,
            field: field_at_line(text, line),
            message: e.message().trim().to_owned(),
        }
    })?;
    let fallback = lines.line(raw.pool.span().start);
    let ctx = Ctx {
        file: path,
        lines,
        fallback,
    };
    let pool = validate_pool(&ctx, raw.pool.into_inner())?;
    let base_dir = path.parent().map_or_else(PathBuf::new, Path::to_path_buf);
    let mut operators: BTreeMap<u64, Operator> = BTreeMap::new();
    let mut key_owner: HashMap<PublicKeyBytes, (u64, String)> = HashMap::new();
    for (i, raw_op) in raw.operators.into_iter().enumerate() {
        let op = raw_op.into_inner();
        let field = |name: &str| format!("operators[{i}].{name}");
        let id = *op.id.get_ref();
        if operators.contains_key(&id) {
            return Err(ctx.err(
                op.id.span(),
                field("id"),
                format!("duplicate operator id {id}"),
            ));
        }
        if op.name.get_ref().trim().is_empty() {
            return Err(ctx.err(op.name.span(), field("name"), "must not be empty"));
        }
        let reward_address = Address::from(
            parse_hex::<20>(op.reward_address.get_ref())
                .map_err(|m| ctx.err(op.reward_address.span(), field("reward_address"), m))?,
        );
        let operator_bps = match &op.operator_bps {
            Some(bps) => {
                let value = *bps.get_ref();
                check_bps_sum(
                    &ctx,
                    bps.span(),
                    &field("operator_bps"),
                    pool.fees.protocol_bps,
                    value,
                )?;
                Some(value as u16)
            }
            None => None,
        };
        let mut keys = Vec::new();
        for (k, key) in op.keys.iter().enumerate() {
            let pubkey = PublicKeyBytes::from(
                parse_hex::<48>(key.get_ref())
                    .map_err(|m| ctx.err(key.span(), field(&format!("keys[{k}]")), m))?,
            );
            let location = format!("{}:{}", path.display(), ctx.lines.line(key.span().start));
            claim_key(&mut key_owner, pubkey, id, location)
                .map_err(|m| ctx.err(key.span(), field(&format!("keys[{k}]")), m))?;
            keys.push(pubkey);
        }
        if let Some(keys_file) = &op.keys_file {
            let file = base_dir.join(keys_file.get_ref());
            let content = std::fs::read_to_string(&file).map_err(|e| {
                ctx.err(
                    keys_file.span(),
                    field("keys_file"),
                    format!("cannot read {}: {e}", file.display()),
                )
            })?;
            for (n, line) in content.lines().enumerate() {
                let entry = line.split('#').next().unwrap_or("").trim();
                if entry.is_empty() {
                    continue;
                }
                let key_err = |Invalid(message): Invalid| Error::Registry {
                    file: file.clone(),
                    line: n + 1,
                    field: format!("operators[{i}].keys_file"),
                    message,
                };
                let pubkey = PublicKeyBytes::from(parse_hex::<48>(entry).map_err(key_err)?);
                let location = format!("{}:{}", file.display(), n + 1);
                claim_key(&mut key_owner, pubkey, id, location).map_err(key_err)?;
                keys.push(pubkey);
            }
        }
        operators.insert(
            id,
            Operator {
                id,
                name: op.name.into_inner(),
                reward_address,
                operator_bps,
                keys,
            },
        );
    }
    let oracle = match raw.oracle {
        Some(section) => {
            let span = section.span();
            Some(super::oracle::validate(&ctx, span, section.into_inner())?)
        }
        None => None,
    };
    Ok(Registry::new(
        path.to_path_buf(),
        pool,
        operators.into_values().collect(),
        oracle,
    ))
}

fn claim_key(
    owners: &mut HashMap<PublicKeyBytes, (u64, String)>,
    pubkey: PublicKeyBytes,
    operator: u64,
    location: String,
) -> std::result::Result<(), Invalid> {
    if let Some((owner, first)) = owners.get(&pubkey) {
        return Err(Invalid(if *owner == operator {
            format!("key {pubkey} listed twice for operator {operator} (first at {first})")
        } else {
            format!("key {pubkey} already belongs to operator {owner} (at {first})")
        }));
    }
    owners.insert(pubkey, (operator, location));
    Ok(())
}

fn check_bps_sum(
    ctx: &Ctx<'_>,
    span: Range<usize>,
    field: &str,
    protocol: u16,
    operator: u64,
) -> Result<()> {
    if u64::from(protocol) + operator > 10_000 {
        return Err(ctx.err(
            span,
            field,
            format!(
                "protocol_bps {protocol} + operator_bps {operator} = {} exceeds 10000",
                u64::from(protocol) + operator
            ),
        ));
    }
    Ok(())
}

fn validate_pool(ctx: &Ctx<'_>, raw: RawPool) -> Result<PoolConfig> {
    if raw.name.get_ref().trim().is_empty() {
        return Err(ctx.err(raw.name.span(), "pool.name", "must not be empty"));
    }
    let wc = parse_hex::<32>(raw.withdrawal_credentials.get_ref()).map_err(|m| {
        ctx.err(
            raw.withdrawal_credentials.span(),
            "pool.withdrawal_credentials",
            m,
        )
    })?;
    if !matches!(wc[0], 0x01 | 0x02) || wc[1..12].iter().any(|&b| b != 0) {
        return Err(ctx.err(
            raw.withdrawal_credentials.span(),
            "pool.withdrawal_credentials",
            "must be 0x01 or 0x02, 11 zero bytes, then a 20-byte execution address",
        ));
    }
    let vault = parse_hex::<20>(raw.el_rewards_vault.get_ref())
        .map_err(|m| ctx.err(raw.el_rewards_vault.span(), "pool.el_rewards_vault", m))?;
    let frame_epochs = *raw.frame_epochs.get_ref();
    if frame_epochs == 0 {
        return Err(ctx.err(
            raw.frame_epochs.span(),
            "pool.frame_epochs",
            "must be at least 1",
        ));
    }
    let fees = raw.fees.into_inner();
    let protocol_bps = *fees.protocol_bps.get_ref();
    if protocol_bps > 10_000 {
        return Err(ctx.err(
            fees.protocol_bps.span(),
            "pool.fees.protocol_bps",
            format!("{protocol_bps} exceeds 10000"),
        ));
    }
    let protocol_bps = protocol_bps as u16;
    let operator_bps = *fees.operator_bps.get_ref();
    check_bps_sum(
        ctx,
        fees.operator_bps.span(),
        "pool.fees.operator_bps",
        protocol_bps,
        operator_bps,
    )?;
    let shares = raw.shares.into_inner().initial_total_shares;
    let total_shares = match shares.get_ref() {
        IntOrString::Int(v) if *v > 0 => U256::from(*v as u64),
        IntOrString::Int(v) => {
            return Err(ctx.err(
                shares.span(),
                "pool.shares.initial_total_shares",
                format!("{v} must be positive"),
            ));
        }
        IntOrString::Str(s) => match U256::from_str_radix(s, 10) {
            Ok(v) if !v.is_zero() => v,
            Ok(_) => {
                return Err(ctx.err(
                    shares.span(),
                    "pool.shares.initial_total_shares",
                    "must be positive",
                ));
            }
            Err(e) => {
                return Err(ctx.err(
                    shares.span(),
                    "pool.shares.initial_total_shares",
                    format!("{s:?} is not a decimal integer: {e}"),
                ));
            }
        },
    };
    let s = raw.sanity;
    if *s.annual_balance_increase_bps.get_ref() == 0 {
        return Err(ctx.err(
            s.annual_balance_increase_bps.span(),
            "pool.sanity.annual_balance_increase_bps",
            "must be positive",
        ));
    }
    if *s.negative_rebase_window_epochs.get_ref() == 0 {
        return Err(ctx.err(
            s.negative_rebase_window_epochs.span(),
            "pool.sanity.negative_rebase_window_epochs",
            "must be at least 1",
        ));
    }
    Ok(PoolConfig {
        name: raw.name.into_inner(),
        withdrawal_credentials: Hash256::from(wc),
        el_rewards_vault: Address::from(vault),
        allow_other_fee_recipients: raw.allow_other_fee_recipients,
        frame: FrameConfig {
            start_epoch: raw.frame_start_epoch,
            epochs: frame_epochs,
        },
        fees: FeeConfig {
            protocol_bps,
            operator_bps: operator_bps as u16,
        },
        initial_total_shares: total_shares,
        sanity: SanityLimits {
            annual_balance_increase_bps: *s.annual_balance_increase_bps.get_ref(),
            max_positive_rebase_1e9: *s.max_positive_rebase_1e9.get_ref(),
            initial_slashing_amount_pwei: *s.initial_slashing_amount_pwei.get_ref(),
            inactivity_penalties_amount_pwei: *s.inactivity_penalties_amount_pwei.get_ref(),
            negative_rebase_window_epochs: *s.negative_rebase_window_epochs.get_ref(),
        },
    })
}
