//! The labels that tie a container to the desired state: which paasd, app, release and slot.

use paas_runtime::ContainerInfo;
use std::collections::BTreeMap;

pub const INSTANCE: &str = "paas.instance";
pub const ROLE: &str = "paas.role";
pub const APP: &str = "paas.app";
pub const RELEASE: &str = "paas.release";
pub const VERSION: &str = "paas.version";
pub const PROCESS: &str = "paas.process";
pub const INDEX: &str = "paas.index";
/// Set on processes that run with a size of their own (`ps:resize`), e.g. `1024m500c`.
pub const SIZE: &str = "paas.size";

/// Set on processes started after a `paas restart` of their type: the type's generation.
pub const RESTART: &str = "paas.restart";

/// What a process must carry to count as current: its release, plus its size when resized and
/// its restart generation when restarted (`<release>~1024m500c~r2`).
pub fn deployment_key(release: &str, size: Option<&str>, restart: Option<u64>) -> String {
    let mut key = release.to_string();
    if let Some(size) = size {
        key.push('~');
        key.push_str(size);
    }
    if let Some(generation) = restart {
        key.push_str(&format!("~r{generation}"));
    }
    key
}

/// The role value of long-running app processes.
pub const ROLE_PROCESS: &str = "process";
/// The role value of a release phase's container (one per release, before its rollout).
pub const ROLE_RELEASE: &str = "release";
/// The role value of one-off processes (`paas run`); reconcile passes never list them.
pub const ROLE_RUN: &str = "run";

/// A process slot: type and number, as in `web.1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slot {
    pub process: String,
    pub index: u32,
}

impl Slot {
    /// The `DYNO` name, e.g. `web.1`.
    pub fn dyno(&self) -> String {
        format!("{}.{}", self.process, self.index)
    }
}

/// What the labels of one of our process containers say.
#[derive(Debug, Clone)]
pub struct ProcessLabels {
    pub app: String,
    /// The deployment key (`deployment_key`) the reconcile plan compares with the desired one.
    pub release: String,
    pub slot: Slot,
}

impl ProcessLabels {
    pub fn read(container: &ContainerInfo) -> Option<Self> {
        let get = |k: &str| container.labels.get(k).cloned();
        Some(Self {
            app: get(APP)?,
            release: deployment_key(
                &get(RELEASE)?,
                get(SIZE).as_deref(),
                get(RESTART).and_then(|g| g.parse().ok()),
            ),
            slot: Slot {
                process: get(PROCESS)?,
                index: get(INDEX)?.parse().ok()?,
            },
        })
    }
}

/// Label filter selecting this instance's process containers.
pub fn process_filter(instance_id: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (INSTANCE.to_string(), instance_id.to_string()),
        (ROLE.to_string(), ROLE_PROCESS.to_string()),
    ])
}
