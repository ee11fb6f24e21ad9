//! Issue 11 through paas itself, on a real three-node Swarm (three Docker engines in network
//! namespaces, `scripts/swarm-cluster`): paasd runs on node 1 with `PAAS_SCHEDULER=swarm` and
//! the cluster's registry. One app is deployed with `git push` and answers through the router;
//! scaled to 6, its processes run on all three nodes and requests reach each; a deploy (config
//! change) under load fails no request; draining a node under load fails no request and
//! empties it; a push whose processes crash is rolled back by Swarm and rejected with the
//! reason while the previous release keeps serving; an engine killed, its processes are
//! replaced on the others while the app keeps answering.

use paas_e2e::load::{request, Load};
use paas_e2e::swarm::SwarmCluster;
use paas_e2e::User;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

const CLIENTS: usize = 8;

/// `paas nodes --json` as node hostname -> (state, availability, processes).
fn nodes(user: &User, repo: &std::path::Path) -> BTreeMap<String, (String, String, Vec<String>)> {
    let out = user.paas(repo, &["nodes", "--json"]).ok().stdout;
    let nodes: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    nodes
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {out}"))
        .iter()
        .map(|n| {
            let text = |k: &str| n[k].as_str().unwrap_or_default().to_string();
            let processes = n["processes"]
                .as_array()
                .map(|p| {
                    p.iter()
                        .filter_map(|p| p.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            (
                text("hostname"),
                (text("state"), text("availability"), processes),
            )
        })
        .collect()
}

/// Waits (up to `limit`) until `check` holds, polling; panics with `what` and the last value.
fn wait_for<T: std::fmt::Debug>(
    limit: Duration,
    what: &str,
    mut probe: impl FnMut() -> T,
    check: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        let value = probe();
        if check(&value) {
            return value;
        }
        if Instant::now() > deadline {
            panic!("{what} not within {limit:?}: {value:?}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn an_app_on_the_swarm_deploys_scales_over_every_node_survives_drains_and_node_death() {
    let cluster = SwarmCluster::up_for_paasd(3);
    let paasd = cluster.spawn_paasd(&[("PAAS_SCHEDULER", "swarm"), ("PAAS_HEALTH_TIMEOUT", "90")]);
    let user = User::admin(&paasd);
    let (addr, port) = (paasd.host.clone(), paasd.port);

    // git push: built on node 1, pushed to the registry, run as a Swarm service.
    let (repo, app) = user.deploy_sample("python-env", "swarm");
    let host = format!("{app}.localhost");
    let (status, body) = request(&addr, port, &host, "/DYNO").expect("through the router");
    assert_eq!((status, body.trim()), (200, "web.1"), "{}", paasd.log());
    let services = cluster.docker_ok(1, &["service", "ls", "--format", "{{.Name}} {{.Image}}"]);
    assert!(
        services
            .lines()
            .any(|l| l.contains(&format!("-{app}-web ")) && l.contains(&cluster.registry())),
        "one service per type, its image from the registry: {services}"
    );
    let ps = user.paas(&repo, &["ps"]).ok().stdout;
    assert!(ps.contains("web.1"), "{ps}");

    // Restart and resize roll the service over under load; run works; not one request fails.
    let load = Load::start(&addr, port, &host, "/DYNO", CLIENTS);
    let hostname = |path: &str| {
        request(&addr, port, &host, path)
            .map(|(_, b)| b.trim().to_string())
            .unwrap_or_default()
    };
    let first = hostname("/HOSTNAME");
    user.paas(&repo, &["restart"]).ok();
    let restarted = wait_for(
        Duration::from_secs(60),
        "a restarted process answering",
        || hostname("/HOSTNAME"),
        |h| !h.is_empty() && *h != first,
    );
    user.paas(&repo, &["ps:resize", "web=256:0.5"]).ok();
    let service = format!("paas-{}-{app}-web", paasd.instance);
    wait_for(
        Duration::from_secs(60),
        "the service resized",
        || {
            cluster.docker_ok(
                1,
                &[
                    "service",
                    "inspect",
                    &service,
                    "--format",
                    "{{json .Spec.TaskTemplate.Resources.Limits}}",
                ],
            )
        },
        |limits| limits.contains("268435456") && limits.contains("500000000"),
    );
    wait_for(
        Duration::from_secs(60),
        "a resized process answering",
        || hostname("/HOSTNAME"),
        |h| !h.is_empty() && *h != restarted,
    );
    // A config change (v2) and a rollback to v1 (v3): each one rollover.
    user.paas(&repo, &["config:set", "GREETING=first"]).ok();
    wait_for(
        Duration::from_secs(60),
        "v2's config served",
        || hostname("/GREETING"),
        |g| g == "first",
    );
    user.paas(&repo, &["rollback", "v1"]).ok();
    wait_for(
        Duration::from_secs(60),
        "v1's config served again",
        || hostname("/GREETING"),
        |g| g == "unset",
    );
    let run = user.paas(&repo, &["run", "echo", "hello", "$DYNO"]).ok();
    assert!(run.stdout.contains("hello run.1"), "{run:?}");
    // This app moves to paasd's own engine (`scheduler:set docker`) and back.
    user.paas(&repo, &["scheduler:set", "docker"]).ok();
    let local_and_services = || {
        let local = cluster
            .docker_ok(
                1,
                &[
                    "ps",
                    "--filter",
                    &format!("label=paas.app={app}"),
                    "--format",
                    "{{.Label \"paas.backend\"}}",
                ],
            )
            .lines()
            .filter(|l| l.trim() != "swarm")
            .count();
        let services = cluster
            .docker_ok(1, &["service", "ls", "--format", "{{.Name}}"])
            .lines()
            .filter(|l| l.contains(&format!("-{app}-")))
            .count();
        (local, services)
    };
    wait_for(
        Duration::from_secs(60),
        "the app on paasd's engine only",
        local_and_services,
        |n| *n == (1, 0),
    );
    user.paas(&repo, &["scheduler:set", "swarm"]).ok();
    wait_for(
        Duration::from_secs(60),
        "the app back on the Swarm only",
        local_and_services,
        |n| *n == (0, 1),
    );
    std::thread::sleep(Duration::from_secs(4));
    let (ok, failures) = load.finish();
    assert!(ok > 100, "too few requests: {ok}");
    assert!(
        failures.is_empty(),
        "{} of {} failed through restart, resize and moves: {:?}",
        failures.len(),
        ok + failures.len(),
        &failures[..failures.len().min(20)]
    );

    // Scale to 6: processes on all three nodes, and requests reach each.
    user.paas(&repo, &["ps:scale", "web=6"]).ok();
    let placed = wait_for(
        Duration::from_secs(60),
        "six processes over three nodes",
        || nodes(&user, &repo),
        |n| {
            n.len() == 3
                && n.values().all(|(_, _, p)| !p.is_empty())
                && n.values().map(|(_, _, p)| p.len()).sum::<usize>() == 6
        },
    );
    let seen = wait_for(
        Duration::from_secs(60),
        "requests answered by all six processes",
        || {
            let mut seen = BTreeSet::new();
            for _ in 0..60 {
                if let Ok((200, dyno)) = request(&addr, port, &host, "/DYNO") {
                    seen.insert(dyno.trim().to_string());
                }
            }
            seen
        },
        |s| s.len() == 6,
    );
    let dyno_node: BTreeMap<String, String> = placed
        .iter()
        .flat_map(|(node, (_, _, procs))| {
            procs.iter().filter_map(|p| {
                p.split_whitespace()
                    .nth(1)
                    .map(|d| (d.to_string(), node.clone()))
            })
        })
        .collect();
    let nodes_reached: BTreeSet<&String> = seen.iter().filter_map(|d| dyno_node.get(d)).collect();
    assert_eq!(nodes_reached.len(), 3, "{seen:?} on {dyno_node:?}");
    // The processes' output reaches the app log, from the nodes they run on.
    let _ = wait_for(
        Duration::from_secs(30),
        "app lines of processes on two nodes or more, and a start line",
        || {
            // By source: the router's lines of the requests above would crowd them out.
            let app_lines = user
                .paas(&repo, &["logs", "-s", "app", "-n", "2000"])
                .ok()
                .stdout;
            let paas_lines = user
                .paas(&repo, &["logs", "-s", "paas", "-n", "500"])
                .ok()
                .stdout;
            let out = format!("{app_lines}{paas_lines}");
            let nodes: BTreeSet<String> = dyno_node
                .iter()
                .filter(|(dyno, _)| out.contains(&format!(" app[{dyno}]: listening on ")))
                .map(|(_, node)| node.clone())
                .collect();
            (nodes, out)
        },
        |(nodes, out)| {
            nodes.len() >= 2
                && out
                    .lines()
                    .any(|l| l.contains(" paas[web.") && l.contains(": Starting process of v"))
        },
    );

    // Back to 3 under load (Swarm stops three tasks: each leaves the routes first), then a
    // deploy under the same load: not one request fails.
    let load = Load::start(&addr, port, &host, "/DYNO", CLIENTS);
    user.paas(&repo, &["ps:scale", "web=3"]).ok();
    let started = Instant::now();
    user.paas(&repo, &["config:set", "GREETING=hello"]).ok();
    let _ = wait_for(
        Duration::from_secs(120),
        "the new release on every process",
        || request(&addr, port, &host, "/GREETING").map(|(s, b)| (s, b.trim().to_string())),
        |r| matches!(r, Ok((200, b)) if b == "hello"),
    );
    // Until the old tasks are gone.
    wait_for(
        Duration::from_secs(120),
        "three processes of the new release",
        || {
            let ps = user.paas(&repo, &["ps"]).ok().stdout;
            let web: Vec<&str> = ps.lines().filter(|l| l.starts_with("web.")).collect();
            (web.len(), web.iter().filter(|l| l.contains("(v4)")).count())
        },
        |n| *n == (3, 3),
    );
    std::thread::sleep(Duration::from_secs(4));
    let (ok, failures) = load.finish();
    eprintln!("deploy on Swarm: {ok} requests in {:?}", started.elapsed());
    assert!(ok > 100, "too few requests: {ok}");
    assert!(
        failures.is_empty(),
        "{} of {} failed through the scale-down and the deploy: {:?}",
        failures.len(),
        ok + failures.len(),
        &failures[..failures.len().min(20)]
    );

    // The command that joins a new node, with the Swarm's token and a manager's address.
    let join = user.paas(&repo, &["nodes:add"]).ok().stdout;
    assert!(
        join.contains("docker swarm join --token SWMTKN-") && join.contains(":2377"),
        "{join}"
    );
    // The worker's token, and with --manager the manager's, as the Swarm itself gives them.
    let token = |role: &str| {
        cluster
            .docker_ok(1, &["swarm", "join-token", "-q", role])
            .trim()
            .to_string()
    };
    let (worker_token, manager_token) = (token("worker"), token("manager"));
    assert_ne!(worker_token, manager_token);
    assert!(join.contains(&worker_token), "{join}");
    let join_manager = user.paas(&repo, &["nodes:add", "--manager"]).ok().stdout;
    assert!(
        join_manager.contains(&format!("docker swarm join --token {manager_token} "))
            && join_manager.contains(":2377"),
        "{join_manager}"
    );

    // Drain node 3 under load: not one request fails, and its processes move.
    let node3 = cluster.hostname(3);
    let load = Load::start(&addr, port, &host, "/DYNO", CLIENTS);
    user.paas(&repo, &["nodes:drain", &node3]).ok();
    let after = nodes(&user, &repo);
    let (_, availability, on_it) = &after[&node3];
    assert_eq!(availability, "drain");
    assert!(on_it.is_empty(), "{after:?}");
    std::thread::sleep(Duration::from_secs(2));
    let (ok, failures) = load.finish();
    assert!(ok > 20, "too few requests: {ok}");
    assert!(
        failures.is_empty(),
        "{} of {} failed through the drain: {:?}",
        failures.len(),
        ok + failures.len(),
        &failures[..failures.len().min(20)]
    );
    user.paas(&repo, &["nodes:activate", &node3]).ok();

    // A release whose processes crash: Swarm rolls it back, the push says why, v4 serves.
    std::fs::write(
        repo.join("app.py"),
        "import sys\nsys.exit('boom: no database')\n",
    )
    .unwrap();
    user.commit_all(&repo, "crash at start");
    let push = user.git(&repo, &["push", "paas", "main"]);
    assert!(!push.success, "{push:?}");
    assert!(
        push.stderr.contains("Release v5 failed to start"),
        "{}",
        push.stderr
    );
    assert!(
        push.stderr.contains("The previous release keeps serving"),
        "{}",
        push.stderr
    );
    let (status, body) = request(&addr, port, &host, "/GREETING").expect("v4 serves");
    assert_eq!((status, body.trim()), (200, "hello"));

    // Node 2 dies: its processes leave the routes and Swarm starts them on the others.
    cluster.kill(2);
    let node2 = cluster.hostname(2);
    wait_for(
        Duration::from_secs(60),
        "node 2 down and three processes on the other nodes",
        || nodes(&user, &repo),
        |n| {
            n.get(&node2)
                .is_some_and(|(state, _, p)| state != "ready" && p.is_empty())
                && n.values().map(|(_, _, p)| p.len()).sum::<usize>() == 3
        },
    );
    // And it keeps answering.
    let load = Load::start(&addr, port, &host, "/GREETING", CLIENTS);
    std::thread::sleep(Duration::from_secs(5));
    let (ok, failures) = load.finish();
    assert!(ok > 20, "too few requests: {ok}");
    assert!(
        failures.is_empty(),
        "after the node died: {:?}",
        &failures[..failures.len().min(20)]
    );
}
