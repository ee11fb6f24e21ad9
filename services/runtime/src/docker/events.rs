//! Following the engine's container events (a process died, was killed for memory, started),
//! filtered by labels, so the scheduler learns of a dead process at once instead of at its
//! next pass.

use super::{errors, DockerRuntime};
use crate::spec::{ContainerEvent, ContainerEventKind};
use crate::Result;
use bollard::models::EventMessage;
use bollard::system::EventsOptions;
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap};
use tokio::sync::mpsc;

impl DockerRuntime {
    pub(crate) async fn watch_events_impl(
        &self,
        labels: &BTreeMap<String, String>,
        sink: mpsc::Sender<ContainerEvent>,
    ) -> Result<()> {
        let filters = HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            (
                "event".to_string(),
                vec!["die".to_string(), "oom".to_string(), "start".to_string()],
            ),
            (
                "label".to_string(),
                labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            ),
        ]);
        let options = EventsOptions::<String> {
            filters,
            ..Default::default()
        };
        let mut stream = self.docker.events(Some(options));
        while let Some(item) = stream.next().await {
            let Some(event) = container_event(item.map_err(errors::map)?) else {
                continue;
            };
            if sink.send(event).await.is_err() {
                return Ok(());
            }
        }
        Ok(())
    }
}

/// The event as the platform sees it; `None` for events it does not follow.
fn container_event(message: EventMessage) -> Option<ContainerEvent> {
    let actor = message.actor?;
    let id = actor.id?;
    let attributes = actor.attributes.unwrap_or_default();
    let kind = match message.action.as_deref()? {
        "die" => ContainerEventKind::Died {
            exit_code: attributes.get("exitCode").and_then(|c| c.parse().ok()),
        },
        "oom" => ContainerEventKind::OutOfMemory,
        "start" => ContainerEventKind::Started,
        _ => return None,
    };
    Some(ContainerEvent { id, kind })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::EventActor;

    fn message(action: &str, attributes: &[(&str, &str)]) -> EventMessage {
        EventMessage {
            action: Some(action.to_string()),
            actor: Some(EventActor {
                id: Some("abc".to_string()),
                attributes: Some(
                    attributes
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect(),
                ),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn die_oom_and_start_are_read_and_others_ignored() {
        assert_eq!(
            container_event(message("die", &[("exitCode", "137")])),
            Some(ContainerEvent {
                id: "abc".to_string(),
                kind: ContainerEventKind::Died {
                    exit_code: Some(137)
                }
            })
        );
        assert_eq!(
            container_event(message("oom", &[])).map(|e| e.kind),
            Some(ContainerEventKind::OutOfMemory)
        );
        assert_eq!(
            container_event(message("start", &[])).map(|e| e.kind),
            Some(ContainerEventKind::Started)
        );
        assert_eq!(container_event(message("attach", &[])), None);
        assert_eq!(
            container_event(EventMessage {
                action: Some("die".to_string()),
                ..Default::default()
            }),
            None
        );
    }
}
