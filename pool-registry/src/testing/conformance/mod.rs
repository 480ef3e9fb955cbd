//! The accounting conformance cases (`tests/fixtures/conformance/`, normative per
//! `docs/accounting.md` §7): short pool histories on synthetic minimal-preset chains, written as
//! the Beacon API responses and published pool values an implementation reads, with the
//! outputs of this reference implementation ([`run::run_case`]) as the expected files.
//!
//! Generation is deterministic: [`cases`] rebuilds every file, and `tests/conformance.rs`
//! compares them with the committed ones (rewritten only with `POOLVC_REGENERATE_FIXTURES=1`)
//! and runs every committed case from its files alone.

mod chain;
pub mod run;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use types::{Address, U256};

use self::chain::{Story, credentials, pubkey};
pub use self::run::{CaseFiles, run_case};
use super::scenario::Files;
use crate::error::Result;
use crate::registry::{FrameParameters, FrameSnapshot, OperatorTerms, SanityLimits};

/// One generated case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Its directory name.
    pub name: &'static str,
    /// Every file (inputs and `expected/`), by relative path.
    pub files: Files,
}

/// An operator in a frame: id, fee rate, reward address byte, key numbers.
struct Op(u64, u16, u8, std::ops::Range<u64>);

struct Def {
    name: &'static str,
    description: &'static str,
    story: Story,
    frame_epochs: u64,
    frames: u64,
    protocol_bps: u16,
    /// Operators per frame (the last entry repeats for later frames).
    operators: Vec<Vec<Op>>,
    /// Sanity limits per report (the last entry repeats).
    sanity: Vec<SanityLimits>,
}

const POOL_ADDRESS: [u8; 20] = [0xaa; 20];
const VAULT: [u8; 20] = [0xbb; 20];
const ETH: u64 = 1_000_000_000;

fn story() -> Story {
    Story {
        validators: 16,
        pool_address: Address::from(POOL_ADDRESS),
        vault: Address::from(VAULT),
        ..Story::default()
    }
}

fn two_operators() -> Vec<Vec<Op>> {
    vec![vec![Op(1, 500, 0x11, 0..6), Op(2, 700, 0x22, 6..12)]]
}

