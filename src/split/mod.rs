//! Models larger than one circuit: the quantized program cut into chunks,
//! each its own circuit of at most 2^max_k rows, proven one by one and
//! folded into one aggregated proof.
//!
//! The tensor crossing a cut (see [`slice`]) is the hashed output of one
//! chunk and the hashed input of the next: each chunk circuit exposes a
//! Poseidon commitment to it, computed in-circuit from the range-checked
//! cells, so intermediate values stay private and are still bound. The
//! aggregation circuit constrains the two commitments of every cut equal
//! (a [`Wiring`] link) and exposes neither; its public inputs are the
//! accumulator, then the model's own public inputs and outputs.
//!
//! A split build directory holds `split.json`, the model, one compiled
//! directory per chunk (`chunk-0/`, ...), and after `setup` the
//! aggregation keys at its root, so every later step (`verify`,
//! `gen-verifier`, `test-evm`, `calldata`, `deploy`) reads it as the
//! aggregation directory it also is.

mod jobs;
pub mod plan;
pub mod slice;
pub mod tree;

use crate::aggregate::{
    self, AggregateProof, AggregateReport, ChildShape, Edge, Edges, Inner, Wiring, POINT_LIMBS,
};
use crate::artifact;
use crate::circuit::layout::{self, Layout};
use crate::circuit::public::{Linked, Vis, Visibility};
use crate::compile::{
    self, Calibration, CompileOptions, Compiled, LayoutStats, Settings, MODEL_FILE, SETTINGS_FILE,
    SETTINGS_VERSION,
};
use crate::model::{Model, Program};
use crate::proof::{self, link, Keys, TranscriptKind};
use crate::quant::{self, QuantParams};
use anyhow::{bail, Context, Result};
use halo2_proofs::halo2curves::bn256::Fr;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use slice::{chunk_program, chunk_slice, Boundaries, ChunkSlice};
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tree::{Child, FoldShape, Node, Tree};

pub const SPLIT_FILE: &str = "split.json";
/// 3: a linked input is its link column's cells, not range-checked again
/// (2 linked cuts and range-checked them on the receiving side; 1 hashed
/// them). 4: a chunk with no public rows (one between two cuts) pins its
/// first accumulator to zero, so its keys differ from version 3's.
pub const SPLIT_VERSION: u32 = 4;
/// The largest chunk `compile` makes unless told otherwise: a k = 21
/// circuit proves in a few GB, which this project's 24 GB machines hold
/// with room for the aggregation that follows.
pub const DEFAULT_MAX_K: u32 = 21;

/// `split.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SplitSettings {
    pub version: u32,
    pub model_hash: String,
    pub max_k: u32,
    /// log2 rows of the aggregation circuits that fold the chunks.
    pub aggregate_k: u32,
    /// Chunk proofs per first-level aggregation ([`tree`]).
    #[serde(default = "default_fan_in")]
    pub fan_in: usize,
    pub quant: QuantParams,
    pub input_shapes: Vec<Vec<usize>>,
    pub output_shapes: Vec<Vec<usize>>,
    /// The model's input and output visibility (the boundaries are hashed).
    pub visibility: Visibility,
    pub chunks: Vec<ChunkSummary>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ChunkSummary {
    /// Its compiled directory, relative to the build.
    pub dir: String,
    pub k: u32,
    pub rows_used: usize,
    /// Program values it computes, and its boundary widths.
    pub values: usize,
    pub inputs: usize,
    pub outputs: usize,
}

fn default_fan_in() -> usize {
    tree::DEFAULT_FAN_IN
}

pub fn is_split_dir(dir: &Path) -> bool {
    dir.join(SPLIT_FILE).is_file()
}

/// A split build, loaded: its settings and every chunk's compiled circuit.
pub struct SplitBuild {
    pub dir: PathBuf,
    pub settings: SplitSettings,
    pub chunks: Vec<Compiled>,
}

