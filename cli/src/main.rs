//! The `blindsync` command-line tool: vectors and checks for porters,
//! auditors and CI.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod adapter;
mod conform;
mod demo;

use blindsync_model as model;

use blindsync::danger::{Defences, Weakening};
use model::{Capability, Config};

/// BlindSync: end-to-end-encrypted sync, and the tools that prove it.
#[derive(Parser)]
#[command(name = "blindsync", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify every test vector and exhaust the model checker's default
    /// configuration, printing a readable report. Exits non-zero on any failure.
    Check {
        /// The vectors folder (default: ./vectors, else the crate's own).
        #[arg(long)]
        vectors: Option<PathBuf>,
        /// Skip the model checker.
        #[arg(long)]
        no_model: bool,
    },
    /// The model checker: honest devices against a malicious server (spec chapter 12).
    Model {
        #[command(subcommand)]
        command: ModelCommand,
    },
    /// Play a narrated scenario: what the server stores and what each device sees. [CLI-1]
    Demo,
    /// The conformance harness (spec chapter 13): drive a client under test through
    /// every scenario of vectors/scenarios over the stdio JSON-lines protocol. [CONF-3]
    Conform {
        /// The command that starts the client under test (run with `sh -c`, once per scenario).
        #[arg(long)]
        client: String,
        /// The scenarios folder (default: ./vectors/scenarios, else the crate's own).
        #[arg(long)]
        scenarios: Option<PathBuf>,
        /// Print the matrix as JSON.
        #[arg(long)]
        json: bool,
        /// Seconds the client may take for any one message.
        #[arg(long, default_value_t = 20)]
        timeout: u64,
        /// Run only the scenarios with these ids (repeatable).
        #[arg(long = "scenario")]
        only: Vec<String>,
    },
    /// The Rust client as a client under test of `blindsync conform` (JSON lines on stdin/stdout).
    Adapter,
    /// Generate or verify the JSON test vectors.
    Vectors {
        #[command(subcommand)]
        command: VectorsCommand,
    },
}

#[derive(Subcommand)]
enum ModelCommand {
    /// Exhaust a configuration (depth-first); print each property's verdict and counterexamples.
    Check {
        #[command(flatten)]
        config: ModelArgs,
        /// Worker threads.
        #[arg(long, default_value_t = 2)]
        threads: usize,
        /// Visit the space breadth-first only (the whole frontier in memory). By default the
        /// space is exhausted depth-first, then searched breadth-first for each violated
        /// property's shortest counterexample.
        #[arg(long)]
        bfs: bool,
        /// Also write every counterexample, replayed with each step's requests and responses
        /// as hex, to this JSON file (format `blindsync-model-counterexamples/1`, spec 12.6).
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Serve stateright's web explorer for a configuration.
    Explore {
        #[command(flatten)]
        config: ModelArgs,
        /// Address to listen on.
        #[arg(long, default_value = "localhost:3000")]
        address: String,
    },
    /// Random walks, for configurations too large to exhaust.
    Simulate {
        #[command(flatten)]
        config: ModelArgs,
        /// The seed of the walks.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Run this many seeds, `--seed` to `--seed + N - 1`, one line each, then the verdicts
        /// over all of them (a shard: give each machine its own seed range).
        #[arg(long, default_value_t = 1)]
        seeds: u64,
        /// The length of each walk.
        #[arg(long, default_value_t = 20)]
        steps: usize,
        /// Stop after this many states.
        #[arg(long, default_value_t = 20_000)]
        max_states: usize,
    },
}

/// A model configuration on the command line.
#[derive(Args)]
struct ModelArgs {
    /// Honest devices besides the one that is revoked (2 to 8; `check` exhausts 2, 3 is exhaustible).
    #[arg(long, default_value_t = 2)]
    devices: usize,
    /// Records written (1 to 8; `check` exhausts 1, 2 is exhaustible).
    #[arg(long, default_value_t = 1)]
    records: u8,
    /// Writes per run.
    #[arg(long, default_value_t = 2)]
    writes: u8,
    /// Adversary deviations per run (the depth of malice).
    #[arg(long, default_value_t = model::DEFAULT_MALICE)]
    malice: u8,
    /// Adversary capabilities, comma-separated ("all", "none", or names such as withhold,replay).
    #[arg(long, default_value = "all")]
    capabilities: String,
    /// Split each sync into its GetChain and its listing, so that other devices' operations run
    /// between them (spec 12.4, [MODEL-20]).
    #[arg(long)]
    interleave: bool,
    /// Defences to switch off, comma-separated: the names of spec 12.5 (no-signature-check,
    /// no-aad-binding, no-key-commitment, no-rollback-check, no-sequence-gap-check, no-fork-check,
    /// unpinned-keys-accepted, any-kdf-params, no-key-check, no-bundle-commit, no-possession-check,
    /// unpinned-kdf, no-cascade, no-prev-check, no-revision-step, no-stale-epoch-check,
    /// no-stale-head-alert, unordered-listing, no-revocation-split-alert,
    /// no-device-meta-owner-check).
    #[arg(long, default_value = "")]
    weaken: String,
}

impl ModelArgs {
    fn config(&self) -> Result<Config, String> {
        let capabilities = match self.capabilities.as_str() {
            "all" => Capability::ALL.into_iter().collect(),
            "none" | "" => Default::default(),
            list => list
                .split(',')
                .map(|n| Capability::parse(n.trim()).ok_or_else(|| format!("unknown capability {n:?}")))
                .collect::<Result<_, _>>()?,
        };
        let mut defences = Defences::ALL;
        for n in self.weaken.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            defences = defences.without(Weakening::parse(n).ok_or_else(|| format!("unknown weakening {n:?}"))?);
        }
        if !(2..=8).contains(&self.devices) || !(1..=8).contains(&self.records) {
            return Err("--devices must be 2 to 8 and --records 1 to 8".into());
        }
        Ok(Config {
            devices: self.devices,
            records: self.records,
            writes: self.writes,
            malice: self.malice,
            capabilities,
            defences,
            interleave: self.interleave,
        })
    }
}

