//! The scheduler reconciles desired state with actual state. Desired state is in the store
//! (each app's current release and formation); actual state is read back from the containers
//! that carry this instance's labels. Every pass starts missing processes, replaces crashed
//! ones, retires processes of older releases once their replacements answer, removes what is
//! no longer wanted, and publishes the route table. Because a pass derives everything from
//! those two sources, paasd can be killed at any point and the next pass picks up from there.

mod backoff;
mod config;
mod events;
mod health;
mod labels;
mod nodes;
mod reconcile;
mod release_phase;
mod scheduler;
mod swarm_pass;
pub mod swarm_plan;

pub use config::SchedulerConfig;
pub use nodes::{find_node, NodeView};
pub use release_phase::RELEASE_PHASE;
pub use scheduler::{ProcessView, ReleaseOutcome, Scheduler, SchedulerError};
