//! The multi-host Swarm the Swarm backend is tested on (`scripts/swarm-cluster`, issue 11):
//! three engines in network namespaces form one Swarm, a service's replicas spread over them,
//! and each task answers from the host at its node's address (host-mode published port: this
//! kernel has no IPVS, so the ingress mesh is not used).

use paas_e2e::curl;
use paas_e2e::swarm::SwarmCluster;
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
    eprintln!("cluster up in {:.1} s", cluster.took.as_secs_f64());

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

    drop(cluster);
    eprintln!(
        "whole test, with teardown: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
