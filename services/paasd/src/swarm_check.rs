//! `PAAS_SCHEDULER=swarm` at start (issue 11, point 6): the engine paasd talks to must be a
//! Swarm manager; when it is not, paasd stops with one line that says so and how to fix it.
//! The default `docker` scheduler never gets here. The Swarm backend is not wired into the
//! scheduler yet (ARCHITECTURE.md, "Swarm (in progress)"): on a manager paasd says so and
//! runs processes on this engine as with `docker`.

use paas_runtime::swarm::{SwarmRuntime, SwarmState};

/// The one line paasd stops with on this engine's Swarm state; `None` on a manager.
pub fn startup_problem(state: SwarmState) -> Option<String> {
    state.problem()
}

/// Checks the engine at `DOCKER_HOST` (or the local socket).
pub async fn check() -> anyhow::Result<()> {
    let swarm = SwarmRuntime::connect()
        .await
        .map_err(|e| anyhow::anyhow!("PAAS_SCHEDULER=swarm: {e}"))?;
    let state = swarm
        .state()
        .await
        .map_err(|e| anyhow::anyhow!("PAAS_SCHEDULER=swarm: {e}"))?;
    if let Some(line) = startup_problem(state) {
        anyhow::bail!(line);
    }
    tracing::warn!(
        "PAAS_SCHEDULER=swarm: this engine is a Swarm manager, but the Swarm scheduler is not \
         wired in yet; processes run on this engine as with PAAS_SCHEDULER=docker"
    );
    Ok(())
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