fn definitions() -> Vec<Def> {
    let lido = vec![SanityLimits::LIDO_MAINNET];
    vec![
        Def {
            name: "normal",
            description: "Two 2-epoch frames (epochs 1..=4) of a Deneb pool with two operators and \
                the rewards endpoints: late attestations (validator 4 in epoch 1, 5 in epoch 3), a \
                wrong head vote (slot 13), validator 3 absent in epoch 2, a missed proposal at slot \
                19 (an orphaned block exists at that slot, with a recorded EL value that must not \
                count), a pool block without a recorded EL value (slot 10) and one paying another \
                fee recipient (slot 14), a pool key with BLS credentials (validator 11). The second \
                report builds on the first.",
            story: Story {
                last_epoch: 4,
                bls_credentials: vec![11],
                skipped: vec![19],
                orphans: vec![19],
                absent: vec![(3, 2)],
                late: vec![(4, 1), (5, 3)],
                wrong_head: vec![13],
                el_missing: vec![10],
                foreign_recipient: vec![14],
                rewards: true,
                ..story()
            },
            frame_epochs: 2,
            frames: 2,
            protocol_bps: 500,
            operators: two_operators(),
            sanity: lido.clone(),
        },
        Def {
            name: "withdrawals",
            description: "Two 1-epoch frames (epochs 1, 2), Deneb: partial withdrawals of pool \
                validators 1 (slot 10) and 9 (slot 17, two payments in one epoch across slots 17 \
                and 20) and of validator 14, which is not the pool's. Withdrawals are not income.",
            story: Story {
                last_epoch: 2,
                extra_balance: vec![(1, ETH / 2), (9, 2 * ETH), (14, ETH)],
                withdrawals: vec![
                    (10, 1, Some(ETH / 2)),
                    (17, 9, Some(ETH)),
                    (20, 9, Some(ETH)),
                    (12, 14, Some(ETH)),
                ],
                ..story()
            },
            frame_epochs: 1,
            frames: 2,
            protocol_bps: 500,
            operators: two_operators(),
            sanity: lido.clone(),
        },
        Def {
            name: "slashing",
            description: "Two 1-epoch frames (epochs 1, 2), Deneb, with the rewards endpoints (from \
                epoch 2): pool validator 9 is slashed by the block at slot 20, whose proposer \
                (validator 5, the other operator's) earns the whistleblower reward. The slashing \
                penalty is a slashing loss and unexplained income; the pool's net rewards are \
                negative, so no fees are charged and the rate falls, within the negative-rebase \
                allowance.",
            story: Story {
                last_epoch: 2,
                slashings: vec![(20, 9)],
                rewards: true,
                ..story()
            },
            frame_epochs: 1,
            frames: 2,
            protocol_bps: 500,
            operators: two_operators(),
            sanity: lido.clone(),
        },
        Def {
            name: "exit",
            description: "Two 2-epoch frames (epochs 1..=4), Deneb: pool validator 2 exits (voluntary \
                exit in the block at slot 9: exit epoch 2, withdrawable epoch 3), is fully \
                withdrawn at slot 28 (withdrawal_done from the end of epoch 3).",
            story: Story {
                last_epoch: 4,
                exits: vec![(9, 2)],
                withdrawals: vec![(28, 2, None)],
                ..story()
            },
            frame_epochs: 2,
            frames: 2,
            protocol_bps: 500,
            operators: two_operators(),
            sanity: lido.clone(),
        },
        Def {
            name: "deposits",
            description: "Two 1-epoch frames (epochs 1, 2), Deneb: a top-up of pool validator 1 \
                (slot 10) and the deposit creating pool validator 16 (key 16, slot 12) are credited \
                deposits, not income, and count in the balance base of the annual-increase check.",
            story: Story {
                last_epoch: 2,
                deposits: vec![(10, 1, ETH), (12, 16, 32 * ETH)],
                ..story()
            },
            frame_epochs: 1,
            frames: 2,
            protocol_bps: 500,
            operators: vec![vec![
                Op(1, 500, 0x11, 0..6),
                Op(2, 700, 0x22, 6..12),
                Op(3, 600, 0x33, 16..17),
            ]],
            sanity: lido.clone(),
        },
        Def {
            name: "deposits-electra",
            description: "As `deposits` on an Electra chain: the deposit requests enter the pending \
                deposits queue (end of epoch 1) and are credited at the transition into epoch 2; \
                the credited deposits follow the queue.",
            story: Story {
                electra_epoch: Some(0),
                last_epoch: 2,
                deposits: vec![(10, 1, ETH), (12, 16, 32 * ETH)],
                ..story()
            },
            frame_epochs: 1,
            frames: 2,
            protocol_bps: 500,
            operators: vec![vec![
                Op(1, 500, 0x11, 0..6),
                Op(2, 700, 0x22, 6..12),
                Op(3, 600, 0x33, 16..17),
            ]],
            sanity: lido.clone(),
        },
        Def {
            name: "electra-fork",
            description: "Three 1-epoch frames (epochs 1..=3), Deneb until Electra activates at \
                epoch 2: a top-up in epoch 1 (slot 10) is credited at once; from epoch 2 a top-up \
                (slot 18) and the deposit creating pool validator 16 (slot 20) enter the pending \
                deposits queue, credited at the transition into epoch 3. The state at the end of \
                epoch 1 is before Electra: epoch 2's queue starts empty (no pending deposits are \
                read for it).",
            story: Story {
                electra_epoch: Some(2),
                deposits: vec![(10, 1, ETH), (18, 2, ETH), (20, 16, 32 * ETH)],
                ..story()
            },
            frame_epochs: 1,
            frames: 3,
            protocol_bps: 500,
            operators: vec![vec![
                Op(1, 500, 0x11, 0..6),
                Op(2, 700, 0x22, 6..12),
                Op(3, 600, 0x33, 16..17),
            ]],
            sanity: lido.clone(),
        },
        Def {
            name: "sanity-breach",
            description: "Four 1-epoch frames (epochs 1..=4), Deneb: 5 ETH EL values (MEV) at slots \
                8 and 24 make the frame 0 and frame 2 reports exceed the positive-rebase limit: \
                both are withheld and are no base. After review the limit is raised for the next \
                report each time: the frame 1 report covers epochs 1 and 2 (there is no final \
                report before it: it starts at the pool's first frame), the frame 3 report covers \
                epochs 3 and 4 on the frame 1 report.",
            story: Story {
                el_value: vec![
                    (8, 5_000_000_000_000_000_000),
                    (24, 5_000_000_000_000_000_000),
                ],
                ..story()
            },
            frame_epochs: 1,
            frames: 4,
            protocol_bps: 500,
            operators: two_operators(),
            sanity: vec![
                SanityLimits::LIDO_MAINNET,
                SanityLimits {
                    max_positive_rebase_1e9: 10_000_000,
                    ..SanityLimits::LIDO_MAINNET
                },
                SanityLimits::LIDO_MAINNET,
                SanityLimits {
                    max_positive_rebase_1e9: 10_000_000,
                    ..SanityLimits::LIDO_MAINNET
                },
            ],
        },
        Def {
            name: "fee-rounding",
            description: "Three 1-epoch frames (epochs 1..=3), Deneb, protocol rate 300 bps: \
                operators at 400, 0, 1234 and 500 bps; from frame 1 operator 4 leaves (its keys move \
                to operator 3) and operator 5 (2500 bps, no keys) joins. Fee splits round down, the \
                remainder going to the protocol; operator 4 stays in the reports through the \
                previous report with rate 0; operator 2, absent in epoch 1, has negative net \
                rewards in epoch 3 and pays no fee.",
            story: Story {
                last_epoch: 3,
                absent: vec![(4, 1), (5, 1), (6, 1)],
                ..story()
            },
            frame_epochs: 1,
            frames: 3,
            protocol_bps: 300,
            operators: vec![
                vec![
                    Op(1, 400, 0x11, 0..4),
                    Op(2, 0, 0x22, 4..7),
                    Op(3, 1234, 0x33, 7..10),
                    Op(4, 500, 0x44, 10..12),
                ],
                vec![
                    Op(1, 400, 0x11, 0..4),
                    Op(2, 0, 0x22, 4..7),
                    Op(3, 1234, 0x33, 7..12),
                    Op(5, 2500, 0x55, 0..0),
                ],
            ],
            sanity: lido,
        },
    ]
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).expect("json") + "\n"
}

