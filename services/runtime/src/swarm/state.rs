//! Whether the engine paasd talks to can run Swarm services, and the one line that says how to
//! fix it when it cannot (issue 11, point 6).

use bollard::models::{LocalNodeState, SystemInfo};

/// The engine's place in a Swarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwarmState {
    /// Not part of a Swarm (`docker swarm init` never ran, or it left).
    Inactive,
    /// Joining, or a manager that lost its quorum: services cannot be changed now.
    Pending,
    /// A worker: it runs tasks but cannot create services.
    Worker,
    /// A manager: paasd can create and scale services through it.
    Manager,
    /// Locked (autolock) or in error.
    Unavailable,
}

impl SwarmState {
    /// From the engine's `docker info`.
    pub fn of(info: &SystemInfo) -> SwarmState {
        let Some(swarm) = info.swarm.as_ref() else {
            return SwarmState::Inactive;
        };
        match swarm.local_node_state {
            Some(LocalNodeState::ACTIVE) if swarm.control_available == Some(true) => {
                SwarmState::Manager
            }
            Some(LocalNodeState::ACTIVE) => SwarmState::Worker,
            Some(LocalNodeState::PENDING) => SwarmState::Pending,
            Some(LocalNodeState::LOCKED | LocalNodeState::ERROR) => SwarmState::Unavailable,
            _ => SwarmState::Inactive,
        }
    }

    /// `None` when paasd can schedule on this engine; else one line saying why not and the
    /// command that fixes it.
    pub fn problem(self) -> Option<String> {
        match self {
            SwarmState::Manager => None,
            SwarmState::Inactive => Some(
                "PAAS_SCHEDULER=swarm but this Docker engine is not in a Swarm: run \
                 `docker swarm init --advertise-addr <this host's address>` (or unset \
                 PAAS_SCHEDULER for the single-host scheduler)"
                    .to_string(),
            ),
            SwarmState::Worker => Some(
                "PAAS_SCHEDULER=swarm but this Docker engine is a Swarm worker: point paasd at \
                 a manager, or promote this node with `docker node promote <node>` on a manager"
                    .to_string(),
            ),
            SwarmState::Pending => Some(
                "PAAS_SCHEDULER=swarm but this engine's Swarm has no leader yet (joining, or \
                 managers lost their quorum): see `docker node ls` on a manager"
                    .to_string(),
            ),
            SwarmState::Unavailable => Some(
                "PAAS_SCHEDULER=swarm but this engine's Swarm is locked or in error: run \
                 `docker swarm unlock`, or see `docker info`"
                    .to_string(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(json: serde_json::Value) -> SystemInfo {
        serde_json::from_value(json).expect("info")
    }

    #[test]
    fn the_engines_swarm_state_is_read_from_docker_info() {
        assert_eq!(
            SwarmState::of(&info(serde_json::json!({}))),
            SwarmState::Inactive
        );
        assert_eq!(
            SwarmState::of(&info(
                serde_json::json!({"Swarm": {"LocalNodeState": "inactive"}})
            )),
            SwarmState::Inactive
        );
        assert_eq!(
            SwarmState::of(&info(
                serde_json::json!({"Swarm": {"LocalNodeState": "active", "ControlAvailable": true}})
            )),
            SwarmState::Manager
        );
        assert_eq!(
            SwarmState::of(&info(
                serde_json::json!({"Swarm": {"LocalNodeState": "active", "ControlAvailable": false}})
            )),
            SwarmState::Worker
        );
        assert_eq!(
            SwarmState::of(&info(
                serde_json::json!({"Swarm": {"LocalNodeState": "locked"}})
            )),
            SwarmState::Unavailable
        );
    }

    #[test]
    fn only_a_manager_has_no_problem_and_each_problem_is_one_line_with_the_fix() {
        assert_eq!(SwarmState::Manager.problem(), None);
        let inactive = SwarmState::Inactive.problem().expect("a problem");
        assert!(!inactive.contains('\n'));
        assert!(
            inactive.contains("docker swarm init --advertise-addr"),
            "{inactive}"
        );
        for state in [
            SwarmState::Worker,
            SwarmState::Pending,
            SwarmState::Unavailable,
        ] {
            let line = state.problem().expect("a problem");
            assert!(line.starts_with("PAAS_SCHEDULER=swarm"), "{line}");
            assert!(!line.contains('\n'), "{line}");
        }
    }
}
