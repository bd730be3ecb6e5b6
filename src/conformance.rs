//! Conformance against the ONNX backend node tests: the `onnx` PyPI
//! package ships one folder per test (`onnx/backend/test/data/node/test_*`)
//! with `model.onnx` and `test_data_set_0/{input,output}_*.pb`.
//!
//! Each test is run the way a user's model is: the graph's first input is
//! the model input (a witness); its other inputs become initializers
//! (weights, like tract's `input:X` tag). The model is compiled, calibrated
//! on the test's own input, run through the integer forward pass the
//! circuit proves, and its outputs are compared with the expected ones
//! within the documented tolerance (2% of the largest expected magnitude,
//! at least 0.02). Small circuits are also checked by MockProver.
//!
//! A test is *excluded* only by a rule that applies to every op alike
//! ([`Exclusion`]); every other test of an op the op table claims must pass.

use crate::compile::{compile_model, CompileOptions};
use crate::model::{onnx, InputShapes, Model, ModelError};
use anyhow::{Context, Result};
use halo2_proofs::dev::MockProver;
use prost::Message;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{ModelProto, TensorProto};

/// Largest magnitude a fixed-point value may have here (the circuit's
/// range is at most 40 bits at a scale of at least 2^6).
pub const MAX_MAGNITUDE: f64 = (1u64 << 20) as f64;
/// MockProver runs on circuits up to this k.
const MOCK_MAX_K: u32 = 14;

/// Why a test is not run: a rule that holds for every op alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// An input or output holds strings, complex numbers or 8/4-bit
    /// floats: no fixed-point value.
    NonNumericType,
    /// An input or expected output is NaN or ±∞, or beyond ±2^20:
    /// outside any fixed-point range.
    OutsideFixedPoint,
    /// The test's input or an output is empty.
    EmptyTensor,
    /// The graph has no input to prove over.
    NoInput,
    /// The op draws random numbers, or runs in training mode (Dropout
    /// with `training_mode`, BatchNormalization's batch statistics): the
    /// circuit proves deterministic inference.
    RandomOrTraining,
    /// The op reads its first input as structure (a shape, an index, an
    /// axis): with it as the model input, the circuit's shape would depend
    /// on a witness.
    StructuralInput,
}

impl Exclusion {
    pub fn rule(self) -> &'static str {
        match self {
            Exclusion::NonNumericType => "strings, complex numbers or 8/4-bit floats have no fixed-point value",
            Exclusion::OutsideFixedPoint => "NaN, ±inf or a magnitude beyond 2^20 lies outside any fixed-point range",
            Exclusion::EmptyTensor => "an empty input or output has nothing to prove",
            Exclusion::NoInput => "a graph without inputs has nothing to prove over",
            Exclusion::RandomOrTraining => "random ops and training mode are not deterministic inference",
            Exclusion::StructuralInput => "the first input is a shape, index or axis argument, which fixes the circuit's structure",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum Status {
    Pass,
    /// Outputs beyond the tolerance, or an error naming why.
    Fail(String),
    Excluded(Exclusion),
    /// An op of the test is not in the op table.
    Unsupported(String),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    pub test: String,
    /// The op under test (the single node's; `expanded` tests list theirs).
    pub op: String,
    pub k: Option<u32>,
    pub max_err: Option<f64>,
    pub tolerance: Option<f64>,
    pub mock: Option<bool>,
    #[serde(flatten)]
    pub status: Status,
}

/// The test folders under `dir` (sorted), optionally only those of `ops`.
pub fn test_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("model.onnx").is_file() && p.join("test_data_set_0").is_dir())
        .collect();
    dirs.sort();
    Ok(dirs)
}

fn read_tensor(path: &Path) -> Result<TensorProto> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    TensorProto::decode(&bytes[..])
        .with_context(|| format!("{} is not a TensorProto", path.display()))
}

/// `input_0.pb`, `input_1.pb`, ... (or `output_*`) of a test data set.
fn read_set(dir: &Path, prefix: &str) -> Result<Vec<TensorProto>> {
    let mut out = Vec::new();
    while let Ok(t) = read_tensor(&dir.join(format!("{prefix}_{}.pb", out.len()))) {
        out.push(t);
    }
    Ok(out)
}

