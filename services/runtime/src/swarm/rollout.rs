//! Where a service's last rolling update stands (`UpdateStatus`): what tells the scheduler a
//! release is deployed, or failed and rolled back by Swarm, with Swarm's reason.

use bollard::models::{Service, ServiceUpdateStatusStateEnum};

/// The state of a service's last update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rollout {
    /// Created and never updated since.
    Created,
    Updating,
    Completed,
    /// Stopped on a failure with the `pause` action.
    Paused {
        message: String,
    },
    /// A failed update is being rolled back to the previous spec.
    RollingBack {
        message: String,
    },
    /// The previous spec is back: the update failed.
    RolledBack {
        message: String,
    },
    RollbackPaused {
        message: String,
    },
}

impl Rollout {
    /// Still moving: wait and ask again.
    pub fn in_progress(&self) -> bool {
        matches!(self, Rollout::Updating | Rollout::RollingBack { .. })
    }

    /// Why the update failed, once it has (paused or rolled back).
    pub fn failure(&self) -> Option<&str> {
        match self {
            Rollout::Paused { message }
            | Rollout::RollingBack { message }
            | Rollout::RolledBack { message }
            | Rollout::RollbackPaused { message } => Some(message),
            _ => None,
        }
    }
}

/// The rollout of `service`, from its `UpdateStatus`.
pub fn rollout_of(service: &Service) -> Rollout {
    let Some(status) = service.update_status.as_ref() else {
        return Rollout::Created;
    };
    let message = status.message.clone().unwrap_or_default();
    match status.state {
        Some(ServiceUpdateStatusStateEnum::UPDATING) => Rollout::Updating,
        Some(ServiceUpdateStatusStateEnum::COMPLETED) => Rollout::Completed,
        Some(ServiceUpdateStatusStateEnum::PAUSED) => Rollout::Paused { message },
        Some(ServiceUpdateStatusStateEnum::ROLLBACK_STARTED) => Rollout::RollingBack { message },
        Some(ServiceUpdateStatusStateEnum::ROLLBACK_COMPLETED) => Rollout::RolledBack { message },
        Some(ServiceUpdateStatusStateEnum::ROLLBACK_PAUSED) => Rollout::RollbackPaused { message },
        _ => Rollout::Created,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(json: serde_json::Value) -> Service {
        serde_json::from_value(json).expect("a service")
    }

    #[test]
    fn a_service_never_updated_is_created_and_a_finished_update_completed() {
        let created = rollout_of(&service(serde_json::json!({"ID": "s"})));
        assert_eq!(created, Rollout::Created);
        assert!(!created.in_progress());
        let done = rollout_of(&service(serde_json::json!({
            "ID": "s", "UpdateStatus": {"State": "completed", "Message": "update completed"}
        })));
        assert_eq!(done, Rollout::Completed);
        assert_eq!(done.failure(), None);
    }

    #[test]
    fn a_rolled_back_update_is_a_failure_with_swarms_reason() {
        let rolling = rollout_of(&service(serde_json::json!({
            "ID": "s", "UpdateStatus": {"State": "rollback_started",
                "Message": "update rolled back due to failure or early termination of task x"}
        })));
        assert!(rolling.in_progress());
        assert!(rolling.failure().is_some());
        let back = rollout_of(&service(serde_json::json!({
            "ID": "s", "UpdateStatus": {"State": "rollback_completed", "Message": "rollback completed"}
        })));
        assert!(!back.in_progress());
        assert_eq!(back.failure(), Some("rollback completed"));
        let updating = rollout_of(&service(serde_json::json!({
            "ID": "s", "UpdateStatus": {"State": "updating", "Message": "update in progress"}
        })));
        assert!(updating.in_progress());
        assert_eq!(updating.failure(), None);
    }
}
