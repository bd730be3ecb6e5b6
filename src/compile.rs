//! `compile`: ONNX model + sample inputs -> scales, k and `settings.json`.
//!
//! The compiled directory holds a copy of the model and the settings; the
//! quantized program and circuit are rebuilt from them deterministically by
//! [`Compiled::load`], so there is one source of truth for the weights.

use crate::circuit::layout::{self, Layout, Shape};
pub use crate::circuit::public::{Vis, Visibility};
use crate::circuit::{GateParams, ModelCircuit};
use crate::model::{narrow, rational};
use crate::model::{InputFile, InputShapes, Model, Program};
use crate::quant::{self, QuantParams, DEFAULT_LUT_BITS, DEFAULT_WEIGHT_BITS};
use crate::split::slice::{chunk_program, ChunkSlice};
use anyhow::{bail, Context, Result};
use halo2_proofs::halo2curves::bn256::Fr;
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// 3: every input has a range-check block and a short last params word
/// has no padding slots, so keys and commitments of version 2 differ.
/// 4: lowering changed (integer Div and Cast truncate, divisors of either
/// sign, integer inputs proven whole, exact roots in LpPool): a program
/// lowered by version 3 may differ from its keys.
/// 5: finer exp and softmax-log tables where the range is wide.
/// 6: a circuit with no public rows pins its first accumulator to zero
/// (the `top` gate), so its keys differ from version 5's.
pub const SETTINGS_VERSION: u32 = 6;
pub const MODEL_FILE: &str = "network.onnx";
pub const SETTINGS_FILE: &str = "settings.json";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    pub version: u32,
    /// keccak256 of the ONNX file, to catch a model swapped under the keys.
    pub model_hash: String,
    pub k: u32,
    pub quant: QuantParams,
    pub input_shapes: Vec<Vec<usize>>,
    pub output_shapes: Vec<Vec<usize>>,
    pub visibility: Visibility,
    /// Column shape of the neuron rows (narrow when absent).
    #[serde(default)]
    pub shape: Shape,
    /// The name of each public input, in verifier order (see
    /// `circuit::public::PublicItem::name`).
    #[serde(default)]
    pub public_layout: Vec<String>,
    /// Inferences one proof covers: the circuit holds this many copies of
    /// the model (same weights), inputs then outputs of every copy in
    /// order. `input_shapes`/`output_shapes` are one inference's.
    #[serde(default = "one")]
    pub batch: usize,
    pub layout: LayoutStats,
    pub calibration: Calibration,
    /// For one chunk of a split model (`crate::split`): which values of
    /// the model's quantized program this circuit computes. The shapes
    /// above stay the whole model's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk: Option<ChunkSlice>,
}