fn numeric(t: &TensorProto) -> bool {
    use DataType::*;
    matches!(
        DataType::try_from(t.data_type),
        Ok(Float
            | Double
            | Float16
            | Int64
            | Int32
            | Int16
            | Int8
            | Uint64
            | Uint32
            | Uint16
            | Uint8
            | Bool)
    )
}

const RANDOM_OPS: &[&str] = &[
    "RandomNormal",
    "RandomNormalLike",
    "RandomUniform",
    "RandomUniformLike",
    "Bernoulli",
    "Multinomial",
];

/// The exclusion rule the graph itself falls under: inputs or outputs that
/// are no tensors of numbers, random ops, training mode.
fn graph_exclusion(proto: &ModelProto, inputs: &[TensorProto]) -> Option<Exclusion> {
    use tract_onnx::pb::type_proto::Value as TV;
    let graph = proto.graph.as_ref()?;
    let numeric_tensor = |vi: &tract_onnx::pb::ValueInfoProto| match vi
        .r#type
        .as_ref()
        .and_then(|t| t.value.as_ref())
    {
        Some(TV::TensorType(t)) => numeric(&TensorProto {
            data_type: t.elem_type,
            ..Default::default()
        }),
        _ => false,
    };
    if !graph.input.iter().chain(&graph.output).all(numeric_tensor) {
        return Some(Exclusion::NonNumericType);
    }
    let training = |n: &tract_onnx::pb::NodeProto| {
        let attr = n
            .attribute
            .iter()
            .any(|a| a.name == "training_mode" && a.i != 0);
        // Dropout's third input; the test feeds it as data.
        let input =
            n.op_type == "Dropout" && n.input.get(2).is_some_and(|name| !name.is_empty()) && {
                let declared: Vec<&str> = graph.input.iter().map(|i| i.name.as_str()).collect();
                declared
                    .iter()
                    .position(|d| Some(*d) == n.input.get(2).map(String::as_str))
                    .and_then(|i| inputs.get(i))
                    .and_then(|t| onnx::const_from_proto(t).ok())
                    .is_some_and(|t| t.data.iter().any(|&v| v != 0.0))
            };
        attr || input
    };
    if graph
        .node
        .iter()
        .any(|n| RANDOM_OPS.contains(&n.op_type.as_str()) || training(n))
    {
        return Some(Exclusion::RandomOrTraining);
    }
    None
}

/// The exclusion rule a test falls under, if any.
fn exclusion(inputs: &[TensorProto], outputs: &[TensorProto]) -> Option<Exclusion> {
    if inputs.is_empty() {
        return Some(Exclusion::NoInput);
    }
    if inputs.iter().chain(outputs).any(|t| !numeric(t)) {
        return Some(Exclusion::NonNumericType);
    }
    let decoded: Vec<_> = inputs
        .iter()
        .chain(outputs)
        .map(onnx::const_from_proto)
        .collect();
    if decoded.iter().any(|d| d.is_err()) {
        return Some(Exclusion::NonNumericType);
    }
    let decoded: Vec<_> = decoded.into_iter().flatten().collect();
    if decoded[0].data.is_empty() || decoded[inputs.len()..].iter().any(|d| d.data.is_empty()) {
        return Some(Exclusion::EmptyTensor);
    }
    if decoded
        .iter()
        .flat_map(|d| &d.data)
        .any(|v| !v.is_finite() || v.abs() > MAX_MAGNITUDE)
    {
        return Some(Exclusion::OutsideFixedPoint);
    }
    None
}

