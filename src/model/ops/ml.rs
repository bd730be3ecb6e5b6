//! The `ai.onnx.ml` ops scikit-learn (skl2onnx) and XGBoost/LightGBM
//! (onnxmltools) exports use: tree ensembles, linear models, scaling,
//! normalization, feature extraction.
//!
//! A tree is proved by its branch indicators: each internal node's test is
//! a step (`x_f ≤ t` is `step(t − x_f)`), a node is reached when its parent
//! is and the parent's test went its way (`reach(true child) =
//! reach(node)·test`, `reach(false child) = reach(node) − that`: one
//! product per internal node), and a score is the sum of the leaf weights
//! times their indicators. Tests compare the quantized input: an input
//! within one quantization step of a threshold may take the other branch.

use super::pwl::resolve;
use super::select::{index_steps, lookup_const};
use super::smooth::{normalize_scores, product, PostTransform};
use super::*;
use std::collections::HashMap;

/// One node of a tree: a test on a feature, or a leaf.
#[derive(Clone, Debug)]
struct TreeNode {
    mode: Mode,
    feature: usize,
    value: f64,
    true_child: usize,
    false_child: usize,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
    Leaf,
}

/// A tree ensemble's structure: per tree, its nodes by id; per leaf
/// `(tree, node)`, its `(target, weight)` contributions.
struct Ensemble {
    trees: Vec<HashMap<usize, TreeNode>>,
    leaves: HashMap<(usize, usize), Vec<(usize, f64)>>,
}

impl Ensemble {
    /// Read the `nodes_*` attributes and the leaf weights under `prefix`
    /// (`class` for classifiers, `target` for regressors).
    fn parse(n: &NodeCtx, prefix: &str) -> Result<Ensemble, ModelError> {
        let tree_ids = n.attr_ints("nodes_treeids").unwrap_or_default();
        let count = tree_ids.len();
        let ints = |name: &str| n.expect_len(n.attr_ints(name).unwrap_or_default(), count, name);
        let (node_ids, features, trues, falses) = (
            ints("nodes_nodeids")?,
            ints("nodes_featureids")?,
            ints("nodes_truenodeids")?,
            ints("nodes_falsenodeids")?,
        );
        let values = n.expect_len(n.attr_floats("nodes_values"), count, "nodes_values")?;
        let modes = n.expect_len(n.attr_strings("nodes_modes"), count, "nodes_modes")?;
        if n.attr("nodes_values_as_tensor").is_some() {
            return Err(
                n.err("nodes_values_as_tensor is not supported (export with float thresholds)")
            );
        }
        let mut trees: Vec<HashMap<usize, TreeNode>> = Vec::new();
        for i in 0..count {
            let mode = match modes[i].as_str() {
                "BRANCH_LEQ" => Mode::Leq,
                "BRANCH_LT" => Mode::Lt,
                "BRANCH_GTE" => Mode::Gte,
                "BRANCH_GT" => Mode::Gt,
                "BRANCH_EQ" => Mode::Eq,
                "BRANCH_NEQ" => Mode::Neq,
                "LEAF" => Mode::Leaf,
                other => return Err(n.err(format!("node mode '{other}'"))),
            };
            let tree = tree_ids[i] as usize;
            if trees.len() <= tree {
                trees.resize(tree + 1, HashMap::new());
            }
            let node = TreeNode {
                mode,
                feature: features[i] as usize,
                value: values[i],
                true_child: trues[i] as usize,
                false_child: falses[i] as usize,
            };
            trees[tree].insert(node_ids[i] as usize, node);
        }
        let leaf_trees = n
            .attr_ints(&format!("{prefix}_treeids"))
            .unwrap_or_default();
        let len = leaf_trees.len();
        let leaf_nodes = n.expect_len(
            n.attr_ints(&format!("{prefix}_nodeids"))
                .unwrap_or_default(),
            len,
            "leaf node ids",
        )?;
        let targets = n.expect_len(
            n.attr_ints(&format!("{prefix}_ids")).unwrap_or_default(),
            len,
            "leaf target ids",
        )?;
        let weights = n.expect_len(
            n.attr_floats(&format!("{prefix}_weights")),
            len,
            "leaf weights",
        )?;
        let mut leaves: HashMap<(usize, usize), Vec<(usize, f64)>> = HashMap::new();
        for i in 0..len {
            leaves
                .entry((leaf_trees[i] as usize, leaf_nodes[i] as usize))
                .or_default()
                .push((targets[i] as usize, weights[i]));
        }
        Ok(Ensemble { trees, leaves })
    }

