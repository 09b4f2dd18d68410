//! Embeds `schemas/` into the library so the binary carries its catalog with it.

use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn main() {
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let schemas = Path::new(&manifest).join("../../schemas");
    println!("cargo:rerun-if-changed={}", schemas.display());
    let tables = schemas.join("tables");
    println!("cargo:rerun-if-changed={}", tables.display());

    let mut files = vec![schemas.join("catalog.toml"), schemas.join("products.toml")];
    let mut table_files: Vec<_> = fs::read_dir(&tables)
        .expect("schemas/tables exists")
        .map(|e| e.expect("readable directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    table_files.sort();
    files.extend(table_files);

    let mut out =
        String::from("/// Files of `schemas/`, relative to it, embedded at build time.\n");
    out.push_str("pub(crate) static FILES: &[(&str, &str)] = &[\n");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let rel = file.strip_prefix(&schemas).expect("file under schemas/");
        let abs = fs::canonicalize(file).expect("canonical path");
        writeln!(
            out,
            "    ({:?}, include_str!({:?})),",
            rel.to_string_lossy().replace('\\', "/"),
            abs
        )
        .expect("write to string");
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded.rs");
    fs::write(dest, out).expect("write embedded.rs");
}