fn one() -> usize {
    1
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LayoutStats {
    pub rows_used: usize,
    pub usable_rows: usize,
    pub neurons: usize,
    pub mac_terms: usize,
    pub advice_columns: usize,
    /// Fixed columns before halo2 compresses the selectors.
    pub fixed_columns: usize,
    pub selectors: usize,
    pub public_inputs: usize,
}

impl LayoutStats {
    pub fn of(
        program: &Program<i64>,
        q: &QuantParams,
        lay: &Layout,
        visibility: Visibility,
        shape: Shape,
    ) -> LayoutStats {
        let (advice_columns, fixed_columns, selectors) = crate::circuit::column_counts(
            &GateParams::of(q, program, visibility, lay.packing, shape),
        );
        LayoutStats {
            rows_used: lay.rows_used,
            usable_rows: lay.usable_rows(),
            neurons: program.num_neurons(),
            mac_terms: program.num_terms(),
            advice_columns,
            fixed_columns,
            selectors,
            public_inputs: lay.public.len(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Calibration {
    pub samples: usize,
    pub max_abs_activation: f64,
    /// Exp and softmax-log tables read at a gain (`model::narrow`).
    #[serde(default)]
    pub narrowed_tables: bool,
}

/// What the user may fix instead of letting calibration choose.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    pub scale_bits: Option<u32>,
    pub weight_bits: Option<u32>,
    /// What is public; `visibility.packed` is set from `pack_public`.
    pub visibility: Visibility,
    /// The column shape; `None` lets [`layout::choose_shape`] pick.
    pub shape: Option<Shape>,
    /// Whether public inputs and outputs are packed into words.
    pub pack_public: PackPublic,
    /// Inferences one proof covers (`compile --batch`; 0 counts as 1).
    pub batch: usize,
    /// Committed weights: the fewest proofs of one salt that must keep the
    /// weights hidden; k grows until the salt rows allow it
    /// (`proof::committed::hidden_proofs`).
    pub hide_proofs: Option<usize>,
}

/// `compile --pack-public`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PackPublic {
    // The doc comments are `--help` text, so they name the thresholds'
    // values: PACK_FROM_VALUES and PACK_FROM_VALUES_ADVICE_WEIGHTS (a test
    // keeps the two in step).
    /// Packed wherever it is cheaper to verify: from 4 public values with
    /// fixed weights, from 30 with weights in advice (private, hashed,
    /// committed)
    #[default]
    Auto,
    /// Always packed: several small values to a public input
    On,
    /// Never packed: one public input a value
    Off,
}

/// Public values from which packing them verifies cheaper. The word gate's
/// selector costs what the chain start's used to, and each public value
/// packed saves about 250 gas of calldata and instance evaluation:
/// measured in one run, 4 values (2l_relu_fc) tie (74 gas less packed), 6
/// save 780, 7 save 1.1k, 18 (tictactoe) 4.2k, 48 (RockyBot) 12.5k. Below 4
/// values a tensor's word holds one or two values, and saves nothing. See
/// README, "Packed public inputs".
pub const PACK_FROM_VALUES: usize = 4;

/// The same with weights in advice (private, hashed, committed): the
/// word's multiply rows need a selector of their own there (`q_mac` reads
/// `f·w`, and `w` is free on a word's rows), which costs a fixed column.
/// Measured in one run with private weights: tictactoe's 18 values verify
/// for 3.0k more packed, RockyBot's 48 for 5.3k less; about 280 gas a
/// value between them puts the break-even near 29.
pub const PACK_FROM_VALUES_ADVICE_WEIGHTS: usize = 30;

impl PackPublic {
    /// Whether a model with `public_values` public inputs and outputs is
    /// packed under `visibility`.
    pub fn resolve(self, visibility: &Visibility, public_values: usize) -> bool {
        match self {
            PackPublic::On => true,
            PackPublic::Off => false,
            PackPublic::Auto => {
                let from = if visibility.params == Vis::Fixed {
                    PACK_FROM_VALUES
                } else {
                    PACK_FROM_VALUES_ADVICE_WEIGHTS
                };
                public_values >= from
            }
        }
    }

    /// [`PackPublic::resolve`] for `program`'s public inputs and outputs
    /// under `visibility`, `batch` inferences of them (0 counts as 1).
    pub fn resolve_for<W>(
        self,
        visibility: &Visibility,
        program: &Program<W>,
        batch: usize,
    ) -> bool {
        let per = usize::from(visibility.input == Vis::Public) * program.num_inputs
            + usize::from(visibility.output == Vis::Public) * program.outputs.len();
        self.resolve(visibility, per * batch.max(1))
    }
}

/// Activation precision bounds when calibrating.
const MIN_SCALE_BITS: u32 = 6;
const MAX_SCALE_BITS: u32 = 14;
/// Range bits calibration aims at: range checks cost only chain rows, so
/// precision is nearly free up to here (witness arithmetic stays in i64).
const TARGET_RANGE_BITS: u32 = 18;
/// Extra range bits above the calibrated maximum, for inputs a little
/// larger than the samples.
const HEADROOM_BITS: u32 = 1;

pub fn hash_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(hex::encode(Keccak256::digest(&bytes)))
}

fn int_bits(max_abs: f64) -> u32 {
    if max_abs <= 1.0 {
        0
    } else {
        max_abs.log2().ceil() as u32
    }
}

/// Choose scales, shape and k: activation scale from the largest value
/// seen on the samples (with headroom), then the shape and smallest k that
/// hold the layout (see [`layout::choose_shape`]).
pub fn calibrate(
    program: &Program<f64>,
    samples: &[Vec<f64>],
    opts: &CompileOptions,
) -> Result<(QuantParams, Shape, u32, f64)> {
    let quantized = calibrate_quant(program, samples, opts)?;
    let (q, shape, k) = place(&quantized.program, quantized.quant, opts)?;
    Ok((q, shape, k, quantized.max_abs))
}

/// The shape and smallest k that hold `single` batched as `opts` says:
/// `opts.shape` when given, else [`layout::choose_shape`]'s choice; `None`
/// when no k up to `layout::MAX_K` does.
pub fn fit_shape(
    single: &Program<i64>,
    q: &QuantParams,
    opts: &CompileOptions,
) -> Result<Option<(Shape, u32)>> {
    // The circuit lays out every copy of a batch.
    let qprog = single.batched(opts.batch.max(1));
    Ok(match opts.shape {
        Some(shape) if shape.wide_mac && opts.visibility.params != Vis::Fixed => {
            bail!("--shape wide-terms / wide: two terms a row need --param-visibility fixed (the weights in fixed columns)")
        }
        Some(shape) => Layout::new(&qprog, q, 0, opts.visibility, shape)
            .min_k()
            .map(|k| (shape, k)),
        None => layout::choose_shape(&qprog, q, opts.visibility),
    })
}

/// Shape and k for `single` (an error when nothing up to 2^MAX_K holds it),
/// and `q` with its tables grown into the rows that k has anyway.
fn place(
    single: &Program<i64>,
    mut q: QuantParams,
    opts: &CompileOptions,
) -> Result<(QuantParams, Shape, u32)> {
    let Some((shape, k)) = fit_shape(single, &q, opts)? else {
        let qprog = single.batched(opts.batch.max(1));
        let lay = Layout::new(
            &qprog,
            &q,
            0,
            opts.visibility,
            opts.shape.unwrap_or(Shape::NARROW),
        );
        bail!(
            "model needs {} rows: more than 2^{} allows",
            lay.rows_used.max(lay.table_rows),
            layout::MAX_K
        );
    };
    let k = salted_k(single, &q, opts, shape, k)?;
    // Tables may grow into rows the domain has anyway: finer table input
    // at no cost in k.
    let fns = single.lut_fns().len();
    if fns > 0 {
        let qprog = single.batched(opts.batch.max(1));
        let lay = Layout::new(&qprog, &q, k, opts.visibility, shape);
        let free = (1usize << k) - lay.reserved_rows - 1;
        let bits = (free / fns).ilog2();
        q.lut_bits = bits.clamp(DEFAULT_LUT_BITS, q.range_bits.max(DEFAULT_LUT_BITS));
    }
    Ok((q, shape, k))
}

/// The k at which committed weights' salt rows hide them for
/// `--hide-proofs` proofs: `k` itself unless more rows are needed.
fn salted_k(
    single: &Program<i64>,
    q: &QuantParams,
    opts: &CompileOptions,
    shape: Shape,
    k: u32,
) -> Result<u32> {
    let Some(wanted) = opts.hide_proofs else {
        return Ok(k);
    };
    if !opts.visibility.params_committed() {
        bail!(
            "--hide-proofs sizes the salt of committed weights: add --param-visibility committed"
        );
    }
    let program = single.batched(opts.batch.max(1));
    for k in k..=layout::MAX_K {
        let lay = Layout::new(&program, q, k, opts.visibility, shape);
        if crate::proof::committed::hidden_proofs(&lay) >= wanted {
            return Ok(k);
        }
    }
    bail!(
        "--hide-proofs {wanted}: even k = {} leaves too few salt rows; recompile with a fresh salt more often instead",
        layout::MAX_K
    )
}

/// What [`calibrate_quant`] gives.
pub struct Quantized {
    /// The fixed-point parameters.
    pub quant: QuantParams,
    /// The quantized program, one copy.
    pub program: Program<i64>,
    /// The largest activation on the samples.
    pub max_abs: f64,
    /// Whether exp and log tables are read at a gain (`model::narrow`).
    pub narrowed: bool,
}

/// The fixed-point parameters alone (no layout): activation scale from the
/// largest value seen on the samples (with headroom), weight bits, and
/// table bits accurate enough on the samples. Returns the quantized
/// program too.
///
/// A model with a few tanh/sigmoid neurons and nothing else in tables is
/// quantized table-free (`model::rational`) when its scale is fine enough
/// for the rational form ([`rational::applies`]); `Compiled::load` makes
/// the same choice from the stored scale.
///
/// A model with exp or softmax-log tables is narrowed ([`narrow_if_better`]).
pub fn calibrate_quant(
    program: &Program<f64>,
    samples: &[Vec<f64>],
    opts: &CompileOptions,
) -> Result<Quantized> {
    let context = |q: &QuantParams| rational::Context {
        scale_bits: q.scale_bits,
        fixed_weights: opts.visibility.params == Vis::Fixed,
        batch: opts.batch,
    };
    let with_tables = calibrate_program(program, samples, opts)?;
    if !rational::applies(program, context(&with_tables.quant)) {
        return narrow_if_better(program, samples, opts, with_tables);
    }
    let rational = calibrate_program(&rational::without_tables(program), samples, opts)?;
    // The rational form's values stay near 1, so its scale is never
    // coarser than the table form's when that one qualified.
    if !rational::applies(program, context(&rational.quant)) {
        bail!("internal error: the table-free form calibrated to a coarser scale");
    }
    Ok(rational)
}

/// `plain`, or the calibration of the program with exp and softmax-log
/// tables read at a gain (`model::narrow`) where that does better: where
/// the plain tables miss [`TARGET_ERROR`] on the samples and the narrowed
/// ones come closer, or where both reach it and the narrowed tables need
/// fewer index bits (fewer rows; the clamps cost three neurons an exp, so
/// a model whose plain tables are accurate at the default size keeps them).
fn narrow_if_better(
    program: &Program<f64>,
    samples: &[Vec<f64>],
    opts: &CompileOptions,
    plain: Quantized,
) -> Result<Quantized> {
    if !narrow::has_candidates(program) {
        return Ok(plain);
    }
    let fidelity = SampleFidelity::new(program, samples);
    let error_of = |q: &Quantized| {
        fidelity
            .error(&q.program, &q.quant)
            .unwrap_or(f64::INFINITY)
    };
    let plain_error = error_of(&plain);
    if plain_error <= TARGET_ERROR && plain.quant.lut_bits <= DEFAULT_LUT_BITS {
        return Ok(plain);
    }
    let narrowed = narrow::narrowed(program, narrow_context(&plain.quant));
    // A narrowed program that does not quantize is no improvement.
    let Ok(narrowed) = calibrate_program(&narrowed, samples, opts) else {
        return Ok(plain);
    };
    // Narrowing keeps every value inside the calibrated magnitude, so the
    // scale and range are the plain ones; `Compiled::load` relies on it.
    let same_range = (narrowed.quant.scale_bits, narrowed.quant.range_bits)
        == (plain.quant.scale_bits, plain.quant.range_bits);
    let error = error_of(&narrowed);
    let better = (plain_error > TARGET_ERROR && error < plain_error)
        || (error <= TARGET_ERROR && narrowed.quant.lut_bits < plain.quant.lut_bits);
    Ok(match same_range && better {
        true => Quantized {
            narrowed: true,
            ..narrowed
        },
        false => plain,
    })
}

/// What [`narrow::narrowed`] needs of `q`: every calibrated activation is
/// below `2^(range_bits − 1 − scale_bits − HEADROOM_BITS)` (see
/// [`calibrate_program`]).
pub fn narrow_context(q: &QuantParams) -> narrow::Context {
    narrow::Context {
        scale_bits: q.scale_bits,
        range_bits: q.range_bits,
        magnitude_bits: q
            .range_bits
            .saturating_sub(1 + q.scale_bits + HEADROOM_BITS),
    }
}

/// [`calibrate_quant`] of `program` as it is.
fn calibrate_program(
    program: &Program<f64>,
    samples: &[Vec<f64>],
    opts: &CompileOptions,
) -> Result<Quantized> {
    let max_abs = quant::max_abs_activation(program, samples);
    let ib = int_bits(max_abs);
    let scale_bits = match opts.scale_bits {
        Some(s) => s,
        None => (TARGET_RANGE_BITS - 1 - HEADROOM_BITS)
            .saturating_sub(ib)
            .clamp(MIN_SCALE_BITS, MAX_SCALE_BITS),
    };
    // A product a·b is rescaled by 2^weight_bits and sits at 2^(2·scale):
    // its weight is exact only with weight_bits >= scale_bits.
    let products = program.neurons().any(|(_, n)| !n.products.is_empty());
    let base_weight_bits = opts.weight_bits.unwrap_or(if products {
        DEFAULT_WEIGHT_BITS.max(scale_bits)
    } else {
        DEFAULT_WEIGHT_BITS
    });
    if !(1..=MAX_WEIGHT_BITS).contains(&base_weight_bits) {
        bail!("--weight-bits must be in 1..={MAX_WEIGHT_BITS}, got {base_weight_bits}");
    }
    let mut q = QuantParams {
        scale_bits,
        weight_bits: base_weight_bits,
        range_bits: scale_bits + ib + 1 + HEADROOM_BITS,
        lut_bits: DEFAULT_LUT_BITS,
    };
    if q.range_bits > 40 {
        bail!(
            "activations need {} bits at scale 2^{}: lower --scale",
            q.range_bits,
            q.scale_bits
        );
    }
    let fidelity = SampleFidelity::new(program, samples);
    let single = match opts.weight_bits {
        Some(_) => quant::quantize(program, &q)?,
        None => {
            let (bits, single) = weight_bits(&fidelity, &q)?;
            q.weight_bits = bits;
            single
        }
    };
    if !single.lut_fns().is_empty() {
        q.lut_bits = table_bits(&fidelity, &single, &q);
    }
    Ok(Quantized {
        quant: q,
        program: single,
        max_abs,
        narrowed: false,
    })
}

/// Largest weight precision we grow to (and accept from `--weight-bits`).
const MAX_WEIGHT_BITS: u32 = 20;
/// Weight bits we add at most over the default in search of precision.
const MAX_EXTRA_WEIGHT_BITS: u32 = 8;
/// Relative output error the searches aim for: half the documented
/// tolerance (2% of the largest output, at least 0.02).
const TARGET_ERROR: f64 = 0.01;

/// The float program's outputs on the calibration samples, to measure the
/// fixed-point program against.
struct SampleFidelity<'a> {
    program: &'a Program<f64>,
    samples: &'a [Vec<f64>],
    /// Per sample: the float outputs and the largest of their magnitudes
    /// (at least 1).
    floats: Vec<(Vec<f64>, f64)>,
}

impl<'a> SampleFidelity<'a> {
    fn new(program: &'a Program<f64>, samples: &'a [Vec<f64>]) -> SampleFidelity<'a> {
        let floats = samples
            .iter()
            .map(|x| {
                let vals = program.eval_f64(x);
                let outs: Vec<f64> = program.outputs.iter().map(|&o| vals[o]).collect();
                let scale = outs.iter().fold(1f64, |m, v| m.max(v.abs()));
                (outs, scale)
            })
            .collect();
        SampleFidelity {
            program,
            samples,
            floats,
        }
    }

    /// Worst output error relative to its sample's scale; `None` where the
    /// fixed-point pass fails (a value out of range).
    fn error(&self, qprog: &Program<i64>, q: &QuantParams) -> Option<f64> {
        let mut worst = 0f64;
        for (x, (float, scale)) in self.samples.iter().zip(&self.floats) {
            let xq: Vec<i64> = x.iter().map(|&v| q.quantize_input(v)).collect();
            let vals = quant::forward(qprog, q, &xq).ok()?;
            for (&o, f) in qprog.outputs.iter().zip(float) {
                worst = worst.max((q.dequantize(vals[o]) - f).abs() / scale);
            }
        }
        Some(worst)
    }
}