    /// Number of targets the leaves name.
    fn targets(&self) -> usize {
        self.leaves
            .values()
            .flatten()
            .map(|t| t.0 + 1)
            .max()
            .unwrap_or(0)
    }

    /// `Σ_trees leaf weight · reached(leaf)` per target, for one sample.
    fn scores(
        &self,
        l: &mut Lowering,
        n: &NodeCtx,
        features: &[Elem],
        targets: usize,
    ) -> Result<Vec<Affine>, ModelError> {
        let mut scores = vec![Affine::default(); targets];
        for (t, tree) in self.trees.iter().enumerate() {
            // Nodes in the order they are reached from the root (node 0,
            // or the one no other node points to).
            let root = root_of(tree).ok_or_else(|| n.err(format!("tree {t} has no root")))?;
            let mut stack = vec![(root, Elem::Const(1.0))];
            while let Some((id, reach)) = stack.pop() {
                let node = tree
                    .get(&id)
                    .ok_or_else(|| n.err(format!("tree {t} points at missing node {id}")))?;
                if node.mode == Mode::Leaf {
                    for &(target, w) in self.leaves.get(&(t, id)).map(Vec::as_slice).unwrap_or(&[])
                    {
                        scores[target].add_scaled(&Affine::of(reach), w);
                    }
                    continue;
                }
                let x = *features
                    .get(node.feature)
                    .ok_or_else(|| n.err(format!("feature {} out of range", node.feature)))?;
                let test = branch_test(l, n.index, node.mode, x, node.value);
                let yes = product(l, n.index, reach, test);
                let no = l.element(n.index, Affine::diff(reach, yes));
                stack.push((node.false_child, no));
                stack.push((node.true_child, yes));
            }
        }
        Ok(scores)
    }
}

fn root_of(tree: &HashMap<usize, TreeNode>) -> Option<usize> {
    let children: std::collections::HashSet<usize> = tree
        .values()
        .filter(|n| n.mode != Mode::Leaf)
        .flat_map(|n| [n.true_child, n.false_child])
        .collect();
    let mut roots: Vec<usize> = tree
        .keys()
        .copied()
        .filter(|id| !children.contains(id))
        .collect();
    roots.sort();
    roots.first().copied()
}

/// The 0/1 outcome of a branch test on `x`.
fn branch_test(l: &mut Lowering, node: usize, mode: Mode, x: Elem, t: f64) -> Elem {
    let ge = |l: &mut Lowering, a: Elem, b: Elem| {
        l.activated(node, Affine::diff(a, b), Activation::Step)
    };
    let not = |l: &mut Lowering, e: Elem| {
        let mut f = Affine::constant(1.0);
        f.add_scaled(&Affine::of(e), -1.0);
        l.element(node, f)
    };
    let t = Elem::Const(t);
    match mode {
        Mode::Leq => ge(l, t, x),
        Mode::Gte => ge(l, x, t),
        Mode::Lt => {
            let g = ge(l, x, t);
            not(l, g)
        }
        Mode::Gt => {
            let g = ge(l, t, x);
            not(l, g)
        }
        Mode::Eq | Mode::Neq => {
            let (a, b) = (ge(l, x, t), ge(l, t, x));
            let mut eq = Affine::of(a);
            eq.add_scaled(&Affine::of(b), 1.0);
            eq.bias -= 1.0;
            let eq = l.element(node, eq);
            if mode == Mode::Eq {
                eq
            } else {
                not(l, eq)
            }
        }
        Mode::Leaf => Elem::Const(1.0),
    }
}

/// Rows of a 2-D (or 1-D: one row) input, as elements.
fn rows(x: &Sym) -> (usize, usize) {
    match x.shape() {
        [f] => (1, *f),
        [n, f] => (*n, *f),
        s => (s[0], s[1..].iter().product()),
    }
}

/// The class labels (integers; string labels have no numeric value to
/// prove) and the label output for each row's scores.
fn labels(n: &NodeCtx) -> Result<Vec<f64>, ModelError> {
    if !n.attr_strings("classlabels_strings").is_empty() {
        return Err(n.err("string class labels cannot be proved; export with integer labels (e.g. skl2onnx on integer targets)"));
    }
    Ok(n.attr_ints("classlabels_int64s")
        .unwrap_or_default()
        .iter()
        .map(|&v| v as f64)
        .collect())
}

