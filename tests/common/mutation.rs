//! Proof and public-input mutations, and the harness that throws them at a
//! deployed verifier and at its native twin: every mutant must be rejected,
//! on the EVM without running out of gas and for no more than an honest
//! verification costs plus a margin; natively with `false`, never a panic.

use alloy_primitives::U256;
use halo2_proofs::halo2curves::bn256::Fr;
use rand::{Rng, SeedableRng};
use std::panic::{catch_unwind, AssertUnwindSafe};
use zkml_evm::evm::exec::{Evm, DEFAULT_GAS_LIMIT};
use zkml_evm::evm::verifier::{encode_call, verdict, VerifierArtifact};
use zkml_evm::proof::transcript::fr_from_be;

/// BN254 scalar field modulus r and base field modulus q, big-endian.
const R: &str = "30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
const Q: &str = "30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    FlipProofBit,
    FlipInputBit,
    Truncate,
    Extend,
    SwapPoints,
    ScalarAboveModulus,
    CoordinateAboveModulus,
    RandomPoint,
    IdentityPoint,
    InputAboveModulus,
    InputZero,
    DropInput,
    ExtraInput,
    GarbageCalldata,
}

pub const KINDS: [Kind; 14] = [
    Kind::FlipProofBit,
    Kind::FlipInputBit,
    Kind::Truncate,
    Kind::Extend,
    Kind::SwapPoints,
    Kind::ScalarAboveModulus,
    Kind::CoordinateAboveModulus,
    Kind::RandomPoint,
    Kind::IdentityPoint,
    Kind::InputAboveModulus,
    Kind::InputZero,
    Kind::DropInput,
    Kind::ExtraInput,
    Kind::GarbageCalldata,
];

struct Mutant {
    proof: Vec<u8>,
    inputs: Vec<U256>,
    raw_calldata: Option<Vec<u8>>,
}

fn modulus(hex_str: &str) -> U256 {
    U256::from_str_radix(hex_str, 16).unwrap()
}

fn mutate(
    kind: Kind,
    proof: &[u8],
    inputs: &[U256],
    points_end: usize,
    rng: &mut impl Rng,
) -> Mutant {
    let mut p = proof.to_vec();
    let mut inp = inputs.to_vec();
    let mut raw = None;
    let npoints = points_end / 64;
    match kind {
        Kind::FlipProofBit => {
            let i = rng.gen_range(0..p.len());
            p[i] ^= 1 << rng.gen_range(0..8);
        }
        Kind::FlipInputBit => {
            let i = rng.gen_range(0..inp.len());
            inp[i] ^= U256::from(1u64) << rng.gen_range(0..256usize);
        }
        Kind::Truncate => p.truncate(rng.gen_range(0..p.len())),
        Kind::Extend => {
            let n = rng.gen_range(1..96);
            p.extend((0..n).map(|_| rng.gen::<u8>()));
        }
        Kind::SwapPoints => {
            let (a, b) = (rng.gen_range(0..npoints), rng.gen_range(0..npoints));
            let b = if a == b { (b + 1) % npoints } else { b };
            for k in 0..64 {
                p.swap(64 * a + k, 64 * b + k);
            }
        }
        Kind::ScalarAboveModulus => {
            let nscalars = (p.len() - 128 - points_end) / 32;
            let i = points_end + 32 * rng.gen_range(0..nscalars);
            let v = modulus(R) + U256::from(rng.gen_range(0u64..1000));
            p[i..i + 32].copy_from_slice(&v.to_be_bytes::<32>());
        }
        Kind::CoordinateAboveModulus => {
            let i = 32 * rng.gen_range(0..2 * npoints);
            let v = modulus(Q) + U256::from(rng.gen_range(0u64..1000));
            p[i..i + 32].copy_from_slice(&v.to_be_bytes::<32>());
        }
        Kind::RandomPoint => {
            let i = 64 * rng.gen_range(0..npoints);
            for b in &mut p[i..i + 64] {
                *b = rng.gen();
            }
            p[i] &= 0x2f; // mostly below q, so the on-curve check is what fails
            p[i + 32] &= 0x2f;
        }
        Kind::IdentityPoint => {
            let i = 64 * rng.gen_range(0..npoints);
            p[i..i + 64].fill(0);
        }
        Kind::InputAboveModulus => {
            let i = rng.gen_range(0..inp.len());
            inp[i] += modulus(R);
        }
        Kind::InputZero => {
            let i = rng.gen_range(0..inp.len());
            inp[i] = U256::ZERO;
        }
        Kind::DropInput => {
            inp.remove(rng.gen_range(0..inp.len()));
        }
        Kind::ExtraInput => inp.push(U256::from(rng.gen_range(1u64..1000))),
        Kind::GarbageCalldata => {
            let mut c = encode_call(&p, &inp);
            let i = rng.gen_range(4..68.min(c.len()));
            c[i] ^= 0x80; // corrupt an ABI offset or length word
            raw = Some(c);
        }
    }
    Mutant {
        proof: p,
        inputs: inp,
        raw_calldata: raw,
    }
}

