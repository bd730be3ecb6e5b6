//! The KZG accumulator an aggregated proof carries in its public inputs: two
//! G1 points (lhs, rhs) with e(lhs, [1]₂) = e(rhs, [s]₂) exactly when every
//! folded inner proof verifies. Each coordinate is 3 limbs of 88 bits, low
//! limb first (snark-verifier-sdk's `LimbsEncoding<3, 88>`).

use halo2_proofs::halo2curves::bn256::{Bn256, Fq, Fr, G1Affine, G2Prepared};
use halo2_proofs::halo2curves::ff::PrimeField;
use halo2_proofs::halo2curves::group::Group;
use halo2_proofs::halo2curves::pairing::{MillerLoopResult, MultiMillerLoop};
use halo2_proofs::halo2curves::{Coordinates, CurveAffine};
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

/// The accumulator's two points, if the limbs encode points on the curve
/// other than the identity. (halo2curves reads (0, 0) as the identity, and
/// e(0, ·) = 1 would make the pairing check of an all-zero accumulator
/// vacuous; the EVM verifier refuses it too.)
pub fn decode(limbs: &[Fr]) -> Option<(G1Affine, G1Affine)> {
    if limbs.len() != ACCUMULATOR_LIMBS {
        return None;
    }
    let c: Vec<Fq> = limbs
        .chunks(LIMBS_PER_COORDINATE)
        .map(coordinate)
        .collect::<Option<_>>()?;
    let point = |x: Fq, y: Fq| -> Option<G1Affine> {
        let identity = x == Fq::zero() && y == Fq::zero();
        if identity {
            None
        } else {
            Option::from(G1Affine::from_xy(x, y))
        }
    };
    Some((point(c[0], c[1])?, point(c[2], c[3])?))
}

/// A point's coordinates as the aggregation circuit loads them: x's limbs,
/// then y's, low limb first. (What a tree node exposes for the cut at its
/// edge, see [`super::Edge`].)
/// `None` for the identity, which has no coordinates.
pub fn point_limbs(p: &G1Affine) -> Option<Vec<Fr>> {
    let c: Coordinates<G1Affine> = Option::from(p.coordinates())?;
    let limbs = [*c.x(), *c.y()]
        .iter()
        .flat_map(|v| {
            let big = BigUint::from_bytes_le(v.to_repr().as_ref());
            (0..LIMBS_PER_COORDINATE).map(move |i| {
                let limb: BigUint =
                    (&big >> (i * LIMB_BITS)) & ((BigUint::from(1u8) << LIMB_BITS) - 1u8);
                let mut le = limb.to_bytes_le();
                le.resize(32, 0);
                Fr::from_repr(le.try_into().expect("32 bytes")).expect("88 bits are below r")
            })
        })
        .collect();
    Some(limbs)
}

/// e(lhs, [1]₂) · e(rhs, -[s]₂) == 1 for the SRS `params`.
pub fn accumulator_holds(params: &ParamsKZG<Bn256>, limbs: &[Fr]) -> bool {
    let Some((lhs, rhs)) = decode(limbs) else {
        return false;
    };
    let g2 = G2Prepared::from(params.g2());
    let minus_s_g2 = G2Prepared::from(-params.s_g2());
    bool::from(
        Bn256::multi_miller_loop(&[(&lhs, &g2), (&rhs, &minus_s_g2)])
            .final_exponentiation()
            .is_identity(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::halo2curves::ff::Field;
    use halo2_proofs::poly::commitment::ParamsProver;

    #[test]
    fn accumulator_pairing_holds_only_for_matching_points() {
        let params = crate::proof::srs::setup_from_secret(4, Fr::from(1234u64));
        // e([s]G, [1]₂) = e(G, [s]₂): a valid accumulator is (g[1], g[0]).
        let (g0, g1) = (params.get_g()[0], params.get_g()[1]);
        let mut limbs = point_limbs(&g1).unwrap();
        limbs.extend(point_limbs(&g0).unwrap());
        assert_eq!(decode(&limbs), Some((g1, g0)));
        assert!(accumulator_holds(&params, &limbs));

        // Swapped points, a changed limb, a limb wider than 88 bits, a
        // short encoding: all refused, none panics.
        let mut swapped = point_limbs(&g0).unwrap();
        swapped.extend(point_limbs(&g1).unwrap());
        assert!(!accumulator_holds(&params, &swapped));
        let mut changed = limbs.clone();
        changed[4] += Fr::ONE;
        assert!(!accumulator_holds(&params, &changed));
        let mut wide = limbs.clone();
        wide[1] += Fr::from(2u64).pow([LIMB_BITS as u64]);
        assert!(decode(&wide).is_none());
        assert!(!accumulator_holds(&params, &limbs[..11]));
    }

    #[test]
    fn identity_accumulator_is_refused() {
        // (0, 0) for both points would pass the pairing: e(0, ·) = 1.
        let params = crate::proof::srs::setup_from_secret(4, Fr::from(1234u64));
        let zero = vec![Fr::ZERO; ACCUMULATOR_LIMBS];
        assert!(decode(&zero).is_none());
        assert!(!accumulator_holds(&params, &zero));
        // One identity point is refused as well, the other being valid.
        let g0 = params.get_g()[0];
        let mut half = point_limbs(&g0).unwrap();
        half.extend(vec![Fr::ZERO; ACCUMULATOR_LIMBS / 2]);
        assert!(decode(&half).is_none());
    }
}
