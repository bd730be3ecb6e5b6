//! Solidity/Yul verifier generation from a halo2 verifying key.
//!
//! The generated contract replays `halo2_proofs::plonk::verify_proof` with
//! SHPLONK openings and [`crate::proof::transcript::EvmTranscript`], for the
//! vk's constraint system: the gate, permutation and lookup expressions are
//! compiled to straight-line Yul, the rotation sets of the multi-open check
//! are resolved at generation time, and everything else (VK points, domain
//! constants, proof offsets) becomes literals. Nothing is read from storage.
//!
//! Before any precompile runs, the contract checks the proof length, that
//! every point is on the curve and every scalar and public input is below its
//! modulus; precompiles get exactly the gas they cost, so a bad proof is
//! rejected for at most the price of an honest one.

use halo2_proofs::halo2curves::bn256::{Bn256, Fq, Fr, G1Affine, G2Affine};
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_proofs::halo2curves::CurveAffine;
use halo2_proofs::plonk::{Any, Expression, VerifyingKey};
use halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use std::collections::HashMap;
use std::fmt::Write;

#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    #[error("the constraint system uses {0}, which the EVM verifier generator does not support")]
    Unsupported(String),
}

/// The generated verifier and facts a caller needs about it.
pub struct Generated {
    pub solidity: String,
    pub proof_len: usize,
    pub num_public: usize,
    /// Made from the development SRS (the contract's `DEVELOPMENT_SRS`).
    pub dev_srs: bool,
}

const TEMPLATE: &str = include_str!("../../templates/Halo2Verifier.sol");

fn hex_fr(f: &Fr) -> String {
    let mut b = f.to_repr();
    b.reverse();
    format!("0x{}", hex::encode(b))
}

fn hex_fq(f: &Fq) -> String {
    let mut b = f.to_repr();
    b.reverse();
    format!("0x{}", hex::encode(b))
}

fn omega_pow(omega: Fr, omega_inv: Fr, rot: i64) -> Fr {
    if rot >= 0 {
        omega.pow_vartime([rot as u64])
    } else {
        omega_inv.pow_vartime([(-rot) as u64])
    }
}

/// A commitment the verifier opens, identified the way halo2 compares them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Com {
    Advice(usize),
    PermZ(usize),
    LookupA(usize),
    LookupS(usize),
    LookupZ(usize),
    Fixed(usize),
    Sigma(usize),
    H,
    Random,
}

/// Where a claimed evaluation lives: a proof scalar or a computed memory slot.
#[derive(Clone, Copy, Debug)]
enum Eval {
    Proof(usize),
    Mem(usize),
}

/// A SHPLONK rotation set: its points (as rotations) and the commitments
/// opened at exactly those points, each with its claimed evaluations.
type RotationSet = (Vec<i32>, Vec<(Com, Vec<Eval>)>);

/// Byte offsets of everything in the proof.
struct Layout {
    advice: Vec<usize>,
    lookup_a: Vec<usize>,
    lookup_s: Vec<usize>,
    perm_z: Vec<usize>,
    lookup_z: Vec<usize>,
    random: usize,
    h: Vec<usize>,
    points_end: usize,
    advice_evals: usize,
    fixed_evals: usize,
    random_eval: usize,
    sigma_evals: usize,
    perm_evals: usize,
    lookup_evals: usize,
    scalars_end: usize,
    w: usize,
    w_prime: usize,
    total: usize,
}

/// Bump allocator for 32-byte memory slots.
struct Mem {
    next: usize,
    names: HashMap<String, usize>,
}

impl Mem {
    fn slot(&mut self, name: &str) -> usize {
        if let Some(&s) = self.names.get(name) {
            return s;
        }
        let s = self.next;
        self.next += 32;
        self.names.insert(name.to_string(), s);
        s
    }
    fn array(&mut self, len: usize) -> usize {
        let s = self.next;
        self.next += 32 * len.max(1);
        s
    }
}

/// Memory used by precompile calls: accumulator point, term point, scalar.
const ACC: usize = 0x80;
const TERM: usize = 0xc0;
const SCALAR: usize = 0x100;
const MEM_BASE: usize = 0x200;
/// Placeholder for the transcript scratch address (patched at the end).
const SCRATCH: &str = "__SCRATCH__";

struct Gen<'a> {
    vk: &'a VerifyingKey<G1Affine>,
    omega: Fr,
    omega_inv: Fr,
    r: String,
    lay: Layout,
    // Interior mutability lets emitters borrow `self` freely while nesting
    // expression builders.
    mem: std::cell::RefCell<Mem>,
    out: std::cell::RefCell<String>,
}

/// What the verifier knows about its public inputs beyond their count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicInputs {
    pub count: usize,
    /// Public inputs from this index on must be non-zero: they are
    /// offset-encoded model values, and a model circuit leaves a zero
    /// instance unbound. Those before it only need to be below r.
    pub nonzero_from: usize,
    /// The first 12 public inputs are a KZG accumulator (an aggregated
    /// proof): its pairing is checked together with the proof's own.
    pub accumulator: bool,
    /// A weights-binding verifier (`zkml-evm bind`): the `CIRCUIT` digest
    /// of the committed-weights circuit whose weights column it binds to
    /// its one public input, exposed as `BOUND_CIRCUIT`.
    pub bound_circuit: Option<[u8; 32]>,
}

impl PublicInputs {
    /// A model proof: every public input is an offset-encoded value.
    pub fn model(count: usize) -> PublicInputs {
        PublicInputs {
            count,
            nonzero_from: 0,
            accumulator: false,
            bound_circuit: None,
        }
    }

    /// An aggregated proof: accumulator limbs, then model values.
    pub fn aggregate(count: usize) -> PublicInputs {
        PublicInputs {
            count,
            nonzero_from: ACC_LIMBS,
            accumulator: true,
            bound_circuit: None,
        }
    }
}

/// Deepest operand nesting a gate expression keeps inline (see `Gen::expr`).
const MAX_NESTING: usize = 6;

/// A running product or sum over a rotation set's points is flushed to
/// memory after this many terms: solc keeps every pending operand of a
/// nested expression on the stack, and a column queried at many rotations
/// would otherwise make a verifier it cannot compile ("stack too deep").
const FLUSH_EVERY: usize = 4;

/// Up to this many public inputs, their checks and Lagrange terms are
/// unrolled (cheapest in gas); beyond it they run in loops (smallest code).
const UNROLL_PUBLIC: usize = 64;

/// Accumulator encoding (snark-verifier-sdk's `LimbsEncoding<3, 88>`).
const ACC_LIMBS: usize = 12;
const LIMB_BITS: usize = 88;

