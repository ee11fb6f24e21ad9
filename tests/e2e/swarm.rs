//! The multi-host Swarm the Swarm backend is tested on (`scripts/swarm-cluster`, issue 11):
//! three engines in network namespaces form one Swarm, a service's replicas spread over them,
//! and each task answers from the host at its node's address (host-mode published port: this
//! kernel has no IPVS, so the ingress mesh is not used); an image pushed to the cluster's
//! registry by `DockerRuntime::push_image` on one node is pulled by the others (a push to a
//! registry that is not there fails in one line). Then the runtime's `SwarmRuntime` runs a
//! process type as a service on that cluster: its tasks listed as processes with their node
//! and route address, each answering there, scaled, rolled over to a new release, a failing
//! release rolled back by Swarm while the previous one keeps serving, moved off a drained node
//! and off a node that dies, and removed. One test, so that the cluster (the slow part)
//! starts once.
//!
//! A second test runs a whole paasd on node 1 (`SwarmCluster::spawn_paasd`, for the Swarm
//! scheduler's tests): a `git push` builds on node 1's engine and the app answers through
//! paasd's router.

use paas_e2e::curl;
use paas_e2e::swarm::SwarmCluster;
use paas_e2e::User;
use paas_runtime::swarm::{
    service_name, Availability, Rollout, ServiceChange, ServiceProcessSpec, SwarmProcess,
    SwarmRuntime, SwarmState,
};
use paas_runtime::{ContainerRuntime, DockerRuntime, RuntimeError};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

/// A tiny HTTP server answering with the hostname of the node its task runs on (the service
/// template `{{.Node.Hostname}}` fills NODE).
const SERVER: &str = r#"
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = os.environ["NODE"].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("", 5000), H).serve_forever()
"#;

