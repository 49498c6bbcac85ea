//! [MODEL-19] The cache of pure primitives changes nothing the checker explores or concludes:
//! the same configuration, exhausted with the library's cache off and then on, has the same
//! state counts, depth and verdicts (and the same counterexample paths). Its own test binary, so
//! that no other test switches the process-wide cache while it runs.

use std::collections::BTreeSet;

use blindsync::danger::memo;
use blindsync_model::runner::run_model;
use blindsync_model::{Capability, Config, Model};

fn verdicts(out: &blindsync_model::Outcome) -> Vec<(&'static str, bool, Vec<usize>)> {
    out.properties.iter().map(|p| (p.name, p.holds, p.path.clone())).collect()
}

#[test]
fn cache_changes_no_state_count_and_no_verdict() {
    // a revocation, a fork, a collusion and a withholding: every cached primitive is exercised
    let config = Config {
        capabilities: BTreeSet::from([
            Capability::Withhold,
            Capability::ForkChain,
            Capability::Collude,
            Capability::CompromiseThenInstall,
        ]),
        writes: 1,
        ..Config::default()
    };
    let model = Model::new(config).unwrap();
    memo::set_enabled(false);
    let without = run_model(&model, 1, false);
    memo::set_enabled(true);
    let with = run_model(&model, 1, false);
    memo::set_enabled(false);
    println!("without the cache:\n{}\nwith it:\n{}", without.report(), with.report());
    assert!(without.unique > 1_000, "too small a space to show anything");
    assert_eq!((without.states, without.unique, without.max_depth), (with.states, with.unique, with.max_depth));
    assert_eq!(verdicts(&without), verdicts(&with));
}
