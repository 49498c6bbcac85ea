//! Running the checker and reading its results (spec 12.6).

use std::time::{Duration, Instant};

use stateright::{Checker, Expectation, HasDiscoveries, Model as _};

use crate::properties::describe;
use crate::system::{Config, Model};

/// What a property expects (stateright's `Expectation`, as the report names it). [MODEL-6]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PropertyKind {
    /// Holds in every reachable state: a counterexample violates it.
    Always,
    /// Holds in some reachable state: an example reaches it.
    Sometimes,
    /// Holds eventually on every path.
    Eventually,
}

impl PropertyKind {
    /// `always`, `sometimes` or `eventually`.
    pub const fn as_str(self) -> &'static str {
        match self {
            PropertyKind::Always => "always",
            PropertyKind::Sometimes => "sometimes",
            PropertyKind::Eventually => "eventually",
        }
    }

    fn of(e: &Expectation) -> Self {
        match e {
            Expectation::Always => PropertyKind::Always,
            Expectation::Sometimes => PropertyKind::Sometimes,
            Expectation::Eventually => PropertyKind::Eventually,
        }
    }
}

impl core::fmt::Display for PropertyKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.pad(self.as_str())
    }
}

/// The verdict on one property. [MODEL-6]
#[derive(Clone, Debug)]
pub struct PropertyOutcome {
    /// The property's name.
    pub name: &'static str,
    /// What it expects.
    pub kind: PropertyKind,
    /// `always`/`eventually`: no counterexample; `sometimes`: an example was found.
    pub holds: bool,
    /// The counterexample (or example), one line per step, if any.
    pub steps: Vec<String>,
    /// The same path as action indices (`blindsync model explore` follows it).
    pub replay: Option<String>,
    /// The same path as the index of each action among the actions enabled in the state before
    /// it (what [`counterexamples`] replays).
    pub path: Vec<usize>,
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