impl SplitBuild {
    pub fn load(dir: &Path) -> Result<SplitBuild> {
        let settings: SplitSettings = artifact::read_json(&dir.join(SPLIT_FILE))?;
        if settings.version != SPLIT_VERSION {
            bail!(
                "{}: version {} is not supported; recompile",
                dir.join(SPLIT_FILE).display(),
                settings.version
            );
        }
        let chunks = settings
            .chunks
            .iter()
            .map(|c| Compiled::load(&dir.join(&c.dir)))
            .collect::<Result<Vec<_>>>()?;
        check_chain(dir, &settings, &chunks)?;
        Ok(SplitBuild {
            dir: dir.to_path_buf(),
            settings,
            chunks,
        })
    }

    /// How the chunk proofs are folded: the aggregation tree.
    pub fn tree(&self) -> Tree {
        Tree::new(
            self.chunks.len(),
            FoldShape {
                k: self.settings.aggregate_k,
                fan_in: self.settings.fan_in,
            },
        )
    }

    /// The wiring of one aggregation over every chunk at once (a build of
    /// at most a fan-in's worth of chunks is folded so).
    pub fn wiring(&self) -> Wiring {
        let shapes: Vec<ChildShape> = self.chunks.iter().map(ChildShape::of_model).collect();
        wiring_of(&shapes)
    }

    fn aggregate_options(&self, srs: Option<PathBuf>) -> aggregate::Options {
        aggregate::Options {
            k: self.settings.aggregate_k,
            srs,
            transcript: proof::TranscriptKind::Evm,
        }
    }

    /// What the aggregation `n` folds, as shapes and keys (for keygen):
    /// a chunk's keys borrowed from `chunk_keys`, a node's loaded from its
    /// directory.
    fn child_keys<'a>(
        &self,
        tree: &Tree,
        n: &Node,
        chunk_keys: &'a [Keys],
    ) -> Result<Vec<(ChildShape, Cow<'a, Keys>)>> {
        n.children
            .iter()
            .map(|c| match *c {
                Child::Chunk(i) => Ok((
                    ChildShape::of_model(&self.chunks[i]),
                    Cow::Borrowed(&chunk_keys[i]),
                )),
                Child::Node { level, index } => {
                    let below = tree.node(level, index);
                    let agg = aggregate::Aggregated::load(&tree.node_dir(&self.dir, below))
                        .with_context(|| {
                            format!("aggregation node {} has no keys", below.name())
                        })?;
                    Ok((ChildShape::of_node(&agg), Cow::Owned(agg.keys())))
                }
            })
            .collect()
    }

    /// What folding the chunk proofs runs with: the build's aggregation k
    /// and the SRS `setup` wrote at its root.
    pub fn fold_options(&self) -> aggregate::Options {
        self.aggregate_options(Some(self.dir.join(proof::SRS_FILE)))
    }
}

