//! `DockerRuntime` against the real engine: stacks, container lifecycle on a network, output,
//! exit codes, archives, commit, limits, OOM, name conflicts, and reaching a server in a
//! container from the host. Every test uses its own labels, names and networks.

mod common;

use common::{output_of, run, run_to_end, runtime, stacks, within, Cleanup, STEP};
use paas_runtime::{ContainerRuntime, ContainerState, ImageConfig, Mount, MountKind, RuntimeError};
use std::collections::BTreeMap;
use std::io::Read;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread")]
async fn stacks_are_built_once_and_reused() {
    let rt = runtime().await;
    // Two concurrent callers: one builds, the other waits on the lock and finds the images.
    let (a, b) = tokio::join!(stacks(&rt), stacks(&rt));
    assert_eq!(a, b);
    assert_eq!(a.base, "paas/base:bookworm");
    assert!(a.run.starts_with("paas/stack-run:bookworm-"), "{}", a.run);
    assert!(
        a.build.starts_with("paas/stack-build:bookworm-"),
        "{}",
        a.build
    );

    let start = Instant::now();
    let again = stacks(&rt).await;
    assert_eq!(again, a);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    for image in [&a.base, &a.run, &a.build] {
        assert!(rt.image_exists(image).await.unwrap(), "{image}");
        assert!(rt.image_size(image).await.unwrap().unwrap_or(0) > 10_000_000);
    }

    let cleanup = Cleanup::new();
    // The run stack: the app user owns /app, which is the working directory; Python runs.
    let (lines, code) = run_to_end(
        &rt,
        &cleanup.spec(
            &a.run,
            &[
                "sh",
                "-c",
                "id app; stat -c %U:%G /app; pwd; python3 --version; cat /etc/apt/sources.list",
            ],
        ),
    )
    .await;
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(lines[0], "uid=1000(app) gid=1000(app) groups=1000(app)");
    assert_eq!(lines[1], "app:app");
    assert_eq!(lines[2], "/app");
    assert!(lines[3].starts_with("Python 3."), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.contains("bookworm-security")),
        "{lines:?}"
    );

    // The build stack: compilers, pip, venv, git, curl (HTTPS through the host's CA not needed).
    let (lines, code) = run_to_end(
        &rt,
        &cleanup.spec(
            &a.build,
            &["sh", "-c", "gcc --version | head -n1; git --version; curl --version | head -n1; python3 -m venv /tmp/v && /tmp/v/bin/pip --version; python3-config --includes"],
        ),
    )
    .await;
    assert_eq!(code, 0, "{lines:?}");
    assert!(lines[0].starts_with("gcc"), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.starts_with("git version")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.starts_with("pip ")), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.contains("/usr/include/python3")),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn container_lifecycle_on_a_network() {
    let rt = runtime().await;
    let images = stacks(&rt).await;
    let cleanup = Cleanup::new();
    let network = common::unique("paas-test-net");
    cleanup.network(&network);
    within(STEP, "ensure_network", rt.ensure_network(&network))
        .await
        .unwrap();
    // Idempotent.
    rt.ensure_network(&network).await.unwrap();

    let name = common::unique("paas-test-web");
    let mut labels = cleanup.labels();
    labels.insert("paas.role".into(), "web".into());
    let spec = paas_runtime::ContainerSpec {
        name: Some(name.clone()),
        network: Some(network.clone()),
        labels: labels.clone(),
        init: true,
        ..cleanup.spec(&images.run, &["sleep", "300"])
    };
    let id = within(STEP, "create", rt.create_container(&spec))
        .await
        .unwrap();
    let created = rt.list_containers(&labels).await.unwrap();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].state, ContainerState::Created);
    assert_eq!(created[0].ip, None);

    rt.start_container(&id).await.unwrap();
    let listed = rt.list_containers(&labels).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let info = &listed[0];
    assert_eq!(info.id, id);
    assert_eq!(info.name, name);
    assert_eq!(info.state, ContainerState::Running);
    assert_eq!(
        info.labels.get("paas.role").map(String::as_str),
        Some("web")
    );
    assert!(info.ip.is_some(), "{info:?}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - info.created).abs() < 300, "{info:?}");

    let inspected = rt.inspect_container(&id).await.unwrap().expect("exists");
    assert_eq!(inspected.ip, info.ip);
    assert_eq!(inspected.name, name);
    assert_eq!(inspected.state, ContainerState::Running);
    assert_eq!(inspected.labels, info.labels);
    assert!((inspected.created - info.created).abs() <= 1);
    // By name too.
    assert_eq!(
        rt.inspect_container(&name).await.unwrap().map(|i| i.id),
        Some(id.clone())
    );

    // Another label value matches nothing.
    let mut other = labels.clone();
    other.insert("paas.role".into(), "worker".into());
    assert!(rt.list_containers(&other).await.unwrap().is_empty());

    within(
        STEP,
        "remove",
        rt.remove_container(&id, Duration::from_secs(2)),
    )
    .await
    .unwrap();
    assert!(rt.inspect_container(&id).await.unwrap().is_none());
    assert!(rt.list_containers(&labels).await.unwrap().is_empty());
    rt.remove_container(&id, Duration::from_secs(1))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn output_lines_and_exit_code() {
    let rt = runtime().await;
    let images = stacks(&rt).await;
    let cleanup = Cleanup::new();
    let spec = cleanup.spec(
        &images.run,
        &[
            "sh",
            "-c",
            "echo a; sleep 0.3; echo b >&2; sleep 0.3; printf 'c\\r\\nd'; printf e >&2; exit 3",
        ],
    );
    let id = run(&rt, &spec).await;
    let lines = output_of(&rt, &id).await;
    // Partial last lines (no newline) of both streams come last, stdout first.
    assert_eq!(lines, ["a", "b", "c", "d", "e"]);
    assert_eq!(
        within(STEP, "wait", rt.wait_container(&id)).await.unwrap(),
        3
    );
    assert!(!rt.was_oom_killed(&id).await.unwrap());
    let info = rt.inspect_container(&id).await.unwrap().unwrap();
    assert_eq!(info.state, ContainerState::Exited);
    assert_eq!(info.ip, None);
    // Following an exited container replays its output and ends.
    assert_eq!(output_of(&rt, &id).await, ["a", "b", "c", "d", "e"]);
}

fn tar_of(name: &str, content: &[u8]) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append_data(&mut header, name, content).unwrap();
    builder.into_inner().unwrap()
}

