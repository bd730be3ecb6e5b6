//! KZG structured reference strings: a cached development SRS, or a
//! ceremony file in halo2's format, downsized to the circuit's k.

use anyhow::{bail, Context, Result};
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine, G2Affine, G1};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand::SeedableRng;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// Seed of the development SRS. Anyone can recompute its secret: it is for
/// testing only, and every command that uses it says so.
const DEV_SEED: u64 = 0x7a6b_6d6c_2d65_766d; // "zkml-evm"

pub const DEV_WARNING: &str =
    "using the development SRS: its secret is public, so proofs made with it are forgeable. Pass --srs with a ceremony file for production.";

/// Folder for caches shared across projects on this machine.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("ZKML_EVM_CACHE") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("zkml-evm")
}

/// Largest SRS we accept (2^28 points): beyond it a header is garbage.
const MAX_SRS_K: u32 = 28;

/// Read an SRS in halo2's raw format (`k` as u32 LE, then g, g_lagrange,
/// g2, s_g2 uncompressed). The header and size are checked first: halo2's
/// reader trusts them.
pub fn read_params(path: &Path) -> Result<ParamsKZG<Bn256>> {
    let bad = || {
        format!(
            "{} is not a halo2 KZG SRS file (corrupt or truncated)",
            path.display()
        )
    };
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot open SRS {}", path.display()))?;
    let len = f.metadata()?.len();
    let mut head = [0u8; 4];
    std::io::Read::read_exact(&mut f, &mut head).with_context(bad)?;
    let k = u32::from_le_bytes(head);
    if k == 0 || k > MAX_SRS_K || len != 4 + (1u64 << k) * 2 * 64 + 2 * 128 {
        bail!("{}", bad());
    }
    let f = std::fs::File::open(path)?;
    ParamsKZG::<Bn256>::read(&mut BufReader::new(f)).with_context(bad)
}

pub fn write_params(path: &Path, params: &ParamsKZG<Bn256>) -> Result<()> {
    let mut buf = Vec::new();
    params.write(&mut buf)?;
    crate::artifact::write_atomic(path, &buf)
}

/// Params of exactly size `k` from a file holding at least that many points.
pub fn params_from_file(path: &Path, k: u32) -> Result<ParamsKZG<Bn256>> {
    let mut p = read_params(path)?;
    if p.k() < k {
        bail!(
            "SRS too small: {} has k={} but the circuit needs k={k}",
            path.display(),
            p.k()
        );
    }
    if p.k() > k {
        p.downsize(k);
    }
    Ok(p)
}

