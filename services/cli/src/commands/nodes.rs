//! `nodes`, `nodes:add [--manager]`, `nodes:drain NODE`, `nodes:activate NODE`: the platform's
//! Swarm nodes, for admins. A node is named by its hostname or id (see `paas nodes`).

use super::client;
use crate::cli::{JsonArgs, NodeArg, NodesAddArgs};
use crate::{output, progress, table};
use anyhow::{bail, Result};
use paas_domain::api::{NodeInfo, NodeJoin};

pub fn list(args: JsonArgs) -> Result<()> {
    let nodes: Vec<NodeInfo> = client()?.get(&["api", "nodes"])?;
    if args.json {
        return output::json(&nodes);
    }
    output::line(table::header("Nodes"))?;
    if nodes.is_empty() {
        return Ok(());
    }
    output::block(&table::columns(&node_rows(&nodes)))
}

fn role(node: &NodeInfo) -> &'static str {
    match (node.leader, node.manager) {
        (true, _) => "leader",
        (false, true) => "manager",
        (false, false) => "worker",
    }
}

fn node_rows(nodes: &[NodeInfo]) -> Vec<Vec<String>> {
    let mut rows = vec![[
        "NODE",
        "ADDRESS",
        "STATE",
        "AVAILABILITY",
        "ROLE",
        "PROCESSES",
    ]
    .map(String::from)
    .to_vec()];
    rows.extend(nodes.iter().map(|n| {
        vec![
            n.hostname.clone(),
            n.addr.clone().unwrap_or_else(|| "-".to_string()),
            n.state.clone(),
            n.availability.clone(),
            role(n).to_string(),
            if n.processes.is_empty() {
                "-".to_string()
            } else {
                n.processes.join(", ")
            },
        ]
    }));
    rows
}

pub fn add(args: NodesAddArgs) -> Result<()> {
    let role = if args.manager { "manager" } else { "worker" };
    let join: NodeJoin = client()?.get_with_query(&["api", "nodes", "join"], &[("role", role)])?;
    eprintln!(
        "Run this on the new {role} (Docker installed, port 2377 of this manager reachable):"
    );
    output::line(join.command)
}

/// The node as given on the command line: one word.
fn node_name(raw: &str) -> Result<&str> {
    let name = raw.trim();
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '/')
    {
        bail!("Invalid node {raw:?}: give its hostname or id (see paas nodes).");
    }
    Ok(name)
}

pub fn drain(args: NodeArg) -> Result<()> {
    let name = node_name(&args.node)?;
    let client = client()?;
    let progress = progress::start(format!("Draining {name}: moving its processes"));
    let node: NodeInfo = client.post(&["api", "nodes", name, "drain"], &())?;
    progress.done();
    if node.processes.is_empty() {
        output::line(format!(
            "{} is drained: its processes have moved to other nodes.",
            node.hostname
        ))
    } else {
        output::line(format!(
            "{} is drained, but these processes have not moved yet: {}.",
            node.hostname,
            node.processes.join(", ")
        ))
    }
}

pub fn activate(args: NodeArg) -> Result<()> {
    let name = node_name(&args.node)?;
    let node: NodeInfo = client()?.post(&["api", "nodes", name, "activate"], &())?;
    output::line(format!(
        "{} is active: the Swarm places processes on it again.",
        node.hostname
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(hostname: &str, manager: bool, leader: bool, processes: &[&str]) -> NodeInfo {
        NodeInfo {
            id: format!("id-{hostname}"),
            hostname: hostname.to_string(),
            addr: Some("10.0.0.1".to_string()),
            state: "ready".to_string(),
            availability: "active".to_string(),
            manager,
            leader,
            processes: processes.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn node_table_shows_roles_and_processes() {
        let mut drained = node("sw-3", false, false, &[]);
        drained.availability = "drain".to_string();
        drained.addr = None;
        let nodes = vec![
            node("sw-1", true, true, &["myapp web.1", "myapp web.3"]),
            node("sw-2", true, false, &["myapp web.2"]),
            drained,
        ];
        assert_eq!(
            table::columns(&node_rows(&nodes)),
            "NODE  ADDRESS   STATE  AVAILABILITY  ROLE     PROCESSES\n\
             sw-1  10.0.0.1  ready  active        leader   myapp web.1, myapp web.3\n\
             sw-2  10.0.0.1  ready  active        manager  myapp web.2\n\
             sw-3  -         ready  drain         worker   -\n"
        );
    }

    #[test]
    fn a_node_is_one_word() {
        assert_eq!(node_name(" sw-1 ").unwrap(), "sw-1");
        assert!(node_name("").is_err());
        assert!(node_name("a b").is_err());
        assert!(node_name("a/b").is_err());
    }
}
