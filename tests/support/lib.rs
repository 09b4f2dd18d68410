//! Helpers shared by the end-to-end test binaries: where the repository is, and how to run
//! the real Python clients from the venv that the README's test command prepares.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository root")
        .to_path_buf()
}

/// The `schemas/` directory of the repository.
pub fn schemas_dir() -> PathBuf {
    repo_root().join("schemas")
}

/// The Python interpreter of the test venv (`ZHIJIAN_PYTHON`, set by `scripts/test`).
///
/// Panics with instructions when it is not set: these tests are judged by real clients and
/// must not pass by skipping them.
pub fn python() -> Command {
    let python = std::env::var_os("ZHIJIAN_PYTHON").unwrap_or_else(|| {
        panic!("ZHIJIAN_PYTHON is not set: run the suite with scripts/test, which prepares the Python venv")
    });
    Command::new(python)
}

/// Runs a Python snippet with arguments; panics with its stderr when it fails.
pub fn run_python(code: &str, args: &[&Path]) -> Output {
    let output = python()
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .expect("the venv python starts");
    assert!(
        output.status.success(),
        "python failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Copies a directory tree (small trees only: fixtures and `schemas/`).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create target directory");
    for entry in std::fs::read_dir(from).expect("read source directory") {
        let entry = entry.expect("directory entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// What `frictionless validate --json` said about one task (one file).
#[derive(Debug)]
pub struct Verdict {
    /// The file or resource validated.
    pub place: String,
    /// Whether Frictionless found it valid.
    pub valid: bool,
    /// Its error messages.
    pub errors: Vec<String>,
}

/// Runs the official `frictionless validate` CLI over files and returns one verdict per task.
pub fn frictionless_validate(kind: Option<&str>, sources: &[PathBuf], cwd: &Path) -> Vec<Verdict> {
    let mut cmd = python();
    cmd.current_dir(cwd)
        .args(["-m", "frictionless", "validate", "--json"]);
    if let Some(kind) = kind {
        cmd.args(["--type", kind]);
    }
    let output = cmd.args(sources).output().expect("frictionless runs");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "frictionless printed no JSON report ({e}):\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let tasks = report["tasks"].as_array().cloned().unwrap_or_default();
    assert!(
        !tasks.is_empty(),
        "frictionless validated nothing: {report}"
    );
    let mut verdicts: Vec<Verdict> = tasks
        .iter()
        .map(|t| Verdict {
            place: t["place"].as_str().unwrap_or_default().to_owned(),
            valid: t["valid"].as_bool().unwrap_or(false),
            errors: t["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
                .collect(),
        })
        .collect();
    // Errors of the report itself (a source that could not be opened) count as a failure.
    for e in report["errors"].as_array().into_iter().flatten() {
        verdicts.push(Verdict {
            place: "(report)".into(),
            valid: false,
            errors: vec![e["message"].as_str().unwrap_or_default().to_owned()],
        });
    }
    verdicts
}