/// The test's model with every input but the first as an initializer.
fn with_weights(mut proto: ModelProto, inputs: &[TensorProto]) -> Result<ModelProto> {
    let graph = proto.graph.as_mut().context("no graph")?;
    let inits: Vec<String> = graph.initializer.iter().map(|t| t.name.clone()).collect();
    let declared: Vec<String> = graph
        .input
        .iter()
        .map(|i| i.name.clone())
        .filter(|n| !inits.contains(n))
        .collect();
    for (name, t) in declared.iter().zip(inputs).skip(1) {
        let mut t = t.clone();
        t.name = name.clone();
        graph.initializer.push(t);
    }
    let keep = declared.first().cloned();
    graph
        .input
        .retain(|i| Some(&i.name) == keep.as_ref() || inits.contains(&i.name));
    Ok(proto)
}

fn op_label(proto: &ModelProto) -> String {
    let nodes = proto
        .graph
        .as_ref()
        .map(|g| g.node.as_slice())
        .unwrap_or(&[]);
    match nodes {
        [one] => one.op_type.clone(),
        many => {
            let mut ops: Vec<&str> = many.iter().map(|n| n.op_type.as_str()).collect();
            ops.sort();
            ops.dedup();
            format!("expanded: {}", ops.join(","))
        }
    }
}

/// Run one test folder. A panic is a failure of the test (and a bug: the
/// pipeline must refuse bad models with an error), not of the run.
pub fn run_test(dir: &Path, mock: bool) -> Row {
    let test = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut row = Row {
        test,
        op: String::new(),
        k: None,
        max_err: None,
        tolerance: None,
        mock: None,
        status: Status::Pass,
    };
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut r = row.clone();
        let status = run_inner(dir, mock, &mut r);
        (r, status)
    }));
    match outcome {
        Ok((r, status)) => {
            row = r;
            row.status = match status {
                Ok(status) => status,
                Err(e) => match e.downcast_ref::<ModelError>() {
                    Some(ModelError::UnsupportedOp { op, .. }) => Status::Unsupported(op.clone()),
                    Some(ModelError::NotConstant { index: 0, .. }) => {
                        Status::Excluded(Exclusion::StructuralInput)
                    }
                    _ => Status::Fail(
                        e.chain()
                            .map(|c| c.to_string())
                            .collect::<Vec<_>>()
                            .join(": "),
                    ),
                },
            };
        }
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            row.status = Status::Fail(format!("panic: {msg}"));
        }
    }
    row
}

fn run_inner(dir: &Path, mock: bool, row: &mut Row) -> Result<Status> {
    let proto = onnx::read_proto(&dir.join("model.onnx"))?;
    row.op = op_label(&proto);
    let data = dir.join("test_data_set_0");
    let (inputs, outputs) = (read_set(&data, "input")?, read_set(&data, "output")?);
    if let Some(rule) = graph_exclusion(&proto, &inputs).or_else(|| exclusion(&inputs, &outputs)) {
        return Ok(Status::Excluded(rule));
    }
    let work = tempfile::tempdir()?;
    let model_path = work.path().join("model.onnx");
    std::fs::write(&model_path, with_weights(proto, &inputs)?.encode_to_vec())?;
    let first = onnx::const_from_proto(&inputs[0]).map_err(anyhow::Error::msg)?;
    let model = Model::load_with(
        &model_path,
        InputShapes::Exact(std::slice::from_ref(&first.shape)),
    )?;
    let compiled = compile_model(
        model,
        std::slice::from_ref(&first.data),
        &CompileOptions::default(),
        &work.path().join("build"),
    )?;
    row.k = Some(compiled.settings.k);
    let (circuit, values) = compiled.circuit_for(&first.data)?;
    let q = &compiled.settings.quant;
    let ours: Vec<f64> = compiled
        .program
        .outputs
        .iter()
        .map(|&o| q.dequantize(values[o]))
        .collect();
    let expected: Vec<f64> = outputs
        .iter()
        .map(onnx::const_from_proto)
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?
        .into_iter()
        .flat_map(|t| t.data)
        .collect();
    if ours.len() != expected.len() {
        return Ok(Status::Fail(format!(
            "{} outputs, expected {}",
            ours.len(),
            expected.len()
        )));
    }
    let tolerance = 0.02 * expected.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let max_err = ours
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    (row.tolerance, row.max_err) = (Some(tolerance), Some(max_err));
    if mock && compiled.settings.k <= MOCK_MAX_K {
        let prover = MockProver::run(compiled.settings.k, &circuit, vec![circuit.instance()])
            .map_err(|e| anyhow::anyhow!("MockProver: {e}"))?;
        let ok = prover.verify().is_ok();
        row.mock = Some(ok);
        if !ok {
            return Ok(Status::Fail(
                "the circuit rejects the honest witness".into(),
            ));
        }
    }
    Ok(if max_err <= tolerance {
        Status::Pass
    } else {
        Status::Fail(format!("max error {max_err:.4} > tolerance {tolerance:.4}"))
    })
}

