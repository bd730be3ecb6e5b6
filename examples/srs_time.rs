//! Times the development SRS generation at a given k (default 20), fast
//! path vs halo2's own setup when `--compare` is passed.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let k: u32 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let dir = tempfile::tempdir().unwrap();
    std::env::set_var("ZKML_EVM_CACHE", dir.path());
    let t = std::time::Instant::now();
    zkml_evm::proof::srs::dev_params(k).unwrap();
    println!("fast dev SRS k={k}: {:.1}s", t.elapsed().as_secs_f64());
    if args.iter().any(|a| a == "--compare") {
        use rand::SeedableRng;
        let t = std::time::Instant::now();
        let _ = halo2_proofs::poly::kzg::commitment::ParamsKZG::<
            halo2_proofs::halo2curves::bn256::Bn256,
        >::setup(k, rand_chacha::ChaCha20Rng::seed_from_u64(1));
        println!("halo2 setup k={k}: {:.1}s", t.elapsed().as_secs_f64());
    }
}
