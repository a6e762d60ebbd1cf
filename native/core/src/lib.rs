//! sigma-core: placeholder crate root, replaced by the engine.