/// `(label, scores)` of a classifier from each row's raw scores: the post
/// transform, the binary layout (one raw score for two classes), and the
/// label of the first maximum.
fn classify(
    l: &mut Lowering,
    n: &NodeCtx,
    raw: Vec<Vec<Elem>>,
    labels: &[f64],
    binary_positive: f64,
) -> Result<Vec<Sym>, ModelError> {
    let post = PostTransform::parse(n)?;
    let rows_n = raw.len();
    let mut out_scores = Vec::new();
    let mut out_labels = Vec::new();
    for row in raw {
        let (scores, label) = if row.len() == 1 && labels.len() == 2 {
            // One score for two classes: [−s, s] before the transform
            // (1 − p, p after a logistic); class 1 when it is positive.
            let s = row[0];
            let scores = match post {
                PostTransform::Logistic => {
                    let p = l.activated(
                        n.index,
                        Affine::of(s),
                        Activation::Lut(crate::model::LutFn::Sigmoid),
                    );
                    let q = l.element(n.index, Affine::diff(Elem::Const(1.0), p));
                    vec![q, p]
                }
                PostTransform::None => vec![l.element(n.index, Affine::of(s).times(-1.0)), s],
                _ => return Err(n.err("a binary score with this post_transform is not supported")),
            };
            let mut f = Affine::of(s);
            f.bias -= binary_positive;
            let pos = l.activated(n.index, f, Activation::Step);
            let mut label = Affine::constant(labels[0]);
            label.add_scaled(&Affine::of(pos), labels[1] - labels[0]);
            (scores, l.element(n.index, label))
        } else {
            let scores = normalize_scores(l, n.index, &row, post);
            let index = super::select::first_max_index(l, n.index, &scores);
            let steps = index_steps(l, n.index, index, labels.len().max(1));
            let label = if labels.is_empty() {
                index
            } else {
                lookup_const(l, n.index, &steps, labels)
            };
            (scores, label)
        };
        out_labels.push(label);
        out_scores.extend(scores);
    }
    let width = out_scores.len() / rows_n.max(1);
    Ok(vec![
        l.tensor(n.index, vec![rows_n], out_labels),
        l.tensor(n.index, vec![rows_n, width], out_scores),
    ])
}

pub(super) fn tree_ensemble_classifier(
    l: &mut Lowering,
    n: &NodeCtx,
) -> Result<Vec<Sym>, ModelError> {
    let x = n.input(0)?.clone();
    let ens = Ensemble::parse(n, "class")?;
    let labels = labels(n)?;
    let targets = ens.targets().max(1);
    let base = n.attr_floats("base_values");
    let (samples, features) = rows(&x);
    let mut raw = Vec::with_capacity(samples);
    for r in 0..samples {
        let feats: Vec<Elem> = (0..features)
            .map(|k| resolve(l, elem(&x, r * features + k)))
            .collect();
        let scores = ens.scores(l, n, &feats, targets)?;
        raw.push(
            scores
                .into_iter()
                .enumerate()
                .map(|(k, mut f)| {
                    f.bias += base.get(k).copied().unwrap_or(0.0);
                    l.element(n.index, f)
                })
                .collect::<Vec<_>>(),
        );
    }
    let binary = targets == 1 && labels.len() == 2;
    // A binary tree score is positive for class 1 past 0.5 after a
    // logistic, else past 0 (onnxruntime's rule).
    let threshold =
        if binary && PostTransform::parse(n)? == PostTransform::None && ens_all_nonnegative(&ens) {
            0.5
        } else {
            0.0
        };
    classify(l, n, raw, &labels, threshold)
}

fn ens_all_nonnegative(e: &Ensemble) -> bool {
    e.leaves.values().flatten().all(|t| t.1 >= 0.0)
}