/// The chunks of a build must be consecutive slices of one model, each
/// one's output tensor the next one's input tensor: an edited chunk
/// directory would otherwise get keys for another computation.
fn check_chain(dir: &Path, s: &SplitSettings, chunks: &[Compiled]) -> Result<()> {
    let broken = |what: String| anyhow::anyhow!("{}: {what}; recompile", dir.display());
    let slices = chunks
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if c.settings.model_hash != s.model_hash {
                return Err(broken(format!("chunk {i} is of another model")));
            }
            match &c.settings.chunk {
                Some(slice) if slice.index == i && slice.count == chunks.len() => Ok(slice),
                _ => Err(broken(format!(
                    "chunk {i}'s settings are not chunk {i} of {}",
                    chunks.len()
                ))),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let Some(first) = chunks.first() else {
        return Err(broken("it has no chunks".into()));
    };
    let (k, tail) = (first.settings.k, slices[0].link_tail_len);
    for (i, c) in chunks.iter().enumerate() {
        // Linked columns must share one domain and one tail length, which
        // covers every blinding row; and every cut must be linked.
        let (is_first, is_last) = (i == 0, i + 1 == chunks.len());
        let linked = Linked {
            input: !is_first,
            output: !is_last,
        };
        if (c.settings.k, slices[i].link_tail_len) != (k, tail)
            || tail < c.layout.reserved_rows
            || c.settings.visibility.linked != linked
        {
            return Err(broken(format!(
                "chunk {i}'s k, link tail or link columns do not match chunk 0's"
            )));
        }
    }
    for (i, pair) in slices.windows(2).enumerate() {
        if pair[0].end != pair[1].start || pair[0].outputs != pair[1].inputs {
            return Err(broken(format!(
                "chunk {} does not continue chunk {i}",
                i + 1
            )));
        }
    }
    Ok(())
}

/// What a chunk exposes: the model's input (first) and output (last) as
/// the user chose; a cut tensor is private and carried in a link column,
/// whose commitment the aggregation checks equal to the neighbouring
/// chunk's ([`crate::proof::link`]).
fn chunk_visibility(model: &Visibility, first: bool, last: bool) -> Visibility {
    Visibility {
        input: if first { model.input } else { Vis::Private },
        output: if last { model.output } else { Vis::Private },
        params: Vis::Fixed,
        packed: false,
        linked: Linked {
            input: !first,
            output: !last,
        },
    }
}

/// Each cut's link between consecutive proofs (the earlier one's output
/// link and the later one's input link carry one commitment), every other
/// public input of every proof exposed, and the cuts at the ends passed up
/// as this aggregation's edges. The proofs are chunk proofs or proofs of
/// aggregations over consecutive chunks ([`tree`]): a chunk carries a cut
/// as its link column's commitment, a node as that point's limbs.
pub fn wiring_of(shapes: &[ChildShape]) -> Wiring {
    let mut w = Wiring::default();
    for b in 1..shapes.len() {
        let a = b - 1;
        let cut = (shapes[a].link_out, shapes[b].link_in);
        match cut {
            (Some(Edge::Column(x)), Some(Edge::Column(y))) => w.point_links.push([(a, x), (b, y)]),
            (Some(Edge::Column(x)), Some(Edge::Limbs(j))) => w.limb_links.push([(a, x), (b, j)]),
            (Some(Edge::Limbs(i)), Some(Edge::Column(y))) => w.limb_links.push([(b, y), (a, i)]),
            (Some(Edge::Limbs(i)), Some(Edge::Limbs(j))) => w
                .links
                .extend((0..POINT_LIMBS).map(|l| [(a, i + l), (b, j + l)])),
            _ => panic!("proofs {a} and {b} do not meet at a linked cut: {cut:?}"),
        }
    }
    w.edges = Edges {
        input: shapes.first().and_then(|s| s.link_in).map(|e| (0, e)),
        output: shapes
            .last()
            .and_then(|s| s.link_out)
            .map(|e| (shapes.len() - 1, e)),
    };
    w
}

/// Compile `model` as chunks of at most 2^max_k rows into `out`.
fn compile(
    model: Model,
    samples: &[Vec<f64>],
    opts: &CompileOptions,
    quantized: compile::Quantized,
    max_k: u32,
    fold: FoldShape,
    out: &Path,
) -> Result<SplitBuild> {
    if opts.batch > 1 {
        bail!("--batch with a model split into chunks is not supported: batch a model that fits one circuit (raise --max-k)");
    }
    if opts.visibility.params != Vis::Fixed {
        bail!("a model split into chunks keeps its weights in fixed columns: use --param-visibility fixed (the default)");
    }
    opts.visibility.check().map_err(anyhow::Error::msg)?;
    let (q, whole) = (quantized.quant, quantized.program);
    for (i, s) in samples.iter().enumerate() {
        let xq: Vec<i64> = s.iter().map(|&v| q.quantize_input(v)).collect();
        quant::forward(&whole, &q, &xq)
            .with_context(|| format!("calibration sample #{i} does not fit"))?;
    }
    let vis = |first, last| chunk_visibility(&opts.visibility, first, last);
    // Planning lays out every candidate chunk: tens of seconds for a model
    // of millions of rows.
    eprintln!(
        "more than 2^{max_k} rows as one circuit: planning chunks over {} values ...",
        whole.values.len()
    );
    let cuts = plan::cuts(&whole, &q, max_k, vis)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let model_dst = out.join(MODEL_FILE);
    if std::fs::canonicalize(&model.path).ok() != std::fs::canonicalize(&model_dst).ok() {
        std::fs::copy(&model.path, &model_dst)
            .with_context(|| format!("cannot copy model to {}", model_dst.display()))?;
    }
    let model_hash = compile::hash_file(&model_dst)?;
    let b = Boundaries::new(&whole);
    let calibration = Calibration {
        samples: samples.len(),
        max_abs_activation: quantized.max_abs,
        narrowed_tables: quantized.narrowed,
    };
    let ctx = ChunkContext {
        whole: &whole,
        q: &q,
        opts,
        max_k,
        model: &model,
        model_hash: &model_hash,
        calibration: &calibration,
    };
    let chosen = cuts
        .iter()
        .enumerate()
        .map(|(i, &cut)| ctx.choose(chunk_slice(&whole, &b, i, cuts.len(), cut)))
        .collect::<Result<Vec<_>>>()?;
    // Linked columns are one polynomial only over one domain, and their
    // tails must be as long in both proofs: every chunk at the largest k,
    // every tail past the most blinding rows any chunk has.
    let k = chosen
        .iter()
        .map(|c| c.k)
        .max()
        .expect("at least one chunk");
    let layouts: Vec<Layout> = chosen.iter().map(|c| c.layout(&q, k)).collect();
    let link_tail_len = layouts
        .iter()
        .map(|lay| lay.reserved_rows)
        .chain([link::min_tail_len(&[1, 1])])
        .max()
        .expect("a minimum");
    let mut summaries = Vec::new();
    for (i, ((mut c, lay), &cut)) in chosen.into_iter().zip(layouts).zip(&cuts).enumerate() {
        c.slice.link_tail_len = link_tail_len;
        let settings = ctx.settings(c, &lay)?;
        let dir = format!("chunk-{i}");
        summaries.push(ChunkSummary {
            dir: dir.clone(),
            k: settings.k,
            rows_used: settings.layout.rows_used,
            values: cut.1 - cut.0.max(whole.num_inputs),
            inputs: settings.chunk.as_ref().map_or(0, |c| c.inputs.len()),
            outputs: settings.chunk.as_ref().map_or(0, |c| c.outputs.len()),
        });
        write_chunk(&out.join(&dir), &model_dst, &settings)?;
    }
    let settings = SplitSettings {
        version: SPLIT_VERSION,
        model_hash,
        max_k,
        aggregate_k: fold.k,
        fan_in: fold.fan_in,
        quant: q,
        input_shapes: model.program.input_shapes.clone(),
        output_shapes: model.program.output_shapes.clone(),
        visibility: opts.visibility,
        chunks: summaries,
    };
    artifact::write_json(&out.join(SPLIT_FILE), &settings)?;
    SplitBuild::load(out)
}

/// What `compile` made: one circuit, or a split build.
pub enum Build {
    Single(Box<Compiled>),
    Split(SplitBuild),
}

/// `compile` with splitting: the model as one circuit when it fits in
/// 2^max_k rows, else as chunks that each do.
pub fn compile_files(
    model_path: &Path,
    inputs: &[PathBuf],
    opts: &CompileOptions,
    max_k: u32,
    fold: FoldShape,
    out: &Path,
) -> Result<Build> {
    let files = compile::read_input_files(inputs)?;
    let (model, samples) = compile::load_for_calibration(model_path, &files)?;
    let opts = &compile::with_packing(opts, &model.program);
    // The single-circuit path refuses bad options with its own message.
    opts.visibility.check().map_err(anyhow::Error::msg)?;
    // One calibration serves the decision and whichever compile follows.
    let quantized = compile::calibrate_quant(&model.program, &samples, opts)?;
    if fits_one_circuit(&quantized, opts, max_k)? {
        return Ok(Build::Single(Box::new(compile::compile_quantized(
            model, &samples, opts, quantized, out,
        )?)));
    }
    Ok(Build::Split(compile(
        model, &samples, opts, quantized, max_k, fold, out,
    )?))
}

/// Whether the model, laid out as `compile` would, needs at most 2^max_k
/// rows. Options only one circuit can refuse (two multiply lanes without
/// fixed weights) count as fitting, so that path says why.
fn fits_one_circuit(
    quantized: &compile::Quantized,
    opts: &CompileOptions,
    max_k: u32,
) -> Result<bool> {
    if matches!(opts.shape, Some(s) if s.wide_mac && opts.visibility.params != Vis::Fixed) {
        return Ok(true);
    }
    let k = compile::fit_shape(&quantized.program, &quantized.quant, opts)?.map(|(_, k)| k);
    Ok(k.is_some_and(|k| k <= max_k))
}

/// What every chunk's settings share.
struct ChunkContext<'a> {
    whole: &'a Program<i64>,
    q: &'a QuantParams,
    opts: &'a CompileOptions,
    max_k: u32,
    model: &'a Model,
    model_hash: &'a str,
    calibration: &'a Calibration,
}

