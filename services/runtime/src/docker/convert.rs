//! Conversions between the crate's plain types (`ContainerSpec`, `ContainerInfo`,
//! `ImageConfig`) and bollard's API types. Pure functions, no I/O.

use crate::spec::{ContainerInfo, ContainerSpec, ContainerState, ImageConfig, MountKind};
use bollard::container::Config;
use bollard::models::{
    ContainerInspectResponse, ContainerStateStatusEnum, ContainerSummary, EndpointSettings,
    HostConfig, Mount, MountTypeEnum,
};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;

/// `K=V` strings as the engine expects environment variables.
pub(crate) fn env_list(env: &BTreeMap<String, String>) -> Vec<String> {
    env.iter().map(|(k, v)| format!("{k}={v}")).collect()
}

fn label_map(labels: &BTreeMap<String, String>) -> HashMap<String, String> {
    labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

/// The create-container body for a spec.
pub(crate) fn container_config(spec: &ContainerSpec) -> Config<String> {
    let mounts: Vec<Mount> = spec
        .mounts
        .iter()
        .map(|m| Mount {
            target: Some(m.target.clone()),
            source: Some(m.source.clone()),
            typ: Some(match m.kind {
                MountKind::Bind => MountTypeEnum::BIND,
                MountKind::Volume => MountTypeEnum::VOLUME,
            }),
            read_only: Some(m.read_only),
            ..Default::default()
        })
        .collect();
    let host_config = HostConfig {
        mounts: (!mounts.is_empty()).then_some(mounts),
        memory: spec.memory_bytes,
        nano_cpus: spec.nano_cpus,
        pids_limit: spec.pids_limit,
        cap_drop: spec.drop_capabilities.then(|| vec!["ALL".to_string()]),
        cap_add: (!spec.capabilities.is_empty()).then(|| spec.capabilities.clone()),
        security_opt: spec
            .drop_capabilities
            .then(|| vec!["no-new-privileges".to_string()]),
        network_mode: spec.network.clone(),
        init: spec.init.then_some(true),
        auto_remove: spec.auto_remove.then_some(true),
        ..Default::default()
    };
    Config {
        image: Some(spec.image.clone()),
        entrypoint: spec.entrypoint.clone(),
        cmd: spec.cmd.clone(),
        env: Some(env_list(&spec.env)),
        labels: Some(label_map(&spec.labels)),
        user: spec.user.clone(),
        working_dir: spec.working_dir.clone(),
        tty: Some(spec.tty),
        attach_stdin: Some(spec.open_stdin),
        open_stdin: Some(spec.open_stdin),
        stdin_once: spec.open_stdin.then_some(true),
        host_config: Some(host_config),
        ..Default::default()
    }
}

/// The commit body for an image config. An unset entrypoint is sent as an empty list so the
/// image gets none (the engine would otherwise copy the container's).
pub(crate) fn commit_config(config: &ImageConfig) -> Config<String> {
    Config {
        env: Some(env_list(&config.env)),
        entrypoint: Some(config.entrypoint.clone().unwrap_or_default()),
        cmd: config.cmd.clone(),
        working_dir: config.working_dir.clone(),
        user: config.user.clone(),
        labels: Some(label_map(&config.labels)),
        ..Default::default()
    }
}

/// Splits `repo[:tag]` (a registry host may carry a port: `host:5000/repo`) into repo and tag,
/// with `latest` when no tag is given.
pub(crate) fn split_image_ref(image: &str) -> (String, String) {
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(colon) => {
            let at = last_slash + colon;
            (image[..at].to_string(), image[at + 1..].to_string())
        }
        None => (image.to_string(), "latest".to_string()),
    }
}

pub(crate) fn state_from_str(state: &str) -> ContainerState {
    match state {
        "created" => ContainerState::Created,
        "running" => ContainerState::Running,
        "exited" | "dead" | "removing" => ContainerState::Exited,
        _ => ContainerState::Other,
    }
}

