//! Debugging aid: run the generated verifier with ZKML_EVM_DEBUG_DUMP=1 and
//! print its memory slots next to the native transcript's challenges.
use std::path::Path;
use zkml_evm::compile::Compiled;
use zkml_evm::evm::exec::{Evm, DEFAULT_GAS_LIMIT};
use zkml_evm::proof::{self, ProofFile};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let c = Compiled::load(Path::new(&args[1]))?;
    let p = ProofFile::read(Path::new(&args[2]))?;
    let keys = proof::load_keys(&c)?;
    let ok = proof::verify_bytes(&keys, &p.proof_bytes()?, &p.instances()?);
    eprintln!("native: {ok}");
    eprintln!("{}", zkml_evm::evm::codegen::describe(&keys.vk));
    let cs = keys.vk.cs();
    eprintln!(
        "advice q {:?}\nfixed q {:?}\nperm {:?}\nblinding {} degree {}",
        cs.advice_queries(),
        cs.fixed_queries(),
        cs.permutation().get_columns(),
        cs.blinding_factors(),
        cs.degree()
    );
    for g in cs.gates() {
        for p in g.polynomials() {
            eprintln!("gate {p:?}");
        }
    }
    let g = zkml_evm::evm::codegen::generate(
        &keys.params,
        &keys.vk,
        zkml_evm::evm::codegen::PublicInputs::model(c.settings.layout.public_inputs),
        "dbg",
    )?;
    std::fs::write("/tmp/dbg.sol", &g.solidity)?;
    let comp = zkml_evm::evm::compile_contract(
        &[("V.sol".into(), g.solidity)],
        "Halo2Verifier",
        Some(200),
        false,
    )?;
    let mut evm = Evm::new();
    let d = evm.deploy(&comp.bytecode)?;
    let out = evm.call(
        d.address,
        &zkml_evm::evm::verifier::calldata(&p)?,
        DEFAULT_GAS_LIMIT,
    );
    for (i, w) in out.output.chunks(32).enumerate() {
        println!("{:#x} {}", 0x80 + 32 * i, hex::encode(w));
    }
    Ok(())
}