fn nth<T>(list: &[T], i: u64) -> &T {
    &list[(i as usize).min(list.len() - 1)]
}

fn generate(def: Def) -> Result<Files> {
    let mut story = def.story;
    story.last_epoch = def.frames * def.frame_epochs;
    let pool_keys = def
        .operators
        .iter()
        .flatten()
        .flat_map(|op| op.3.clone())
        .collect();
    let mut files = chain::Chain::new(&story, pool_keys).write();
    files.insert(
        "case.json".into(),
        pretty(&json!({
            "description": def.description,
            "first_frame": "0",
            "last_frame": (def.frames - 1).to_string(),
        })),
    );
    for f in 0..def.frames {
        let ops = nth(&def.operators, f);
        let snapshot = FrameSnapshot {
            frame: f,
            protocol_bps: def.protocol_bps,
            operators: ops
                .iter()
                .map(|Op(id, bps, address, _)| {
                    (
                        *id,
                        OperatorTerms {
                            operator_bps: *bps,
                            reward_address: Address::repeat_byte(*address),
                        },
                    )
                })
                .collect(),
            assignments: ops
                .iter()
                .flat_map(|Op(id, _, _, keys)| keys.clone().map(move |k| (pubkey(k), *id)))
                .collect::<BTreeMap<_, _>>(),
        };
        files.insert(
            format!("pool/frames/{f}/snapshot.json"),
            pretty(&json!({"data": {
                "frame": f.to_string(),
                "root": snapshot.root()?,
                "snapshot": snapshot,
            }})),
        );
        let parameters = FrameParameters {
            frame: f,
            frame_start_epoch: 1,
            frame_epochs: def.frame_epochs,
            withdrawal_credentials: credentials(story.pool_address),
            el_rewards_vault: story.vault,
        };
        files.insert(
            format!("pool/frames/{f}/parameters.json"),
            pretty(&json!({ "data": parameters })),
        );
        files.insert(
            format!("pool/reports/{f}/inputs.json"),
            pretty(&json!({
                "share_supply": (U256::from(16u64 * 32) * U256::from(1_000_000_000_000_000_000u64)).to_string(),
                "sanity_limits": nth(&def.sanity, f),
            })),
        );
    }
    let expected = run_case(&files)?;
    files.extend(expected);
    Ok(files)
}

/// Every case, generated.
pub fn cases() -> Result<Vec<Case>> {
    definitions()
        .into_iter()
        .map(|def| {
            let name = def.name;
            Ok(Case {
                name,
                files: generate(def)?,
            })
        })
        .collect()
}