fn describe(c: &Config) -> String {
    let weak: Vec<&str> = c.defences.weakenings().iter().map(|w| w.name()).collect();
    format!(
        "{} honest devices + 1 revoked, {} records, {} writes, malice {}, {} of {} capabilities, weakened: {}{}",
        c.devices,
        c.records,
        c.writes,
        c.malice,
        c.capabilities.len(),
        Capability::ALL.len(),
        if weak.is_empty() { "none".to_owned() } else { weak.join(",") },
        if c.interleave { ", syncs interleaved" } else { "" }
    )
}

fn model_check(c: &Config, threads: usize, bfs: bool, json: Option<&Path>) -> bool {
    println!("Model checker (spec chapter 12): {}", describe(c));
    let m = match model::Model::new(c.clone()) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return false;
        }
    };
    let out = if bfs {
        model::runner::run_model_with(&m, threads, true, model::runner::Search::BreadthFirst)
    } else {
        model::runner::run_model_exhaustive(&m, threads, true)
    };
    print!("{}", out.report());
    if let Some(path) = json {
        let doc = counterexamples_json(c, &model::runner::counterexamples(&m, &out));
        match std::fs::write(path, serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n") {
            Ok(()) => println!("counterexamples written to {}", path.display()),
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return false;
            }
        }
    }
    out.all_hold()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// [MODEL-6] the counterexample file: one entry per violated `always` property, each step with