/// Weight bits when the user sets none: the fewest from `q.weight_bits`
/// (up to [`MAX_EXTRA_WEIGHT_BITS`] more) with which the outputs on the
/// samples stay within [`TARGET_ERROR`], tables read at their finest; the
/// most accurate candidate when none does. A lowering that folds a small
/// factor into a neuron (a weighted sum divided by its total weight)
/// leaves weights that round badly at the default 2^-10. More bits cost
/// chain rows on every neuron, so the default stays where it suffices.
fn weight_bits(fidelity: &SampleFidelity, q: &QuantParams) -> Result<(u32, Program<i64>)> {
    let top = (q.weight_bits + MAX_EXTRA_WEIGHT_BITS).min(MAX_WEIGHT_BITS);
    let finest_tables = q.range_bits.min(MAX_LUT_BITS).max(DEFAULT_LUT_BITS);
    let mut best: Option<(f64, u32, Program<i64>)> = None;
    for bits in q.weight_bits..=top.max(q.weight_bits) {
        let candidate = QuantParams {
            weight_bits: bits,
            lut_bits: finest_tables,
            ..*q
        };
        // A candidate whose weights overflow is skipped, not fatal: the
        // base precision was quantized (and so checked) first.
        let qprog = match quant::quantize(fidelity.program, &candidate) {
            Ok(qprog) => qprog,
            Err(e) if bits == q.weight_bits => return Err(e.into()),
            Err(_) => continue,
        };
        let error = fidelity.error(&qprog, &candidate).unwrap_or(f64::INFINITY);
        if error <= TARGET_ERROR {
            return Ok((bits, qprog));
        }
        if best.as_ref().is_none_or(|b| error < b.0) {
            best = Some((error, bits, qprog));
        }
    }
    let (_, bits, qprog) = best.expect("at least one candidate");
    Ok((bits, qprog))
}

