//! Where an app's processes run (`PAAS_SCHEDULER`, `paas scheduler:set`): as containers on
//! paasd's own Docker engine (`docker`), or as Swarm services spread over the Swarm's nodes
//! (`swarm`).

use std::fmt;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SchedulerKind {
    #[default]
    Docker,
    Swarm,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scheduler {0:?}: use docker or swarm")]
pub struct SchedulerKindError(pub String);

impl SchedulerKind {
    pub fn parse(text: &str) -> Result<Self, SchedulerKindError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "docker" | "local" => Ok(SchedulerKind::Docker),
            "swarm" => Ok(SchedulerKind::Swarm),
            // Echoed back in the error: a careless or hostile value is cut short.
            _ => Err(SchedulerKindError(text.chars().take(40).collect())),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SchedulerKind::Docker => "docker",
            SchedulerKind::Swarm => "swarm",
        }
    }
}

impl fmt::Display for SchedulerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_names_and_refuses_others() {
        assert_eq!(SchedulerKind::parse(" Swarm"), Ok(SchedulerKind::Swarm));
        assert_eq!(SchedulerKind::parse("docker"), Ok(SchedulerKind::Docker));
        assert_eq!(SchedulerKind::parse("local"), Ok(SchedulerKind::Docker));
        assert!(SchedulerKind::parse("k8s").is_err());
        assert!(SchedulerKind::parse("").is_err());
        let huge = "x".repeat(1_000_000);
        let line = SchedulerKind::parse(&huge).unwrap_err().to_string();
        assert!(line.len() < 100, "{line}");
        assert_eq!(SchedulerKind::Swarm.to_string(), "swarm");
        assert_eq!(SchedulerKind::default(), SchedulerKind::Docker);
    }
}