/// Cases per run: `ZKML_FUZZ_CASES`, else `default`.
pub fn fuzz_cases(default: usize) -> usize {
    std::env::var("ZKML_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What a fuzz run saw.
pub struct FuzzReport {
    pub mutants: usize,
    pub kinds: usize,
    pub honest_gas: u64,
    pub max_rejection_gas: u64,
}

/// Run `cases` mutants of (`proof_bytes`, `instance`) against the deployed
/// `artifact` and against `native` (given field elements of the right count).
pub fn fuzz_verifier(
    artifact: &VerifierArtifact,
    proof_bytes: &[u8],
    instance: &[Fr],
    points_end: usize,
    cases: usize,
    native: &dyn Fn(&[u8], &[Fr]) -> bool,
) -> FuzzReport {
    let inputs: Vec<U256> = instance
        .iter()
        .map(|f| U256::from_be_bytes(zkml_evm::proof::transcript::be_bytes(f)))
        .collect();
    let proof_bytes = proof_bytes.to_vec();
    let mut evm = Evm::new();
    let dep = evm.deploy(&artifact.creation_code().unwrap()).unwrap();
    let honest = verdict(
        &evm.call(
            dep.address,
            &encode_call(&proof_bytes, &inputs),
            DEFAULT_GAS_LIMIT,
        ),
        0,
        0,
    );
    assert!(honest.accepted);

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0x5eed);
    let mut counts = std::collections::HashMap::<Kind, usize>::new();
    let mut max_gas = 0u64;
    for case in 0..cases {
        let kind = KINDS[case % KINDS.len()];
        let m = mutate(kind, &proof_bytes, &inputs, points_end, &mut rng);
        if m.raw_calldata.is_none() && m.proof == proof_bytes && m.inputs == inputs {
            continue; // a no-op mutation (e.g. swapping equal points)
        }
        *counts.entry(kind).or_default() += 1;

        let calldata = m
            .raw_calldata
            .clone()
            .unwrap_or_else(|| encode_call(&m.proof, &m.inputs));
        let out = evm.call(dep.address, &calldata, DEFAULT_GAS_LIMIT);
        let v = verdict(&out, 0, 0);
        assert!(!v.accepted, "case {case} ({kind:?}) accepted on EVM");
        assert!(
            !out.halt_reason
                .as_deref()
                .unwrap_or("")
                .starts_with("OutOfGas"),
            "case {case} ({kind:?}) ran out of gas"
        );
        assert!(
            out.gas_used <= honest.gas_used + 20_000,
            "case {case} ({kind:?}) cost {} gas",
            out.gas_used
        );
        max_gas = max_gas.max(out.gas_used);

        if m.raw_calldata.is_none() {
            // The native verifier sees field elements: inputs that are not
            // canonical are refused while parsing, as `verify` does.
            let native_inputs: Option<Vec<_>> = m
                .inputs
                .iter()
                .map(|u| fr_from_be(&u.to_be_bytes::<32>()).ok())
                .collect();
            let accepted = catch_unwind(AssertUnwindSafe(|| match &native_inputs {
                Some(inst) if inst.len() == instance.len() => native(&m.proof, inst),
                _ => false,
            }));
            match accepted {
                Ok(a) => assert!(!a, "case {case} ({kind:?}) accepted natively"),
                Err(_) => panic!("case {case} ({kind:?}) panicked in the native verifier"),
            }
        }
    }
    let total: usize = counts.values().sum();
    eprintln!(
        "fuzz: {total} mutants over {} kinds: 0 accepted, 0 out of gas; honest verify {} gas, costliest rejection {max_gas} gas",
        counts.len(),
        honest.gas_used
    );
    assert!(counts.len() == KINDS.len() || cases < KINDS.len());
    FuzzReport {
        mutants: total,
        kinds: counts.len(),
        honest_gas: honest.gas_used,
        max_rejection_gas: max_gas,
    }
}