/// Largest table index we grow to: 2^18 rows per function (k = 19).
const MAX_LUT_BITS: u32 = 18;

/// Table index bits: the fewest (from 12) with which the fixed-point
/// outputs on the samples stay within [`TARGET_ERROR`] of the float
/// program. A table steps its input in `2^(range_bits - lut_bits)`
/// quantization steps, so functions steep on the calibrated range (a log
/// near zero) need more bits, and a larger k.
fn table_bits(fidelity: &SampleFidelity, qprog: &Program<i64>, q: &QuantParams) -> u32 {
    let top = q.range_bits.min(MAX_LUT_BITS).max(DEFAULT_LUT_BITS);
    (DEFAULT_LUT_BITS..=top)
        .find(|&bits| {
            let candidate = QuantParams {
                lut_bits: bits,
                ..*q
            };
            fidelity
                .error(qprog, &candidate)
                .is_some_and(|e| e <= TARGET_ERROR)
        })
        .unwrap_or(top)
}

/// `opts` with `visibility.packed` decided for `program`.
pub(crate) fn with_packing(opts: &CompileOptions, program: &Program<f64>) -> CompileOptions {
    let v = &opts.visibility;
    let packed = opts.pack_public.resolve_for(v, program, opts.batch);
    CompileOptions {
        visibility: Visibility { packed, ..*v },
        ..opts.clone()
    }
}