fn state_from_enum(status: ContainerStateStatusEnum) -> ContainerState {
    use ContainerStateStatusEnum as S;
    match status {
        S::CREATED => ContainerState::Created,
        S::RUNNING => ContainerState::Running,
        S::EXITED | S::DEAD | S::REMOVING => ContainerState::Exited,
        S::EMPTY | S::PAUSED | S::RESTARTING => ContainerState::Other,
    }
}

fn is_builtin_network(name: &str) -> bool {
    matches!(name, "bridge" | "host" | "none" | "default")
}

/// The container's address: on the network named by its network mode when it has one there,
/// else on the first user-defined network (by name), else on the first network.
pub(crate) fn pick_ip(
    network_mode: Option<&str>,
    networks: Option<&HashMap<String, EndpointSettings>>,
) -> Option<IpAddr> {
    let networks = networks?;
    let ip_of = |name: &str| -> Option<IpAddr> {
        networks
            .get(name)?
            .ip_address
            .as_deref()
            .filter(|ip| !ip.is_empty())?
            .parse()
            .ok()
    };
    if let Some(ip) = network_mode.and_then(ip_of) {
        return Some(ip);
    }
    let mut names: Vec<&String> = networks.keys().collect();
    names.sort_by_key(|n| (is_builtin_network(n), n.as_str()));
    names.into_iter().find_map(|n| ip_of(n))
}

fn strip_slash(name: &str) -> String {
    name.strip_prefix('/').unwrap_or(name).to_string()
}

fn labels_of(labels: Option<HashMap<String, String>>) -> BTreeMap<String, String> {
    labels.unwrap_or_default().into_iter().collect()
}

pub(crate) fn info_from_summary(summary: ContainerSummary) -> Option<ContainerInfo> {
    let id = summary.id?;
    let name = summary
        .names
        .as_ref()
        .and_then(|names| names.first())
        .map(|n| strip_slash(n))
        .unwrap_or_default();
    let network_mode = summary
        .host_config
        .as_ref()
        .and_then(|h| h.network_mode.as_deref());
    let networks = summary
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref());
    let state = state_from_str(summary.state.as_deref().unwrap_or(""));
    Some(ContainerInfo {
        ip: pick_ip(network_mode, networks),
        id,
        name,
        labels: labels_of(summary.labels),
        state,
        created: summary.created.unwrap_or(0),
    })
}

pub(crate) fn info_from_inspect(inspect: ContainerInspectResponse) -> Option<ContainerInfo> {
    let id = inspect.id?;
    let state = inspect
        .state
        .as_ref()
        .and_then(|s| s.status)
        .map(state_from_enum)
        .unwrap_or(ContainerState::Other);
    let network_mode = inspect
        .host_config
        .as_ref()
        .and_then(|h| h.network_mode.as_deref());
    let networks = inspect
        .network_settings
        .as_ref()
        .and_then(|n| n.networks.as_ref());
    Some(ContainerInfo {
        ip: pick_ip(network_mode, networks),
        id,
        name: inspect.name.as_deref().map(strip_slash).unwrap_or_default(),
        labels: labels_of(inspect.config.and_then(|c| c.labels)),
        state,
        created: inspect
            .created
            .as_deref()
            .and_then(parse_rfc3339_seconds)
            .unwrap_or(0),
    })
}