/// its action and every request and response of it as wire-encoded hex (spec 12.6).
fn counterexamples_json(c: &Config, found: &[model::runner::Counterexample]) -> serde_json::Value {
    let weak: Vec<&str> = c.defences.weakenings().iter().map(|w| w.name()).collect();
    let caps: Vec<&str> = c.capabilities.iter().map(|c| c.name()).collect();
    serde_json::json!({
        "format": "blindsync-model-counterexamples/1",
        "config": {
            "devices": c.devices, "records": c.records, "writes": c.writes, "malice": c.malice,
            "capabilities": caps, "weakened": weak,
        },
        "counterexamples": found.iter().map(|x| serde_json::json!({
            "property": x.property,
            "replay": x.replay,
            "steps": x.steps.iter().map(|s| serde_json::json!({
                "action": s.action,
                "action_index": s.index,
                "exchanges": s.exchanges.iter().map(|(q, r)| serde_json::json!({
                    "request": hex(q), "response": hex(r),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// [MODEL-4] [MODEL-16] [MODEL-18] the default sync configuration and the data-path model,
/// exhaustively on both cores, then the coverage matrix (each row's capability alone with its
/// defence off), on the same fixtures.
fn full_model_check() -> bool {
    let started = std::time::Instant::now();
    // [MODEL-4] two deviations by default: every pair of deviations, exhausted depth-first
    let c = Config { malice: model::DEFAULT_MALICE, ..Config::default() };
    println!("Model checker (spec chapter 12): {}", describe(&c));
    let (sync, data) = match (model::Model::new(c), model::data::DataModel::new(Default::default())) {
        (Ok(s), Ok(d)) => (s, d),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: {e}");
            return false;
        }
    };
    let sync_out = model::runner::run_model_exhaustive(&sync, 2, true);
    print!("{}", sync_out.report());
    println!("\nData-path model (spec 12.7): 3 batches, malice 1, all 6 data capabilities, all defences");
    let data_out = model::data::run_data_model(&data, 2);
    print!("{}", data_out.report());
    println!("\nCoverage matrix (spec 12.8): each capability alone, with its defence off");
    let verdicts = model::coverage::run(&sync, &sync_out, &data, &data_out, 2);
    print!("{}", model::coverage::render(&verdicts));
    println!("model checker total: {:.1} s", started.elapsed().as_secs_f64());
    sync_out.all_hold() && data_out.all_hold() && model::coverage::all_blocked_and_refound(&verdicts)
}

#[derive(Subcommand)]
enum VectorsCommand {
    /// Write every generated vector file (deterministic: same bytes every run).
    Generate {
        /// Output folder (default: ./vectors, else the crate's own).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify the vector files in PATH (default: ./vectors, else the crate's own): a folder
    /// with any subset of the files (absent ones are skipped and listed), or one file.
    Verify {
        /// A vectors folder or a single vector file.
        path: Option<PathBuf>,
        /// Run only the vectors of this kind (for example `envelope_open`).
        #[arg(long)]
        kind: Option<String>,
    },
}

fn default_vectors_dir() -> PathBuf {
    let local = Path::new("vectors");
    if local.join("upstream").is_dir() {
        local.to_path_buf()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors")
    }
}

fn verify(dir: &Path) -> bool {
    println!("Test vectors in {}", dir.display());
    summarize(&blindsync_testkit::verify_dir(dir))
}

/// `vectors verify`: any subset of the files, one file, or one kind.
fn verify_path(path: &Path, kind: Option<&str>) -> bool {
    match kind {
        Some(k) => println!("Test vectors of kind {k} in {}", path.display()),
        None => println!("Test vectors in {}", path.display()),
    }
    match blindsync_testkit::verify_path(path, kind) {
        Ok(out) => {
            if !out.skipped.is_empty() {
                println!("absent, skipped: {}", out.skipped.join(", "));
            }
            summarize(&out.reports)
        }
        Err(e) => {
            eprintln!("error: {e}");
            false
        }
    }
}

fn summarize(reports: &[blindsync_testkit::FileReport]) -> bool {
    print!("{}", blindsync_testkit::render_table(reports));
    let (mut pos, mut neg, mut failed) = ((0, 0), (0, 0), 0);
    for r in reports {
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

/// [CONF-4] replays every scenario of `dir` against the Rust client.
fn verify_scenarios(dir: &Path) -> bool {
    println!("\nScenario vectors in {}", dir.display());
    let (ok, lines) = blindsync_testkit::scenarios::verify_dir(dir);
    for l in lines {
        println!("{l}");
    }
    ok
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let ok = match cli.command {
        Command::Check { vectors, no_model } => {
            let dir = vectors.unwrap_or_else(default_vectors_dir);
            println!("== BlindSync check ==\n");
            let mut ok = verify(&dir);
            // [CONF-4] the scenario vectors too, against the Rust client
            ok &= verify_scenarios(&dir.join("scenarios"));
            println!();
            if no_model {
                println!("model checker: skipped (--no-model)");
            } else {
                ok &= full_model_check();
            }
            println!("\nresult: {}", if ok { "PASS" } else { "FAIL" });
            ok
        }
        Command::Model { command } => {
            let run = |a: &ModelArgs| a.config().map_err(|e| eprintln!("error: {e}")).ok();
            match command {
                ModelCommand::Check { config, threads, bfs, json } => {
                    run(&config).is_some_and(|c| model_check(&c, threads, bfs, json.as_deref()))
                }
                ModelCommand::Explore { config, address } => run(&config).is_some_and(|c| {
                    println!("Serving the explorer for {} on http://{address}", describe(&c));
                    model::explore(&c, &address).map_err(|e| eprintln!("error: {e}")).is_ok()
                }),
                ModelCommand::Simulate { config, seed, steps, max_states, seeds } => run(&config).is_some_and(|c| {
                    let last = seed.saturating_add(seeds.max(1) - 1);
                    println!("Simulation (seeds {seed} to {last}, walks of {steps} steps): {}", describe(&c));
                    let mut all: Option<model::Outcome> = None;
                    for s in seed..=last {
                        match model::run_simulation(&c, s, steps, max_states, 2) {
                            Ok(out) => {
                                if seeds > 1 {
                                    let secs = out.elapsed.as_secs_f64().max(1e-9);
                                    let violated = out.violated();
                                    println!(
                                        "  seed {s}: {} states, {} unique, depth {}, {:.0} states/s, {}",
                                        out.states,
                                        out.unique,
                                        out.max_depth,
                                        out.states as f64 / secs,
                                        if violated.is_empty() { "all held".to_owned() } else { violated.join(", ") }
                                    );
                                }
                                match &mut all {
                                    Some(a) => a.absorb(out),
                                    None => all = Some(out),
                                }
                            }
                            Err(e) => {
                                eprintln!("error: {e}");
                                return false;
                            }
                        }
                    }
                    let Some(out) = all else { return false };
                    if seeds > 1 {
                        println!("over all {} seeds:", last - seed + 1);
                    }
                    print!("{}", out.report());
                    out.properties.iter().filter(|p| p.kind != model::PropertyKind::Sometimes).all(|p| p.holds)
                }),
            }
        }
        Command::Demo => match demo::run() {
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
            let scenarios = dir.join("scenarios");
            match blindsync_testkit::write_all(&dir) {
                Ok(names) => {
                    for n in names {
                        println!("wrote {}", dir.join(n).display());
                    }
                    // [CONF-4] the scenario vectors, from honest runs and malicious-server scripts
                    // [CONF-8] and from the model's counterexamples, replayed with every defence on
                    let written = blindsync_testkit::scenarios::write_dir(&scenarios).and_then(|mut names| {
                        names.extend(blindsync_model::scenarios::write_dir(&scenarios)?);
                        Ok(names)
                    });
                    match written {
                        Ok(names) => {
                            for n in names {
                                println!("wrote {}", scenarios.join(n).display());
                            }
                            true
                        }
                        Err(e) => {
                            eprintln!("error: {e}");
                            false
                        }
                    }
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    false
                }
            }
        }
        Command::Vectors { command: VectorsCommand::Verify { path, kind } } => {
            let path = path.unwrap_or_else(default_vectors_dir);
            let scenarios = path.join("scenarios");
            let mut ok = verify_path(&path, kind.as_deref());
            // [CONF-4] a folder's scenario vectors too, when it has them (not with --kind)
            if kind.is_none() && scenarios.is_dir() {
                ok &= verify_scenarios(&scenarios);
            }
            ok
        }
        Command::Conform { client, scenarios, json, timeout, only } => {
            let dir = scenarios.unwrap_or_else(|| default_vectors_dir().join("scenarios"));
            match blindsync_testkit::scenarios::read_dir(&dir) {
                Err(e) => {
                    eprintln!("error: {e}");
                    false
                }
                Ok(list) if only.iter().any(|id| !list.iter().any(|s| &s.id == id)) => {
                    eprintln!("error: no such scenario in {}: {}", dir.display(), only.join(", "));
                    false
                }
                Ok(mut list) => {
                    if !only.is_empty() {
                        list.retain(|s| only.contains(&s.id));
                    }
                    let t = std::time::Duration::from_secs(timeout.max(1));
                    let verdicts: Vec<_> = list.iter().map(|s| conform::run_scenario(&client, s, t)).collect();
                    if json {
                        println!("{:#}", conform::to_json(&client, &verdicts));
                    } else {
                        print!("{}", conform::render(&client, &verdicts));
                    }
                    !verdicts.is_empty() && verdicts.iter().all(|v| v.failure.is_none())
                }
            }
        }
        Command::Adapter => match adapter::run() {
            Ok(()) => true,
            Err(e) => {
                eprintln!("adapter: {e}");
                false
            }
        },
    };
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