/// A chunk's program, visibility and shape, and the least k it fits.
struct ChosenChunk {
    slice: ChunkSlice,
    program: Program<i64>,
    vis: Visibility,
    shape: layout::Shape,
    k: u32,
}

impl ChosenChunk {
    fn layout(&self, q: &QuantParams, k: u32) -> Layout {
        Layout::new(&self.program, q, k, self.vis, self.shape)
    }
}

impl ChunkContext<'_> {
    /// One chunk's program, visibility and shape, at the least k it fits.
    fn choose(&self, slice: ChunkSlice) -> Result<ChosenChunk> {
        let (whole, q, opts, max_k) = (self.whole, self.q, self.opts, self.max_k);
        let program = chunk_program(whole, &slice);
        let mut vis = chunk_visibility(&opts.visibility, slice.is_first(), slice.is_last());
        vis.packed = opts.pack_public.resolve_for(&vis, &program, 1);
        let mut chosen = layout::choose_shape(&program, q, vis);
        // The cuts were planned unpacked; packing's table may not fit 2^max_k.
        if vis.packed && chosen.is_none_or(|(_, k)| k > max_k) {
            vis.packed = false;
            chosen = layout::choose_shape(&program, q, vis);
        }
        let (shape, k) =
            chosen.with_context(|| format!("chunk {} does not fit any circuit", slice.index))?;
        Ok(ChosenChunk {
            slice,
            program,
            vis,
            shape,
            k,
        })
    }

    /// One chunk's `settings.json`, laid out as `lay` (at the build's k,
    /// at least the chunk's own).
    fn settings(&self, c: ChosenChunk, lay: &Layout) -> Result<Settings> {
        let (q, model, k) = (self.q, self.model, lay.k);
        let linked_rows = c.slice.inputs.len().max(c.slice.outputs.len());
        if linked_rows + c.slice.link_tail_len > lay.usable_rows() {
            bail!(
                "chunk {}: its {linked_rows} linked values and a link tail of {} rows do not fit 2^{k} rows",
                c.slice.index,
                c.slice.link_tail_len
            );
        }
        Ok(Settings {
            version: SETTINGS_VERSION,
            model_hash: self.model_hash.to_string(),
            k,
            quant: *q,
            input_shapes: model.program.input_shapes.clone(),
            output_shapes: model.program.output_shapes.clone(),
            visibility: c.vis,
            shape: c.shape,
            public_layout: lay.public_names(),
            batch: 1,
            layout: LayoutStats::of(&c.program, q, lay, c.vis, c.shape),
            calibration: self.calibration.clone(),
            chunk: Some(c.slice),
        })
    }
}

