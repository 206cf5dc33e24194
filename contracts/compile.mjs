// Compiles every contracts/src/**/*.sol with the pinned solc-js and writes one
// artifact per contract to contracts/artifacts/<ContractName>.json (or to the
// directory given with --out). Same sources + same solc => same bytes.
//
// Usage: node compile.mjs [--out DIR]
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const solc = require("solc");

const HERE = dirname(fileURLToPath(import.meta.url));
const SRC = join(HERE, "src");

// Fixed settings: changing any of them changes every artifact.
const SETTINGS = {
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 200 },
  // No IPFS/Swarm hash of the metadata: keeps bytecode independent of comments
  // and paths, so it is reproducible from the sources alone.
  metadata: { bytecodeHash: "none" },
  outputSelection: {
    "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] },
  },
};

function parseArgs(argv) {
  const args = { out: join(HERE, "artifacts") };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--out" && i + 1 < argv.length) {
      args.out = resolve(argv[++i]);
    } else {
      throw new Error(`unknown argument ${argv[i]}; usage: node compile.mjs [--out DIR]`);
    }
  }
  return args;
}

function findSources(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...findSources(path));
    else if (entry.name.endsWith(".sol")) found.push(path);
  }
  return found.sort();
}

// Source unit names are paths relative to contracts/ with forward slashes,
// e.g. "src/examples/NoticeBoard.sol", whatever the checkout location or OS.
function sourceName(path) {
  return relative(HERE, path).split(sep).join("/");
}

// Keys sorted at every level, so the JSON text does not depend on solc's key order.
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys(value[key])]),
    );
  }
  return value;
}

function compile(sources) {
  const input = {
    language: "Solidity",
    sources: Object.fromEntries(
      Object.entries(sources).map(([name, content]) => [name, { content }]),
    ),
    settings: SETTINGS,
  };
  const findImports = (path) => {
    try {
      return { contents: readFileSync(join(HERE, path), "utf8") };
    } catch {
      return { error: `import not found: ${path} (imports resolve from contracts/)` };
    }
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const diagnostics = output.errors ?? [];
  for (const d of diagnostics) process.stderr.write(d.formattedMessage ?? d.message);
  if (diagnostics.some((d) => d.severity === "error")) {
    throw new Error("compilation failed");
  }
  return output;
}

function buildArtifacts(sources, output) {
  const artifacts = new Map();
  for (const name of Object.keys(output.contracts ?? {}).sort()) {
    const sha256 = createHash("sha256").update(sources[name] ?? "", "utf8").digest("hex");
    for (const [contractName, compiled] of Object.entries(output.contracts[name])) {
      if (artifacts.has(contractName)) {
        throw new Error(
          `contract name ${contractName} is defined in both ` +
            `${artifacts.get(contractName).sourceName} and ${name}; names must be unique`,
        );
      }
      artifacts.set(contractName, {
        contractName,
        sourceName: name,
        abi: compiled.abi,
        bytecode: `0x${compiled.evm.bytecode.object}`,
        deployedBytecode: `0x${compiled.evm.deployedBytecode.object}`,
        compiler: { name: "solc", version: solc.version(), settings: SETTINGS },
        sourceSha256: sha256,
      });
    }
  }
  return artifacts;
}

function writeArtifacts(artifacts, outDir) {
  mkdirSync(outDir, { recursive: true });
  // Artifacts of contracts that no longer exist would otherwise linger.
  for (const file of readdirSync(outDir)) {
    if (file.endsWith(".json") && !artifacts.has(file.slice(0, -".json".length))) {
      rmSync(join(outDir, file));
    }
  }
  for (const [contractName, artifact] of artifacts) {
    const text = `${JSON.stringify(sortKeys(artifact), null, 2)}\n`;
    writeFileSync(join(outDir, `${contractName}.json`), text);
  }
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const sources = Object.fromEntries(
    findSources(SRC).map((path) => [sourceName(path), readFileSync(path, "utf8")]),
  );
  if (Object.keys(sources).length === 0) throw new Error(`no .sol files under ${SRC}`);
  const artifacts = buildArtifacts(sources, compile(sources));
  writeArtifacts(artifacts, args.out);
  for (const [contractName, artifact] of artifacts) {
    console.log(`${artifact.sourceName}:${contractName} -> ${contractName}.json`);
  }
}

try {
  main();
} catch (error) {
  process.stderr.write(`compile.mjs: ${error.message}\n`);
  process.exit(1);
}
