//! Writes the seed corpora: `fuzz/corpus/<target>/<sha256-prefix>`, one file
//! per seed input built from `vectors/`.
//!
//! ```text
//! cargo run -p blindsync-fuzz --bin gen-corpus -- [--vectors DIR] [--out DIR] [--list] [TARGET...]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use blindsync_fuzz::{Vectors, targets};

fn main() -> ExitCode {
    let mut vectors = Vectors::default_dir();
    let mut out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut only = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--vectors" => vectors = args.next().map(PathBuf::from).unwrap_or(vectors),
            "--out" => out = args.next().map(PathBuf::from).unwrap_or(out),
            "--list" => {
                for t in targets::ALL {
                    println!("{}", t.name);
                }
                return ExitCode::SUCCESS;
            }
            "-h" | "--help" => {
                println!("usage: gen-corpus [--vectors DIR] [--out DIR] [--list] [TARGET...]");
                return ExitCode::SUCCESS;
            }
            name => only.push(name.to_owned()),
        }
    }
    if let Some(bad) = only.iter().find(|n| blindsync_fuzz::target(n).is_none()) {
        eprintln!("gen-corpus: unknown target {bad} (try --list)");
        return ExitCode::FAILURE;
    }
    let v = match Vectors::load(&vectors) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("gen-corpus: {e}");
            return ExitCode::FAILURE;
        }
    };
    for t in targets::ALL.iter().filter(|t| only.is_empty() || only.iter().any(|n| n == t.name)) {
        let dir = out.join(t.name);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            eprintln!("gen-corpus: {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
        let seeds = (t.seeds)(&v);
        for s in &seeds {
            let path = dir.join(blindsync_fuzz::seeds::file_name(s));
            if let Err(e) = std::fs::write(&path, s) {
                eprintln!("gen-corpus: {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
        println!("{:<20} {:>4} seeds -> {}", t.name, seeds.len(), dir.display());
    }
    ExitCode::SUCCESS
}