pub(super) fn tree_ensemble_regressor(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let ens = Ensemble::parse(n, "target")?;
    let targets = (n.attr_int("n_targets", ens.targets() as i64).max(1)) as usize;
    let aggregate = n.attr_str("aggregate_function", "SUM");
    let trees = ens.trees.len().max(1) as f64;
    let scale = match aggregate.as_str() {
        "SUM" => 1.0,
        "AVERAGE" => 1.0 / trees,
        other => {
            return Err(n.err(format!(
                "aggregate_function {other} is not supported (SUM, AVERAGE are)"
            )))
        }
    };
    let base = n.attr_floats("base_values");
    let post = PostTransform::parse(n)?;
    let (samples, features) = rows(&x);
    let mut out = Vec::with_capacity(samples * targets);
    for r in 0..samples {
        let feats: Vec<Elem> = (0..features)
            .map(|k| resolve(l, elem(&x, r * features + k)))
            .collect();
        let scores: Vec<Elem> = ens
            .scores(l, n, &feats, targets)?
            .into_iter()
            .enumerate()
            .map(|(k, f)| {
                let mut f = f.times(scale);
                f.bias += base.get(k).copied().unwrap_or(0.0);
                l.element(n.index, f)
            })
            .collect();
        out.extend(normalize_scores(l, n.index, &scores, post));
    }
    Ok(l.tensor(n.index, vec![samples, targets], out))
}

/// `X·coefficientsᵀ + intercepts` per row, one column per class/target.
fn linear_scores(
    l: &mut Lowering,
    n: &NodeCtx,
    x: &Sym,
    outputs: usize,
) -> Result<Vec<Vec<Elem>>, ModelError> {
    let (samples, features) = rows(x);
    let coef = n.expect_len(
        n.attr_floats("coefficients"),
        outputs * features,
        "coefficients",
    )?;
    let intercepts = n.attr_floats("intercepts");
    Ok((0..samples)
        .map(|r| {
            (0..outputs)
                .map(|c| {
                    let mut f = Affine::constant(intercepts.get(c).copied().unwrap_or(0.0));
                    for k in 0..features {
                        f.add_scaled(
                            &Affine::of(elem(x, r * features + k)),
                            coef[c * features + k],
                        );
                    }
                    l.element(n.index, f)
                })
                .collect()
        })
        .collect())
}

pub(super) fn linear_classifier(l: &mut Lowering, n: &NodeCtx) -> Result<Vec<Sym>, ModelError> {
    let x = n.input(0)?.clone();
    let labels = labels(n)?;
    let features = rows(&x).1;
    let outputs = n.attr_floats("coefficients").len() / features.max(1);
    let raw = linear_scores(l, n, &x, outputs)?;
    classify(l, n, raw, &labels, 0.0)
}

pub(super) fn linear_regressor(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let targets = n.attr_int("targets", 1).max(1) as usize;
    let post = PostTransform::parse(n)?;
    let raw = linear_scores(l, n, &x, targets)?;
    let samples = raw.len();
    let out: Vec<Elem> = raw
        .into_iter()
        .flat_map(|row| normalize_scores(l, n.index, &row, post))
        .collect();
    Ok(l.tensor(n.index, vec![samples, targets], out))
}

/// An SVM kernel `K(x, sv)`: ONNX `kernel_type` with `kernel_params`
/// `[γ, c0, degree]`.
struct Kernel {
    kind: String,
    gamma: f64,
    c0: f64,
    degree: usize,
}

impl Kernel {
    /// The node's kernel; LINEAR when it has no support vectors (liblinear).
    fn of(n: &NodeCtx, supports: usize) -> Result<Kernel, ModelError> {
        let p = n.attr_floats("kernel_params");
        let kind = if supports == 0 {
            "LINEAR".to_string()
        } else {
            n.attr_str("kernel_type", "LINEAR").to_ascii_uppercase()
        };
        if !["LINEAR", "RBF", "POLY", "SIGMOID"].contains(&kind.as_str()) {
            return Err(n.err(format!("unknown kernel_type {kind:?}")));
        }
        Ok(Kernel {
            kind,
            gamma: p.first().copied().unwrap_or(0.0),
            c0: p.get(1).copied().unwrap_or(0.0),
            degree: p.get(2).copied().unwrap_or(0.0).max(1.0) as usize,
        })
    }