/// Run `compile` end to end and write `out_dir`: read the sample input
/// files, size symbolic dims to the first one, calibrate on all of them.
pub fn compile_files(
    model_path: &Path,
    inputs: &[PathBuf],
    opts: &CompileOptions,
    out_dir: &Path,
) -> Result<Compiled> {
    compile_inputs(model_path, &read_input_files(inputs)?, opts, out_dir)
}

/// [`compile_files`] on input documents already read, each with the name
/// its errors use (a path, or `<sample 0>` for one given in memory).
pub fn compile_inputs(
    model_path: &Path,
    files: &[(PathBuf, InputFile)],
    opts: &CompileOptions,
    out_dir: &Path,
) -> Result<Compiled> {
    let (model, samples) = load_for_calibration(model_path, files)?;
    compile_model(model, &samples, opts, out_dir)
}

/// The model with its symbolic dims sized to the first input document, and
/// every document flattened into a calibration sample.
pub fn load_for_calibration(
    model_path: &Path,
    files: &[(PathBuf, InputFile)],
) -> Result<(Model, Vec<Vec<f64>>)> {
    let lengths = files
        .first()
        .map(|(_, f)| f.lengths())
        .context("no calibration input given")?;
    let model = Model::load_with(model_path, InputShapes::FitLengths(&lengths))?;
    let samples = files
        .iter()
        .map(|(p, f)| f.input_for(&model.program, p))
        .collect::<Result<Vec<_>, _>>()
        .context("reading calibration inputs")?;
    Ok((model, samples))
}

