//! The `zkml-evm` command line. Exit codes: 0 success, 1 a verifier said
//! no, 2 bad input or any other error.

use crate::circuit::layout::Shape;
use crate::compile::{self, CompileOptions, Compiled, Vis};
use crate::evm;
use crate::proof;
use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Parser, Debug)]
#[command(
    name = "zkml-evm",
    version,
    about = "Prove ONNX model inference with halo2 (KZG/BN254) and verify it on Ethereum",
    long_about = "Prove ONNX model inference with halo2 (KZG on BN254) and verify it on Ethereum.\n\n\
Typical flow:\n  zkml-evm compile model.onnx --input input.json -o build\n  zkml-evm setup build\n  \
zkml-evm prove build --input input.json -o proof.json\n  zkml-evm verify build proof.json\n  \
zkml-evm gen-verifier build -o verifier\n  zkml-evm test-evm verifier proof.json\n\n\
Exit codes: 0 success, 1 a verifier rejected the proof, 2 bad input or other error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Quantize an ONNX model (scales calibrated on sample inputs) and lay it out as a circuit.
    Compile {
        /// The ONNX model.
        model: PathBuf,
        /// Sample input(s) in {"input_data": [[...]]} form (one flattened tensor per graph input,
        /// in graph order), used to calibrate scales; symbolic (batch) dims are sized to the first.
        #[arg(long = "input", alias = "calibrate", required = true, num_args = 1..)]
        inputs: Vec<PathBuf>,
        /// Output directory for settings.json and the model copy.
        #[arg(short, long)]
        out: PathBuf,
        /// Fix activation precision to 2^SCALE instead of calibrating it from the inputs.
        #[arg(long)]
        scale: Option<u32>,
        /// Weight precision 2^BITS (default 10).
        #[arg(long)]
        weight_bits: Option<u32>,
        /// Model input in the proof: public values, private, or hashed (only its Poseidon
        /// commitment is public).
        #[arg(long, value_enum, default_value_t = Vis::Public)]
        input_visibility: Vis,
        /// Model output in the proof: public, private or hashed.
        #[arg(long, value_enum, default_value_t = Vis::Public)]
        output_visibility: Vis,
        /// Weights: fixed (baked into the circuit: the verifying key pins the model), private
        /// (any weights of this architecture), or hashed (private, with their Poseidon
        /// commitment public, so a contract can pin a model version; one verifier serves every
        /// version), or committed (as hashed, but the commitment is the KZG commitment of the
        /// weights column, the proof's first point: no hashing in the circuit, so the verifier
        /// costs what a private-weights one does).
        #[arg(long = "param-visibility", value_enum, default_value_t = Vis::Fixed)]
        param_visibility: Vis,
        /// Column shape of the circuit. auto: narrow (3 advice columns, cheapest verifier) below
        /// k = 17, else whichever shape needs the smallest k, as a larger model proves faster
        /// with an extra column at half the rows.
        #[arg(long, value_enum, default_value_t = ShapeArg::Auto)]
        shape: ShapeArg,
        /// Pack public inputs and outputs into words (range bits + 1 bits each, ~12 a word):
        /// fewer public inputs, cheaper calldata and verification. auto: from 4 public values
        /// with fixed weights, from 30 with private, hashed or committed ones (where it costs a
        /// fixed column). PublicInputs.sol decodes them.
        #[arg(long, value_enum, default_value_t = compile::PackPublic::Auto)]
        pack_public: compile::PackPublic,
        /// Inferences one proof covers: the circuit holds N copies of the model running one
        /// weight set (fixed columns, or one private or hashed set linked across the copies,
        /// under the single model's commitment), so one proof and one verifier call settle N
        /// inferences (`prove` then takes N input files).
        #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
        batch: u32,
        /// With --param-visibility committed: the fewest proofs of one salt that keep the
        /// weights perfectly hidden (each proof reveals two linear functions of the weights
        /// column, which the salt rows must outnumber); k grows until they do. Without it,
        /// compile prints how many proofs the chosen k hides them for.
        #[arg(long, value_name = "N")]
        hide_proofs: Option<usize>,
        /// Largest circuit, as log2 rows. A model that needs more is split into chunks of at
        /// most 2^K rows, each its own circuit; the tensor crossing each cut sits in a link
        /// column of both chunks, and `prove` folds the chunk proofs into one aggregated proof
        /// in which the two commitments to each link column are constrained equal. setup,
        /// prove, verify, gen-verifier and test-evm take the split build as they take a
        /// single one.
        #[arg(long, default_value_t = crate::split::DEFAULT_MAX_K, value_name = "K", value_parser = clap::value_parser!(u32).range(10..=26))]
        max_k: u32,
        /// log2 rows of the aggregation circuits that fold a split model's chunk proofs.
        #[arg(long, default_value_t = crate::aggregate::DEFAULT_K, value_name = "K", value_parser = clap::value_parser!(u32).range(16..=26))]
        aggregate_k: u32,
        /// Chunk proofs one aggregation folds (a split model's proofs are folded as a tree:
        /// groups of N chunk proofs, then groups of N/2 aggregations, up to one root; each job's
        /// memory stays bounded whatever the number of chunks).
        #[arg(long, default_value_t = crate::split::tree::DEFAULT_FAN_IN as u64, value_name = "N", value_parser = clap::value_parser!(u64).range(2..=16))]
        fan_in: u64,
    },
    /// Print the commitments a proof exposes, computed outside the circuit: with hashed
    /// weights their Poseidon hash, with committed weights their column commitment [x, y]
    /// (after setup: it needs the SRS) and the Poseidon hash `bind` ties it to, and for
    /// --input a hashed input's and output's.
    Commit {
        /// Compiled model directory.
        dir: PathBuf,
        /// An input in {"input_data": [[...]]} form (one file per inference of a batch).
        #[arg(long, num_args = 1..)]
        input: Vec<PathBuf>,
    },
    /// Committed weights: prove once that their commitment holds the weights of a Poseidon hash
    ///
    /// The hash H is the params hash --param-visibility hashed exposes for the same weights
    /// (`commit` prints it), and the proof is made once per weight version and salt.
    ///
    /// Writes OUT/proof.json (public input H; its first 64 bytes are the commitment C, as in
    /// every proof of the build) with the binding circuit's keys, made on first use. A registry
    /// (contracts/src/BoundWeights.sol) records C -> H when the binding verifier accepts, then
    /// checks each inference proof's commitment against it: hashed weights' guarantee at the
    /// committed-weights verifier's price per inference. `verify OUT OUT/proof.json` and
    /// `gen-verifier OUT -o V` take OUT as they take a model directory.
    #[command(verbatim_doc_comment)]
    Bind {
        /// Compiled model directory with committed weights, after setup.
        dir: PathBuf,
        /// Output directory: bind.json, keys, proof.json.
        #[arg(short, long)]
        out: PathBuf,
        /// The ceremony SRS the build's came from, when the binding circuit needs more rows
        /// than the build has (with the development SRS it is generated).
        #[arg(long)]
        srs: Option<PathBuf>,
    },
    /// Create proving and verifying keys (development SRS unless --srs is given).
    Setup {
        /// Compiled model directory.
        dir: PathBuf,
        /// KZG SRS file in halo2 format (downsized to the circuit's k).
        #[arg(long)]
        srs: Option<PathBuf>,
    },
    /// Run the model on an input and prove the result.
    Prove {
        dir: PathBuf,
        /// The input in {"input_data": [[...]]} form; for a model compiled with --batch N, N
        /// files (or one file listing every inference's tensors in turn).
        #[arg(long, required = true, num_args = 1..)]
        input: Vec<PathBuf>,
        #[arg(short, long)]
        out: PathBuf,
        /// Make a proof for `aggregate` (Poseidon transcript) instead of one for the EVM verifier.
        #[arg(long)]
        for_aggregation: bool,
        /// For a split build: prove this many chunks at once, each in its own process
        /// (`prove-chunk`), before folding them.
        #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
        jobs: u32,
    },
    /// Split build, step 1 of 3 (what `prove` does, as separate jobs for a scheduler such as
    /// scripts/ray_prove.py): run the model once in fixed point and write each chunk's input
    /// tensor to CHUNK/boundary.json.
    SplitWitness {
        /// The split build.
        dir: PathBuf,
        #[arg(long, required = true, num_args = 1..)]
        input: Vec<PathBuf>,
    },
    /// Split build, step 2 of 3: prove one chunk from its boundary.json into its proof.json.
    /// Chunks are independent: run them anywhere the build directory is visible.
    ProveChunk {
        /// A chunk directory of a split build (BUILD/chunk-3).
        dir: PathBuf,
        /// Print one JSON line {"prove_seconds", "peak_rss_mb"} instead of a sentence.
        #[arg(long)]
        json: bool,
    },
    /// Split build, step 3 of 3: fold every chunk's proof.json into one aggregated proof.
    ///
    /// Without --node, every aggregation of the tree in turn. With --node L-I, that one
    /// aggregation alone (its children's proofs must exist; nodes of one level are independent
    /// jobs); `--node root` writes the final proof to OUT. --plan prints the tree as JSON.
    #[command(verbatim_doc_comment)]
    FoldChunks {
        /// The split build.
        dir: PathBuf,
        /// Where the final proof goes (needed unless --plan, or --node names a node below the root).
        #[arg(short, long)]
        out: Option<PathBuf>,
        /// Fold one node of the aggregation tree: `L-I` (level, index) or `root`.
        #[arg(long, conflicts_with = "plan")]
        node: Option<String>,
        /// Print the aggregation tree (levels of nodes, their children and chunks) as JSON.
        #[arg(long)]
        plan: bool,
    },
    /// Fold proofs (from `prove --for-aggregation`) into one proof that one EVM verifier checks.
    ///
    /// ITEMS are model directories and proof files: each proof belongs to the model directory
    /// named before it, e.g. `aggregate build p1.json p2.json` or
    /// `aggregate build-a a.json build-b b.json`. The aggregated proof's public inputs are 12
    /// accumulator limbs, then every inner proof's public inputs in order. Keys are written to
    /// OUT and reused while the models and --k stay the same.
    ///
    /// Aggregations fold too (a tree, each node's memory bounded): a directory may be an
    /// earlier `aggregate --for-aggregation` output, followed by its proof, e.g.
    /// `aggregate agg-a agg-a/proof.json agg-b agg-b/proof.json -o root`. Its accumulator is
    /// folded into the new one; its other public inputs follow in order.
    #[command(verbatim_doc_comment)]
    Aggregate {
        /// Model directories, each followed by its proof files.
        #[arg(required = true, num_args = 2.., value_name = "DIR|PROOF")]
        items: Vec<PathBuf>,
        /// Output directory: aggregate.json, keys, proof.json.
        #[arg(short, long)]
        out: PathBuf,
        /// log2 rows of the aggregation circuit (more rows, fewer columns: cheaper EVM verification).
        #[arg(long, default_value_t = crate::aggregate::DEFAULT_K)]
        k: u32,
        /// Ceremony SRS in halo2 format, the one the inner proofs were made with.
        #[arg(long)]
        srs: Option<PathBuf>,
        /// Make the proof for another aggregation to fold (Poseidon transcript), not for the
        /// EVM verifier.
        #[arg(long)]
        for_aggregation: bool,
    },
    /// Verify a proof natively. Exit 0 only when valid. With committed weights the proof's
    /// weights commitment must be the build's own (which needs its params.salt), or the one
    /// given.
    Verify {
        /// Compiled model (or aggregation) directory with keys.
        dir: PathBuf,
        proof: PathBuf,
        /// Committed weights: accept only this commitment, `X,Y` as `commit` prints it (for a
        /// verifier without the owner's salt).
        #[arg(long, value_name = "X,Y", conflicts_with = "any_weights")]
        weights_commitment: Option<String>,
        /// Committed weights: accept any weight version of the architecture (the proof's
        /// commitment is printed, not compared).
        #[arg(long)]
        any_weights: bool,
    },
    /// Generate the Solidity verifier and compile it (solc: $SOLC, PATH, or .tools/bin).
    GenVerifier {
        /// Compiled model directory with keys (or an aggregation or bind directory).
        dir: PathBuf,
        /// Output directory: Halo2Verifier.sol and verifier.json (ABI, bytecode).
        #[arg(short, long)]
        out: PathBuf,
        /// Committed weights: the weights-binding verifier of this build (what `bind` proofs
        /// are checked with), made from the build alone, instead of its model verifier.
        #[arg(long)]
        binder: bool,
        /// With --binder: the ceremony SRS the build's came from, when the binding circuit
        /// needs more rows than the build has.
        #[arg(long, requires = "binder")]
        srs: Option<PathBuf>,
    },
    /// Deploy the verifier in an in-process EVM (revm), call verify, report gas.
    TestEvm {
        /// Verifier directory from gen-verifier.
        vdir: PathBuf,
        proof: PathBuf,
    },
    /// Print the ABI-encoded verify(proof, publicInputs) calldata, hex.
    Calldata { proof: PathBuf },
    /// Benchmark the whole pipeline per model (each in its own process) and print a table:
    /// k, keygen s, prove s, peak RSS, proof bytes, verify gas, verifier runtime bytes.
    Bench {
        /// Model directories holding network.onnx and input.json (default: bundled MLPs).
        models: Vec<PathBuf>,
        /// Also write the rows as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Instead, benchmark aggregation: fold N proofs of the (first) model for each N listed,
        /// e.g. --aggregate 1,2,4,8, and report prove s, peak RSS, verify gas, runtime bytes.
        #[arg(long, value_delimiter = ',')]
        aggregate: Vec<usize>,
        /// log2 rows of the aggregation circuit (with --aggregate).
        #[arg(long, default_value_t = crate::aggregate::DEFAULT_K)]
        k: u32,
        /// Weight visibilities to run each model with, e.g. --params fixed,hashed (which also
        /// prints the cost of hashing per 1,000 weights).
        #[arg(long, value_enum, value_delimiter = ',')]
        params: Vec<Vis>,
        /// Public-value packings to run each model with, e.g. --pack-public on,off.
        #[arg(long, value_enum, value_delimiter = ',')]
        pack_public: Vec<compile::PackPublic>,
        /// Inferences a proof covers, e.g. --batch 1,8,64 (compile --batch), with
        /// verify gas per inference.
        #[arg(long, value_delimiter = ',')]
        batch: Vec<usize>,
    },
    /// Deploy a verifier directory (or a forge/solc artefact JSON) to a chain.
    Deploy {
        /// Verifier directory from gen-verifier, or a contract artefact JSON.
        path: PathBuf,
        #[command(flatten)]
        chain: ChainArgs,
        /// ABI-encoded constructor arguments, hex, appended to the creation code.
        #[arg(long)]
        args: Option<String>,
        /// Deploy a verifier made from the development SRS (forgeable proofs) to a chain other
        /// than a local development one (chain id 31337 or 1337). Without it such a deploy is
        /// refused.
        #[arg(long)]
        allow_dev_srs: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Call verify(proof, publicInputs) on a deployed verifier: eth_call, or a transaction with --send.
    VerifyOnchain {
        proof: PathBuf,
        /// Address of the deployed verifier.
        #[arg(long)]
        address: String,
        #[command(flatten)]
        chain: ChainArgs,
        /// Send a transaction (signed with the key) and report its gas.
        #[arg(long)]
        send: bool,
        #[arg(long)]
        json: bool,
    },
    /// Run every model folder under DIR (network.onnx + input.json) through compile, setup,
    /// prove and verify, each in its own process, and print one row per model.
    Suite {
        dir: PathBuf,
        /// Skip models whose circuit needs a larger domain than 2^MAX_K rows.
        #[arg(long, default_value_t = 18)]
        max_k: u32,
        /// Also write the rows as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Run the ONNX backend node tests (the `onnx` package's onnx/backend/test/data/node) the
    /// way a user's model runs: the first graph input is the model input, the others become
    /// weights; compile, run the integer forward pass, compare with the expected outputs within
    /// the documented tolerance, and check small circuits with MockProver. Prints one row per
    /// test and a per-op summary of the ops the op table claims.
    Conformance {
        /// The node-test folder (default: $ZKML_ONNX_NODE_TESTS, else onnx in .tools/venv).
        dir: Option<PathBuf>,
        /// Only tests whose name contains one of these, e.g. --only lstm,gru.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Skip the MockProver check.
        #[arg(long)]
        no_mock: bool,
        /// Also write the rows as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Print the per-op table (markdown) instead of one row per test.
        #[arg(long)]
        table: bool,
    },
    /// Run one model of a suite and print its row as JSON (used by `suite`).
    #[command(hide = true)]
    SuiteOne {
        model: PathBuf,
        #[arg(long, default_value_t = 18)]
        max_k: u32,
    },
    /// Benchmark one model and print its row as JSON (used by `bench`).
    #[command(hide = true)]
    BenchOne {
        model: PathBuf,
        #[arg(long, value_enum, default_value_t = Vis::Fixed)]
        param_visibility: Vis,
        #[arg(long, value_enum, default_value_t = compile::PackPublic::Auto)]
        pack_public: compile::PackPublic,
        #[arg(long, default_value_t = 1)]
        batch: usize,
    },
    /// Benchmark one aggregation and print its row as JSON (used by `bench --aggregate`).
    #[command(hide = true)]
    BenchAggregateOne {
        model: PathBuf,
        proofs: usize,
        k: u32,
    },
}

/// Where and as whom to send transactions. The key is never printed.
#[derive(clap::Args, Debug)]
pub struct ChainArgs {
    /// JSON-RPC endpoint, e.g. http://127.0.0.1:8545.
    #[arg(long)]
    rpc: String,
    /// Refuse to send unless the RPC serves this chain id.
    #[arg(long)]
    chain_id: Option<u64>,
    /// Hex private key (or set PRIVATE_KEY).
    #[arg(long, env = "PRIVATE_KEY", hide_env_values = true)]
    private_key: Option<String>,
    /// Encrypted JSON keystore instead of a raw key.
    #[arg(long, conflicts_with = "private_key")]
    keystore: Option<PathBuf>,
    /// Keystore password (or set KEYSTORE_PASSWORD).
    #[arg(long, env = "KEYSTORE_PASSWORD", hide_env_values = true)]
    password: Option<String>,
}

impl ChainArgs {
    /// The endpoint and signer, if a key or keystore was given (a command
    /// that must sign says so when none was).
    fn chain(&self) -> Result<crate::api::Chain> {
        use crate::eth::SignerSource;
        let signer = match (&self.private_key, &self.keystore) {
            (_, Some(path)) => Some(SignerSource::Keystore {
                path: path.clone(),
                password: self.password.clone().unwrap_or_default(),
            }),
            (Some(k), None) => Some(SignerSource::Key(k.clone())),
            (None, None) => None,
        };
        Ok(crate::api::Chain {
            rpc: self.rpc.clone(),
            chain_id: self.chain_id,
            signer,
        })
    }
}

/// An error as one line: the outermost context, then its causes (what the
/// command line prints after `error: `, and what Python exceptions carry).
pub fn error_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

/// Errors that mean "the verifier said no", as opposed to bad input.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Rejected(pub String);

/// `compile --shape`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ShapeArg {
    /// Narrow for small circuits, the smallest k for large ones.
    Auto,
    /// One term and one chain bit a row: 3 advice columns.
    Narrow,
    /// Two multiply terms a row (fixed weights only): for dense layers.
    WideTerms,
    /// Two range-check bits a row: for many neurons with few terms (pooling, products).
    WideChain,
    /// Both.
    Wide,
}