    /// `K(x, sv_j)` for each support vector (rows of `sv`). RBF is
    /// `exp(−γ·‖x − sv‖²)` with `‖x − sv‖² = Σ x_f² − 2 x·sv + ‖sv‖²`, the
    /// squares shared by every vector; POLY `(γ x·sv + c0)^degree`; SIGMOID
    /// `tanh(γ x·sv + c0)`.
    fn values(&self, l: &mut Lowering, node: usize, x: &[Elem], sv: &[f64]) -> Vec<Elem> {
        let features = x.len().max(1);
        let dot = |j: usize| {
            let mut f = Affine::constant(0.0);
            for (k, xk) in x.iter().enumerate() {
                f.add_scaled(&Affine::of(*xk), sv[j * features + k]);
            }
            f
        };
        let vectors = sv.len() / features;
        let squares: Vec<Elem> = if self.kind == "RBF" {
            x.iter()
                .map(|&xk| super::smooth::product(l, node, xk, xk))
                .collect()
        } else {
            Vec::new()
        };
        (0..vectors)
            .map(|j| match self.kind.as_str() {
                "RBF" => {
                    let v = &sv[j * features..(j + 1) * features];
                    let mut d2 = Affine::constant(v.iter().map(|c| c * c).sum());
                    for sq in &squares {
                        d2.add_scaled(&Affine::of(*sq), 1.0);
                    }
                    d2.add_scaled(&dot(j), -2.0);
                    l.activated(node, d2.times(-self.gamma), Activation::Lut(LutFn::Exp))
                }
                "POLY" | "SIGMOID" => {
                    let mut arg = dot(j).times(self.gamma);
                    arg.add_scaled(&Affine::constant(1.0), self.c0);
                    if self.kind == "SIGMOID" {
                        l.activated(node, arg, Activation::Lut(LutFn::Tanh))
                    } else {
                        let base = l.element(node, arg);
                        (1..self.degree)
                            .fold(base, |acc, _| super::smooth::product(l, node, acc, base))
                    }
                }
                _ => l.element(node, dot(j)),
            })
            .collect()
    }
}

/// SVMRegressor: `Σ_j coef_j · K(x, sv_j) + rho`, or `coef·x + rho` with
/// no support vectors (liblinear); `one_class` gives ±1 by the sign. A
/// linear kernel folds into one affine neuron.
pub(super) fn svm_regressor(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let (samples, features) = rows(&x);
    let coef = n.attr_floats("coefficients");
    let rho = n.attr_floats("rho").first().copied().unwrap_or(0.0);
    let supports = n.attr_int("n_supports", 0).max(0) as usize;
    let kernel = Kernel::of(n, supports)?;
    if n.attr_str("post_transform", "NONE") != "NONE" {
        return Err(n.err("only post_transform NONE is defined for SVMRegressor"));
    }
    // liblinear: one "support vector" (the coefficients) of weight 1.
    let (sv, weights) = if supports == 0 {
        (n.expect_len(coef, features, "coefficients")?, vec![1.0])
    } else {
        let sv = n.expect_len(
            n.attr_floats("support_vectors"),
            supports * features,
            "support_vectors",
        )?;
        (sv, n.expect_len(coef, supports, "coefficients")?)
    };
    let mut out = Vec::with_capacity(samples);
    for r in 0..samples {
        let xr: Vec<Elem> = (0..features).map(|k| elem(&x, r * features + k)).collect();
        let mut score = Affine::constant(rho);
        if kernel.kind == "LINEAR" {
            // Σ_j w_j (x·sv_j) = x · Σ_j w_j sv_j: one neuron.
            for (k, xk) in xr.iter().enumerate() {
                let w: f64 = (0..weights.len())
                    .map(|j| weights[j] * sv[j * features + k])
                    .sum();
                score.add_scaled(&Affine::of(*xk), w);
            }
        } else {
            for (k, w) in kernel
                .values(l, n.index, &xr, &sv)
                .into_iter()
                .zip(&weights)
            {
                score.add_scaled(&Affine::of(k), *w);
            }
        }
        let s = l.element(n.index, score);
        out.push(if n.attr_int("one_class", 0) != 0 {
            let step = l.activated(n.index, Affine::of(s), Activation::Step);
            let mut sign = Affine::of(step).times(2.0);
            sign.add_scaled(&Affine::constant(1.0), -1.0);
            l.element(n.index, sign)
        } else {
            s
        });
    }
    Ok(l.tensor(n.index, vec![samples, 1], out))
}