/// Unix seconds of an RFC 3339 UTC timestamp as the engine writes them
/// (`2024-05-01T12:34:56.123456789Z`); fractional seconds are dropped. Offsets other than `Z`
/// are applied.
pub(crate) fn parse_rfc3339_seconds(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> { s.get(from..to)?.parse().ok() };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, min, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Skip fractional seconds, then read the offset.
    let rest = s.get(19..)?;
    let rest = rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let h: i64 = rest.get(1..3)?.parse().ok()?;
            let m: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (h * 3600 + m * 60)
        }
    };
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Mount as SpecMount;

    #[test]
    fn parses_engine_timestamps() {
        assert_eq!(parse_rfc3339_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339_seconds("2024-02-29T12:00:01.123456789Z"),
            Some(1_709_208_001)
        );
        assert_eq!(
            parse_rfc3339_seconds("2024-02-29T14:00:01+02:00"),
            Some(1_709_208_001)
        );
        assert_eq!(
            parse_rfc3339_seconds("0001-01-01T00:00:00Z"),
            Some(-62_135_596_800)
        );
        assert_eq!(parse_rfc3339_seconds("garbage"), None);
    }

    #[test]
    fn splits_image_refs() {
        let s = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            split_image_ref("debian:bookworm-slim"),
            s("debian", "bookworm-slim")
        );
        assert_eq!(split_image_ref("debian"), s("debian", "latest"));
        assert_eq!(split_image_ref("paas/app:v3"), s("paas/app", "v3"));
        assert_eq!(
            split_image_ref("host:5000/a/b"),
            s("host:5000/a/b", "latest")
        );
        assert_eq!(split_image_ref("host:5000/a/b:t"), s("host:5000/a/b", "t"));
    }

    #[test]
    fn picks_the_user_defined_network() {
        let ep = |ip: &str| EndpointSettings {
            ip_address: Some(ip.to_string()),
            ..Default::default()
        };
        let mut nets = HashMap::new();
        nets.insert("bridge".to_string(), ep("172.17.0.2"));
        nets.insert("paas".to_string(), ep("172.20.0.5"));
        nets.insert("other".to_string(), ep(""));
        let want: IpAddr = "172.20.0.5".parse().unwrap();
        assert_eq!(pick_ip(Some("paas"), Some(&nets)), Some(want));
        assert_eq!(pick_ip(Some("default"), Some(&nets)), Some(want));
        assert_eq!(pick_ip(None, Some(&nets)), Some(want));
        nets.remove("paas");
        assert_eq!(pick_ip(None, Some(&nets)), "172.17.0.2".parse().ok());
        nets.clear();
        nets.insert("paas".to_string(), ep(""));
        assert_eq!(pick_ip(Some("paas"), Some(&nets)), None);
        assert_eq!(pick_ip(None, None), None);
    }

    #[test]
    fn spec_maps_to_host_config() {
        let spec = ContainerSpec {
            image: "img".into(),
            env: [("A".to_string(), "1".to_string())].into(),
            network: Some("net".into()),
            mounts: vec![SpecMount {
                kind: MountKind::Volume,
                source: "vol".into(),
                target: "/data".into(),
                read_only: true,
            }],
            memory_bytes: Some(64 << 20),
            drop_capabilities: true,
            init: true,
            ..Default::default()
        };
        let config = container_config(&spec);
        assert_eq!(config.env, Some(vec!["A=1".to_string()]));
        let host = config.host_config.unwrap();
        assert_eq!(host.cap_drop, Some(vec!["ALL".to_string()]));
        assert_eq!(
            host.security_opt,
            Some(vec!["no-new-privileges".to_string()])
        );
        assert_eq!(host.network_mode.as_deref(), Some("net"));
        assert_eq!(host.init, Some(true));
        assert_eq!(host.memory, Some(64 << 20));
        let mount = &host.mounts.unwrap()[0];
        assert_eq!(mount.typ, Some(MountTypeEnum::VOLUME));
        assert_eq!(mount.read_only, Some(true));

        let plain = container_config(&ContainerSpec::default())
            .host_config
            .unwrap();
        assert_eq!(
            (plain.cap_drop, plain.init, plain.mounts, plain.auto_remove),
            (None, None, None, None)
        );
    }

    #[test]
    fn attached_specs_open_stdin_once_with_a_terminal() {
        let spec = ContainerSpec {
            tty: true,
            open_stdin: true,
            auto_remove: true,
            ..Default::default()
        };
        let config = container_config(&spec);
        assert_eq!(
            (config.tty, config.open_stdin, config.stdin_once),
            (Some(true), Some(true), Some(true))
        );
        assert_eq!(config.host_config.unwrap().auto_remove, Some(true));
        let plain = container_config(&ContainerSpec::default());
        assert_eq!(
            (plain.tty, plain.open_stdin, plain.stdin_once),
            (Some(false), Some(false), None)
        );
    }

    #[test]
    fn commit_clears_an_unset_entrypoint() {
        let config = commit_config(&ImageConfig::default());
        assert_eq!(config.entrypoint, Some(vec![]));
        assert_eq!(config.cmd, None);
    }
}