impl ShapeArg {
    pub fn shape(self) -> Option<Shape> {
        let (wide_mac, wide_chain) = match self {
            ShapeArg::Auto => return None,
            ShapeArg::Narrow => (false, false),
            ShapeArg::WideTerms => (true, false),
            ShapeArg::WideChain => (false, true),
            ShapeArg::Wide => (true, true),
        };
        Some(Shape {
            wide_mac,
            wide_chain,
        })
    }
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Compile {
            model,
            inputs,
            out,
            scale,
            weight_bits,
            input_visibility,
            output_visibility,
            param_visibility,
            shape,
            pack_public,
            batch,
            hide_proofs,
            max_k,
            aggregate_k,
            fan_in,
        } => {
            let t = Instant::now();
            let visibility = compile::Visibility {
                input: input_visibility,
                output: output_visibility,
                params: param_visibility,
                packed: false,
                linked: Default::default(),
            };
            let opts = CompileOptions {
                scale_bits: scale,
                weight_bits,
                visibility,
                shape: shape.shape(),
                pack_public,
                batch: batch as usize,
                hide_proofs,
            };
            let c = match crate::split::compile_files(
                &model,
                &inputs,
                &opts,
                max_k,
                crate::split::tree::FoldShape {
                    k: aggregate_k,
                    fan_in: fan_in as usize,
                },
                &out,
            )? {
                crate::split::Build::Single(c) => *c,
                crate::split::Build::Split(b) => {
                    print_split(&model, &out, &b, t);
                    return Ok(());
                }
            };
            let s = &c.settings;
            println!(
                "compiled {} -> {} in {:.2}s\n  k = {}  rows = {}/{}  neurons = {}  mac terms = {}  shape: {} ({} advice columns)\n  scale = 2^{}  weights = 2^{}  range = {} bits  (max |activation| {:.3})",
                model.display(),
                out.display(),
                t.elapsed().as_secs_f64(),
                s.k,
                s.layout.rows_used,
                s.layout.usable_rows,
                s.layout.neurons,
                s.layout.mac_terms,
                s.shape,
                s.layout.advice_columns,
                s.quant.scale_bits,
                s.quant.weight_bits,
                s.quant.range_bits,
                s.calibration.max_abs_activation
            );
            println!(
                "  input {}, output {}, weights {}; public inputs: {}",
                s.visibility.input,
                s.visibility.output,
                s.visibility.params,
                summarize_names(&s.public_layout)
            );
            if s.batch > 1 {
                println!("  batch: {} inferences a proof", s.batch);
            }
            if s.visibility.params_committed() {
                println!(
                    "  weights committed: salt in {} (keep it: it fixes the commitment); {} salt rows hide the weights for {} proofs, then recompile with a fresh salt",
                    out.join(proof::committed::SALT_FILE).display(),
                    proof::committed::salt_rows(&c.layout),
                    proof::committed::hidden_proofs(&c.layout)
                );
            }
        }
        Command::Bind { dir, out, srs } => {
            let c = Compiled::load(&dir)?;
            let p = proof::bind::bind(&c, &out, srs.as_deref())?;
            let [x, y] = &p.params_commitment;
            println!(
                "bound the weights committed as ({x}, {y}) to params hash {}: {} (k = {}, prove {:.2}s)",
                p.params_hash,
                out.join(proof::bind::PROOF_FILE).display(),
                p.k,
                p.prove_seconds
            );
        }
        Command::Commit { dir, input } => {
            let c = Compiled::load(&dir)?;
            let x = if input.is_empty() {
                None
            } else {
                Some(c.read_inputs(&input)?)
            };
            let out = crate::api::commitments(&c, x.as_deref())?;
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Command::Setup { dir, srs } if crate::split::is_split_dir(&dir) => {
            let b = crate::split::SplitBuild::load(&dir)?;
            let r = crate::split::setup(&b, srs.as_deref())?;
            let secs: f64 = r.chunks.iter().map(|c| c.keygen_seconds).sum();
            println!(
                "keys written to {}: {} chunk circuits (keygen {secs:.1}s), {} aggregation{} at k = {} ({})",
                dir.display(),
                r.chunks.len(),
                r.aggregations,
                if r.aggregations == 1 { "" } else { "s (a tree)" },
                r.aggregate_k,
                match r.aggregate_keygen_seconds {
                    Some(s) => format!("keygen {s:.1}s"),
                    None => "keys reused".into(),
                }
            );
        }
        Command::Setup { dir, srs } => {
            let c = Compiled::load(&dir)?;
            eprintln!("keygen for k={} ...", c.settings.k);
            let r = proof::setup(&c, srs.as_deref())?;
            println!(
                "keys written to {}: k = {}, keygen {:.2}s, vk {} bytes, pk {} bytes{}",
                dir.display(),
                r.k,
                r.keygen_seconds,
                r.vk_bytes,
                r.pk_bytes,
                if r.dev_srs {
                    " (development SRS: not for production)"
                } else {
                    ""
                }
            );
        }
        Command::Prove {
            dir,
            input,
            out,
            for_aggregation,
            jobs,
        } if crate::split::is_split_dir(&dir) => {
            if for_aggregation {
                anyhow::bail!(
                    "--for-aggregation: a split build's proof is already an aggregated one"
                );
            }
            let b = crate::split::SplitBuild::load(&dir)?;
            let x = b.chunks[0].read_inputs(&input)?;
            let p = crate::split::prove(&b, &x, &out, jobs as usize)?;
            let err = p
                .outputs
                .iter()
                .zip(&p.float_outputs)
                .map(|(a, f)| (a - f).abs())
                .fold(0.0, f64::max);
            println!(
                "proof written to {}: {} chunks proven in {:.1}s, aggregated in {:.1}s (peak RSS {:.0} MB), {} bytes, {} public inputs, max abs error {err:.5} vs float model",
                out.display(),
                p.chunk_seconds.len(),
                p.chunk_seconds.iter().sum::<f64>(),
                p.aggregate.prove_seconds,
                crate::progress::peak_rss_mb(),
                p.aggregate.proof_bytes,
                p.aggregate.num_public
            );
            if b.settings.visibility.output == Vis::Public {
                println!("outputs: {}", format_floats(&p.outputs));
            }
        }
        Command::Prove {
            dir,
            input,
            out,
            for_aggregation,
            jobs: _,
        } => {
            let c = Compiled::load(&dir)?;
            let x = c.read_inputs(&input)?;
            match c.settings.batch {
                0 | 1 => eprintln!("proving (k={}) ...", c.settings.k),
                n => eprintln!("proving {n} inferences (k={}) ...", c.settings.k),
            }
            let transcript = if for_aggregation {
                proof::TranscriptKind::Poseidon
            } else {
                proof::TranscriptKind::Evm
            };
            let p = proof::prove(&c, &x, transcript)?;
            crate::artifact::write_json(&out, &p)?;
            println!(
                "proof written to {}: prove {:.2}s, {} bytes, {} public inputs, max abs error {:.5} vs float model",
                out.display(),
                p.prove_seconds,
                p.proof_bytes()?.len(),
                p.public_inputs.len(),
                p.max_abs_error
            );
            if c.settings.visibility.output == Vis::Public {
                println!("outputs: {}", format_floats(&p.outputs));
            } else {
                println!(
                    "outputs: {} (not in the proof file)",
                    c.settings.visibility.output
                );
            }
        }
        Command::SplitWitness { dir, input } => {
            let b = crate::split::SplitBuild::load(&dir)?;
            let x = b.chunks[0].read_inputs(&input)?;
            let outputs = crate::split::witness(&b, &x)?;
            println!(
                "wrote {} chunk inputs ({}); model outputs {}",
                b.chunks.len(),
                crate::split::BOUNDARY_FILE,
                format_floats(&outputs)
            );
        }
        Command::ProveChunk { dir, json } => {
            let p = crate::split::prove_chunk(&dir)?;
            let rss = crate::progress::peak_rss_mb();
            if json {
                println!(
                    "{}",
                    serde_json::json!({"prove_seconds": p.prove_seconds, "peak_rss_mb": rss})
                );
            } else {
                println!(
                    "chunk proof written to {}: k = {}, prove {:.2}s, peak RSS {rss:.0} MB",
                    dir.join(crate::aggregate::PROOF_FILE).display(),
                    p.k,
                    p.prove_seconds
                );
            }
        }
        Command::FoldChunks {
            dir,
            out,
            node,
            plan,
        } => fold_chunks(&dir, out.as_deref(), node.as_deref(), plan)?,
        Command::Aggregate {
            items,
            out,
            k,
            srs,
            for_aggregation,
        } => {
            let inners = crate::api::aggregate_items(&items)?;
            let transcript = match for_aggregation {
                true => crate::proof::TranscriptKind::Poseidon,
                false => crate::proof::TranscriptKind::Evm,
            };
            let opts = crate::aggregate::Options { k, srs, transcript };
            let r = crate::aggregate::aggregate(&inners, &out, &opts)?;
            let keygen = match r.keygen_seconds {
                Some(s) => format!("keygen {s:.1}s"),
                None => "keys reused".into(),
            };
            println!(
                "aggregated {} proofs into {}: k = {}, {} advice + {} lookup + {} fixed columns, {keygen}, prove {:.1}s, {} bytes, {} public inputs",
                r.aggregated,
                out.join(crate::aggregate::PROOF_FILE).display(),
                r.k,
                r.num_advice,
                r.num_lookup_advice,
                r.num_fixed,
                r.prove_seconds,
                r.proof_bytes,
                r.num_public
            );
        }
        Command::Verify {
            dir,
            proof,
            weights_commitment,
            any_weights,
        } => {
            let pin = crate::api::weights_pin(weights_commitment.as_deref(), any_weights)?;
            let doc = crate::api::ProofDoc::read(&proof)?;
            let weights = match crate::api::verify_pinned(&dir, &doc, pin)? {
                crate::proof::Verdict::Invalid(why) => {
                    return Err(Rejected(format!(
                        "proof {} is NOT valid for {}: {why}",
                        proof.display(),
                        dir.display()
                    ))
                    .into())
                }
                crate::proof::Verdict::Valid { weights } => weights,
            };
            println!("proof {} is valid", proof.display());
            if doc.is_binding() {
                let b = doc.binding_proof()?;
                let [x, y] = &b.params_commitment;
                println!(
                    "  the weights committed as ({x}, {y}) hash to {}",
                    b.params_hash
                );
            } else if let Some([x, y]) = weights {
                let whose = match pin {
                    crate::proof::WeightsPin::Build => "this build's weights",
                    crate::proof::WeightsPin::Point(_) => "the given weights",
                    crate::proof::WeightsPin::Any => "weights not compared (--any-weights)",
                };
                println!("  made with the weights committed as ({x}, {y}): {whose}");
            }
        }
        Command::GenVerifier {
            dir,
            out,
            binder,
            srs,
        } => {
            eprintln!("generating and compiling the Solidity verifier ...");
            let a = if binder {
                crate::api::gen_binder(&dir, &out, srs.as_deref())?
            } else {
                crate::api::gen_verifier(&dir, &out)?
            };
            println!(
                "verifier written to {}: runtime {} bytes (limit {}), proof {} bytes, {} public inputs, solc {}",
                out.display(),
                a.runtime_size,
                evm::EIP170_LIMIT,
                a.proof_len,
                a.num_public,
                a.solc_version
            );
            if a.dev_srs {
                println!("  development SRS: the contract's DEVELOPMENT_SRS() is true, and `deploy` refuses it off chains 31337/1337 without --allow-dev-srs");
            }
        }
        Command::TestEvm { vdir, proof } => {
            let a = evm::verifier::VerifierArtifact::read(&vdir)?;
            let v = evm::verifier::run_in_revm(&a, &evm::verifier::calldata_for_file(&proof)?)?;
            if v.accepted {
                println!("verify returned true: gas used {} (tx total, incl. 21000 intrinsic), deploy gas {}, runtime {} bytes", v.gas_used, v.deploy_gas, v.runtime_size);
            } else {
                return Err(Rejected(format!(
                    "EVM verifier rejected {}: {} (gas used {})",
                    proof.display(),
                    v.reason.unwrap_or_default(),
                    v.gas_used
                ))
                .into());
            }
        }
        Command::Deploy {
            path,
            chain,
            args,
            allow_dev_srs,
            json,
        } => {
            let r = crate::api::deploy(&path, &chain.chain()?, args.as_deref(), allow_dev_srs)?;
            if json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!(
                    "deployed {} at {} (chain {}), tx {}, gas used {}",
                    path.display(),
                    r.address,
                    r.chain_id,
                    r.tx_hash,
                    r.gas_used
                );
            }
        }
        Command::VerifyOnchain {
            proof,
            address,
            chain,
            send,
            json,
        } => {
            let doc = crate::api::ProofDoc::read(&proof)?;
            let v = crate::api::verify_onchain(&doc, &address, &chain.chain()?, send)?;
            if json {
                println!("{}", serde_json::to_string(&v)?);
            }
            if !v.accepted {
                return Err(Rejected(format!(
                    "verifier at {address} rejected {}",
                    proof.display()
                ))
                .into());
            }
            if !json {
                match v.gas_used {
                    Some(g) => println!(
                        "verify returned true on chain: tx {}, gas used {g}",
                        v.tx_hash.unwrap_or_default()
                    ),
                    None => println!("verify returned true (eth_call)"),
                }
            }
        }
        Command::Suite { dir, max_k, json } => crate::suite::run(&dir, max_k, json.as_deref())?,
        Command::Conformance {
            dir,
            only,
            no_mock,
            json,
            table,
        } => {
            let dir = dir
                .or_else(crate::conformance::default_node_dir)
                .context("no node-test folder: pass DIR or run scripts/setup-python.sh")?;
            let rows = crate::conformance::run(&dir, &only, !no_mock)?;
            if table {
                print!("{}", crate::conformance::markdown_table(&rows));
            } else {
                print_conformance(&rows);
            }
            if let Some(path) = json {
                crate::artifact::write_json(&path, &rows)?;
            }
        }
        Command::SuiteOne { model, max_k } => println!(
            "{}",
            serde_json::to_string(&crate::suite::one(&model, max_k))?
        ),
        Command::Bench {
            models,
            json,
            aggregate,
            k,
            ..
        } if !aggregate.is_empty() => {
            let model = models.first().cloned().unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("test-vectors")
                    .join("rockybot")
            });
            crate::bench::run_aggregate(&model, &aggregate, k, json.as_deref())?
        }
        Command::Bench {
            models,
            json,
            params,
            pack_public,
            batch,
            ..
        } => crate::bench::run(&models, &params, &pack_public, &batch, json.as_deref())?,
        Command::BenchAggregateOne { model, proofs, k } => {
            println!(
                "{}",
                serde_json::to_string(&crate::bench::aggregate_one(&model, proofs, k)?)?
            )
        }
        Command::BenchOne {
            model,
            param_visibility,
            pack_public,
            batch,
        } => {
            let case = crate::bench::Case {
                params: param_visibility,
                pack_public,
                batch,
            };
            println!(
                "{}",
                serde_json::to_string(&crate::bench::one(&model, case)?)?
            )
        }
        Command::Calldata { proof } => {
            println!(
                "{}",
                crate::artifact::to_hex(&evm::verifier::calldata_for_file(&proof)?)
            );
        }
    }
    Ok(())
}