/// SVMClassifier with support vectors (libsvm's one-vs-one): for each
/// class pair `i < j` a score `rho_p + Σ_{v∈i} coef[j−1][v]·K_v + Σ_{v∈j}
/// coef[i][v]·K_v`, a vote for `i` when it is positive, else for `j`; the
/// label is the first class with the most votes. Outputs the label and
/// the pair scores (`[−s, s]` for two classes). Probability estimates
/// (`prob_a`) iterate a coupling to convergence and are refused, as is
/// liblinear mode (scikit-learn exports LinearSVC as a LinearClassifier).
pub(super) fn svm_classifier(l: &mut Lowering, n: &NodeCtx) -> Result<Vec<Sym>, ModelError> {
    let x = n.input(0)?.clone();
    let (samples, features) = rows(&x);
    if !n.attr_strings("classlabels_strings").is_empty() {
        return Err(n.err("string class labels cannot be proved; export with integer labels"));
    }
    let labels: Vec<f64> = n
        .attr_ints("classlabels_ints")
        .unwrap_or_default()
        .iter()
        .map(|&v| v as f64)
        .collect();
    let classes = labels.len();
    if !n.attr_floats("prob_a").is_empty() {
        return Err(n.err("probability estimates (prob_a/prob_b, SVC(probability=True)) are not supported: export the classifier without them"));
    }
    let per_class: Vec<usize> = n
        .attr_ints("vectors_per_class")
        .unwrap_or_default()
        .iter()
        .map(|&v| v.max(0) as usize)
        .collect();
    let total: usize = per_class.iter().sum();
    if total == 0 || classes < 2 || per_class.len() != classes {
        return Err(n.err("only the support-vector form with integer labels is supported (vectors_per_class for every class)"));
    }
    let kernel = Kernel::of(n, total)?;
    let sv = n.expect_len(
        n.attr_floats("support_vectors"),
        total * features,
        "support_vectors",
    )?;
    let coef = n.expect_len(
        n.attr_floats("coefficients"),
        (classes - 1) * total,
        "coefficients",
    )?;
    let rho = n.expect_len(n.attr_floats("rho"), classes * (classes - 1) / 2, "rho")?;
    let post = PostTransform::parse(n)?;
    let start: Vec<usize> = per_class
        .iter()
        .scan(0, |acc, &c| {
            let s = *acc;
            *acc += c;
            Some(s)
        })
        .collect();
    let all_positive = coef.iter().all(|&c| c >= 0.0);
    let (mut out_labels, mut out_scores) = (Vec::new(), Vec::new());
    for r in 0..samples {
        let xr: Vec<Elem> = (0..features).map(|k| elem(&x, r * features + k)).collect();
        let k = kernel.values(l, n.index, &xr, &sv);
        let mut scores = Vec::new();
        let mut votes = vec![Affine::constant(0.0); classes];
        let mut p = 0;
        for i in 0..classes {
            for j in i + 1..classes {
                let mut s = Affine::constant(rho[p]);
                for v in start[i]..start[i] + per_class[i] {
                    s.add_scaled(&Affine::of(k[v]), coef[(j - 1) * total + v]);
                }
                for v in start[j]..start[j] + per_class[j] {
                    s.add_scaled(&Affine::of(k[v]), coef[i * total + v]);
                }
                let s = l.element(n.index, s);
                // [s > 0] = 1 − [−s ≥ 0]
                let not_i = l.activated(n.index, Affine::of(s).times(-1.0), Activation::Step);
                votes[i].add_scaled(&Affine::constant(1.0), 1.0);
                votes[i].add_scaled(&Affine::of(not_i), -1.0);
                votes[j].add_scaled(&Affine::of(not_i), 1.0);
                scores.push(s);
                p += 1;
            }
        }
        if classes == 2 {
            let s = scores[0];
            // Two classes: class 1 outright when every coefficient is
            // non-negative (a vote always weighs 1); else the vote's winner.
            let label = if all_positive {
                Elem::Const(labels[1])
            } else {
                let mut f = Affine::constant(labels[1]);
                f.add_scaled(&votes[0], labels[0] - labels[1]);
                l.element(n.index, f)
            };
            out_labels.push(label);
            match post {
                PostTransform::None => {
                    out_scores.push(l.element(n.index, Affine::of(s).times(-1.0)));
                    out_scores.push(s);
                }
                _ => return Err(n.err("a two-class SVM with a post_transform is not supported")),
            }
        } else {
            let vote_elems: Vec<Elem> = votes.into_iter().map(|v| l.element(n.index, v)).collect();
            let index = super::select::first_max_index(l, n.index, &vote_elems);
            let steps = index_steps(l, n.index, index, classes);
            out_labels.push(lookup_const(l, n.index, &steps, &labels));
            out_scores.extend(normalize_scores(l, n.index, &scores, post));
        }
    }
    let width = out_scores.len() / samples.max(1);
    Ok(vec![
        l.tensor(n.index, vec![samples], out_labels),
        l.tensor(n.index, vec![samples, width], out_scores),
    ])
}