fn files_of(tar: &[u8]) -> BTreeMap<String, String> {
    let mut archive = tar::Archive::new(tar);
    let mut files = BTreeMap::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut content = String::new();
        entry.read_to_string(&mut content).unwrap();
        files.insert(path, content);
    }
    files
}

#[tokio::test(flavor = "multi_thread")]
async fn archives_round_trip_and_commit_sets_the_config() {
    let rt = runtime().await;
    let images = stacks(&rt).await;
    let cleanup = Cleanup::new();
    let id = within(
        STEP,
        "create",
        rt.create_container(&cleanup.spec(&images.run, &["true"])),
    )
    .await
    .unwrap();

    // Into a created (not started) container, and back.
    rt.upload_tar(&id, "/tmp", tar_of("hello.txt", b"hello\n"))
        .await
        .unwrap();
    let tar = rt.download_tar(&id, "/tmp/hello.txt").await.unwrap();
    assert_eq!(
        files_of(&tar),
        BTreeMap::from([("hello.txt".to_string(), "hello\n".to_string())])
    );
    assert!(matches!(
        rt.download_tar(&id, "/no/such/file").await,
        Err(RuntimeError::NotFound(_))
    ));

    let tag = format!("paas-test/commit:{}", cleanup.id);
    cleanup.image(&tag);
    let config = ImageConfig {
        env: BTreeMap::from([("FOO".to_string(), "bar baz".to_string())]),
        entrypoint: None,
        cmd: Some(vec![
            "sh".into(),
            "-c".into(),
            "echo \"$FOO\"; id -un; pwd; cat /tmp/hello.txt".into(),
        ]),
        working_dir: Some("/tmp".into()),
        user: Some("app".into()),
        labels: BTreeMap::from([("paas.committed".to_string(), cleanup.id.clone())]),
    };
    within(STEP, "commit", rt.commit(&id, &tag, &config))
        .await
        .unwrap();
    assert!(rt.image_exists(&tag).await.unwrap());
    assert!(rt.image_size(&tag).await.unwrap().unwrap_or(0) > 0);

    // The image's cmd, env, user and working dir apply to a container without overrides.
    let mut spec = cleanup.spec(&tag, &[]);
    spec.cmd = None;
    let (lines, code) = run_to_end(&rt, &spec).await;
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(lines, ["bar baz", "app", "/tmp", "hello"]);
    // Its labels are inherited by containers made from it.
    let by_image_label = BTreeMap::from([("paas.committed".to_string(), cleanup.id.clone())]);
    assert_eq!(rt.list_containers(&by_image_label).await.unwrap().len(), 1);

    // With an entrypoint and no cmd, the container's cmd (`true`) is not carried over.
    let entry_tag = format!("paas-test/commit-entrypoint:{}", cleanup.id);
    cleanup.image(&entry_tag);
    let entry_config = ImageConfig {
        entrypoint: Some(vec!["echo".into(), "entry".into()]),
        cmd: None,
        ..ImageConfig::default()
    };
    rt.commit(&id, &entry_tag, &entry_config).await.unwrap();
    let mut spec = cleanup.spec(&entry_tag, &[]);
    spec.cmd = None;
    assert_eq!(run_to_end(&rt, &spec).await, (vec!["entry".to_string()], 0));

    // An image in use cannot be removed; once its containers are gone it can, twice.
    assert!(matches!(
        rt.remove_image(&tag).await,
        Err(RuntimeError::Conflict(_))
    ));
    for c in rt.list_containers(&cleanup.labels()).await.unwrap() {
        rt.remove_container(&c.id, Duration::ZERO).await.unwrap();
    }
    rt.remove_image(&tag).await.unwrap();
    assert!(!rt.image_exists(&tag).await.unwrap());
    assert_eq!(rt.image_size(&tag).await.unwrap(), None);
    rt.remove_image(&tag).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_things_are_not_errors() {
    let rt = runtime().await;
    let missing = common::unique("paas-test-missing");
    rt.remove_container(&missing, Duration::from_secs(1))
        .await
        .unwrap();
    rt.remove_image(&format!("paas-test/{missing}:x"))
        .await
        .unwrap();
    rt.remove_volume(&missing).await.unwrap();
    rt.remove_network(&missing).await.unwrap();
    assert_eq!(rt.inspect_container(&missing).await.unwrap(), None);
    assert!(!rt
        .image_exists(&format!("paas-test/{missing}"))
        .await
        .unwrap());
    assert!(matches!(
        rt.start_container(&missing).await,
        Err(RuntimeError::NotFound(_))
    ));
    let labels = BTreeMap::from([("paas.test".to_string(), missing)]);
    assert!(rt.list_containers(&labels).await.unwrap().is_empty());
    rt.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_taken_name_is_a_conflict() {
    let rt = runtime().await;
    let images = stacks(&rt).await;
    let cleanup = Cleanup::new();
    let spec = paas_runtime::ContainerSpec {
        name: Some(common::unique("paas-test-dup")),
        ..cleanup.spec(&images.run, &["true"])
    };
    rt.create_container(&spec).await.unwrap();
    match rt.create_container(&spec).await {
        Err(RuntimeError::Conflict(_)) => {}
        other => panic!("expected a conflict, got {other:?}"),
    }
    // A missing image is NotFound.
    let missing = paas_runtime::ContainerSpec {
        image: "paas-test/no-such-image:x".into(),
        ..cleanup.spec(&images.run, &["true"])
    };
    assert!(matches!(
        rt.create_container(&missing).await,
        Err(RuntimeError::NotFound(_))
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn http_server_in_a_container_is_reachable_from_the_host() {
    let rt = runtime().await;
    let images = stacks(&rt).await;
    let cleanup = Cleanup::new();
    let network = common::unique("paas-test-net");
    cleanup.network(&network);
    rt.ensure_network(&network).await.unwrap();
    let spec = paas_runtime::ContainerSpec {
        network: Some(network.clone()),
        user: Some("app".into()),
        drop_capabilities: true,
        init: true,
        memory_bytes: Some(256 << 20),
        nano_cpus: Some(500_000_000),
        pids_limit: Some(64),
        ..cleanup.spec(
            &images.run,
            &["python3", "-m", "http.server", "8000", "--bind", "0.0.0.0"],
        )
    };
    let id = run(&rt, &spec).await;
    let ip = rt
        .inspect_container(&id)
        .await
        .unwrap()
        .and_then(|i| i.ip)
        .expect("an address on the network");

    let deadline = Instant::now() + Duration::from_secs(20);
    let response = loop {
        match get(ip, 8000).await {
            Ok(response) => break response,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("GET http://{ip}:8000/: {e}"),
        }
    };
    assert!(response.starts_with("HTTP/1.0 200"), "{response}");
}

async fn get(ip: std::net::IpAddr, port: u16) -> std::io::Result<String> {
    let mut stream = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect((ip, port)),
    )
    .await??;
    stream.write_all(b"GET / HTTP/1.0\r\n\r\n").await?;
    let mut response = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut response)).await??;
    Ok(response)
}

#[tokio::test(flavor = "multi_thread")]
async fn mounts_init_and_dropped_capabilities() {
    let rt = runtime().await;
    let images = stacks(&rt).await;
    let cleanup = Cleanup::new();
    let volume = common::unique("paas-test-vol");
    cleanup.volume(&volume);
    let host_dir = std::env::temp_dir().join(common::unique("paas-test-bind"));
    std::fs::create_dir_all(&host_dir).unwrap();
    std::fs::write(host_dir.join("greeting"), "from the host\n").unwrap();
    let spec = paas_runtime::ContainerSpec {
        mounts: vec![
            Mount {
                kind: MountKind::Volume,
                source: volume.clone(),
                target: "/data".into(),
                read_only: false,
            },
            Mount {
                kind: MountKind::Bind,
                source: host_dir.to_string_lossy().into_owned(),
                target: "/host".into(),
                read_only: true,
            },
        ],
        drop_capabilities: true,
        init: true,
        ..cleanup.spec(
            &images.run,
            &[
                "sh",
                "-c",
                "echo kept > /data/file && cat /data/file; cat /host/greeting; \
                 touch /host/x 2>/dev/null || echo read-only; \
                 grep CapEff /proc/self/status; cat /proc/1/comm",
            ],
        )
    };
    let (lines, code) = run_to_end(&rt, &spec).await;
    let _ = std::fs::remove_dir_all(&host_dir);
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(
        lines,
        [
            "kept",
            "from the host",
            "read-only",
            "CapEff:\t0000000000000000",
            "docker-init"
        ]
    );
    // The volume outlives the container until removed; in use it cannot be removed.
    assert!(matches!(
        rt.remove_volume(&volume).await,
        Err(RuntimeError::Conflict(_))
    ));
    for c in rt.list_containers(&cleanup.labels()).await.unwrap() {
        rt.remove_container(&c.id, Duration::ZERO).await.unwrap();
    }
    rt.remove_volume(&volume).await.unwrap();
    rt.remove_volume(&volume).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_memory_is_reported() {
    let rt = runtime().await;
    let images = stacks(&rt).await;
    let cleanup = Cleanup::new();
    let spec = paas_runtime::ContainerSpec {
        memory_bytes: Some(48 << 20),
        ..cleanup.spec(
            &images.run,
            &[
                "python3",
                "-c",
                "b = bytearray(512 * 1024 * 1024); print(len(b))",
            ],
        )
    };
    let (lines, code) = run_to_end(&rt, &spec).await;
    assert_eq!(code, 137, "{lines:?}");
    let id = rt.list_containers(&cleanup.labels()).await.unwrap()[0]
        .id
        .clone();
    assert!(rt.was_oom_killed(&id).await.unwrap());
}