pub fn generate(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    public: PublicInputs,
    title: &str,
) -> Result<Generated, CodegenError> {
    let num_public = public.count;
    if public.accumulator && num_public < ACC_LIMBS {
        return Err(CodegenError::Unsupported(
            "an accumulator with fewer than 12 public inputs".into(),
        ));
    }
    let cs = vk.cs();
    if cs.num_challenges() > 0 || cs.advice_column_phase().iter().any(|&p| p != 0) {
        return Err(CodegenError::Unsupported(
            "multi-phase advice or challenges".into(),
        ));
    }
    if cs.num_instance_columns() != 1 || cs.instance_queries().iter().any(|(_, r)| r.0 != 0) {
        return Err(CodegenError::Unsupported(
            "instance columns other than one queried at the current row".into(),
        ));
    }
    let domain = vk.get_domain();
    let g = Gen {
        vk,
        omega: domain.get_omega(),
        omega_inv: domain.get_omega_inv(),
        r: "r".into(),
        lay: layout(vk),
        mem: std::cell::RefCell::new(Mem {
            next: MEM_BASE,
            names: HashMap::new(),
        }),
        out: std::cell::RefCell::new(String::new()),
    };
    g.emit_all(params, public)?;
    let dev_srs = crate::proof::srs::is_dev(params);
    let solidity = TEMPLATE
        .replace("{{title}}", title)
        .replace("{{proof_len}}", &g.lay.total.to_string())
        .replace("{{num_public}}", &num_public.to_string())
        .replace("{{k}}", &domain.k().to_string())
        .replace("{{dev_srs}}", if dev_srs { "true" } else { "false" })
        .replace("{{circuit}}", &crate::artifact::to_hex(&circuit_digest(vk)))
        .replace("{{bound}}", &bound_constant(public.bound_circuit))
        .replace("{{body}}", &g.out.borrow());
    Ok(Generated {
        solidity,
        proof_len: g.lay.total,
        num_public,
        dev_srs,
    })
}

/// halo2's digest of `vk` (what its transcript starts from: the constraint
/// system, the domain, and the fixed and permutation commitments, so the
/// SRS too), big-endian: a verifier's `CIRCUIT`.
pub fn circuit_digest(vk: &VerifyingKey<G1Affine>) -> [u8; 32] {
    crate::proof::transcript::be_bytes(&vk.transcript_repr())
}

fn bound_constant(bound: Option<[u8; 32]>) -> String {
    match bound {
        None => String::new(),
        Some(d) => format!(
            "\n    /// @notice The `CIRCUIT` of the committed-weights verifier whose weights column\n    /// this binding verifier's proofs hash (`BoundWeights` requires the two to match).\n    bytes32 public constant BOUND_CIRCUIT = {};\n",
            crate::artifact::to_hex(&d)
        ),
    }
}

/// Bytes of the leading run of points in a proof for `vk` (commitments up
/// to the quotient pieces); evaluations follow, then the two opening points.
pub fn points_len(vk: &VerifyingKey<G1Affine>) -> usize {
    layout(vk).points_end
}

/// BN254 scalar field modulus r, hex.
const R_HEX: &str = "30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";

fn layout(vk: &VerifyingKey<G1Affine>) -> Layout {
    let cs = vk.cs();
    let nl = cs.lookups().len();
    let chi = cs.degree() - 2;
    let np = cs.permutation().get_columns().len().div_ceil(chi);
    // Sequential allocation of proof bytes, in transcript order.
    struct Cursor(usize);
    impl Cursor {
        fn take(&mut self, n: usize, size: usize) -> Vec<usize> {
            let v = (0..n).map(|i| self.0 + i * size).collect();
            self.0 += n * size;
            v
        }
        fn one(&mut self, size: usize) -> usize {
            self.take(1, size)[0]
        }
    }
    let mut c = Cursor(0);
    let advice = c.take(cs.num_advice_columns(), 64);
    let mut lookup_a = vec![];
    let mut lookup_s = vec![];
    for _ in 0..nl {
        lookup_a.push(c.one(64));
        lookup_s.push(c.one(64));
    }
    let perm_z = c.take(np, 64);
    let lookup_z = c.take(nl, 64);
    let random = c.one(64);
    let h = c.take(cs.degree() - 1, 64);
    let points_end = c.0;
    let advice_evals = c.0;
    c.take(cs.advice_queries().len(), 32);
    let fixed_evals = c.0;
    c.take(cs.fixed_queries().len(), 32);
    let random_eval = c.one(32);
    let sigma_evals = c.0;
    c.take(cs.permutation().get_columns().len(), 32);
    let perm_evals = c.0;
    c.take(if np > 0 { 3 * np - 1 } else { 0 }, 32);
    let lookup_evals = c.0;
    c.take(5 * nl, 32);
    let scalars_end = c.0;
    let w = c.one(64);
    let w_prime = c.one(64);
    let o = c.0;
    Layout {
        advice,
        lookup_a,
        lookup_s,
        perm_z,
        lookup_z,
        random,
        h,
        points_end,
        advice_evals,
        fixed_evals,
        random_eval,
        sigma_evals,
        perm_evals,
        lookup_evals,
        scalars_end,
        w,
        w_prime,
        total: o,
    }
}