/// A chunk directory: its settings and the model (a hard link to the
/// build's copy where the file system allows).
fn write_chunk(dir: &Path, model: &Path, settings: &Settings) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dst = dir.join(MODEL_FILE);
    let _ = std::fs::remove_file(&dst);
    if std::fs::hard_link(model, &dst).is_err() {
        std::fs::copy(model, &dst)
            .with_context(|| format!("cannot copy the model to {}", dst.display()))?;
    }
    artifact::write_json(&dir.join(SETTINGS_FILE), settings)
}

#[derive(Debug, Clone, Serialize)]
pub struct SplitSetupReport {
    pub chunks: Vec<proof::SetupReport>,
    /// None when aggregation keys of the same shape were already there.
    pub aggregate_keygen_seconds: Option<f64>,
    pub aggregate_k: u32,
    /// Aggregation jobs in the tree (1: one aggregation folds every chunk).
    pub aggregations: usize,
}

/// Keys for every chunk, then the aggregation keys (made from the chunks'
/// verifying keys alone, before any proof exists).
pub fn setup(b: &SplitBuild, srs: Option<&Path>) -> Result<SplitSetupReport> {
    let mut chunks = Vec::new();
    for (i, c) in b.chunks.iter().enumerate() {
        eprintln!(
            "keygen for chunk {i} of {} (k={}) ...",
            b.chunks.len(),
            c.settings.k
        );
        chunks.push(proof::setup(c, srs)?);
    }
    let keys = b
        .chunks
        .iter()
        .map(proof::load_keys)
        .collect::<Result<Vec<_>>>()?;
    let tree = b.tree();
    let mut secs = 0.0;
    for n in tree.nodes() {
        eprintln!(
            "aggregation keygen, node {} of the tree (k={}, {} proofs: chunks {}-{}) ...",
            n.name(),
            b.settings.aggregate_k,
            n.children.len(),
            n.first_chunk,
            n.last_chunk
        );
        let (shapes, child_keys): (Vec<ChildShape>, Vec<Cow<Keys>>) =
            b.child_keys(&tree, n, &keys)?.into_iter().unzip();
        let child_keys: Vec<&Keys> = child_keys.iter().map(|k| k.as_ref()).collect();
        secs += aggregate::setup_wired(
            &shapes,
            &child_keys,
            &wiring_of(&shapes),
            &tree.node_dir(&b.dir, n),
            &b.aggregate_options(srs.map(Path::to_path_buf)),
        )?;
    }
    Ok(SplitSetupReport {
        chunks,
        aggregate_keygen_seconds: (secs > 0.0).then_some(secs),
        aggregate_k: b.settings.aggregate_k,
        aggregations: tree.nodes().count(),
    })
}