/// The input documents at `paths`, each with its path for errors.
pub fn read_input_files(paths: &[PathBuf]) -> Result<Vec<(PathBuf, InputFile)>> {
    paths
        .iter()
        .map(|p| InputFile::read(p).map(|f| (p.clone(), f)))
        .collect::<Result<Vec<_>, _>>()
        .context("reading calibration inputs")
}

pub fn compile(
    model_path: &Path,
    samples: &[Vec<f64>],
    opts: &CompileOptions,
    out_dir: &Path,
) -> Result<Compiled> {
    compile_model(Model::load(model_path)?, samples, opts, out_dir)
}

/// Compile a loaded model, calibrated on `samples`, into `out_dir`.
pub fn compile_model(
    model: Model,
    samples: &[Vec<f64>],
    opts: &CompileOptions,
    out_dir: &Path,
) -> Result<Compiled> {
    let opts = &with_packing(opts, &model.program);
    // Refuse bad options before the (possibly long) calibration.
    opts.visibility.check().map_err(anyhow::Error::msg)?;
    let quantized = calibrate_quant(&model.program, samples, opts)?;
    compile_quantized(model, samples, opts, quantized, out_dir)
}

/// [`compile_model`] from its calibration (`opts` with packing decided),
/// so a caller that calibrated to decide whether to split does not
/// calibrate again.
pub fn compile_quantized(
    model: Model,
    samples: &[Vec<f64>],
    opts: &CompileOptions,
    quantized: Quantized,
    out_dir: &Path,
) -> Result<Compiled> {
    let (quant, single) = (quantized.quant, quantized.program);
    opts.visibility.check().map_err(anyhow::Error::msg)?;
    let model_path = model.path.clone();
    let model_path = model_path.as_path();
    let batch = opts.batch.max(1);
    let (quant, shape, k) = place(&single, quant, opts)?;
    for (i, s) in samples.iter().enumerate() {
        let xq: Vec<i64> = s.iter().map(|&v| quant.quantize_input(v)).collect();
        quant::forward(&single, &quant, &xq)
            .with_context(|| format!("calibration sample #{i} does not fit"))?;
    }
    let program = single.batched(batch);
    let lay = Layout::new(&program, &quant, k, opts.visibility, shape);
    let settings = Settings {
        version: SETTINGS_VERSION,
        model_hash: hash_file(model_path)?,
        k,
        quant,
        input_shapes: model.program.input_shapes.clone(),
        output_shapes: model.program.output_shapes.clone(),
        visibility: opts.visibility,
        shape,
        public_layout: lay.public_names(),
        batch,
        layout: LayoutStats::of(&program, &quant, &lay, opts.visibility, shape),
        calibration: Calibration {
            samples: samples.len(),
            max_abs_activation: quantized.max_abs,
            narrowed_tables: quantized.narrowed,
        },
        chunk: None,
    };
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let model_dst = out_dir.join(MODEL_FILE);
    if std::fs::canonicalize(model_path).ok() != std::fs::canonicalize(&model_dst).ok() {
        std::fs::copy(model_path, &model_dst)
            .with_context(|| format!("cannot copy model to {}", model_dst.display()))?;
    }
    crate::artifact::write_json(&out_dir.join(SETTINGS_FILE), &settings)?;
    if opts.visibility.params_committed() {
        crate::proof::committed::ensure_salt(out_dir)?;
    }
    Ok(Compiled {
        dir: out_dir.to_path_buf(),
        settings,
        model,
        program: Arc::new(program),
        layout: Arc::new(lay),
    })
}

