//! Running the checker and reading its results (spec 12.6).

use std::time::{Duration, Instant};

use stateright::{Checker, Expectation, HasDiscoveries, Model as _};

use super::properties::describe;
use super::system::{Config, Model};

/// The verdict on one property. [MODEL-6]
#[derive(Clone, Debug)]
pub struct PropertyOutcome {
    /// The property's name.
    pub name: &'static str,
    /// `always`, `sometimes` or `eventually`.
    pub kind: &'static str,
    /// `always`/`eventually`: no counterexample; `sometimes`: an example was found.
    pub holds: bool,
    /// The counterexample (or example), one line per step, if any.
    pub steps: Vec<String>,
    /// The same path as action indices (`blindsync model explore` follows it).
    pub replay: Option<String>,
}

/// The result of one run. [MODEL-6]
#[derive(Clone, Debug)]
pub struct Outcome {
    /// States generated.
    pub states: usize,
    /// Unique states.
    pub unique: usize,
    /// Longest path explored.
    pub max_depth: usize,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// One verdict per property.
    pub properties: Vec<PropertyOutcome>,
}

impl Outcome {
    /// Every property held: no counterexample, every `sometimes` reached.
    pub fn all_hold(&self) -> bool {
        self.properties.iter().all(|p| p.holds)
    }

    /// The verdict on the property `name`.
    pub fn property(&self, name: &str) -> Option<&PropertyOutcome> {
        self.properties.iter().find(|p| p.name == name)
    }

    /// A readable report: one line per property, then each counterexample step by step.
    pub fn report(&self) -> String {
        let mut out = String::new();
        let secs = self.elapsed.as_secs_f64();
        out.push_str(&format!(
            "  {} states, {} unique, depth {}, {:.1} s ({:.0} states/s)\n",
            self.states,
            self.unique,
            self.max_depth,
            secs,
            self.states as f64 / secs.max(1e-9)
        ));
        for p in &self.properties {
            let verdict = match (p.kind, p.holds) {
                ("sometimes", true) => "reached",
                ("sometimes", false) => "NOT REACHED",
                (_, true) => "held",
                (_, false) => "VIOLATED",
            };
            out.push_str(&format!("  {:<11} {:<10} {}\n", verdict, p.kind, p.name));
        }
        for p in self.properties.iter().filter(|p| p.kind != "sometimes" && !p.holds) {
            out.push_str(&format!("\n  counterexample for \"{}\":\n", p.name));
            for (i, s) in p.steps.iter().enumerate() {
                out.push_str(&format!("    {}. {s}\n", i + 1));
            }
            if let Some(r) = &p.replay {
                out.push_str(&format!("    replay: blindsync model explore, then open /#/steps/{r}\n"));
            }
        }
        out
    }
}

fn kind(e: &Expectation) -> &'static str {
    match e {
        Expectation::Always => "always",
        Expectation::Sometimes => "sometimes",
        Expectation::Eventually => "eventually",
    }
}

fn collect<C: Checker<Model>>(model: &Model, checker: &C, started: Instant) -> Outcome {
    let discoveries = checker.discoveries();
    let properties = model
        .properties()
        .iter()
        .map(|p| {
            let found = discoveries.get(p.name);
            let steps = found
                .map(|path| {
                    path.clone().into_vec().iter().filter_map(|(_, a)| a.as_ref().map(|a| describe(model, a))).collect()
                })
                .unwrap_or_default();
            let kind = kind(&p.expectation);
            Outcome::property_outcome(p.name, kind, found.is_some(), steps, found.map(|f| f.encode(model)))
        })
        .collect();
    Outcome {
        states: checker.state_count(),
        unique: checker.unique_state_count(),
        max_depth: checker.max_depth(),
        elapsed: started.elapsed(),
        properties,
    }
}

impl Outcome {
    fn property_outcome(
        name: &'static str,
        kind: &'static str,
        found: bool,
        steps: Vec<String>,
        replay: Option<String>,
    ) -> PropertyOutcome {
        let holds = if kind == "sometimes" { found } else { !found };
        PropertyOutcome { name, kind, holds, steps, replay }
    }
}

fn wait<C: Checker<Model>>(checker: &C, progress: bool, started: Instant) {
    let mut last = Instant::now();
    while !checker.is_done() {
        std::thread::sleep(Duration::from_millis(50));
        if progress && last.elapsed() > Duration::from_secs(5) {
            last = Instant::now();
            eprintln!(
                "  ... {} states, {} unique, depth {} after {:.0} s",
                checker.state_count(),
                checker.unique_state_count(),
                checker.max_depth(),
                started.elapsed().as_secs_f64()
            );
        }
    }
}

/// Exhausts `config` breadth-first on `threads` threads. [MODEL-6]
pub fn run_check(config: &Config, threads: usize, progress: bool) -> blindsync::error::Result<Outcome> {
    let model = Model::new(config.clone())?;
    let started = Instant::now();
    let checker = model.clone().checker().threads(threads.max(1)).spawn_bfs();
    wait(&checker, progress, started);
    let checker = checker.join();
    Ok(collect(&model, &checker, started))
}

/// Searches breadth-first until any safety property fails (the weakening
/// tests: the shortest attack). [MODEL-5]
pub fn find_violation(config: &Config, threads: usize) -> blindsync::error::Result<Outcome> {
    let model = Model::new(config.clone())?;
    let started = Instant::now();
    let checker =
        model.clone().checker().threads(threads.max(1)).finish_when(HasDiscoveries::AnyFailures).spawn_bfs().join();
    Ok(collect(&model, &checker, started))
}

/// Random walks of at most `steps` actions from seed `seed`, for
/// configurations too large to exhaust, until `max_states`. [MODEL-6]
pub fn run_simulation(
    config: &Config,
    seed: u64,
    steps: usize,
    max_states: usize,
    threads: usize,
) -> blindsync::error::Result<Outcome> {
    let model = Model::new(config.clone())?;
    let started = Instant::now();
    let checker = model
        .clone()
        .checker()
        .threads(threads.max(1))
        .target_max_depth(steps)
        .target_state_count(max_states)
        .spawn_simulation(seed, stateright::UniformChooser);
    wait(&checker, true, started);
    let checker = checker.join();
    Ok(collect(&model, &checker, started))
}

/// Serves stateright's web explorer for `config` on `address` (blocks). [MODEL-6]
pub fn explore(config: &Config, address: &str) -> blindsync::error::Result<()> {
    let model = Model::new(config.clone())?;
    let _ = model.checker().serve(address);
    Ok(())
}