/// The development SRS for `k`, generated once and cached.
pub fn dev_params(k: u32) -> Result<ParamsKZG<Bn256>> {
    let path = cache_dir().join("srs").join(format!("dev-bn254-k{k}.srs"));
    if path.exists() {
        if let Ok(p) = params_from_file(&path, k) {
            return Ok(p);
        }
    }
    eprintln!(
        "generating development SRS for k={k} (cached in {})",
        path.display()
    );
    let t = std::time::Instant::now();
    let generating = crate::progress::step(&format!("development SRS (k={k})"));
    let params = setup_from_secret(k, dev_secret());
    drop(generating);
    eprintln!(
        "development SRS for k={k} generated in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    write_params(&path, &params)?;
    Ok(params)
}

/// Whether `params` is the development SRS (of any size): its `[s]G2` is
/// the development secret's. Verifiers made from it are marked, and
/// `deploy` refuses them off development chains.
pub fn is_dev(params: &ParamsKZG<Bn256>) -> bool {
    use halo2_proofs::halo2curves::group::Curve;
    params.s_g2() == (G2Affine::generator() * dev_secret()).to_affine()
}

/// The development secret: what `ParamsKZG::setup` draws from the seeded
/// RNG, so the fast path below yields the very same parameters.
fn dev_secret() -> Fr {
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(DEV_SEED);
    Fr::random(&mut rng)
}

/// `[s^i]G1` and `[L_i(s)]G1` for i < 2^k, and `[s]G2`.
///
/// halo2's `setup` does two full scalar multiplications per point. Here every
/// point is a fixed-base multiplication by a table of `d·2^(8j)·G1` (32
/// windows of 256 entries): at most 32 mixed additions, in parallel chunks,
/// and the Lagrange scalars come from one batch inversion per chunk instead
/// of an FFT over group elements. Same parameters, several times faster.
pub fn setup_from_secret(k: u32, s: Fr) -> ParamsKZG<Bn256> {
    use halo2_proofs::arithmetic::Field as _;
    use halo2_proofs::halo2curves::ff::{BatchInvert, PrimeField};
    use halo2_proofs::halo2curves::group::{prime::PrimeCurveAffine, Curve, Group};
    use rayon::prelude::*;

    let n = 1usize << k;
    let table = fixed_base_table(G1Affine::generator());
    let mul = |scalar: &Fr| -> G1 {
        let bytes = scalar.to_repr();
        let mut acc = G1::identity();
        for (j, &d) in bytes.as_ref().iter().enumerate() {
            if d != 0 {
                acc += table[j * 256 + d as usize];
            }
        }
        acc
    };
    let chunk = (n / (4 * rayon::current_num_threads().max(1))).clamp(1, 1 << 14);

    // powers of s
    let mut g = vec![G1Affine::identity(); n];
    g.par_chunks_mut(chunk).enumerate().for_each(|(c, out)| {
        let mut power = s.pow_vartime([(c * chunk) as u64]);
        let mut proj = Vec::with_capacity(out.len());
        for _ in 0..out.len() {
            proj.push(mul(&power));
            power *= s;
        }
        G1::batch_normalize(&proj, out);
    });

    // Lagrange basis at s: L_i(s) = ω^i (s^n - 1) / (n (s - ω^i))
    let mut omega = Fr::ROOT_OF_UNITY;
    for _ in k..Fr::S {
        omega = omega.square();
    }
    let multiplier = (s.pow_vartime([n as u64]) - Fr::ONE) * Fr::from(n as u64).invert().unwrap();
    let mut g_lagrange = vec![G1Affine::identity(); n];
    g_lagrange
        .par_chunks_mut(chunk)
        .enumerate()
        .for_each(|(c, out)| {
            let mut w = omega.pow_vartime([(c * chunk) as u64]);
            let mut roots = Vec::with_capacity(out.len());
            let mut denoms = Vec::with_capacity(out.len());
            for _ in 0..out.len() {
                roots.push(w);
                denoms.push(s - w);
                w *= omega;
            }
            denoms.iter_mut().batch_invert();
            let proj: Vec<G1> = roots
                .iter()
                .zip(&denoms)
                .map(|(r, d)| mul(&(multiplier * r * d)))
                .collect();
            G1::batch_normalize(&proj, out);
        });

    let g2 = G2Affine::generator();
    let s_g2 = (g2 * s).to_affine();
    ParamsKZG::<Bn256>::setup(1, rand_chacha::ChaCha20Rng::seed_from_u64(0)).from_parts(
        k,
        g,
        Some(g_lagrange),
        g2,
        s_g2,
    )
}

/// `table[j*256 + d] = d·2^(8j)·base`, affine.
fn fixed_base_table(base: G1Affine) -> Vec<G1Affine> {
    use halo2_proofs::halo2curves::group::{Curve, Group};
    let mut proj = Vec::with_capacity(32 * 256);
    let mut window_base: G1 = base.into();
    for _ in 0..32 {
        let mut acc = G1::identity();
        for _ in 0..256 {
            proj.push(acc);
            acc += window_base;
        }
        window_base = acc; // 256·(previous window base)
    }
    let mut table = vec![G1Affine::default(); proj.len()];
    G1::batch_normalize(&proj, &mut table);
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_setup_matches_halo2_setup() {
        let k = 5;
        let reference =
            ParamsKZG::<Bn256>::setup(k, rand_chacha::ChaCha20Rng::seed_from_u64(DEV_SEED));
        let fast = setup_from_secret(k, dev_secret());
        let (mut a, mut b) = (Vec::new(), Vec::new());
        reference.write(&mut a).unwrap();
        fast.write(&mut b).unwrap();
        assert!(a == b, "fast SRS differs from ParamsKZG::setup");
    }

    #[test]
    fn the_development_srs_is_recognised_at_any_size() {
        assert!(is_dev(&setup_from_secret(4, dev_secret())));
        let mut big = setup_from_secret(6, dev_secret());
        big.downsize(4);
        assert!(is_dev(&big));
        assert!(!is_dev(&setup_from_secret(4, Fr::from(1234u64))));
    }
}