#[test]
fn three_engines_form_a_swarm_whose_replicas_spread_and_answer_at_their_nodes_addresses() {
    let started = Instant::now();
    let cluster = SwarmCluster::up(3);
    eprintln!(
        "cluster up in {:.1} s (after {:.1} s waiting for the lock)",
        cluster.took.as_secs_f64(),
        cluster.waited.as_secs_f64()
    );

    // Three nodes, all Ready and active, each its own hostname.
    let nodes = cluster.docker_ok(
        1,
        &[
            "node",
            "ls",
            "--format",
            "{{.Hostname}} {{.Status}} {{.Availability}}",
        ],
    );
    let mut lines: Vec<&str> = nodes.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        vec![
            "paas-sw-1 Ready Active",
            "paas-sw-2 Ready Active",
            "paas-sw-3 Ready Active"
        ],
        "{nodes}"
    );

    // Three replicas, at most one per node, port 5000 published in host mode on each node.
    let image = cluster.stack_image();
    cluster.docker_ok(
        1,
        &[
            "service",
            "create",
            "--detach",
            "--no-resolve-image",
            "--name",
            "hello",
            "--label",
            "paas.app=hello",
            "--container-label",
            "paas.app=hello",
            "--replicas",
            "3",
            "--replicas-max-per-node",
            "1",
            "--env",
            "NODE={{.Node.Hostname}}",
            "--publish",
            "mode=host,target=5000,published=5000",
            &image,
            "python3",
            "-c",
            SERVER,
        ],
    );

    // Every node's address answers with that node's name: a task runs on each of the three.
    let deadline = Instant::now() + Duration::from_secs(45);
    let mut answers = Vec::new();
    for n in 1..=cluster.nodes() {
        let url = format!("http://{}:5000/", cluster.addr(n));
        loop {
            let (status, body) = curl(&["-sS", "--max-time", "2", &url]);
            if status == 200 {
                answers.push(body);
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{url} never answered; tasks:\n{}",
                cluster.docker_ok(1, &["service", "ps", "--no-trunc", "hello"])
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let expected: Vec<String> = (1..=3).map(|n| cluster.hostname(n)).collect();
    assert_eq!(answers, expected);
    eprintln!(
        "a task on each node answering at {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The tasks carry our label and Swarm places them on three different nodes.
    let tasks = cluster.docker_ok(
        1,
        &[
            "service",
            "ps",
            "hello",
            "--filter",
            "desired-state=running",
            "--format",
            "{{.Node}} {{.CurrentState}}",
        ],
    );
    let mut on: Vec<&str> = tasks
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or(""))
        .collect();
    on.sort();
    assert_eq!(on, vec!["paas-sw-1", "paas-sw-2", "paas-sw-3"], "{tasks}");
    for n in 1..=3 {
        let labelled = cluster.docker_ok(n, &["ps", "-q", "--filter", "label=paas.app=hello"]);
        assert_eq!(labelled.lines().count(), 1, "node {n}: {labelled}");
    }

    // Images reach every node through the cluster's registry (issue 11, point 3): built on
    // node 1 under a local name as paasd names releases, pushed by `DockerRuntime::push_image`
    // on node 1's engine, pulled by the others when Swarm places a task there.
    let tokio = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let phase = Instant::now();
    let local = "paas-e2e/hello:1";
    cluster.build(
        1,
        local,
        &format!("FROM {image}\nRUN echo release-1 > /release\n"),
    );
    eprintln!(
        "image built on node 1 in {:.1} s",
        phase.elapsed().as_secs_f64()
    );
    let phase = Instant::now();
    let pushed = tokio.block_on(push_from_node_1(&cluster, local));
    assert_eq!(pushed, format!("{}/paas-e2e/hello:1", cluster.registry()));
    eprintln!(
        "DockerRuntime::push_image checks: {:.1} s",
        phase.elapsed().as_secs_f64()
    );
    cluster.docker_ok(
        1,
        &[
            "service",
            "create",
            "--detach",
            "--name",
            "pulled",
            "--replicas",
            "3",
            "--replicas-max-per-node",
            "1",
            "--env",
            "NODE={{.Node.Hostname}}",
            "--publish",
            "mode=host,target=5000,published=5002",
            &pushed,
            "python3",
            "-c",
            &SERVER.replace(
                r#"os.environ["NODE"].encode()"#,
                r#"(open("/release").read().strip() + " " + os.environ["NODE"]).encode()"#,
            ),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    for n in 1..=cluster.nodes() {
        let url = format!("http://{}:5002/", cluster.addr(n));
        loop {
            let (status, body) = curl(&["-sS", "--max-time", "2", &url]);
            if status == 200 {
                assert_eq!(body, format!("release-1 {}", cluster.hostname(n)));
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{url} never answered; tasks:\n{}",
                cluster.docker_ok(1, &["service", "ps", "--no-trunc", "pulled"])
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    // Swarm pulls by digest, so the image is there under its repository without the tag.
    let repository = pushed.rsplit_once(':').expect("a tag").0;
    for n in 2..=cluster.nodes() {
        let images = cluster.docker_ok(n, &["images", "-q", repository]);
        assert!(!images.trim().is_empty(), "node {n} did not pull {pushed}");
    }
    cluster.docker_ok(1, &["service", "rm", "pulled"]);

    eprintln!(
        "CLI service checked at {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let phase = Instant::now();
    tokio.block_on(swarm_runtime_runs_a_process_type_as_a_service(
        &cluster, &image,
    ));
    eprintln!("SwarmRuntime phase: {:.1} s", phase.elapsed().as_secs_f64());

    let teardown = Instant::now();
    drop(cluster);
    eprintln!("teardown: {:.1} s", teardown.elapsed().as_secs_f64());
    eprintln!(
        "whole test, with teardown: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// `DockerRuntime::push_image` on node 1's engine: `local` into the cluster's registry (the
/// name it returns is what the nodes pull), again (nothing to upload), and into registries that
/// cannot take it, each failure one line naming the registry. Returns the pushed name.
async fn push_from_node_1(cluster: &SwarmCluster, local: &str) -> String {
    let docker = DockerRuntime::connect_to(&cluster.docker_host(1))
        .await
        .expect("node 1's engine");
    let pushed = docker
        .push_image(local, &cluster.registry())
        .await
        .expect("pushed to the cluster's registry");
    let started = Instant::now();
    let again = docker
        .push_image(local, &cluster.registry())
        .await
        .expect("pushed again");
    assert_eq!(again, pushed);
    eprintln!(
        "second push of {local}: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    // The registry has it under that name.
    let (repository, tag) = pushed.rsplit_once(':').expect("a tag");
    let path = repository
        .strip_prefix(&format!("{}/", cluster.registry()))
        .expect("in the registry");
    let (status, tags) = curl(&[
        "-sS",
        &format!("http://{}/v2/{path}/tags/list", cluster.registry()),
    ]);
    assert_eq!(status, 200, "{tags}");
    assert!(tags.contains(&format!("\"{tag}\"")), "{tags}");

    // No registry listens there: one line naming it, quickly.
    let started = Instant::now();
    let refused = docker
        .push_image(local, "10.231.0.1:5999")
        .await
        .expect_err("nothing listens on 10.231.0.1:5999")
        .to_string();
    assert!(
        refused.contains("10.231.0.1:5999") && !refused.contains('\n'),
        "{refused}"
    );
    assert!(started.elapsed() < Duration::from_secs(20), "{refused}");
    eprintln!("unreachable registry: {refused}");
    // The host's engine does not list the cluster's plain-HTTP registry as insecure (and its
    // config is not ours): it refuses to push there, in one line. Only the tag it made is
    // removed again; nothing reaches the registry.
    let host = DockerRuntime::connect().await.expect("the host's engine");
    let stack = cluster.stack_image();
    let refused = host
        .push_image(&stack, &cluster.registry())
        .await
        .expect_err("the host's engine pushes over HTTPS only")
        .to_string();
    let tagged = format!("{}/{stack}", cluster.registry());
    host.remove_image(&tagged).await.expect("untagged");
    assert!(
        refused.contains("HTTP response to HTTPS client") && !refused.contains('\n'),
        "{refused}"
    );
    eprintln!("plain-HTTP registry from the host's engine: {refused}");
    // A missing image: not found, nothing pushed.
    let missing = docker
        .push_image("paas-e2e/none:1", &cluster.registry())
        .await
        .expect_err("no such image");
    assert!(matches!(missing, RuntimeError::NotFound(_)), "{missing:?}");
    pushed
}

/// GETs each process's route and returns the bodies (each process answers with its node's
/// hostname), retrying while a just-started task's server is not listening yet.
fn answers(processes: &[SwarmProcess]) -> Vec<String> {
    processes
        .iter()
        .map(|p| {
            let route = p.route().unwrap_or_else(|| panic!("{p:?} has no route"));
            let url = format!("http://{route}/");
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let (status, body) = curl(&["-sS", "--max-time", "2", &url]);
                if status == 200 {
                    return body;
                }
                assert!(Instant::now() < deadline, "{url} ({p:?}) never answered");
                std::thread::sleep(Duration::from_millis(200));
            }
        })
        .collect()
}

async fn swarm_runtime_runs_a_process_type_as_a_service(cluster: &SwarmCluster, image: &str) {
    let swarm = SwarmRuntime::connect_to(&cluster.docker_host(1)["unix://".len()..])
        .await
        .expect("node 1's engine");
    assert_eq!(
        swarm.state().await.expect("docker info"),
        SwarmState::Manager
    );
    swarm.ensure_manager().await.expect("node 1 is a manager");

    let nodes = swarm.nodes().await.expect("nodes");
    let seen: Vec<(String, String, bool)> = nodes
        .iter()
        .map(|n| {
            (
                n.hostname.clone(),
                n.addr.map(|a| a.to_string()).unwrap_or_default(),
                n.is_ready(),
            )
        })
        .collect();
    let expected: Vec<(String, String, bool)> = (1..=3)
        .map(|n| (cluster.hostname(n), cluster.addr(n), true))
        .collect();
    assert_eq!(seen, expected);

    let labels = BTreeMap::from([
        ("paas.instance".to_string(), "e2e".to_string()),
        ("paas.app".to_string(), "hello".to_string()),
        ("paas.process".to_string(), "web".to_string()),
    ]);
    let mut spec = ServiceProcessSpec::new(service_name("e2e", "hello", "web"), image, 3);
    spec.cmd = Some(vec!["python3".into(), "-c".into(), SERVER.into()]);
    spec.env.insert("NODE".into(), "{{.Node.Hostname}}".into());
    spec.labels = labels.clone();
    spec.labels.insert("paas.release".into(), "1".into());
    spec.port = Some(5000);
    spec.memory_bytes = Some(256 << 20);
    spec.stop_grace = Duration::from_secs(2);
    spec.update_monitor = Duration::from_secs(2);
    let created = swarm.ensure_service(&spec).await.expect("service created");
    assert!(
        matches!(created, ServiceChange::Created { .. }),
        "{created:?}"
    );

    // Three processes, one per node (spread), each routed at its node's address.
    let processes = swarm
        .wait_converged(&labels, Duration::from_secs(60))
        .await
        .expect("3 tasks running");
    assert_eq!(processes.len(), 3, "{processes:?}");
    let slots: Vec<u64> = processes.iter().map(|p| p.slot).collect();
    assert_eq!(slots, vec![1, 2, 3]);
    let on: BTreeSet<String> = processes.iter().filter_map(|p| p.node.clone()).collect();
    assert_eq!(on.len(), 3, "{processes:?}");
    for p in &processes {
        assert_eq!(p.labels["paas.app"], "hello", "{p:?}");
        assert_eq!(p.labels["paas.release"], "1", "{p:?}");
        let route = p.route().expect("routed");
        let node = nodes.iter().find(|n| Some(&n.hostname) == p.node.as_ref());
        assert_eq!(Some(route.ip()), node.and_then(|n| n.addr), "{p:?}");
    }
    let bodies = answers(&processes);
    let nodes_of: Vec<String> = processes.iter().filter_map(|p| p.node.clone()).collect();
    assert_eq!(bodies, nodes_of);

    // Scaled to 5: two nodes run two tasks each, on ports of their own.
    swarm
        .scale_service(&spec.name, 5)
        .await
        .expect("scaled to 5");
    let processes = swarm
        .wait_converged(&labels, Duration::from_secs(60))
        .await
        .expect("5 tasks running");
    assert_eq!(processes.len(), 5, "{processes:?}");
    let routes: BTreeSet<_> = processes.iter().filter_map(|p| p.route()).collect();
    assert_eq!(routes.len(), 5, "{processes:?}");
    let bodies = answers(&processes);
    let nodes_of: Vec<String> = processes.iter().filter_map(|p| p.node.clone()).collect();
    assert_eq!(bodies, nodes_of);

    // A new release rolls every task over (start-first); the spec's replicas are kept.
    spec.replicas = 5;
    spec.labels.insert("paas.release".into(), "2".into());
    let updated = swarm.ensure_service(&spec).await.expect("service updated");
    assert!(
        matches!(updated, ServiceChange::Updated { .. }),
        "{updated:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    let rolled = loop {
        let processes = swarm.list_processes(&labels).await.expect("processes");
        let running_new = processes
            .iter()
            .filter(|p| p.route().is_some() && p.labels["paas.release"] == "2")
            .count();
        if running_new == 5 && processes.len() == 5 {
            break processes;
        }
        assert!(
            Instant::now() < deadline,
            "release 2 never replaced release 1: {processes:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    answers(&rolled);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let rollout = swarm.rollout(&spec.name).await.expect("rollout");
        if rollout == Rollout::Completed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "release 2's rollout: {rollout:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Release 3's processes exit at once: Swarm rolls the service back to release 2 by itself
    // and says why; release 2's five processes keep answering throughout.
    let mut broken = spec.clone();
    broken.labels.insert("paas.release".into(), "3".into());
    broken.cmd = Some(vec!["sh".into(), "-c".into(), "exit 3".into()]);
    swarm.ensure_service(&broken).await.expect("release 3 sent");
    let deadline = Instant::now() + Duration::from_secs(90);
    let failure = loop {
        let rollout = swarm.rollout(&spec.name).await.expect("rollout");
        if let (false, Some(reason)) = (rollout.in_progress(), rollout.failure()) {
            break reason.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "release 3 was never rolled back: {rollout:?}"
        );
        let serving = swarm.list_processes(&labels).await.expect("processes");
        assert!(
            serving
                .iter()
                .filter(|p| p.route().is_some() && p.labels["paas.release"] == "2")
                .count()
                >= 4,
            "release 2 stopped serving: {serving:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    eprintln!("release 3 rolled back: {failure}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let rolled = loop {
        let processes = swarm.list_processes(&labels).await.expect("processes");
        let release_2 = processes
            .iter()
            .filter(|p| p.route().is_some() && p.labels["paas.release"] == "2")
            .count();
        if release_2 == 5 && processes.len() == 5 {
            break processes;
        }
        assert!(
            Instant::now() < deadline,
            "release 2 is not back: {processes:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    answers(&rolled);

    // Draining node 3 moves its processes to the other two; all five still answer.
    let node3 = nodes
        .iter()
        .find(|n| n.hostname == cluster.hostname(3))
        .expect("node 3");
    swarm
        .set_availability(&node3.id, Availability::Drain)
        .await
        .expect("node 3 drained");
    let deadline = Instant::now() + Duration::from_secs(60);
    let moved = loop {
        let processes = swarm.list_processes(&labels).await.expect("processes");
        let routed_elsewhere = processes
            .iter()
            .filter(|p| p.route().is_some() && p.node.as_deref() != Some(&node3.hostname))
            .count();
        if routed_elsewhere == 5 && processes.len() == 5 {
            break processes;
        }
        assert!(
            Instant::now() < deadline,
            "node 3's processes never moved: {processes:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let bodies = answers(&moved);
    assert!(bodies.iter().all(|b| b != &node3.hostname), "{bodies:?}");
    let drained = swarm.nodes().await.expect("nodes");
    assert_eq!(
        drained
            .iter()
            .find(|n| n.id == node3.id)
            .map(|n| n.availability.as_str()),
        Some("drain")
    );
    swarm
        .set_availability(&node3.id, Availability::Active)
        .await
        .expect("node 3 active again");

    // Node 2 dies: Swarm marks it down within seconds (1 s heartbeat) and starts its
    // processes on the others; every process listed is routed on a live node and answers.
    let node2 = nodes
        .iter()
        .find(|n| n.hostname == cluster.hostname(2))
        .expect("node 2");
    let killed = Instant::now();
    cluster.kill(2);
    let deadline = Instant::now() + Duration::from_secs(60);
    let replaced = loop {
        let processes = swarm.list_processes(&labels).await.expect("processes");
        let down = swarm
            .nodes()
            .await
            .expect("nodes")
            .iter()
            .any(|n| n.id == node2.id && !n.is_ready());
        let routed_elsewhere = processes
            .iter()
            .filter(|p| p.route().is_some() && p.node.as_deref() != Some(&node2.hostname))
            .count();
        if down && routed_elsewhere == 5 {
            break processes;
        }
        assert!(
            Instant::now() < deadline,
            "node 2's processes were never replaced: {processes:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    eprintln!(
        "node 2 down and its processes replaced in {:.1} s",
        killed.elapsed().as_secs_f64()
    );
    let live: Vec<SwarmProcess> = replaced
        .into_iter()
        .filter(|p| p.node.as_deref() != Some(&node2.hostname))
        .collect();
    answers(&live);

    swarm
        .remove_service(&spec.name)
        .await
        .expect("service removed");
    swarm
        .remove_service(&spec.name)
        .await
        .expect("removing a missing service is no error");
    assert!(swarm
        .list_processes(&labels)
        .await
        .expect("processes")
        .is_empty());
}

/// Issue 11, point 6: with `PAAS_SCHEDULER=swarm` on an engine outside a Swarm (the host's
/// own engine), paasd stops at start with one line naming the command that fixes it.
#[test]
fn paasd_with_the_swarm_scheduler_outside_a_swarm_stops_with_one_line_saying_how_to_fix_it() {
    let state = std::process::Command::new("docker")
        .args(["info", "--format", "{{.Swarm.LocalNodeState}}"])
        .output()
        .expect("docker info runs");
    let state = String::from_utf8_lossy(&state.stdout).trim().to_string();
    if state != "inactive" {
        eprintln!("the host's engine is in a Swarm ({state}): nothing to check here");
        return;
    }
    let data = tempfile::tempdir().expect("a data directory");
    let output = std::process::Command::new(paas_e2e::binary("paasd"))
        .arg("serve")
        .env("PAAS_DATA", data.path())
        .env("PAAS_HTTP_ADDR", "127.0.0.1:0")
        .env("PAAS_ADMIN_PASSWORD", "admin-password-e2e")
        .env("PAAS_SCHEDULER", "swarm")
        .env_remove("DOCKER_HOST")
        .output()
        .expect("paasd runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("PAAS_SCHEDULER=swarm"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("docker swarm init --advertise-addr"),
        "{stderr}"
    );
}

/// paasd on node 1 of the test Swarm (`SwarmCluster::spawn_paasd`, with the Docker scheduler
/// until the Swarm one is wired in): the Procfile-only sample (its build needs no network; the
/// nodes have no route out) is built on node 1's engine with the stacks the cluster loaded
/// there, its process runs there, and it answers through paasd's router at node 1's address.
#[test]
fn paasd_on_node_1_builds_a_pushed_app_and_routes_to_it() {
    let started = Instant::now();
    let cluster = SwarmCluster::up_for_paasd(1);
    eprintln!(
        "cluster (with the build stack on node 1) up in {:.1} s (after {:.1} s waiting for the lock)",
        cluster.took.as_secs_f64(),
        cluster.waited.as_secs_f64()
    );
    let phase = Instant::now();
    let paasd = cluster.spawn_paasd(&[("PAAS_SCHEDULER", "docker")]);
    assert_eq!(
        paasd.url(),
        format!("http://{}:{}", cluster.addr(1), paasd.port)
    );
    eprintln!("paasd ready in {:.1} s", phase.elapsed().as_secs_f64());

    let phase = Instant::now();
    let user = User::admin(&paasd);
    let repo = user.sample_repo("procfile-only");
    let app = paas_e2e::app_name("swarm");
    user.paas(&repo, &["apps:create", &app]).ok();
    let push = user.git(&repo, &["push", "paas", "main"]).ok();
    for expected in ["-----> Procfile app detected", "Launching... done, v1"] {
        assert!(
            push.stderr.contains(expected),
            "{expected:?} missing:\n{}",
            push.stderr
        );
    }
    eprintln!(
        "git push deployed in {:.1} s",
        phase.elapsed().as_secs_f64()
    );
    let (status, body) = paasd.get_app(&app, "/index.txt");
    assert_eq!(
        (status, body.as_str()),
        (200, "served by a Procfile command\n"),
        "{}",
        paasd.log()
    );

    // The build and the process ran on node 1's engine, not on the host's.
    assert_eq!(paasd.containers(), vec![format!("{app}.web.1.v1")]);
    let on_node_1 = cluster.docker_ok(
        1,
        &[
            "ps",
            "-q",
            "--filter",
            &format!("label=paas.instance={}", paasd.instance),
        ],
    );
    assert_eq!(on_node_1.lines().count(), 1, "{on_node_1}");
    let on_host = std::process::Command::new("docker")
        .env_remove("DOCKER_HOST")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=paas.instance={}", paasd.instance),
        ])
        .output()
        .expect("docker runs");
    assert!(
        on_host.stdout.is_empty(),
        "the host's engine ran containers of this paasd"
    );

    let teardown = Instant::now();
    drop(paasd);
    drop(cluster);
    eprintln!(
        "teardown {:.1} s; whole test, with teardown: {:.1} s",
        teardown.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
