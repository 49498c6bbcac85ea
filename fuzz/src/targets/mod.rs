//! One module per target, each with `MAX_LEN`, `run(&[u8])` and
//! `seeds(&Vectors)`. The module list and [`ALL`] both come from
//! [`crate::for_each_target!`].

use crate::Target;

macro_rules! registry {
    ($($name:ident),* $(,)?) => {
        $(pub mod $name;)*

        /// Every target, in registry order.
        pub const ALL: &[Target] = &[
            $(Target { name: stringify!($name), run: $name::run, seeds: $name::seeds, max_len: $name::MAX_LEN },)*
        ];
    };
}

crate::for_each_target!(registry);