/// Each chunk's input tensor, as fixed-point integers: the file that makes
/// a chunk's proof an independent job (`chunk-i/boundary.json`).
pub const BOUNDARY_FILE: &str = "boundary.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BoundaryFile {
    /// The chunk's input values, quantized (`value · 2^scale_bits`).
    pub values: Vec<i64>,
    /// The seeds of the link tails at its input cut and output cut (hex,
    /// 32 bytes), each shared with the chunk across that cut and fresh for
    /// every inference: a tail used twice would cancel in the difference of
    /// two commitments, unblinding the difference of the data. They are as
    /// secret as the values beside them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_in: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_out: Option<String>,
}

impl BoundaryFile {
    /// Each link column's tail, in column order (input's, then output's).
    pub fn link_tails(&self, c: &Compiled) -> Result<Vec<Vec<Fr>>> {
        let slice = c
            .settings
            .chunk
            .as_ref()
            .context("not a chunk of a split build")?;
        let linked = c.settings.visibility.linked;
        // Cut `i` lies between chunks `i` and `i + 1`.
        let input_cut = slice.index.saturating_sub(1);
        let seeds = [
            (linked.input, &self.link_in, input_cut),
            (linked.output, &self.link_out, slice.index),
        ];
        seeds
            .into_iter()
            .filter(|(on, _, _)| *on)
            .map(|(_, seed, cut)| {
                let seed = seed
                    .as_deref()
                    .context("no link seed for a linked cut: rerun `zkml-evm split-witness`")?;
                let seed: [u8; 32] = artifact::from_hex(seed)
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .context("a link seed is not 32 bytes of hex")?;
                Ok(link::tail_values(seed, cut as u64, slice.link_tail_len))
            })
            .collect()
    }
}