/// Run every test under `dir` whose name contains one of `filters` (all
/// when empty), each in this process.
pub fn run(dir: &Path, filters: &[String], mock: bool) -> Result<Vec<Row>> {
    let dirs = test_dirs(dir)?;
    Ok(dirs
        .iter()
        .filter(|d| {
            let name = d
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
        })
        .map(|d| run_test(d, mock))
        .collect())
}

/// Per op: (tests passed, failed, excluded) over the single-node tests of
/// the ops the op table claims.
pub fn summary(rows: &[Row]) -> Vec<(String, usize, usize, usize)> {
    let mut by_op: std::collections::BTreeMap<String, (usize, usize, usize)> = Default::default();
    for r in rows
        .iter()
        .filter(|r| !r.op.starts_with("expanded") && crate::model::ops::lookup(&r.op).is_some())
    {
        let e = by_op.entry(r.op.clone()).or_default();
        match r.status {
            Status::Pass => e.0 += 1,
            Status::Fail(_) | Status::Unsupported(_) => e.1 += 1,
            Status::Excluded(_) => e.2 += 1,
        }
    }
    by_op
        .into_iter()
        .map(|(op, (p, f, x))| (op, p, f, x))
        .collect()
}

/// Where the `onnx` package's node tests are: `$ZKML_ONNX_NODE_TESTS`, or
/// the project's `.tools/venv` (scripts/setup-python.sh installs onnx there).
pub fn default_node_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("ZKML_ONNX_NODE_TESTS") {
        return Some(PathBuf::from(d));
    }
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/venv/lib");
    std::fs::read_dir(&lib)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("site-packages/onnx/backend/test/data/node"))
        .find(|p| p.is_dir())
}

/// The per-op table of README: every claimed op with its node tests
/// passed, failed (named) and excluded (with their rules).
pub fn markdown_table(rows: &[Row]) -> String {
    let mut out = String::from("| op | pass | fail | excluded by rule |\n|---|---|---|---|\n");
    let claimed =
        |r: &&Row| !r.op.starts_with("expanded") && crate::model::ops::lookup(&r.op).is_some();
    let mut ops: Vec<&str> = rows.iter().filter(claimed).map(|r| r.op.as_str()).collect();
    ops.sort();
    ops.dedup();
    for op in ops {
        let of_op: Vec<&Row> = rows.iter().filter(claimed).filter(|r| r.op == op).collect();
        let pass = of_op.iter().filter(|r| r.status == Status::Pass).count();
        let failed: Vec<&str> = of_op
            .iter()
            .filter(|r| matches!(r.status, Status::Fail(_) | Status::Unsupported(_)))
            .map(|r| r.test.as_str())
            .collect();
        let mut rules: Vec<&str> = of_op
            .iter()
            .filter_map(|r| {
                if let Status::Excluded(e) = r.status {
                    Some(e.rule())
                } else {
                    None
                }
            })
            .collect();
        let excluded = rules.len();
        rules.sort();
        rules.dedup();
        let fail = if failed.is_empty() {
            "0".to_string()
        } else {
            format!("{} ({})", failed.len(), failed.join(", "))
        };
        let excl = if excluded == 0 {
            "0".to_string()
        } else {
            format!("{excluded} ({})", rules.join("; "))
        };
        out.push_str(&format!("| {op} | {pass} | {fail} | {excl} |\n"));
    }
    out
}
