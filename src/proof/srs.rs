//! KZG structured reference strings: a cached development SRS, or a
//! ceremony file in halo2's format, downsized to the circuit's k.

use anyhow::{bail, Context, Result};
use halo2_proofs::halo2curves::bn256::Bn256;
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
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    home.join(".cache").join("zkml-evm")
}

/// Largest SRS we accept (2^28 points): beyond it a header is garbage.
const MAX_SRS_K: u32 = 28;

/// Read an SRS in halo2's raw format (`k` as u32 LE, then g, g_lagrange,
/// g2, s_g2 uncompressed). The header and size are checked first: halo2's
/// reader trusts them.
pub fn read_params(path: &Path) -> Result<ParamsKZG<Bn256>> {
    let bad = || format!("{} is not a halo2 KZG SRS file (corrupt or truncated)", path.display());
    let mut f = std::fs::File::open(path).with_context(|| format!("cannot open SRS {}", path.display()))?;
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
        bail!("SRS too small: {} has k={} but the circuit needs k={k}", path.display(), p.k());
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
    eprintln!("generating development SRS for k={k} (cached in {})", path.display());
    let rng = rand_chacha::ChaCha20Rng::seed_from_u64(DEV_SEED);
    let params = ParamsKZG::<Bn256>::setup(k, rng);
    write_params(&path, &params)?;
    Ok(params)
}
