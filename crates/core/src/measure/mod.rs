//! Measuring: the clock, the sampler (warm-up, batches, samples), the
//! machine's floors, the environment a run records, and [`record::build`],
//! the one place a result record is made. Uses `sys` only; knows nothing of
//! channels, backends or workloads.

pub mod clock;
pub mod deadline;
pub mod env;
pub mod events;
pub mod floors;
pub mod record;
pub mod rounds;
pub mod sampler;

pub use clock::mono_ns;
pub use deadline::Deadline;
