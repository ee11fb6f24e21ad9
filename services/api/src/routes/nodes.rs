//! The Swarm's nodes, for admins (`paas nodes`, `nodes:add`, `nodes:drain`,
//! `nodes:activate`): `GET /api/nodes` lists them with the processes on each,
//! `GET /api/nodes/join?role=worker|manager` gives the command that joins a new node,
//! `POST /api/nodes/{node}/drain` moves a node's processes elsewhere (answering once they
//! moved) and `POST /api/nodes/{node}/activate` lets the Swarm place processes there again.
//! `{node}` is a hostname, an id or a unique id prefix. On a platform without a Swarm each
//! answers 409 with one line saying how to start paasd on one.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::state::ApiState;
use axum::extract::{Path, Query, State};
use axum::Json;
use paas_domain::api::{NodeInfo, NodeJoin};
use paas_scheduler::NodeView;
use paas_store::User;
use std::sync::Arc;

fn require_admin(user: &User) -> Result<(), ApiError> {
    if user.admin {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "Only an admin can manage the Swarm's nodes.".to_string(),
        ))
    }
}

fn info(node: NodeView) -> NodeInfo {
    NodeInfo {
        id: node.id,
        hostname: node.hostname,
        addr: node.addr,
        state: node.state,
        availability: node.availability,
        manager: node.manager,
        leader: node.leader,
        processes: node.processes,
    }
}

/// A node name as the path gives it: not empty, one line, not absurdly long.
fn node_name(raw: &str) -> Result<&str, ApiError> {
    let name = raw.trim();
    if name.is_empty() || name.len() > 255 || name.chars().any(char::is_control) {
        return Err(ApiError::Invalid(
            "Invalid node: give its hostname or id (see paas nodes).".to_string(),
        ));
    }
    Ok(name)
}

pub async fn list(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
) -> Result<Json<Vec<NodeInfo>>, ApiError> {
    require_admin(&user)?;
    let nodes = state.scheduler.nodes().await?;
    Ok(Json(nodes.into_iter().map(info).collect()))
}

#[derive(Debug, serde::Deserialize)]
pub struct JoinQuery {
    role: Option<String>,
}

pub async fn join(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Query(query): Query<JoinQuery>,
) -> Result<Json<NodeJoin>, ApiError> {
    require_admin(&user)?;
    let manager = match query.role.as_deref().map(str::trim) {
        None | Some("") | Some("worker") => false,
        Some("manager") => true,
        Some(other) => {
            return Err(ApiError::Invalid(format!(
                "Unknown node role {other:?}: use worker or manager."
            )))
        }
    };
    let command = state.scheduler.join_command(manager).await?;
    Ok(Json(NodeJoin {
        role: if manager { "manager" } else { "worker" }.to_string(),
        command,
    }))
}

pub async fn drain(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(node): Path<String>,
) -> Result<Json<NodeInfo>, ApiError> {
    require_admin(&user)?;
    let name = node_name(&node)?;
    let drained = state.scheduler.drain_node(name).await?;
    tracing::info!(admin = %user.email, node = %drained.hostname, "node drained");
    Ok(Json(info(drained)))
}

pub async fn activate(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(node): Path<String>,
) -> Result<Json<NodeInfo>, ApiError> {
    require_admin(&user)?;
    let name = node_name(&node)?;
    let active = state.scheduler.activate_node(name).await?;
    tracing::info!(admin = %user.email, node = %active.hostname, "node activated");
    Ok(Json(info(active)))
}
