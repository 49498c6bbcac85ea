//! The stateright `Model` implementation: the transitions of
//! [`crate::system`] checked against the properties of
//! [`crate::properties`]. Kept apart so that the system does not depend on
//! its properties (spec 12.3, 12.4).

use crate::system::{Action, Model, State};

impl stateright::Model for Model {
    type State = State;
    type Action = Action;

    fn init_states(&self) -> Vec<State> {
        vec![self.init()]
    }

    fn actions(&self, state: &State, actions: &mut Vec<Action>) {
        self.enabled(state, actions);
    }

    fn next_state(&self, last: &State, action: Action) -> Option<State> {
        self.step(last, action)
    }

    fn properties(&self) -> Vec<stateright::Property<Self>> {
        crate::properties::all(self)
    }

    fn format_action(&self, action: &Action) -> String {
        crate::properties::describe(self, action)
    }
}