/// Run the model once in fixed point (cheap next to proving) and write
/// every chunk's input tensor and link seeds to its `boundary.json`, so
/// the chunk proofs can run in any order, on any machine that sees the
/// build. Returns the model's outputs, dequantized.
pub fn witness(b: &SplitBuild, input: &[f64]) -> Result<Vec<f64>> {
    let q = &b.settings.quant;
    let mut carried: Vec<i64> = input.iter().map(|&v| q.quantize_input(v)).collect();
    let cut_seeds: Vec<String> = (1..b.chunks.len())
        .map(|_| {
            let mut seed = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut seed);
            artifact::to_hex(&seed)
        })
        .collect();
    for (i, c) in b.chunks.iter().enumerate() {
        artifact::write_json(
            &c.dir.join(BOUNDARY_FILE),
            &BoundaryFile {
                values: carried.clone(),
                link_in: i.checked_sub(1).map(|cut| cut_seeds[cut].clone()),
                link_out: cut_seeds.get(i).cloned(),
            },
        )?;
        let values = quant::forward(&c.program, q, &carried)
            .with_context(|| format!("chunk {i} of {}", b.chunks.len()))?;
        carried = c.program.outputs.iter().map(|&o| values[o]).collect();
    }
    Ok(carried.iter().map(|&v| q.dequantize(v)).collect())
}

/// Prove one chunk from its `boundary.json` into its `proof.json`: the
/// unit of work `prove --jobs` and `scripts/ray_prove.py` schedule.
pub fn prove_chunk(chunk_dir: &Path) -> Result<proof::ProofFile> {
    let c = Compiled::load(chunk_dir)?;
    if c.settings.chunk.is_none() {
        bail!("{} is not a chunk of a split build", chunk_dir.display());
    }
    let boundary: BoundaryFile = artifact::read_json(&chunk_dir.join(BOUNDARY_FILE))
        .context("run `zkml-evm split-witness` (or `prove`) on the build first")?;
    let tails = boundary
        .link_tails(&c)
        .with_context(|| chunk_dir.join(BOUNDARY_FILE).display().to_string())?;
    let (p, _) = proof::prove_linked(&c, &boundary.values, &tails)
        .with_context(|| chunk_dir.display().to_string())?;
    artifact::write_json(&chunk_dir.join(aggregate::PROOF_FILE), &p)?;
    Ok(p)
}

/// Fold the chunk proofs in the build (`chunk-i/proof.json`) into one
/// proof at `out`, node by node up the aggregation tree; each aggregation
/// checks its proofs and links. Prints a line as each node finishes.
pub fn fold(b: &SplitBuild, out: &Path) -> Result<AggregateReport> {
    require_aggregation_keys(b)?;
    let tree = b.tree();
    let total = tree.nodes().count();
    let started = Instant::now();
    let mut last = None;
    for (done, n) in tree.nodes().enumerate() {
        let r = fold_node(b, &tree, n, out)?;
        if total > 1 {
            let elapsed = started.elapsed().as_secs_f64();
            eprintln!(
                "[{}/{total}] aggregation node {} (chunks {}-{}) proved in {:.1}s, peak RSS {:.0} MB (elapsed {elapsed:.0}s, about {:.0}s left)",
                done + 1,
                n.name(),
                n.first_chunk,
                n.last_chunk,
                r.prove_seconds,
                crate::progress::peak_rss_mb(),
                elapsed / (done + 1) as f64 * (total - done - 1) as f64
            );
        }
        last = Some(r);
    }
    Ok(last.expect("a tree has a root"))
}