    /// The names of the violated `always` properties.
    pub fn violated(&self) -> Vec<&'static str> {
        self.properties.iter().filter(|p| p.kind == PropertyKind::Always && !p.holds).map(|p| p.name).collect()
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
                (PropertyKind::Sometimes, true) => "reached",
                (PropertyKind::Sometimes, false) => "NOT REACHED",
                (_, true) => "held",
                (_, false) => "VIOLATED",
            };
            out.push_str(&format!("  {:<11} {:<10} {}\n", verdict, p.kind, p.name));
        }
        for p in self.properties.iter().filter(|p| p.kind != PropertyKind::Sometimes && !p.holds) {
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

impl Outcome {
    /// Folds the outcome of another run of the same model into this one (a shard of a seeded
    /// simulation, [MODEL-6]): states and time add up, an `always` property holds if it held in
    /// both (the first counterexample is kept), a `sometimes` property is reached if either
    /// reached it.
    pub fn absorb(&mut self, other: Outcome) {
        self.states += other.states;
        self.unique += other.unique;
        self.max_depth = self.max_depth.max(other.max_depth);
        self.elapsed += other.elapsed;
        for q in other.properties {
            match self.properties.iter_mut().find(|p| p.name == q.name) {
                Some(p) if p.kind == PropertyKind::Sometimes => {
                    if !p.holds && q.holds {
                        *p = q;
                    }
                }
                Some(p) => {
                    if p.holds && !q.holds {
                        *p = q;
                    }
                }
                None => self.properties.push(q),
            }
        }
    }
}

fn collect<C: Checker<Model>>(model: &Model, checker: &C, started: Instant) -> Outcome {
    collect_outcome(model, checker, started, |a| describe(model, a))
}

/// The verdicts of a finished (or stopped) checker run of any model: one per
/// property, with its counterexample or example described step by step.
pub(crate) fn collect_outcome<M, C>(
    model: &M,
    checker: &C,
    started: Instant,
    describe: impl Fn(&M::Action) -> String,
) -> Outcome
where
    M: stateright::Model,
    M::State: Clone + PartialEq + core::hash::Hash,
    M::Action: Clone + PartialEq,
    C: Checker<M>,
{
    let discoveries = checker.discoveries();
    let properties = model
        .properties()
        .iter()
        .map(|p| {
            let found = discoveries.get(p.name);
            let steps = found
                .map(|path| path.clone().into_vec().iter().filter_map(|(_, a)| a.as_ref().map(&describe)).collect())
                .unwrap_or_default();
            let kind = PropertyKind::of(&p.expectation);
            let holds = if kind == PropertyKind::Sometimes { found.is_some() } else { found.is_none() };
            let path = found
                .map(|f| {
                    f.clone()
                        .into_vec()
                        .iter()
                        .filter_map(|(state, action)| {
                            let mut enabled = Vec::new();
                            model.actions(state, &mut enabled);
                            enabled.iter().position(|a| Some(a) == action.as_ref())
                        })
                        .collect()
                })
                .unwrap_or_default();
            PropertyOutcome { name: p.name, kind, holds, steps, replay: found.map(|f| f.encode(model)), path }
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
    Ok(run_model(&Model::new(config.clone())?, threads, progress))
}

/// Exhausts a built `model` breadth-first on `threads` threads. [MODEL-6]
pub fn run_model(model: &Model, threads: usize, progress: bool) -> Outcome {
    run_model_with(model, threads, progress, Search::BreadthFirst)
}

/// The order in which a run visits the space. Exhausting it, both visit the same states and
/// reach the same verdicts; they differ in memory and in the counterexamples reported. [MODEL-6]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Search {
    /// Breadth-first: every counterexample is a shortest one (with one thread); the frontier
    /// of whole states is kept in memory.
    #[default]
    BreadthFirst,
    /// Depth-first: memory for the fingerprints and one path's successors only; a
    /// counterexample may be longer than the shortest.
    DepthFirst,
}

/// Exhausts a built `model` in the order `search` says on `threads` threads. [MODEL-6]
pub fn run_model_with(model: &Model, threads: usize, progress: bool, search: Search) -> Outcome {
    let started = Instant::now();
    let builder = model.clone().checker().threads(threads.max(1));
    match search {
        Search::BreadthFirst => {
            let checker = builder.spawn_bfs();
            wait(&checker, progress, started);
            collect(model, &checker.join(), started)
        }
        Search::DepthFirst => {
            let checker = builder.spawn_dfs();
            wait(&checker, progress, started);
            collect(model, &checker.join(), started)
        }
    }
}

/// Exhausts a built `model` depth-first on `threads` threads (memory for fingerprints, not for a
/// breadth-first frontier of whole states) and, if an `always` property failed, searches
/// breadth-first until each violated property has a counterexample there, and reports that
/// one: a shortest counterexample (with one thread) and the exhaustive run's verdicts.
/// What `blindsync check` and `blindsync model check` run. [MODEL-6]
pub fn run_model_exhaustive(model: &Model, threads: usize, progress: bool) -> Outcome {
    let started = Instant::now();
    let mut out = run_model_with(model, threads, progress, Search::DepthFirst);
    let violated: std::collections::BTreeSet<&'static str> = out.violated().into_iter().collect();
    if !violated.is_empty() {
        let checker =
            model.clone().checker().threads(threads.max(1)).finish_when(HasDiscoveries::AllOf(violated)).spawn_bfs();
        wait(&checker, progress, started);
        let short = collect(model, &checker.join(), started);
        for p in out.properties.iter_mut().filter(|p| p.kind == PropertyKind::Always && !p.holds) {
            if let Some(q) = short.property(p.name).filter(|q| !q.holds) {
                p.steps = q.steps.clone();
                p.replay = q.replay.clone();
                p.path = q.path.clone();
            }
        }
    }
    out.elapsed = started.elapsed();
    out
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

/// Searches `model` (a configuration, with the test hooks of [`crate::system::Mutants`])
/// breadth-first until any safety property fails: the mutation tests. [MODEL-17]
pub fn find_violation_in(model: &Model, threads: usize) -> Outcome {
    let started = Instant::now();
    let checker =
        model.clone().checker().threads(threads.max(1)).finish_when(HasDiscoveries::AnyFailures).spawn_bfs().join();
    collect(model, &checker, started)
}

/// One step of a counterexample: the action, in words and as its index among the actions
/// enabled before it, and every request the devices sent during it with the response the
/// adversary gave, as encoded on the wire (chapter 11). [MODEL-6]
#[derive(Clone, Debug)]
pub struct Step {
    /// The action in words.
    pub action: String,
    /// Its index among the actions enabled in the state before it.
    pub index: usize,
    /// `(request, response)` pairs, wire-encoded, in order.
    pub exchanges: Vec<(Vec<u8>, Vec<u8>)>,
}

/// A violated `always` property with its path replayed step by step. [MODEL-6]
#[derive(Clone, Debug)]
pub struct Counterexample {
    /// The property.
    pub property: &'static str,
    /// The explorer path (`blindsync model explore`).
    pub replay: Option<String>,
    /// The steps from the initial state.
    pub steps: Vec<Step>,
}

/// Replays every counterexample of `outcome` (a run of `model`) from the initial state,
/// recording what each step sent and received. [MODEL-6]
pub fn counterexamples(model: &Model, outcome: &Outcome) -> Vec<Counterexample> {
    let mut traced = model.clone();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    traced.transcript = Some(log.clone());
    outcome
        .properties
        .iter()
        .filter(|p| p.kind == PropertyKind::Always && !p.holds)
        .map(|p| {
            let mut state = traced.init();
            let mut steps = Vec::new();
            for &index in &p.path {
                let mut enabled = Vec::new();
                traced.enabled(&state, &mut enabled);
                let Some(action) = enabled.get(index).copied() else { break };
                if let Ok(mut l) = log.lock() {
                    l.clear();
                }
                let Some(next) = traced.step(&state, action) else { break };
                let exchanges = log.lock().map(|l| l.clone()).unwrap_or_default();
                steps.push(Step { action: describe(&traced, &action), index, exchanges });
                state = next;
            }
            Counterexample { property: p.name, replay: p.replay.clone(), steps }
        })
        .collect()
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