/// `fold-chunks`: the whole tree, one node of it, or its plan.
fn fold_chunks(dir: &Path, out: Option<&Path>, node: Option<&str>, plan: bool) -> Result<()> {
    let b = crate::split::SplitBuild::load(dir)?;
    let tree = b.tree();
    if plan {
        println!("{}", serde_json::to_string_pretty(&tree)?);
        return Ok(());
    }
    let n = match node {
        Some(name) => Some(tree.find(name).with_context(|| {
            format!(
                "{}: the aggregation tree has no node '{name}' (see --plan)",
                dir.display()
            )
        })?),
        None => None,
    };
    let needs_out = n.is_none_or(|n| tree.is_root(n));
    let out = match (out, needs_out) {
        (Some(o), _) => o.to_path_buf(),
        (None, false) => PathBuf::new(),
        (None, true) => bail!("--out is needed: where the final proof goes"),
    };
    let r = match n {
        Some(n) => crate::split::fold_node(&b, &tree, n, &out)?,
        None => crate::split::fold(&b, &out)?,
    };
    let written = match n {
        Some(n) if !tree.is_root(n) => tree.node_dir(&b.dir, n).join(crate::aggregate::PROOF_FILE),
        _ => out,
    };
    println!(
        "proof written to {}: {} proofs folded at k = {} in {:.1}s, peak RSS {:.0} MB, {} bytes, {} public inputs",
        written.display(),
        r.aggregated,
        r.k,
        r.prove_seconds,
        crate::progress::peak_rss_mb(),
        r.proof_bytes,
        r.num_public
    );
    Ok(())
}

