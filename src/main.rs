//! The `blindsync` command-line tool: vectors and checks for porters,
//! auditors and CI.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// BlindSync: end-to-end-encrypted sync, and the tools that prove it.
#[derive(Parser)]
#[command(name = "blindsync", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify every test vector (and, as later layers land, run the model
    /// checker), printing a readable report. Exits non-zero on any failure.
    Check {
        /// The vectors folder (default: ./vectors, else the crate's own).
        #[arg(long)]
        vectors: Option<PathBuf>,
    },
    /// Play a narrated scenario: what the server stores and what each device sees. [CLI-1]
    Demo,
    /// Generate or verify the JSON test vectors.
    Vectors {
        #[command(subcommand)]
        command: VectorsCommand,
    },
}

#[derive(Subcommand)]
enum VectorsCommand {
    /// Write every generated vector file (deterministic: same bytes every run).
    Generate {
        /// Output folder (default: ./vectors, else the crate's own).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify every vector file in DIR (default: ./vectors, else the crate's own).
    Verify {
        /// The vectors folder.
        dir: Option<PathBuf>,
    },
}

fn default_vectors_dir() -> PathBuf {
    let local = Path::new("vectors");
    if local.join("upstream").is_dir() {
        local.to_path_buf()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
    }
}

fn verify(dir: &Path) -> bool {
    println!("Test vectors in {}", dir.display());
    let reports = blindsync::vectors::verify_dir(dir);
    print!("{}", blindsync::vectors::render_table(&reports));
    let (mut pos, mut neg, mut failed) = ((0, 0), (0, 0), 0);
    for r in &reports {
        pos.0 += r.positive.0;
        pos.1 += r.positive.1;
        neg.0 += r.negative.0;
        neg.1 += r.negative.1;
        failed += usize::from(!r.ok());
    }
    println!(
        "{} files: {}/{} positive and {}/{} negative vectors passed; {}",
        reports.len(),
        pos.0,
        pos.1,
        neg.0,
        neg.1,
        if failed == 0 { "all files ok".to_owned() } else { format!("{failed} file(s) FAILED") }
    );
    failed == 0
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ok = match cli.command {
        Command::Check { vectors } => {
            let dir = vectors.unwrap_or_else(default_vectors_dir);
            println!("== BlindSync check ==\n");
            let ok = verify(&dir);
            println!("\nmodel checker: not yet part of this build (spec chapter 12)");
            println!("\nresult: {}", if ok { "PASS" } else { "FAIL" });
            ok
        }
        Command::Demo => match blindsync::demo::run() {
            Ok(text) => {
                print!("{text}");
                true
            }
            Err(e) => {
                eprintln!("error: {e}");
                false
            }
        },
        Command::Vectors { command: VectorsCommand::Generate { out } } => {
            let dir = out.unwrap_or_else(default_vectors_dir);
            match blindsync::vectors::write_all(&dir) {
                Ok(names) => {
                    for n in names {
                        println!("wrote {}", dir.join(n).display());
                    }
                    true
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    false
                }
            }
        }
        Command::Vectors { command: VectorsCommand::Verify { dir } } => {
            verify(&dir.unwrap_or_else(default_vectors_dir))
        }
    };
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
