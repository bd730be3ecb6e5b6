//! `compile`: ONNX model + sample inputs -> scales, k and `settings.json`.
//!
//! The compiled directory holds a copy of the model and the settings; the
//! quantized program and circuit are rebuilt from them deterministically by
//! [`Compiled::load`], so there is one source of truth for the weights.

use crate::circuit::layout::{self, Layout, Table};
use crate::circuit::ModelCircuit;
use crate::model::{Activation, Model, Program};
use crate::quant::{self, QuantParams};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const SETTINGS_VERSION: u32 = 1;
pub const MODEL_FILE: &str = "network.onnx";
pub const SETTINGS_FILE: &str = "settings.json";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    pub version: u32,
    /// keccak256 of the ONNX file, to catch a model swapped under the keys.
    pub model_hash: String,
    pub k: u32,
    pub quant: QuantParams,
    pub tables: Vec<Table>,
    pub input_shape: Vec<usize>,
    pub output_shape: Vec<usize>,
    pub visibility: Visibility,
    pub layout: LayoutStats,
    pub calibration: Calibration,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Visibility {
    pub input: String,
    pub output: String,
    pub params: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LayoutStats {
    pub rows_used: usize,
    pub table_rows: usize,
    pub usable_rows: usize,
    pub neurons: usize,
    pub mac_terms: usize,
    pub advice_columns: usize,
    pub fixed_columns: usize,
    pub lookups: usize,
    pub public_inputs: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Calibration {
    pub samples: usize,
    pub max_abs_activation: f64,
}

/// What the user may fix instead of letting calibration choose.
#[derive(Clone, Debug, Default)]
pub struct CompileOptions {
    pub scale_bits: Option<u32>,
    pub weight_bits: Option<u32>,
}

/// Lowest activation precision calibration accepts before growing k.
const MIN_SCALE_BITS: u32 = 6;
const MAX_SCALE_BITS: u32 = 16;
const DEFAULT_WEIGHT_BITS: u32 = 8;
/// Extra range bits above the calibrated maximum, for inputs a little
/// larger than the samples.
const HEADROOM_BITS: u32 = 1;

pub fn hash_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(hex::encode(Keccak256::digest(&bytes)))
}

fn tables_for(program: &Program<i64>) -> Vec<Table> {
    let mut t: Vec<Table> = quant::tables_needed(program).into_iter().map(Table::Act).collect();
    t.push(Table::Remainder);
    t
}

/// Range bits needed at `scale_bits` for activations up to `max_abs`.
fn range_bits_for(scale_bits: u32, max_abs: f64) -> u32 {
    let int_bits = if max_abs <= 1.0 { 0 } else { max_abs.log2().ceil() as u32 };
    scale_bits + int_bits + 1 + HEADROOM_BITS
}

/// Choose scales and k: the smallest k that fits the circuit at the minimum
/// precision, then the highest precision whose tables still fit that k.
pub fn calibrate(program: &Program<f64>, samples: &[Vec<f64>], opts: &CompileOptions) -> Result<(QuantParams, u32, f64)> {
    let max_abs = quant::max_abs_activation(program, samples);
    let weight_bits = opts.weight_bits.unwrap_or(DEFAULT_WEIGHT_BITS);
    if !(1..=24).contains(&weight_bits) {
        bail!("--weight-bits must be in 1..=24, got {weight_bits}");
    }
    let qp_at = |scale_bits: u32| QuantParams {
        scale_bits,
        weight_bits,
        range_bits: range_bits_for(scale_bits, max_abs),
    };
    // Region rows depend only on the non-zero weights, not on activation
    // scale, so measure them once at the minimum precision.
    let probe = qp_at(opts.scale_bits.unwrap_or(MIN_SCALE_BITS));
    let qprog = quant::quantize(program, &probe)?;
    let tables = tables_for(&qprog);
    let region = layout::region_rows(&qprog);
    let k = layout::min_k(region, layout::table_rows(&tables, &probe)).with_context(|| {
        format!("model needs {region} rows and {} table rows: more than 2^{} allows", layout::table_rows(&tables, &probe), layout::MAX_K)
    })?;
    let q = match opts.scale_bits {
        Some(s) => qp_at(s),
        None => {
            let mut best = probe;
            for s in MIN_SCALE_BITS..=MAX_SCALE_BITS {
                let cand = qp_at(s);
                if layout::min_k(region, layout::table_rows(&tables, &cand)).is_some_and(|kk| kk <= k) {
                    best = cand;
                }
            }
            best
        }
    };
    if q.range_bits > 30 {
        bail!("activations need {} bits at scale 2^{}: lower --scale", q.range_bits, q.scale_bits);
    }
    Ok((q, k, max_abs))
}

/// Run `compile` end to end and write `out_dir`.
pub fn compile(model_path: &Path, samples: &[Vec<f64>], opts: &CompileOptions, out_dir: &Path) -> Result<Compiled> {
    let model = Model::load(model_path)?;
    let (quant, k, max_abs) = calibrate(&model.program, samples, opts)?;
    let program = quant::quantize(&model.program, &quant)?;
    for (i, s) in samples.iter().enumerate() {
        let xq: Vec<i64> = s.iter().map(|&v| quant.quantize_input(v)).collect();
        quant::forward(&program, &quant, &xq).with_context(|| format!("calibration sample #{i} does not fit"))?;
    }
    let tables = tables_for(&program);
    let lay = Layout::new(&program, tables.clone(), k);
    let settings = Settings {
        version: SETTINGS_VERSION,
        model_hash: hash_file(model_path)?,
        k,
        quant,
        tables: tables.clone(),
        input_shape: program.input_shape.clone(),
        output_shape: program.output_shape.clone(),
        visibility: Visibility { input: "public".into(), output: "public".into(), params: "fixed".into() },
        layout: LayoutStats {
            rows_used: lay.rows_used,
            table_rows: layout::table_rows(&tables, &quant),
            usable_rows: lay.usable_rows(),
            neurons: program.num_neurons(),
            mac_terms: program.num_terms(),
            advice_columns: 2,
            fixed_columns: 9,
            lookups: 1,
            public_inputs: program.num_inputs + program.outputs.len(),
        },
        calibration: Calibration { samples: samples.len(), max_abs_activation: max_abs },
    };
    std::fs::create_dir_all(out_dir).with_context(|| format!("cannot create {}", out_dir.display()))?;
    let model_dst = out_dir.join(MODEL_FILE);
    if std::fs::canonicalize(model_path).ok() != std::fs::canonicalize(&model_dst).ok() {
        std::fs::copy(model_path, &model_dst).with_context(|| format!("cannot copy model to {}", model_dst.display()))?;
    }
    crate::artifact::write_json(&out_dir.join(SETTINGS_FILE), &settings)?;
    Ok(Compiled { dir: out_dir.to_path_buf(), settings, model, program: Arc::new(program), layout: Arc::new(lay) })
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
            bail!("{}: settings version {} is not supported (expected {SETTINGS_VERSION}); recompile", dir.join(SETTINGS_FILE).display(), settings.version);
        }
        let model_path = dir.join(MODEL_FILE);
        if hash_file(&model_path)? != settings.model_hash {
            bail!("{} changed since compile (hash mismatch); recompile", model_path.display());
        }
        let model = Model::load(&model_path)?;
        let program = quant::quantize(&model.program, &settings.quant)?;
        let lay = Layout::new(&program, settings.tables.clone(), settings.k);
        Ok(Compiled { dir: dir.to_path_buf(), settings, model, program: Arc::new(program), layout: Arc::new(lay) })
    }

    /// Quantize `input`, run the integer forward pass, and build the circuit.
    pub fn circuit_for(&self, input: &[f64]) -> Result<(ModelCircuit, Vec<i64>)> {
        let q = &self.settings.quant;
        let xq: Vec<i64> = input.iter().map(|&v| q.quantize_input(v)).collect();
        let values = quant::forward(&self.program, q, &xq)?;
        Ok((
            ModelCircuit {
                program: self.program.clone(),
                quant: *q,
                layout: self.layout.clone(),
                witness: Some(Arc::new(values.clone())),
                corrupt: Vec::new(),
            },
            values,
        ))
    }

    pub fn keygen_circuit(&self) -> ModelCircuit {
        ModelCircuit { program: self.program.clone(), quant: self.settings.quant, layout: self.layout.clone(), witness: None, corrupt: Vec::new() }
    }

    pub fn uses(&self, act: Activation) -> bool {
        self.settings.tables.contains(&Table::Act(act))
    }
}
