//! Gas probe: what an early rejection costs (intrinsic + calldata), to
//! split a verify call's gas into calldata, precompiles and arithmetic.
use std::path::Path;
use zkml_evm::evm::exec::{Evm, DEFAULT_GAS_LIMIT};
use zkml_evm::evm::verifier::{calldata, VerifierArtifact};
use zkml_evm::proof::ProofFile;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let a = VerifierArtifact::read(Path::new(&args[1]))?;
    let p = ProofFile::read(Path::new(&args[2]))?;
    let mut evm = Evm::new();
    let d = evm.deploy(&a.creation_code()?)?;
    let honest = calldata(&p)?;
    let full = evm.call(d.address, &honest, DEFAULT_GAS_LIMIT);
    // Same calldata size, but the length word says one byte short: rejected at the first check.
    let mut bad = p.clone();
    let mut b = bad.proof_bytes()?;
    let last = b.len() - 1;
    b[last] ^= 1;
    bad.proof = zkml_evm::artifact::to_hex(&b);
    let flipped = evm.call(d.address, &calldata(&bad)?, DEFAULT_GAS_LIMIT);
    let zeros = honest.iter().filter(|&&x| x == 0).count();
    let calldata_gas = 21000 + zeros as u64 * 4 + (honest.len() - zeros) as u64 * 16;
    println!(
        "honest: {} gas; last byte flipped: {} gas; calldata {} bytes -> intrinsic+calldata {} gas",
        full.gas_used,
        flipped.gas_used,
        honest.len(),
        calldata_gas
    );
    Ok(())
}
