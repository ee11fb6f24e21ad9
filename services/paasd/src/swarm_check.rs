//! The Swarm at start (issue 11, point 6). With `PAAS_SCHEDULER=swarm` the engine paasd
//! talks to must be a Swarm manager; when it is not, paasd stops with one line that says so
//! and how to fix it. With the default `docker`, paasd still uses the Swarm when its engine
//! happens to be a manager (for apps that choose it with `paas scheduler:set swarm`), and
//! otherwise runs exactly as before, without a word about Swarm.

use crate::config::SchedulerKind;
use paas_runtime::swarm::{SwarmRuntime, SwarmState};

/// The one line paasd stops with on this engine's Swarm state; `None` on a manager.
pub fn startup_problem(state: SwarmState) -> Option<String> {
    state.problem()
}

/// The Swarm manager at `DOCKER_HOST` (or the local socket), when there is one.
pub async fn connect(scheduler: SchedulerKind) -> anyhow::Result<Option<SwarmRuntime>> {
    let required = scheduler == SchedulerKind::Swarm;
    let swarm = match SwarmRuntime::connect().await {
        Ok(swarm) => swarm,
        Err(e) if required => anyhow::bail!("PAAS_SCHEDULER=swarm: {e}"),
        Err(_) => return Ok(None),
    };
    let state = match swarm.state().await {
        Ok(state) => state,
        Err(e) if required => anyhow::bail!("PAAS_SCHEDULER=swarm: {e}"),
        Err(_) => return Ok(None),
    };
    match startup_problem(state) {
        None => {
            tracing::info!(
                default = required,
                "this engine is a Swarm manager: apps can run on the Swarm"
            );
            Ok(Some(swarm))
        }
        Some(line) if required => anyhow::bail!(line),
        Some(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_outside_a_swarm_gets_one_line_with_the_init_command() {
        let line = startup_problem(SwarmState::Inactive).expect("a problem");
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(line.starts_with("PAAS_SCHEDULER=swarm but "), "{line}");
        assert!(
            line.contains("`docker swarm init --advertise-addr <this host's address>`"),
            "{line}"
        );
    }

    #[test]
    fn a_worker_is_told_to_use_a_manager_and_a_manager_passes() {
        let line = startup_problem(SwarmState::Worker).expect("a problem");
        assert!(line.contains("docker node promote"), "{line}");
        assert_eq!(startup_problem(SwarmState::Manager), None);
    }
}
