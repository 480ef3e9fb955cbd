// Fixes three defects of Lodestar 1.5.1's `dev --execution.engineMock` (idempotent):
//  1. the mock execution engine is given an empty genesis block hash, so it answers SYNCING to every
//     payload and no block is ever produced; the dev genesis uses 0x0b…0b (or --genesisEth1Hash);
//  2. it is never given the Capella fork timestamp, so with Capella active it builds payloads
//     without withdrawals;
//  3. it ignores the withdrawals of the payload attributes and always builds an empty list, so once
//     a validator has execution (0x01) credentials and a balance to sweep, every block the node
//     produces is invalid ("Invalid withdrawals length") and the chain stalls.
// The expected original text is checked first so that a different Lodestar version fails loudly.
import fs from "node:fs";
import path from "node:path";

const root = process.argv[2];
if (!root) {
  console.error("usage: node patch-lodestar.mjs <install dir>");
  process.exit(2);
}
const marker = "/* poolvc-devnet-patch */";

// Replaces the one occurrence of `original` in `file` (relative to node_modules), unless patched.
function patch(relative, original, patched, extra = "") {
  const file = path.join(root, "node_modules", relative);
  let text = fs.readFileSync(file, "utf8");
  if (text.includes(marker)) {
    console.log(`already patched: ${relative}`);
    return;
  }
  const count = text.split(original).length - 1;
  if (count !== 1) {
    console.error(`unexpected content in ${file}: expected the original text exactly once, found ${count}`);
    process.exit(1);
  }
  text = text.replace(original, patched) + extra;
  fs.writeFileSync(file, text);
  console.log(`patched: ${relative}`);
}

patch(
  "@chainsafe/lodestar/lib/options/beaconNodeOptions/execution.js",
  `            mode: "mock",\n            genesisBlockHash: "",\n`,
  `            mode: "mock",
            ${marker} genesisBlockHash: args["genesisEth1Hash"] ?? "0x" + "0b".repeat(32),
            capellaForkTimestamp: poolvcCapellaForkTimestamp(args),
`,
  `
${marker}
function poolvcCapellaForkTimestamp(args) {
    const epoch = args["params.CAPELLA_FORK_EPOCH"];
    if (epoch === undefined || epoch === null || epoch === "") return undefined;
    const capellaEpoch = Number(epoch);
    if (capellaEpoch === 0) return 0;
    // The mock includes withdrawals when payload timestamp > this value.
    const slotsPerEpoch = process.env.LODESTAR_PRESET === "minimal" ? 8 : 32;
    const secondsPerSlot = Number(args["params.SECONDS_PER_SLOT"] ?? 12);
    const genesisTime = Number(args["genesisTime"]);
    if (!Number.isFinite(genesisTime)) return undefined;
    return genesisTime + capellaEpoch * slotsPerEpoch * secondsPerSlot - 1;
}
`,
);

patch(
  "@lodestar/beacon-node/lib/execution/engine/mock.js",
  `            executionPayload.transactions = [];\n`,
  `            executionPayload.transactions = [];
            ${marker} if (payloadAttributes.withdrawals && ForkSeq[fork] >= ForkSeq.capella) {
                executionPayload.withdrawals = payloadAttributes.withdrawals;
            }
`,
);
console.log("lodestar patched: mock engine genesis hash, capella timestamp, withdrawals");
