//! Write use-cases. Each owns its transaction; later ones enqueue deliveries inside it.

pub mod actor;
