//! jukistore-core: the native core of jukistore, a record store for Japan's Basic Resident
//! Register. Pure Rust with no Python dependency, so it can be tested with `cargo test` and
//! reused outside the Python package.

pub mod alloc;
pub mod ids;
pub mod reconcile;
pub mod scan;
pub mod store;
