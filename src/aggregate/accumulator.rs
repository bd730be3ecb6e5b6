//! The KZG accumulator an aggregated proof carries in its public inputs: two
//! G1 points (lhs, rhs) with e(lhs, [1]₂) = e(rhs, [s]₂) exactly when every
//! folded inner proof verifies. Each coordinate is 3 limbs of 88 bits, low
//! limb first (snark-verifier-sdk's `LimbsEncoding<3, 88>`).

use halo2_proofs::halo2curves::bn256::{Bn256, Fq, Fr, G1Affine, G2Prepared};
use halo2_proofs::halo2curves::ff::PrimeField;
use halo2_proofs::halo2curves::pairing::{MillerLoopResult, MultiMillerLoop};
use halo2_proofs::halo2curves::CurveAffine;
use halo2_proofs::halo2curves::group::Group;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use num_bigint::BigUint;

pub const LIMB_BITS: usize = snark_verifier_sdk::BITS;
pub const LIMBS_PER_COORDINATE: usize = snark_verifier_sdk::LIMBS;
/// lhs.x, lhs.y, rhs.x, rhs.y.
pub const ACCUMULATOR_LIMBS: usize = 4 * LIMBS_PER_COORDINATE;

/// A base-field element from its limbs; None when a limb is too wide or the
/// value is not below the modulus.
fn coordinate(limbs: &[Fr]) -> Option<Fq> {
    let mut value = BigUint::default();
    for (i, limb) in limbs.iter().enumerate() {
        let l = BigUint::from_bytes_le(limb.to_repr().as_ref());
        if l.bits() > LIMB_BITS as u64 {
            return None;
        }
        value += l << (i * LIMB_BITS);
    }
    let mut le = value.to_bytes_le();
    if le.len() > 32 {
        return None;
    }
    le.resize(32, 0);
    Option::from(Fq::from_repr(le.try_into().ok()?))
}

/// The accumulator's two points, if the limbs encode points on the curve.
pub fn decode(limbs: &[Fr]) -> Option<(G1Affine, G1Affine)> {
    if limbs.len() != ACCUMULATOR_LIMBS {
        return None;
    }
    let c: Vec<Fq> = limbs.chunks(LIMBS_PER_COORDINATE).map(coordinate).collect::<Option<_>>()?;
    let lhs = Option::from(G1Affine::from_xy(c[0], c[1]))?;
    let rhs = Option::from(G1Affine::from_xy(c[2], c[3]))?;
    Some((lhs, rhs))
}

/// e(lhs, [1]₂) · e(rhs, -[s]₂) == 1 for the SRS `params`.
pub fn accumulator_holds(params: &ParamsKZG<Bn256>, limbs: &[Fr]) -> bool {
    let Some((lhs, rhs)) = decode(limbs) else { return false };
    let g2 = G2Prepared::from(params.g2());
    let minus_s_g2 = G2Prepared::from(-params.s_g2());
    bool::from(Bn256::multi_miller_loop(&[(&lhs, &g2), (&rhs, &minus_s_g2)]).final_exponentiation().is_identity())
}