/// `(x − offset)·scale`, per feature (a single value applies to all).
pub(super) fn scaler(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let (offset, scale) = (n.attr_floats("offset"), n.attr_floats("scale"));
    let features = rows(&x).1;
    let pick = |v: &[f64], k: usize, d: f64| {
        if v.len() == 1 {
            v[0]
        } else {
            v.get(k).copied().unwrap_or(d)
        }
    };
    Ok(scale_shift(
        l,
        n,
        &x,
        |o| pick(&scale, o % features, 1.0),
        |o| -pick(&offset, o % features, 0.0) * pick(&scale, o % features, 1.0),
    ))
}

/// Columns `indices` of the last axis. Constant indices re-index; indices
/// the input decides (skl2onnx's label `classes[argmax]`) over constant
/// data are a gather by a dynamic index.
pub(super) fn array_feature_extractor(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?;
    if let (Sym::Const(data), Sym::Dyn(idx)) = (x, n.input(1)?) {
        let rank = data.shape.len();
        if rank == 0 {
            return Err(n.err("a scalar has no features"));
        }
        let picked = super::select::gather_by_dynamic_index(l, n, data, idx, rank - 1)?;
        let mut shape = data.shape[..rank - 1].to_vec();
        shape.push(idx.ids.len());
        return Ok(super::shape::reindex(&picked, shape, |o| o));
    }
    let idx: Vec<usize> = const_ints(n.constant(1, "ArrayFeatureExtractor's indices")?)
        .iter()
        .map(|&i| i.max(0) as usize)
        .collect();
    let s = x.shape().to_vec();
    let last = *s.last().ok_or_else(|| n.err("a scalar has no features"))?;
    if let Some(bad) = idx.iter().find(|&&i| i >= last) {
        return Err(n.err(format!("index {bad} out of range for {last} features")));
    }
    let mut shape = s[..s.len() - 1].to_vec();
    shape.push(idx.len());
    Ok(reindex(x, shape, |o| {
        (o / idx.len()) * last + idx[o % idx.len()]
    }))
}

/// `x > threshold` as 0/1.
pub(super) fn binarizer(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let t = n.attr_float("threshold", 0.0) as f64;
    let elems = (0..numel(x.shape()))
        .map(|o| {
            let g = l.activated(
                n.index,
                Affine::diff(Elem::Const(t), elem(&x, o)),
                Activation::Step,
            );
            l.element(n.index, Affine::diff(Elem::Const(1.0), g))
        })
        .collect();
    Ok(l.tensor(n.index, x.shape().to_vec(), elems))
}

/// Each row divided by its max, L1 or L2 norm.
pub(super) fn normalizer(l: &mut Lowering, n: &NodeCtx) -> Result<Sym, ModelError> {
    let x = n.input(0)?.clone();
    let norm = n.attr_str("norm", "MAX");
    let (samples, features) = rows(&x);
    let mut out = Vec::with_capacity(samples * features);
    for r in 0..samples {
        let row: Vec<Elem> = (0..features)
            .map(|k| resolve(l, elem(&x, r * features + k)))
            .collect();
        let denom = match norm.as_str() {
            "MAX" => super::pwl::extreme(l, n.index, &row, 1.0),
            "L1" => {
                let mut s = Affine::default();
                for &v in &row {
                    let a = super::pwl::abs_elem(l, n.index, v);
                    s.add_scaled(&Affine::of(a), 1.0);
                }
                l.element(n.index, s)
            }
            "L2" => {
                let mut s = Affine::default();
                for &v in &row {
                    let sq = product(l, n.index, v, v);
                    s.add_scaled(&Affine::of(sq), 1.0);
                }
                l.activated(n.index, s, Activation::Lut(crate::model::LutFn::Sqrt))
            }
            other => return Err(n.err(format!("norm {other}"))),
        };
        for v in row {
            out.push(super::smooth::quotient(l, n.index, v, denom));
        }
    }
    Ok(l.tensor(n.index, x.shape().to_vec(), out))
}