impl Gen<'_> {
    fn line(&self, s: impl AsRef<str>) {
        let mut out = self.out.borrow_mut();
        out.push_str("            ");
        out.push_str(s.as_ref());
        out.push('\n');
    }

    /// Gas-profiling aid: with ZKML_EVM_STOP_AFTER=n the generated code
    /// returns after phase n, so the cost of each phase can be measured.
    fn phase_end(&self, n: u32) {
        if std::env::var("ZKML_EVM_STOP_AFTER")
            .ok()
            .and_then(|v| v.parse::<u32>().ok())
            == Some(n)
        {
            self.line("mstore(0, 0) return(0, 0x20)");
        }
    }

    fn cd(&self, off: usize) -> String {
        format!("calldataload(add(p, {off:#x}))")
    }

    fn eval(&self, e: Eval) -> String {
        match e {
            Eval::Proof(o) => self.cd(o),
            Eval::Mem(s) => format!("mload({s:#x})"),
        }
    }

    fn slot(&self, name: &str) -> usize {
        self.mem.borrow_mut().slot(name)
    }

    fn m(&self, name: &str) -> String {
        format!("mload({:#x})", self.slot(name))
    }

    fn store(&self, name: &str, value: String) {
        let s = self.slot(name);
        self.line(format!("mstore({s:#x}, {value})"));
    }

    /// `acc` after its `n`-th term (from 0) of a running product or sum
    /// kept in slot `name`: every [`FLUSH_EVERY`] terms it is stored there
    /// and read back, so the expression never nests past solc's stack.
    fn flushed(&self, n: usize, name: &str, acc: String) -> String {
        if n % FLUSH_EVERY == FLUSH_EVERY - 1 {
            self.store(name, acc);
            self.m(name)
        } else {
            acc
        }
    }

    fn mul(&self, a: &str, b: &str) -> String {
        format!("mulmod({a}, {b}, {})", self.r)
    }
    fn add(&self, a: &str, b: &str) -> String {
        format!("addmod({a}, {b}, {})", self.r)
    }
    fn sub(&self, a: &str, b: &str) -> String {
        format!("addmod({a}, sub({}, {b}), {})", self.r, self.r)
    }

    /// The proof scalar holding query `(col, rot)`, among `queries` whose
    /// evaluations start at byte `base`.
    fn query_eval(
        &self,
        mut queries: impl Iterator<Item = (usize, i32)>,
        base: usize,
        col: usize,
        rot: i32,
    ) -> String {
        let q = queries
            .position(|q| q == (col, rot))
            .expect("the constraint system declares every query it uses");
        self.cd(base + 32 * q)
    }

    fn advice_eval(&self, col: usize, rot: i32) -> String {
        let queries = self
            .vk
            .cs()
            .advice_queries()
            .iter()
            .map(|(c, r)| (c.index(), r.0));
        self.query_eval(queries, self.lay.advice_evals, col, rot)
    }

    fn fixed_eval(&self, col: usize, rot: i32) -> String {
        let queries = self
            .vk
            .cs()
            .fixed_queries()
            .iter()
            .map(|(c, r)| (c.index(), r.0));
        self.query_eval(queries, self.lay.fixed_evals, col, rot)
    }

    /// A gate polynomial as one Yul expression. Operands nest, and solc
    /// keeps every pending operand on the stack, so a subexpression nested
    /// deeper than [`MAX_NESTING`] (a Poseidon round's `MDS·(a·u²)`) is
    /// computed first into a memory slot and read back.
    fn expr(&self, e: &Expression<Fr>) -> Result<String, CodegenError> {
        let inst = self.m("inst_eval");
        let r = self.r.clone();
        let unsupported = std::cell::RefCell::new(None);
        let leaf = |s: String| (s, 1usize);
        let op = |s: String, depth: usize| {
            if depth <= MAX_NESTING {
                return (s, depth);
            }
            let name = format!("spill{}", self.mem.borrow().names.len());
            self.store(&name, s);
            (self.m(&name), 1)
        };
        let (s, _) = e.evaluate(
            &|c| leaf(hex_fr(&c)),
            &|_| {
                *unsupported.borrow_mut() = Some("selectors (not converted to fixed)".to_string());
                leaf("0".into())
            },
            &|q| leaf(self.fixed_eval(q.column_index(), q.rotation().0)),
            &|q| leaf(self.advice_eval(q.column_index(), q.rotation().0)),
            &|_| leaf(inst.clone()),
            &|_| {
                *unsupported.borrow_mut() = Some("challenges".to_string());
                leaf("0".into())
            },
            &|(a, d)| op(format!("sub({r}, {a})"), d + 1),
            &|(a, da), (b, db)| op(format!("addmod({a}, {b}, {r})"), da.max(db) + 1),
            &|(a, da), (b, db)| op(format!("mulmod({a}, {b}, {r})"), da.max(db) + 1),
            &|(a, d), c| op(format!("mulmod({a}, {}, {r})", hex_fr(&c)), d + 1),
        );
        match unsupported.into_inner() {
            Some(what) => Err(CodegenError::Unsupported(what)),
            None => Ok(s),
        }
    }

    /// Cur-row evaluation of a permutation column.
    fn column_eval(&self, col: &halo2_proofs::plonk::Column<Any>) -> String {
        match col.column_type() {
            Any::Advice(_) => self.advice_eval(col.index(), 0),
            Any::Fixed => self.fixed_eval(col.index(), 0),
            Any::Instance => self.m("inst_eval"),
        }
    }

    fn emit_all(
        &self,
        params: &ParamsKZG<Bn256>,
        public: PublicInputs,
    ) -> Result<(), CodegenError> {
        let num_public = public.count;
        let vk = self.vk;
        let cs = vk.cs();
        let lay = &self.lay;
        let (points_end, scalars_end, w, w_prime, total) = (
            lay.points_end,
            lay.scalars_end,
            lay.w,
            lay.w_prime,
            lay.total,
        );
        let r = self.r.clone();

        // ---- 1. Shape and range checks: cheap rejections first.
        self.line(format!("let r := 0x{R_HEX}"));
        self.line("let p := proof.offset");
        self.line("let pi := publicInputs.offset");
        self.line(format!("if iszero(and(eq(proof.length, {total}), eq(publicInputs.length, {num_public}))) {{ fail() }}"));
        // Public inputs and proof scalars must be canonical (below r), as
        // the native verifier requires; unrolled, it is ~20 gas each. Points
        // need no check here: every proof point goes through ecMul (or the
        // pairing) with exactly the gas it costs, and a precompile rejects an
        // off-curve or non-canonical point by failing that call.
        let mut canon = String::from("1");
        // 0 < v < r is one unsigned comparison: v - 1 < r - 1 (0 wraps).
        let r_minus_1 = hex_fr(&-Fr::ONE);
        // Many public inputs (aggregated proofs) are checked in a loop, to
        // keep the contract under the EIP-170 size limit.
        let unrolled_end = if num_public > UNROLL_PUBLIC {
            public.nonzero_from
        } else {
            num_public
        };
        if unrolled_end < num_public {
            self.line(format!(
                "for {{ let i := {unrolled_end} }} lt(i, {num_public}) {{ i := add(i, 1) }} {{ if iszero(lt(sub(calldataload(add(pi, shl(5, i))), 1), {r_minus_1})) {{ fail() }} }}"
            ));
        }
        for i in 0..unrolled_end {
            let v = format!("calldataload(add(pi, {:#x}))", 32 * i);
            canon = if public.accumulator && i < ACC_LIMBS {
                // A limb: 88 bits, and the top limb of a coordinate at most
                // 80, so that `limb << 176` cannot overflow a word.
                let bits = if i % 3 == 2 {
                    256 - 2 * LIMB_BITS
                } else {
                    LIMB_BITS
                };
                format!("and({canon}, lt({v}, shl({bits}, 1)))")
            } else if i < public.nonzero_from {
                format!("and({canon}, lt({v}, r))")
            } else {
                format!("and({canon}, lt(sub({v}, 1), {r_minus_1}))")
            };
            if (i + 1) % 8 == 0 {
                self.line(format!("if iszero({canon}) {{ fail() }}"));
                canon = String::from("1");
            }
        }
        if canon != "1" {
            self.line(format!("if iszero({canon}) {{ fail() }}"));
            canon = String::from("1");
        }
        if public.accumulator {
            // Neither accumulator point may be the identity, (0, 0) in the
            // precompiles' encoding: e(0, ·) = 1 would make the pairing
            // check of an all-zero accumulator vacuous.
            for point in 0..2 {
                let limbs =
                    (0..6).map(|j| format!("calldataload(add(pi, {:#x}))", 32 * (6 * point + j)));
                let any = limbs
                    .reduce(|a, b| format!("or({a}, {b})"))
                    .expect("six limbs");
                self.line(format!("if iszero({any}) {{ fail() }}"));
            }
        }
        for (i, o) in (points_end..scalars_end).step_by(32).enumerate() {
            canon = format!("and({canon}, lt(calldataload(add(p, {o:#x})), r))");
            if (i + 1) % 8 == 0 {
                self.line(format!("if iszero({canon}) {{ fail() }}"));
                canon = String::from("1");
            }
        }
        if canon != "1" {
            self.line(format!("if iszero({canon}) {{ fail() }}"));
        }

        self.phase_end(1);
        // ---- 2. Transcript: absorb, squeeze challenges.
        let repr = hex_fr(&vk.transcript_repr());
        let theta_end = lay
            .lookup_a
            .first()
            .copied()
            .unwrap_or(lay.perm_z.first().copied().unwrap_or(lay.random));
        let beta_end = lay
            .perm_z
            .first()
            .copied()
            .unwrap_or(lay.lookup_z.first().copied().unwrap_or(lay.random));
        let y_end = lay.h.first().copied().unwrap_or(points_end);
        let segments = [
            ("theta", 0usize, theta_end),
            ("beta", theta_end, beta_end),
            ("y", beta_end, y_end),
            ("x", y_end, points_end),
            ("shplonk_y", points_end, scalars_end),
            ("u", scalars_end, w_prime),
        ];
        // The transcript buffer lives above every named slot; its address is
        // only known once generation ends, so it is patched in afterwards.
        let sc = SCRATCH;
        // Each section runs in its own Yul block so its locals die with it:
        // deep expressions then still reach `r` on the stack.
        self.line("{");
        self.line(format!("mstore({sc}, {repr})"));
        self.line(format!(
            "calldatacopy(add({sc}, 0x20), pi, {:#x})",
            32 * num_public
        ));
        self.line(format!(
            "calldatacopy(add({sc}, {:#x}), p, {theta_end:#x})",
            32 + 32 * num_public
        ));
        self.line(format!(
            "let h := keccak256({sc}, {:#x})",
            32 + 32 * num_public + theta_end
        ));
        self.store("theta", format!("mod(h, {r})"));
        for (name, a, b) in &segments[1..] {
            self.line(format!("mstore({sc}, h)"));
            self.line(format!(
                "calldatacopy(add({sc}, 0x20), add(p, {a:#x}), {:#x})",
                b - a
            ));
            self.line(format!("h := keccak256({sc}, {:#x})", 32 + b - a));
            self.store(name, format!("mod(h, {r})"));
            let follow = match *name {
                "beta" => Some("gamma"),
                "shplonk_y" => Some("v"),
                _ => None,
            };
            if let Some(f) = follow {
                self.line(format!("mstore({sc}, h)"));
                self.line(format!("h := keccak256({sc}, 0x20)"));
                self.store(f, format!("mod(h, {r})"));
            }
        }

        if public.accumulator {
            // Seeds the accumulator's folding challenge (section 6).
            self.store("transcript_h", "h".into());
        }
        self.line("}");
        self.phase_end(2);
        // ---- 3. Domain values: x^n, Lagrange bases, one batch inversion.
        let n = params.n();
        let k = vk.get_domain().k();
        let x = self.m("x");
        self.line(format!("{{ let xn := {x}"));
        self.line(format!(
            "for {{ let i := 0 }} lt(i, {k}) {{ i := add(i, 1) }} {{ xn := mulmod(xn, xn, {r}) }}"
        ));
        self.store("xn", "xn".into());
        self.line("}");
        let b = cs.blinding_factors() as i64;
        // Rows whose Lagrange basis we need: row 0 (l_0), then -(b+1)..=-1.
        let mut rows: Vec<i64> = vec![0];
        rows.extend(-(b + 1)..=-1);

        // SHPLONK point structure (needed now: zdiff_0 joins the inversion).
        let sets = self.rotation_sets();
        let all_rots: Vec<i32> = {
            let mut v: Vec<i32> = Vec::new();
            for (rots, _) in &sets {
                for r0 in rots {
                    if !v.contains(r0) {
                        v.push(*r0);
                    }
                }
            }
            v
        };
        let u = self.m("u");
        for &rot in &all_rots {
            let t = self.mul(
                &x,
                &hex_fr(&omega_pow(self.omega, self.omega_inv, rot as i64)),
            );
            let d = self.sub(&u, &t);
            self.store(&format!("u_minus_{rot}"), d);
        }
        // Π (u − ω^rot) over `rots`, into memory slot `name`.
        let store_product = |g: &Self, name: &str, rots: &[i32]| {
            let mut acc = "1".to_string();
            for (n, rot) in rots.iter().enumerate() {
                let term = g.m(&format!("u_minus_{rot}"));
                acc = if acc == "1" { term } else { g.mul(&acc, &term) };
                acc = g.flushed(n, name, acc);
            }
            g.store(name, acc);
        };
        let zdiffs: Vec<Vec<i32>> = sets
            .iter()
            .map(|(rots, _)| {
                all_rots
                    .iter()
                    .copied()
                    .filter(|r0| !rots.contains(r0))
                    .collect()
            })
            .collect();
        for (i, zd) in zdiffs.iter().enumerate() {
            store_product(self, &format!("zdiff_{i}"), zd);
        }
        store_product(self, "z0", &sets[0].0);

        // Instance evaluation Σ_j pub_j·ω^j/(x - ω^j), summed as one
        // fraction num/den so it needs no inversion of its own.
        self.line("{ let num := 0 let den := 1");
        if num_public > UNROLL_PUBLIC {
            let omega = hex_fr(&self.omega);
            self.line(format!(
                "{{ let w := 1 for {{ let i := 0 }} lt(i, {num_public}) {{ i := add(i, 1) }} {{ let d := addmod({x}, sub(r, w), r) num := addmod(mulmod(num, d, r), mulmod(mulmod(calldataload(add(pi, shl(5, i))), w, r), den, r), r) den := mulmod(den, d, r) w := mulmod(w, {omega}, r) }} }}"
            ));
        }
        for j in 0..num_public * usize::from(num_public <= UNROLL_PUBLIC) {
            let wj = hex_fr(&omega_pow(self.omega, self.omega_inv, j as i64));
            self.line(format!(
                "{{ let d := addmod({x}, sub(r, {wj}), r) num := addmod(mulmod(num, d, r), mulmod(mulmod(calldataload(add(pi, {:#x})), {wj}, r), den, r), r) den := mulmod(den, d, r) }}",
                32 * j
            ));
        }
        self.store("inst_num", "num".into());
        self.store("inst_den", "den".into());
        self.line("}");

        // One batch inversion (Montgomery's trick, straight-line) of:
        // x - ω^row for each row, x^n - 1, x, zdiff_0, and the instance den.
        let xn_minus_1 = self.sub(&self.m("xn"), "1");
        let mut elems: Vec<String> = rows
            .iter()
            .map(|&row| self.sub(&x, &hex_fr(&omega_pow(self.omega, self.omega_inv, row))))
            .collect();
        elems.push(xn_minus_1.clone());
        elems.push(x.clone());
        elems.push(self.m("zdiff_0"));
        elems.push(self.m("inst_den"));
        let m = elems.len();
        let inv = self.mem.borrow_mut().array(m);
        let pref = self.mem.borrow_mut().array(m);
        for (i, e) in elems.iter().enumerate() {
            self.line(format!("mstore({:#x}, {e})", inv + 32 * i));
        }
        self.line(format!(
            "{{ let prod := mload({inv:#x}) mstore({pref:#x}, prod)"
        ));
        for i in 1..m {
            self.line(format!(
                "prod := mulmod(prod, mload({:#x}), r) mstore({:#x}, prod)",
                inv + 32 * i,
                pref + 32 * i
            ));
        }
        self.line("if iszero(prod) { fail() }");
        self.line("mstore(0x00, 0x20) mstore(0x20, 0x20) mstore(0x40, 0x20) mstore(0x60, prod) mstore(0x80, sub(r, 2)) mstore(0xa0, r)");
        self.line(
            "needGas(51000) if iszero(staticcall(50000, 5, 0x00, 0xc0, 0x00, 0x20)) { fail() }",
        );
        self.line("let invp := mload(0x00)");
        for i in (1..m).rev() {
            let (e, pv) = (inv + 32 * i, pref + 32 * (i - 1));
            self.line(format!("{{ let e := mload({e:#x}) mstore({e:#x}, mulmod(invp, mload({pv:#x}), r)) invp := mulmod(invp, e, r) }}"));
        }
        self.line(format!("mstore({inv:#x}, invp) }}"));
        let inv_at = |i: usize| format!("mload({:#x})", inv + 32 * i);

        // c = (x^n - 1)/n ; L_row = ω^row · c / (x - ω^row)
        let n_inv = hex_fr(&Fr::from(n).invert().unwrap());
        let c = self.mul(&xn_minus_1, &n_inv);
        self.store("lagrange_c", c);
        let cm = self.m("lagrange_c");
        let inst = self.mul(&self.mul(&self.m("inst_num"), &inv_at(m - 1)), &cm);
        self.store("inst_eval", inst);
        let l0 = self.mul(&cm, &inv_at(0));
        self.store("l_0", l0);
        let last_idx = rows.iter().position(|&r0| r0 == -(b + 1)).unwrap();
        let w_last = hex_fr(&omega_pow(self.omega, self.omega_inv, -(b + 1)));
        let l_last = self.mul(&self.mul(&cm, &inv_at(last_idx)), &w_last);
        self.store("l_last", l_last);
        // Σ_i ω^-i / (x - ω^-i), one statement a term: a single nested
        // expression keeps two pending operands a term on solc's stack and
        // runs out of its 16 slots at 8 blinding rows.
        for i in 1..=b {
            let idx = rows.iter().position(|&r0| r0 == -i).unwrap();
            let wi = hex_fr(&omega_pow(self.omega, self.omega_inv, -i));
            let term = self.mul(&inv_at(idx), &wi);
            let sum = if i == 1 {
                term
            } else {
                self.add(&self.m("l_blind"), &term)
            };
            self.store("l_blind", sum);
        }
        self.store("l_blind", self.mul(&self.m("l_blind"), &cm));
        let active = self.sub("1", &self.add(&self.m("l_last"), &self.m("l_blind")));
        self.store("active", active);
        self.store("x_inv", inv_at(rows.len() + 1));
        self.store("zdiff0_inv", inv_at(rows.len() + 2));
        self.store("xn_minus_1_inv", inv_at(rows.len()));

        self.phase_end(3);
        // ---- 4. Constraint expressions folded with y, divided by x^n - 1.
        let y = self.m("y");
        self.line("{ let acc := 0");
        let mut exprs: Vec<String> = Vec::new();
        for gate in cs.gates() {
            for poly in gate.polynomials() {
                exprs.push(self.expr(poly)?);
            }
        }
        let (beta, gamma, theta) = (self.m("beta"), self.m("gamma"), self.m("theta"));
        let (l_0, l_last, active) = (self.m("l_0"), self.m("l_last"), self.m("active"));
        let chi = cs.degree() - 2;
        let cols = cs.permutation().get_columns();
        let np = self.lay.perm_z.len();
        let pe = self.lay.perm_evals;
        let z_at = |i: usize, which: usize| pe + 32 * (3 * i + which); // 0: x, 1: ωx, 2: last
        if np > 0 {
            exprs.push(self.mul(&l_0, &self.sub("1", &self.cd(z_at(0, 0)))));
            let zl = self.cd(z_at(np - 1, 0));
            exprs.push(self.mul(&l_last, &self.sub(&self.mul(&zl, &zl), &zl)));
            for i in 1..np {
                exprs.push(self.mul(
                    &l_0,
                    &self.sub(&self.cd(z_at(i, 0)), &self.cd(z_at(i - 1, 2))),
                ));
            }
            for (i, chunk) in cols.chunks(chi).enumerate() {
                let mut left = self.cd(z_at(i, 1));
                let mut right = self.cd(z_at(i, 0));
                for (t, col) in chunk.iter().enumerate() {
                    let j = i * chi + t;
                    let ev = self.column_eval(col);
                    let sigma = self.cd(self.lay.sigma_evals + 32 * j);
                    let lf = self.add(&self.add(&ev, &self.mul(&beta, &sigma)), &gamma);
                    left = self.mul(&left, &lf);
                    let delta_j = hex_fr(&Fr::DELTA.pow_vartime([j as u64]));
                    let rt = self.add(
                        &self.add(&ev, &self.mul(&self.mul(&beta, &x), &delta_j)),
                        &gamma,
                    );
                    right = self.mul(&right, &rt);
                    // Long chunks nest too deep for solc's stack: keep
                    // the running products in memory.
                    if chunk.len() > 2 {
                        self.store(&format!("perm_left_{i}"), left);
                        self.store(&format!("perm_right_{i}"), right);
                        left = self.m(&format!("perm_left_{i}"));
                        right = self.m(&format!("perm_right_{i}"));
                    }
                }
                exprs.push(self.mul(&self.sub(&left, &right), &active));
            }
        }
        for (l, lookup) in cs.lookups().iter().enumerate() {
            let base = self.lay.lookup_evals + 32 * 5 * l;
            let (z, z_next, a_p, a_p_prev, s_p) = (
                self.cd(base),
                self.cd(base + 32),
                self.cd(base + 64),
                self.cd(base + 96),
                self.cd(base + 128),
            );
            let mut a = String::from("0");
            for e in lookup.input_expressions() {
                let ev = self.expr(e)?;
                a = if a == "0" {
                    ev
                } else {
                    self.add(&self.mul(&a, &theta), &ev)
                };
            }
            let mut s = String::from("0");
            for e in lookup.table_expressions() {
                let ev = self.expr(e)?;
                s = if s == "0" {
                    ev
                } else {
                    self.add(&self.mul(&s, &theta), &ev)
                };
            }
            self.store(&format!("lookup_a_{l}"), a);
            self.store(&format!("lookup_s_{l}"), s);
            let (am, sm) = (
                self.m(&format!("lookup_a_{l}")),
                self.m(&format!("lookup_s_{l}")),
            );
            exprs.push(self.mul(&l_0, &self.sub("1", &z)));
            exprs.push(self.mul(&l_last, &self.sub(&self.mul(&z, &z), &z)));
            let lhs = self.mul(
                &self.mul(&z_next, &self.add(&a_p, &beta)),
                &self.add(&s_p, &gamma),
            );
            let rhs = self.mul(&self.mul(&z, &self.add(&am, &beta)), &self.add(&sm, &gamma));
            exprs.push(self.mul(&active, &self.sub(&lhs, &rhs)));
            exprs.push(self.mul(&l_0, &self.sub(&a_p, &s_p)));
            exprs.push(self.mul(
                &self.mul(&active, &self.sub(&a_p, &s_p)),
                &self.sub(&a_p, &a_p_prev),
            ));
        }
        for e in exprs {
            self.line(format!("acc := addmod(mulmod(acc, {y}, {r}), {e}, {r})"));
        }
        let h_eval = self.mul("acc", &self.m("xn_minus_1_inv"));
        self.store("h_eval", h_eval);
        self.line("}");

        self.phase_end(4);
        // ---- 5. SHPLONK: per-set scalars, then one MSM and one pairing.
        let (sy, v) = (self.m("shplonk_y"), self.m("v"));
        let mut terms: Vec<(String, String)> = Vec::new(); // (point loader, scalar)
        self.store("r_outer", "0".into());
        self.store("v_pow", "1".into());
        for (i, (rots, coms)) in sets.iter().enumerate() {
            // Set coefficient: v^i · zdiff_i / zdiff_0.
            let coef = if i == 0 {
                self.m("v_pow")
            } else {
                self.mul(
                    &self.m("v_pow"),
                    &self.mul(&self.m(&format!("zdiff_{i}")), &self.m("zdiff0_inv")),
                )
            };
            self.store(&format!("coef_{i}"), coef);
            // Lagrange basis over the set's points, evaluated at u.
            if rots.len() > 1 {
                for (ai, &a) in rots.iter().enumerate() {
                    let mut cst = Fr::ONE;
                    let wa = omega_pow(self.omega, self.omega_inv, a as i64);
                    for &bb in rots.iter().filter(|&&bb| bb != a) {
                        cst *= wa - omega_pow(self.omega, self.omega_inv, bb as i64);
                    }
                    let cst = cst.invert().unwrap();
                    let slot = format!("basis_{i}_{ai}");
                    let mut val = hex_fr(&cst);
                    for (n, &bb) in rots.iter().filter(|&&bb| bb != a).enumerate() {
                        val = self.mul(
                            &val,
                            &self.mul(&self.m(&format!("u_minus_{bb}")), &self.m("x_inv")),
                        );
                        val = self.flushed(n, &slot, val);
                    }
                    self.store(&slot, val);
                }
            }
            let mut r_inner = String::from("0");
            self.store("y_pow", "1".into());
            for (j, (com, evals)) in coms.iter().enumerate() {
                let ri = if rots.len() == 1 {
                    self.eval(evals[0])
                } else {
                    let slot = format!("ri_{i}");
                    let mut acc = String::from("0");
                    for (ai, e) in evals.iter().enumerate() {
                        let term = self.mul(&self.eval(*e), &self.m(&format!("basis_{i}_{ai}")));
                        acc = if acc == "0" {
                            term
                        } else {
                            self.add(&acc, &term)
                        };
                        acc = self.flushed(ai, &slot, acc);
                    }
                    acc
                };
                let yp = self.m("y_pow");
                let term = self.mul(&yp, &ri);
                r_inner = if r_inner == "0" {
                    term
                } else {
                    self.add(&r_inner, &term)
                };
                // Commitment scalar: coef_i · y'^j.
                let slot = format!("s_{i}_{j}");
                let sc = self.mul(&self.m(&format!("coef_{i}")), &yp);
                self.store(&slot, sc);
                let scm = self.m(&slot);
                match com {
                    Com::H => {
                        // H_msm = Σ_k xn^k H_k.
                        self.store("xn_pow", "1".into());
                        for kk in 0..self.lay.h.len() {
                            let s_k = self.mul(&scm, &self.m("xn_pow"));
                            self.store(&format!("s_h_{kk}"), s_k);
                            terms.push((self.point_loader(*com, kk), self.m(&format!("s_h_{kk}"))));
                            let nx = self.mul(&self.m("xn_pow"), &self.m("xn"));
                            self.store("xn_pow", nx);
                        }
                    }
                    _ => terms.push((self.point_loader(*com, 0), scm)),
                }
                // Keep r_inner short: flush to memory after each commitment
                // (before y_pow moves on, since the expression reads it).
                self.store(&format!("rin_{i}"), r_inner.clone());
                r_inner = self.m(&format!("rin_{i}"));
                if j + 1 < coms.len() {
                    let ny = self.mul(&yp, &sy);
                    self.store("y_pow", ny);
                }
            }
            let ro = self.add(
                &self.m("r_outer"),
                &self.mul(&self.m(&format!("coef_{i}")), &r_inner),
            );
            self.store("r_outer", ro);
            let nv = self.mul(&self.m("v_pow"), &v);
            self.store("v_pow", nv);
        }
        let g1 = params.get_g()[0];
        let neg = |s: String| format!("sub({r}, {s})");
        terms.push((self.const_point(&g1), neg(self.m("r_outer"))));
        terms.push((
            format!("calldatacopy({TERM:#x}, add(p, {w:#x}), 0x40)"),
            neg(self.m("z0")),
        ));
        terms.push((
            format!("calldatacopy({TERM:#x}, add(p, {w_prime:#x}), 0x40)"),
            self.m("u"),
        ));

        self.phase_end(5);
        if public.accumulator {
            // The accumulator (lhs, rhs) is folded in with a challenge ρ
            // drawn after every public input and proof byte:
            //   e(ρ·R + lhs, [1]₂) = e(ρ·W' + rhs, [s]₂).
            // Scaling the MSM's scalars by ρ is free, so this costs one
            // ecMul (ρ·W') and two ecAdds.
            self.line(format!(
                "calldatacopy({TERM:#x}, add(p, {w_prime:#x}), 0x40)"
            ));
            self.line(format!("mstore({SCALAR:#x}, {})", self.m("transcript_h")));
            self.store("rho", format!("mod(keccak256({TERM:#x}, 0x60), {r})"));
        }
        let rho = public.accumulator.then(|| self.m("rho"));
        // One gas check for the whole MSM (an ecMul and an ecAdd a term,
        // with room for the loads): a call per precompile costs ~40 gas each.
        let ec_muls = terms.len() - usize::from(rho.is_none());
        self.line(format!("needGas({})", 6500 * ec_muls));
        // A precompile fails only on a malformed point: stop right there.
        for (i, (load, scalar)) in terms.iter().enumerate() {
            self.line(load.clone());
            if i == 0 && rho.is_none() {
                // The first term's scalar is coef_0 · y'^0 (· xn^0) = 1: the
                // point itself, no ecMul. The ecAdd with the next term
                // checks that it is on the curve.
                self.line(format!(
                    "mstore({ACC:#x}, mload({TERM:#x})) mstore({:#x}, mload({:#x}))",
                    ACC + 0x20,
                    TERM + 0x20
                ));
                continue;
            }
            let scalar = match &rho {
                Some(rho) => self.mul(scalar, rho),
                None => scalar.clone(),
            };
            self.line(format!("mstore({SCALAR:#x}, {scalar})"));
            if i == 0 {
                self.line(format!(
                    "if iszero(staticcall(6000, 7, {TERM:#x}, 0x60, {ACC:#x}, 0x40)) {{ fail() }}"
                ));
            } else {
                self.line(format!(
                    "if iszero(staticcall(6000, 7, {TERM:#x}, 0x60, {TERM:#x}, 0x40)) {{ fail() }}"
                ));
                self.line(format!(
                    "if iszero(staticcall(150, 6, {ACC:#x}, 0x80, {ACC:#x}, 0x40)) {{ fail() }}"
                ));
            }
        }
        self.phase_end(6);
        if std::env::var_os("ZKML_EVM_DEBUG_DUMP").is_some() {
            // Debugging aid: return every named slot (and the MSM result)
            // instead of the verdict; see `slot_map`.
            let end = self.mem.borrow().next;
            self.line(format!("return(0x80, {:#x})", end - 0x80));
            let mut names: Vec<(usize, String)> = self
                .mem
                .borrow()
                .names
                .iter()
                .map(|(k, v)| (*v, k.clone()))
                .collect();
            names.sort();
            for (o, n) in names {
                eprintln!("slot {o:#x} {n}");
            }
        }
        // e(W', [s]2) · e(R, -[1]2) == 1
        let s_g2 = params.s_g2();
        let neg_g2 = -params.g2();
        let pm = self.mem.borrow_mut().array(12);
        self.line(format!("calldatacopy({pm:#x}, add(p, {w_prime:#x}), 0x40)"));
        let g2_words = |pt: &G2Affine| -> Vec<String> {
            let c = pt.coordinates().unwrap();
            vec![
                hex_fq(&c.x().c1),
                hex_fq(&c.x().c0),
                hex_fq(&c.y().c1),
                hex_fq(&c.y().c0),
            ]
        };
        for (i, wd) in g2_words(&s_g2).iter().enumerate() {
            self.line(format!("mstore({:#x}, {wd})", pm + 0x40 + 32 * i));
        }
        if let Some(rho) = &rho {
            // ACC holds ρ·R: add lhs; the first pairing point is ρ·W' + rhs.
            self.acc_point(0, TERM);
            self.line(format!(
                "if iszero(staticcall(150, 6, {ACC:#x}, 0x80, {:#x}, 0x40)) {{ fail() }}",
                pm + 0xc0
            ));
            self.line(format!(
                "calldatacopy({TERM:#x}, add(p, {w_prime:#x}), 0x40) mstore({SCALAR:#x}, {rho})"
            ));
            self.line(format!("needGas(6500) if iszero(staticcall(6000, 7, {TERM:#x}, 0x60, {TERM:#x}, 0x40)) {{ fail() }}"));
            self.acc_point(1, ACC);
            self.line(format!(
                "if iszero(staticcall(150, 6, {ACC:#x}, 0x80, {pm:#x}, 0x40)) {{ fail() }}"
            ));
        } else {
            self.line(format!(
                "mstore({:#x}, mload({ACC:#x})) mstore({:#x}, mload({:#x}))",
                pm + 0xc0,
                pm + 0xe0,
                ACC + 0x20
            ));
        }
        for (i, wd) in g2_words(&neg_g2).iter().enumerate() {
            self.line(format!("mstore({:#x}, {wd})", pm + 0x100 + 32 * i));
        }
        self.line(format!("needGas(114000) if iszero(staticcall(113000, 8, {pm:#x}, 0x180, {pm:#x}, 0x20)) {{ fail() }}"));
        self.line(format!("let ok := mload({pm:#x})"));
        self.line("mstore(0, ok) return(0, 0x20)");
        let scratch_at = format!("{:#x}", self.mem.borrow().next);
        let patched = self.out.borrow().replace(SCRATCH, &scratch_at);
        *self.out.borrow_mut() = patched;
        Ok(())
    }

    /// Put accumulator point `which` (0: lhs, 1: rhs) at `at`, from its
    /// limbs (range-checked in section 1, so the shifts cannot overflow).
    fn acc_point(&self, which: usize, at: usize) {
        for (c, dst) in [(0, at), (1, at + 0x20)] {
            let limb =
                |j: usize| format!("calldataload(add(pi, {:#x}))", 32 * (6 * which + 3 * c + j));
            self.line(format!(
                "mstore({dst:#x}, or(or({}, shl({LIMB_BITS}, {})), shl({}, {})))",
                limb(0),
                limb(1),
                2 * LIMB_BITS,
                limb(2)
            ));
        }
    }

    fn const_point(&self, pt: &G1Affine) -> String {
        let c = pt.coordinates().unwrap();
        format!(
            "mstore({TERM:#x}, {}) mstore({:#x}, {})",
            hex_fq(c.x()),
            TERM + 0x20,
            hex_fq(c.y())
        )
    }

    /// Yul that puts a commitment's point at TERM.
    fn point_loader(&self, com: Com, h_index: usize) -> String {
        let from_proof = |off: usize| format!("calldatacopy({TERM:#x}, add(p, {off:#x}), 0x40)");
        match com {
            Com::Advice(c) => from_proof(self.lay.advice[c]),
            Com::PermZ(i) => from_proof(self.lay.perm_z[i]),
            Com::LookupA(l) => from_proof(self.lay.lookup_a[l]),
            Com::LookupS(l) => from_proof(self.lay.lookup_s[l]),
            Com::LookupZ(l) => from_proof(self.lay.lookup_z[l]),
            Com::Random => from_proof(self.lay.random),
            Com::H => from_proof(self.lay.h[h_index]),
            Com::Fixed(c) => self.const_point(&self.vk.fixed_commitments()[c]),
            Com::Sigma(j) => self.const_point(&self.vk.permutation().commitments()[j]),
        }
    }

    /// The query list of halo2's verifier, grouped into SHPLONK rotation
    /// sets exactly as `construct_intermediate_sets` does: commitments in
    /// order of first appearance, sets in order of first appearance.
    fn rotation_sets(&self) -> Vec<RotationSet> {
        let cs = self.vk.cs();
        let lay = &self.lay;
        let b = cs.blinding_factors() as i32;
        let mut queries: Vec<(Com, i32, Eval)> = Vec::new();
        for (q, (col, rot)) in cs.advice_queries().iter().enumerate() {
            queries.push((
                Com::Advice(col.index()),
                rot.0,
                Eval::Proof(lay.advice_evals + 32 * q),
            ));
        }
        let np = lay.perm_z.len();
        for i in 0..np {
            queries.push((Com::PermZ(i), 0, Eval::Proof(lay.perm_evals + 32 * 3 * i)));
            queries.push((
                Com::PermZ(i),
                1,
                Eval::Proof(lay.perm_evals + 32 * (3 * i + 1)),
            ));
        }
        for i in (0..np.saturating_sub(1)).rev() {
            queries.push((
                Com::PermZ(i),
                -(b + 1),
                Eval::Proof(lay.perm_evals + 32 * (3 * i + 2)),
            ));
        }
        for l in 0..cs.lookups().len() {
            let base = lay.lookup_evals + 32 * 5 * l;
            queries.push((Com::LookupZ(l), 0, Eval::Proof(base)));
            queries.push((Com::LookupA(l), 0, Eval::Proof(base + 64)));
            queries.push((Com::LookupS(l), 0, Eval::Proof(base + 128)));
            queries.push((Com::LookupA(l), -1, Eval::Proof(base + 96)));
            queries.push((Com::LookupZ(l), 1, Eval::Proof(base + 32)));
        }
        for (q, (col, rot)) in cs.fixed_queries().iter().enumerate() {
            queries.push((
                Com::Fixed(col.index()),
                rot.0,
                Eval::Proof(lay.fixed_evals + 32 * q),
            ));
        }
        for j in 0..cs.permutation().get_columns().len() {
            queries.push((Com::Sigma(j), 0, Eval::Proof(lay.sigma_evals + 32 * j)));
        }
        let h_slot = self.slot("h_eval");
        queries.push((Com::H, 0, Eval::Mem(h_slot)));
        queries.push((Com::Random, 0, Eval::Proof(lay.random_eval)));

        // commitment -> its points, in order of first appearance
        let mut per_com: Vec<(Com, Vec<i32>)> = Vec::new();
        for (c, rot, _) in &queries {
            match per_com.iter_mut().find(|(cc, _)| cc == c) {
                Some((_, rots)) => {
                    if !rots.contains(rot) {
                        rots.push(*rot)
                    }
                }
                None => per_com.push((*c, vec![*rot])),
            }
        }
        let same_set = |a: &[i32], b: &[i32]| a.len() == b.len() && a.iter().all(|x| b.contains(x));
        let mut sets: Vec<RotationSet> = Vec::new();
        for (c, rots) in per_com {
            let idx = match sets.iter().position(|(s, _)| same_set(s, &rots)) {
                Some(i) => i,
                None => {
                    sets.push((rots.clone(), Vec::new()));
                    sets.len() - 1
                }
            };
            let set_rots = sets[idx].0.clone();
            let evals = set_rots
                .iter()
                .map(|r0| {
                    queries
                        .iter()
                        .find(|(cc, rr, _)| *cc == c && rr == r0)
                        .map(|(_, _, e)| *e)
                        .unwrap()
                })
                .collect();
            sets[idx].1.push((c, evals));
        }
        sets
    }
}

/// Render a human-readable summary of the rotation sets (for debugging).
pub fn describe(vk: &VerifyingKey<G1Affine>) -> String {
    let g = Gen {
        vk,
        omega: Fr::ONE,
        omega_inv: Fr::ONE,
        r: String::new(),
        lay: layout(vk),
        mem: std::cell::RefCell::new(Mem {
            next: MEM_BASE,
            names: HashMap::new(),
        }),
        out: std::cell::RefCell::new(String::new()),
    };
    let mut s = String::new();
    for (rots, coms) in g.rotation_sets() {
        let _ = writeln!(
            s,
            "{rots:?}: {:?}",
            coms.iter().map(|(c, _)| *c).collect::<Vec<_>>()
        );
    }
    s
}