/// One aggregation of the tree (`fold-chunks --node`): its children's
/// proofs (chunk proofs, or proofs of the nodes below, which must exist)
/// folded into its own, at `agg-L-I/proof.json`, or at `out` for the root.
/// Nodes of one level are independent jobs.
pub fn fold_node(b: &SplitBuild, tree: &Tree, n: &Node, out: &Path) -> Result<AggregateReport> {
    let inners = n
        .children
        .iter()
        .map(|c| match *c {
            Child::Chunk(i) => {
                let dir = &b.chunks[i].dir;
                let path = dir.join(aggregate::PROOF_FILE);
                let mut inner = Inner::load(dir, &path)
                    .with_context(|| format!("chunk {i}: no proof at {}", path.display()))?;
                inner.label = format!("chunk {i} ({})", path.display());
                Ok(inner)
            }
            Child::Node { level, index } => {
                let below = tree.node(level, index);
                let dir = tree.node_dir(&b.dir, below);
                let path = dir.join(aggregate::PROOF_FILE);
                let mut inner = Inner::load_node(&dir, &path).with_context(|| {
                    format!(
                        "aggregation node {}: no proof at {} (fold that node first)",
                        below.name(),
                        path.display()
                    )
                })?;
                inner.label = format!("aggregation node {} ({})", below.name(), path.display());
                Ok(inner)
            }
        })
        .collect::<Result<Vec<_>>>()?;
    let shapes: Vec<ChildShape> = inners.iter().map(Inner::shape).collect();
    let mut opts = b.fold_options();
    let dir = tree.node_dir(&b.dir, n);
    let proof_path = match tree.is_root(n) {
        true => out.to_path_buf(),
        false => {
            opts.transcript = TranscriptKind::Poseidon;
            dir.join(aggregate::PROOF_FILE)
        }
    };
    eprintln!(
        "aggregating {} proofs (node {}, chunks {}-{}, k={}) ...",
        inners.len(),
        n.name(),
        n.first_chunk,
        n.last_chunk,
        b.settings.aggregate_k
    );
    aggregate::aggregate_wired(&inners, &wiring_of(&shapes), &dir, &proof_path, &opts)
}

/// `setup` writes the aggregation keys at the build's root; `fold` needs
/// them, and `prove` checks first so it fails before any chunk work.
fn require_aggregation_keys(b: &SplitBuild) -> Result<()> {
    if !aggregate::Aggregated::is_aggregate_dir(&b.dir) {
        bail!(
            "{} has no aggregation keys: run `zkml-evm setup {}` first",
            b.dir.display(),
            b.dir.display()
        );
    }
    Ok(())
}

/// What `prove` did on a split build.
pub struct SplitProof {
    pub proof: AggregateProof,
    pub aggregate: AggregateReport,
    /// Per chunk: prove seconds.
    pub chunk_seconds: Vec<f64>,
    /// The model's outputs (dequantized) and the float model's.
    pub outputs: Vec<f64>,
    pub float_outputs: Vec<f64>,
}

/// Prove every chunk on `input`, `jobs` at a time (separate processes when
/// more than one), then fold the chunk proofs into one proof at `out`.
pub fn prove(b: &SplitBuild, input: &[f64], out: &Path, jobs: usize) -> Result<SplitProof> {
    require_aggregation_keys(b)?;
    let outputs = witness(b, input)?;
    let float_outputs = b.chunks[0].model.float_reference()?.run(input)?;
    let dirs: Vec<PathBuf> = b.chunks.iter().map(|c| c.dir.clone()).collect();
    let chunk_seconds = if jobs <= 1 {
        in_process(&dirs)?
    } else {
        jobs::run(&dirs, jobs)?
    };
    let report = fold(b, out)?;
    Ok(SplitProof {
        proof: AggregateProof::read(out)?,
        aggregate: report,
        chunk_seconds,
        outputs,
        float_outputs,
    })
}

/// The chunk proofs one after another in this process.
fn in_process(dirs: &[PathBuf]) -> Result<Vec<f64>> {
    let started = Instant::now();
    let mut secs = Vec::new();
    for (i, d) in dirs.iter().enumerate() {
        let p = prove_chunk(d).with_context(|| format!("chunk {i} of {}", dirs.len()))?;
        secs.push(p.prove_seconds);
        jobs::report(
            i,
            dirs.len(),
            &p,
            Some(crate::progress::peak_rss_mb()),
            started,
        );
    }
    Ok(secs)
}

/// `shape` for messages: the chunk shapes of a build, e.g. "3 chunks, k = 17, 17, 15".
pub fn describe(s: &SplitSettings) -> String {
    let ks: Vec<String> = s.chunks.iter().map(|c| c.k.to_string()).collect();
    format!("{} chunks, k = {}", s.chunks.len(), ks.join(", "))
}
