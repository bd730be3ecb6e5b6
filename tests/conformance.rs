//! The ONNX backend node tests of every op the op table claims (see
//! `zkml_evm::conformance`): each passes, is excluded by a rule that applies
//! to every op alike, or is one of the known failures docs/conformance.md
//! lists (so a fix or a regression both show here).

use std::collections::BTreeSet;
use zkml_evm::conformance::{self, Status};

/// The tests docs/conformance.md lists as failing today.
fn known_failures() -> BTreeSet<String> {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/conformance.md"),
    )
    .unwrap();
    let section = doc
        .split("## Known failures")
        .nth(1)
        .expect("docs/conformance.md has a Known failures section");
    section
        .lines()
        .filter_map(|l| l.strip_prefix("- `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn claimed_ops_pass_their_onnx_node_tests() {
    let dir = conformance::default_node_dir().expect(
        "the onnx package's node tests (scripts/setup-python.sh installs them in .tools/venv)",
    );
    let rows = conformance::run(&dir, &[], true).unwrap();
    assert!(
        rows.len() > 1000,
        "only {} node tests found under {}",
        rows.len(),
        dir.display()
    );
    let claimed =
        |op: &str| !op.starts_with("expanded") && zkml_evm::model::ops::lookup(op).is_some();
    let known = known_failures();
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    for r in rows.iter().filter(|r| claimed(&r.op)) {
        let failed = matches!(r.status, Status::Fail(_) | Status::Unsupported(_));
        if failed && !known.contains(&r.test) {
            unexpected.push(format!("{}: {:?}", r.test, r.status));
        }
        if !failed && known.contains(&r.test) {
            fixed.push(r.test.clone());
        }
    }
    assert!(
        unexpected.is_empty(),
        "node tests of claimed ops fail:\n{}",
        unexpected.join("\n")
    );
    assert!(
        fixed.is_empty(),
        "these pass now; take them off docs/conformance.md's known failures: {fixed:?}"
    );
    let passed = rows
        .iter()
        .filter(|r| claimed(&r.op) && r.status == Status::Pass)
        .count();
    eprintln!("{passed} node tests of claimed ops pass");
}