/// A compiled model directory, loaded.
pub struct Compiled {
    pub dir: PathBuf,
    pub settings: Settings,
    pub model: Model,
    pub program: Arc<Program<i64>>,
    pub layout: Arc<Layout>,
}

impl Compiled {
    pub fn load(dir: &Path) -> Result<Compiled> {
        let settings: Settings = crate::artifact::read_json(&dir.join(SETTINGS_FILE))?;
        if settings.version != SETTINGS_VERSION {
            bail!(
                "{}: settings version {} is not supported (expected {SETTINGS_VERSION}); recompile",
                dir.join(SETTINGS_FILE).display(),
                settings.version
            );
        }
        let model_path = dir.join(MODEL_FILE);
        if hash_file(&model_path)? != settings.model_hash {
            bail!(
                "{} changed since compile (hash mismatch); recompile",
                model_path.display()
            );
        }
        let model = Model::load_with(&model_path, InputShapes::Exact(&settings.input_shapes))?;
        let program = rational::in_context(
            &model.program,
            rational::Context {
                scale_bits: settings.quant.scale_bits,
                fixed_weights: settings.visibility.params == Vis::Fixed,
                batch: settings.batch,
            },
        );
        let program = narrow::in_context(
            &program,
            settings.calibration.narrowed_tables,
            narrow_context(&settings.quant),
        );
        let whole = quant::quantize(&program, &settings.quant)?;
        let program = match &settings.chunk {
            Some(slice) => chunk_program(&whole, slice),
            None => whole.batched(settings.batch.max(1)),
        };
        let lay = Layout::new(
            &program,
            &settings.quant,
            settings.k,
            settings.visibility,
            settings.shape,
        );
        Ok(Compiled {
            dir: dir.to_path_buf(),
            settings,
            model,
            program: Arc::new(program),
            layout: Arc::new(lay),
        })
    }

