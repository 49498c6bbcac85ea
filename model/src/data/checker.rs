//! The stateright `Model` implementation of the data-path model: the
//! transitions of [`super::system`] checked against [`super::properties`].
//! Kept apart so that the system does not depend on its properties (spec 12.7).

use super::system::{DataAction, DataModel, DataState};

impl stateright::Model for DataModel {
    type State = DataState;
    type Action = DataAction;

    fn init_states(&self) -> Vec<DataState> {
        vec![self.init()]
    }

    fn actions(&self, s: &DataState, out: &mut Vec<DataAction>) {
        self.actions_in(s, out);
    }

    fn next_state(&self, s: &DataState, a: DataAction) -> Option<DataState> {
        self.step(s, a)
    }

    fn properties(&self) -> Vec<stateright::Property<Self>> {
        super::properties::all(self)
    }
}
