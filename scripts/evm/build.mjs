// Compiles contracts/src/*.sol with the pinned solc-js into contracts/artifacts/<Name>.json.
// Usage: node build.mjs <contracts dir> <node_modules dir> [--check]
// --check compiles in memory and exits 1 when an artifact differs from the checked-in one.
// The output is a pure function of the sources and the pinned compiler (no timestamps, no paths
// outside the sources' own names), so the build is reproducible.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [contractsDir, modulesDir, ...flags] = process.argv.slice(2);
if (!contractsDir || !modulesDir) {
  console.error('usage: build.mjs <contracts dir> <node_modules dir> [--check]');
  process.exit(2);
}
const check = flags.includes('--check');
const require = createRequire(path.join(modulesDir, 'solc', 'package.json'));
const solc = require('solc');

// The contracts the Rust crate binds (libraries are internal and inlined).
const TARGETS = ['PoolOracle', 'PoolShares'];
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  viaIR: true,
  evmVersion: 'prague',
  metadata: { bytecodeHash: 'none' },
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
};

const srcDir = path.join(contractsDir, 'src');
const sources = {};
for (const name of fs.readdirSync(srcDir).filter((f) => f.endsWith('.sol')).sort()) {
  sources[`src/${name}`] = { content: fs.readFileSync(path.join(srcDir, name), 'utf8') };
}

function findImports(importPath) {
  if (importPath.startsWith('@openzeppelin/')) {
    const file = path.join(modulesDir, importPath);
    if (fs.existsSync(file)) return { contents: fs.readFileSync(file, 'utf8') };
  }
  const local = path.join(contractsDir, importPath);
  if (fs.existsSync(local)) return { contents: fs.readFileSync(local, 'utf8') };
  return { error: `import not found: ${importPath}` };
}

const input = { language: 'Solidity', sources, settings: SETTINGS };
const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
const errors = (output.errors || []).filter((e) => e.severity === 'error');
for (const e of output.errors || []) console.error(e.formattedMessage);
if (errors.length > 0) process.exit(1);

const outDir = path.join(contractsDir, 'artifacts');
let differ = 0;
for (const name of TARGETS) {
  const source = `src/${name}.sol`;
  const c = output.contracts[source]?.[name];
  if (!c) {
    console.error(`no contract ${name} in ${source}`);
    process.exit(1);
  }
  const artifact = {
    contractName: name,
    sourceName: source,
    compiler: { name: 'solc-js', version: solc.version() },
    settings: { optimizer: SETTINGS.optimizer, viaIR: SETTINGS.viaIR, evmVersion: SETTINGS.evmVersion, metadata: SETTINGS.metadata },
    abi: c.abi,
    bytecode: `0x${c.evm.bytecode.object}`,
    deployedBytecode: `0x${c.evm.deployedBytecode.object}`,
  };
  const text = `${JSON.stringify(artifact, null, 2)}\n`;
  const file = path.join(outDir, `${name}.json`);
  if (check) {
    const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
    if (old !== text) {
      console.error(`${file} differs from a fresh build: run scripts/evm.sh build`);
      differ += 1;
    } else {
      console.log(`${name}: artifact matches a fresh build (${(artifact.deployedBytecode.length - 2) / 2} bytes runtime)`);
    }
  } else {
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(file, text);
    console.log(`${name}: wrote ${path.relative(process.cwd(), file)} (${(artifact.deployedBytecode.length - 2) / 2} bytes runtime)`);
  }
}
process.exit(differ === 0 ? 0 : 1);
