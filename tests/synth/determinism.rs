use std::path::Path;

use zhijian_synth::{Options, generate};

use crate::shared::files;

fn corpus(dir: &Path, seed: u64) {
    let opts = Options {
        raw: dir.join("raw"),
        truth: Some(dir.join("truth")),
        scale: 4_000,
        seed,
    };
    generate(&opts, &|_, _| {}).expect("generates");
}

#[test]
fn same_seed_and_scale_give_identical_bytes() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let c = tempfile::tempdir().expect("tempdir");
    corpus(a.path(), 5);
    corpus(b.path(), 5);
    corpus(c.path(), 6);
    let fa = files(a.path());
    assert_eq!(fa, files(b.path()), "same file names");
    assert!(
        fa.iter()
            .any(|p| p.extension().is_some_and(|e| e == "xlsx")),
        "workbooks are compared too"
    );
    for f in &fa {
        let x = std::fs::read(a.path().join(f)).expect("read");
        let y = std::fs::read(b.path().join(f)).expect("read");
        assert!(x == y, "{} differs between two runs", f.display());
    }
    let fc = files(c.path());
    let differs = fa
        .iter()
        .filter(|f| fc.contains(f))
        .any(|f| std::fs::read(a.path().join(f)).ok() != std::fs::read(c.path().join(f)).ok());
    assert!(differs || fa != fc, "another seed gives another corpus");
}

#[test]
fn a_non_empty_output_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("old.csv"), "x").expect("write");
    let opts = Options {
        raw: dir.path().to_path_buf(),
        truth: None,
        scale: 4_000,
        seed: 1,
    };
    let err = generate(&opts, &|_, _| {}).expect_err("refused");
    assert!(err.to_string().contains("not empty"), "{err}");
    let opts = Options {
        raw: dir.path().join("new"),
        truth: None,
        scale: 10,
        seed: 1,
    };
    let err = generate(&opts, &|_, _| {}).expect_err("refused");
    assert!(err.to_string().starts_with("--scale"), "{err}");
}
