//! Shared by the model's test files.

use blindsync_model::{Action, Model, State};

/// Every state along `actions` from the initial state; each action must change the state.
pub fn run(m: &Model, actions: &[Action]) -> Vec<State> {
    let mut states = vec![m.init()];
    for a in actions {
        let s = states.last().unwrap();
        let n = m.step(s, *a).unwrap_or_else(|| panic!("{a:?} did nothing"));
        states.push(n);
    }
    states
}