fn print_split(model: &Path, out: &Path, b: &crate::split::SplitBuild, t: Instant) {
    let s = &b.settings;
    let tree = b.tree();
    let folded = match tree.levels.len() {
        1 => "an aggregation".to_string(),
        depth => format!(
            "a tree of {} aggregations in {depth} levels (fan-in {})",
            tree.nodes().count(),
            s.fan_in
        ),
    };
    println!(
        "compiled {} -> {} in {:.2}s: split into {} (max k = {}), folded by {folded} at k = {}",
        model.display(),
        out.display(),
        t.elapsed().as_secs_f64(),
        crate::split::describe(s),
        s.max_k,
        s.aggregate_k
    );
    println!(
        "  scale = 2^{}  weights = 2^{}  range = {} bits",
        s.quant.scale_bits, s.quant.weight_bits, s.quant.range_bits
    );
    for c in &s.chunks {
        println!(
            "  {}: k = {}, {} values, input {} values, output {} values",
            c.dir, c.k, c.values, c.inputs, c.outputs
        );
    }
}

/// `input[0..36], output[0..2], params_commitment`: runs of indexed names
/// collapsed.
fn summarize_names(names: &[String]) -> String {
    use crate::circuit::public::PublicItem;
    // A tensor is public whole, so each run is `base[0..len]`; a packed
    // run counts its values and words.
    crate::circuit::public::name_runs(names)
        .into_iter()
        .map(
            |(base, start, len)| match PublicItem::parse(&names[start]) {
                Some(PublicItem::Packed { .. }) => {
                    let values: usize = names[start..start + len]
                        .iter()
                        .filter_map(|n| match PublicItem::parse(n) {
                            Some(PublicItem::Packed { len, .. }) => Some(len),
                            _ => None,
                        })
                        .sum();
                    format!("{base}[0..{values}] in {len} packed words")
                }
                _ if len == 0 => base,
                _ => format!("{base}[0..{len}]"),
            },
        )
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_conformance(rows: &[crate::conformance::Row]) {
    use crate::conformance::Status;
    println!(
        "{:<48} {:<24} {:>3} {:>9} {:>9}  status",
        "test", "op", "k", "err", "tol"
    );
    for r in rows {
        let f = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.4}"));
        let status = match &r.status {
            Status::Pass => "pass".to_string(),
            Status::Fail(why) => format!("FAIL: {why}"),
            Status::Excluded(rule) => format!("excluded: {}", rule.rule()),
            Status::Unsupported(op) => format!("unsupported op {op}"),
        };
        let k = r.k.map_or("-".to_string(), |k| k.to_string());
        println!(
            "{:<48} {:<24} {k:>3} {:>9} {:>9}  {status}",
            r.test,
            r.op.chars().take(24).collect::<String>(),
            f(r.max_err),
            f(r.tolerance)
        );
    }
    let summary = crate::conformance::summary(rows);
    let (p, f, x) = summary
        .iter()
        .fold((0, 0, 0), |a, s| (a.0 + s.1, a.1 + s.2, a.2 + s.3));
    println!(
        "claimed ops: {} ops, {p} tests pass, {f} fail, {x} excluded by rule",
        summary.len()
    );
}

pub fn format_floats(v: &[f64]) -> String {
    let shown: Vec<String> = v.iter().take(12).map(|x| format!("{x:.4}")).collect();
    let more = if v.len() > 12 {
        format!(" … ({} values)", v.len())
    } else {
        String::new()
    };
    format!("[{}]{more}", shown.join(", "))
}