    /// Quantize `input`, run the integer forward pass, and build the circuit.
    pub fn circuit_for(&self, input: &[f64]) -> Result<(ModelCircuit, Vec<i64>)> {
        let q = &self.settings.quant;
        let xq: Vec<i64> = input.iter().map(|&v| q.quantize_input(v)).collect();
        let values = quant::forward(&self.program, q, &xq)?;
        Ok((
            ModelCircuit::new(self.program.clone(), *q, self.layout.clone(), Some(&values)),
            values,
        ))
    }

    /// The model input a proof covers, from input files: one file per
    /// inference, or one file holding every inference's tensors in turn
    /// (`batch` × the graph's inputs).
    pub fn read_inputs(&self, paths: &[PathBuf]) -> Result<Vec<f64>> {
        let files = paths
            .iter()
            .map(|p| InputFile::read(p).map(|f| (p.clone(), f)))
            .collect::<Result<Vec<_>, _>>()?;
        self.inputs_from(files)
    }

    /// [`Compiled::read_inputs`] on input documents already read, each
    /// with the name its errors use.
    pub fn inputs_from(&self, files: Vec<(PathBuf, InputFile)>) -> Result<Vec<f64>> {
        let batch = self.settings.batch.max(1);
        let per = self.model.program.input_shapes.len();
        let mut tensors: Vec<(PathBuf, Vec<f64>)> = Vec::new();
        for (p, f) in files {
            tensors.extend(f.input_data.into_iter().map(|t| (p.clone(), t)));
        }
        if tensors.len() != batch * per {
            bail!(
                "the inputs hold {} tensors but a proof covers {batch} inference(s) of {per} input(s): give {batch} input file(s), or one holding {} tensors",
                tensors.len(),
                batch * per
            );
        }
        let mut x = Vec::with_capacity(self.program.num_inputs);
        for chunk in tensors.chunks(per) {
            let file = InputFile {
                input_data: chunk.iter().map(|t| t.1.clone()).collect(),
                output_data: None,
            };
            x.extend(file.input_for(&self.model.program, &chunk[0].0)?);
        }
        Ok(x)
    }

    /// The Poseidon commitments a proof with hashed visibility exposes:
    /// the weights' always; the input's and the output's for `input`.
    pub fn commitments(&self, input: Option<&[f64]>) -> Result<Vec<(String, Fr)>> {
        use crate::circuit::public::{PublicItem, Tensor};
        let values = match input {
            Some(x) => self.circuit_for(x)?.0.witness,
            None => None,
        };
        let mut out = Vec::new();
        for t in [Tensor::Params, Tensor::Input, Tensor::Output] {
            if let Some(h) = crate::circuit::commitment(
                t,
                &self.program,
                &self.layout,
                values.as_deref().map(|v| v.as_slice()),
            ) {
                out.push((PublicItem::Commitment(t).name(), h));
            }
        }
        Ok(out)
    }

    pub fn keygen_circuit(&self) -> ModelCircuit {
        ModelCircuit::new(
            self.program.clone(),
            self.settings.quant,
            self.layout.clone(),
            None,
        )
    }
}

/// A test vector folder (`network.onnx` + `input.json`) compiled into a
/// temporary directory, calibrated on its own sample: what `bench` and
/// `suite` start from.
pub struct CompiledVector {
    pub compiled: Compiled,
    pub input: crate::model::InputFile,
    /// The sample input, flattened.
    pub x: Vec<f64>,
    /// Holds the compiled directory; removed on drop.
    pub dir: tempfile::TempDir,
}

pub fn compile_vector(model_dir: &Path, opts: &CompileOptions) -> Result<CompiledVector> {
    let onnx = model_dir.join(MODEL_FILE);
    let input_path = model_dir.join("input.json");
    let input = crate::model::InputFile::read(&input_path)?;
    let m = Model::load_with(&onnx, InputShapes::FitLengths(&input.lengths()))?;
    let x = input.input_for(&m.program, &input_path)?;
    let dir = tempfile::tempdir()?;
    let compiled = compile_model(m, std::slice::from_ref(&x), opts, dir.path())?;
    Ok(CompiledVector {
        compiled,
        input,
        x,
        dir,
    })
}
