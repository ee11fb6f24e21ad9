//! One-off processes (`paas run`): `POST /api/apps/{app}/dynos` starts a container of the
//! current release, named `<app>.run.<n>` (the smallest number no run container of the app
//! has), with the release's image, config vars, limits and network, the command going
//! through the release's launcher like a Procfile command.
//!
//! Detached (`attach: false`), the engine removes the container when it exits and the answer
//! comes at once. Attached, the request must ask for `Upgrade: paas-run`: the answer is 101,
//! then the connection carries `paas_domain::run::Frame`s (stdin, terminal size and stdin EOF
//! in; stdout, stderr, and last the exit code or an error out). The container is removed when
//! it has exited, or killed and removed as soon as the client goes away; a paasd that dies
//! meanwhile leaves it labelled `paas.attached=true`, and the next start removes it.

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::json::ApiJson;
use crate::routes::app_for_user;
use crate::state::ApiState;
use crate::views::rfc3339;
use axum::body::Body;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::StreamExt;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use paas_domain::run::{data_frames, Frame, FrameReader, RunDyno, RunRequest, UPGRADE_PROTOCOL};
use paas_runtime::{Attached, ContainerRuntime, OutputChunk, RuntimeError};
use paas_store::{App, Release};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Label of attached run containers: removed at paasd's start (their session is gone).
pub const ATTACHED_LABEL: &str = "paas.attached";

/// How long output may still arrive once the process has exited.
const OUTPUT_DRAIN: Duration = Duration::from_secs(2);

/// Tries with the next free number when a concurrent run took the same name.
const NAME_ATTEMPTS: usize = 16;

/// `POST /api/apps/{app}/dynos`.
pub async fn create(
    State(state): State<Arc<ApiState>>,
    AuthUser(user): AuthUser,
    Path(name): Path<String>,
    mut request: Request,
) -> Result<Response, ApiError> {
    let upgrade = upgrade_request(&mut request);
    let app = app_for_user(&state, &user, &name).await?;
    let ApiJson(body) = ApiJson::<RunRequest>::from_request(request, &state).await?;
    let size = body
        .validate(state.scheduler.default_size().cpu_millis)
        .map_err(|e| ApiError::Invalid(format!("{e}.")))?;
    let upgrade = match (body.attach, upgrade) {
        (false, _) => None,
        (true, Some(upgrade)) => Some(upgrade),
        (true, None) => {
            return Err(ApiError::BadRequest(format!(
                "An attached run needs an HTTP/1.1 request with Connection: Upgrade and Upgrade: {UPGRADE_PROTOCOL}."
            )))
        }
    };
    let release = current_release(&state, &app).await?;
    let runtime = state.runtime.clone();
    let (id, dyno) = create_container(&state, &app, &release, &body, size.as_ref()).await?;
    tracing::info!(app = %app.name, user = %user.email, dyno = %dyno, attach = body.attach, "one-off process");
    let view = RunDyno {
        name: dyno,
        process_type: "run".to_string(),
        command: body.command.clone(),
        state: "starting".to_string(),
        release: format!("v{}", release.version),
        size: size.unwrap_or_else(|| state.scheduler.default_size()).key(),
        attached: body.attach,
        created_at: rfc3339(now_ms()),
    };
    let Some(upgrade) = upgrade else {
        if let Err(e) = runtime.start_container(&id).await {
            discard(runtime.as_ref(), &id).await;
            return Err(ApiError::internal(e));
        }
        return Ok((StatusCode::CREATED, Json(view)).into_response());
    };
    let attached = match runtime.attach_container(&id).await {
        Ok(attached) => attached,
        Err(e) => {
            discard(runtime.as_ref(), &id).await;
            return Err(ApiError::internal(e));
        }
    };
    let tty = body.tty;
    tokio::spawn(async move {
        match upgrade.await {
            Ok(upgraded) => {
                let end =
                    session(runtime.as_ref(), &id, tty, attached, TokioIo::new(upgraded)).await;
                tracing::info!(dyno = %view.name, "one-off process session ended: {end}");
            }
            Err(e) => tracing::info!(dyno = %view.name, "the client left before the session: {e}"),
        }
        discard(runtime.as_ref(), &id).await;
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "Upgrade")
        .header(header::UPGRADE, UPGRADE_PROTOCOL)
        .body(Body::empty())
        .map_err(ApiError::internal)
}

/// The pending upgrade of a request that asks for `Upgrade: paas-run`.
fn upgrade_request(request: &mut Request) -> Option<OnUpgrade> {
    let asks = request
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case(UPGRADE_PROTOCOL));
    asks.then(|| request.extensions_mut().remove::<OnUpgrade>())
        .flatten()
}

async fn current_release(state: &ApiState, app: &App) -> Result<Release, ApiError> {
    let release = match app.current_release_id {
        Some(id) => state.store.release_by_id(id).await?,
        None => None,
    };
    release.filter(|r| !r.image.is_empty()).ok_or_else(|| {
        ApiError::Invalid(format!(
            "{} has no deployed release to run: deploy it first with git push.",
            app.name
        ))
    })
}

/// Creates the container under the smallest free `run.<n>`; returns its id and `run.<n>`.
async fn create_container(
    state: &ApiState,
    app: &App,
    release: &Release,
    body: &RunRequest,
    size: Option<&paas_domain::ProcessSize>,
) -> Result<(String, String), ApiError> {
    let prefix = format!("{}.run.", app.name);
    let mut taken: BTreeSet<u32> = state
        .runtime
        .list_containers(&state.scheduler.run_filter(Some(&app.name)))
        .await
        .map_err(ApiError::internal)?
        .iter()
        .filter_map(|c| c.name.strip_prefix(&prefix)?.parse().ok())
        .collect();
    for _ in 0..NAME_ATTEMPTS {
        let index = (1..).find(|n| !taken.contains(n)).unwrap_or(u32::MAX);
        let mut spec = state
            .scheduler
            .run_spec(app, release, index, &body.command, size);
        spec.env
            .extend(body.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        spec.tty = body.tty;
        spec.open_stdin = body.attach;
        spec.auto_remove = !body.attach;
        if body.attach {
            spec.labels
                .insert(ATTACHED_LABEL.to_string(), "true".to_string());
        }
        if let Some(network) = &spec.network {
            state
                .runtime
                .ensure_network(network)
                .await
                .map_err(ApiError::internal)?;
        }
        match state.runtime.create_container(&spec).await {
            Ok(id) => return Ok((id, format!("run.{index}"))),
            Err(RuntimeError::Conflict(_)) => {
                taken.insert(index);
            }
            Err(e) => return Err(ApiError::internal(e)),
        }
    }
    Err(ApiError::Conflict(format!(
        "Too many one-off processes of {} are starting at once; try again.",
        app.name
    )))
}

/// Kills and removes the container; failures are logged (the container is labelled, and
/// paasd's next start removes attached leftovers).
async fn discard(runtime: &dyn ContainerRuntime, id: &str) {
    if let Err(e) = runtime.remove_container(id, Duration::ZERO).await {
        tracing::warn!(container = id, "could not remove a one-off process: {e}");
    }
}

/// How a session ended.
#[derive(Debug, PartialEq, Eq)]
enum SessionEnd {
    Exited(i32),
    ClientGone,
    Failed(String),
}

impl std::fmt::Display for SessionEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionEnd::Exited(code) => write!(f, "exited with {code}"),
            SessionEnd::ClientGone => f.write_str("the client went away"),
            SessionEnd::Failed(why) => write!(f, "failed: {why}"),
        }
    }
}

/// Starts the attached container and relays frames until it exits (the exit code is the last
/// frame) or the client goes away.
async fn session<S>(
    runtime: &dyn ContainerRuntime,
    id: &str,
    tty: bool,
    attached: Attached,
    client: S,
) -> SessionEnd
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (client_in, mut client_out) = tokio::io::split(client);
    if let Err(e) = runtime.start_container(id).await {
        let why = format!("Cannot start the process: {e}");
        let _ = send(&mut client_out, &Frame::Error(why.clone()).encode()).await;
        return SessionEnd::Failed(why);
    }
    let Attached { stdin, mut output } = attached;
    let (resizes_tx, mut resizes) = tokio::sync::mpsc::channel::<(u16, u16)>(8);
    // Client frames are read in a task of their own: writing to a stdin nobody reads must not
    // hold back the output.
    let mut from_client = tokio::spawn(relay_client(client_in, stdin, tty, resizes_tx));
    let wait = runtime.wait_container(id);
    tokio::pin!(wait);
    let mut exit: Option<Result<i64, RuntimeError>> = None;
    let mut output_open = true;
    let drain = tokio::time::sleep(Duration::MAX);
    tokio::pin!(drain);
    let end = loop {
        if !output_open {
            if let Some(exit) = exit.take() {
                break match exit {
                    Ok(code) => SessionEnd::Exited(i32::try_from(code).unwrap_or(255)),
                    Err(e) => SessionEnd::Failed(format!("Lost track of the process: {e}")),
                };
            }
        }
        tokio::select! {
            chunk = output.next(), if output_open => {
                let bytes = match chunk {
                    Some(Ok(OutputChunk::Stdout(data))) => data_frames(&data, Frame::Stdout),
                    Some(Ok(OutputChunk::Stderr(data))) => data_frames(&data, Frame::Stderr),
                    Some(Err(e)) => {
                        tracing::warn!(container = id, "reading a one-off process's output failed: {e}");
                        output_open = false;
                        continue;
                    }
                    None => {
                        output_open = false;
                        continue;
                    }
                };
                if send(&mut client_out, &bytes).await.is_err() {
                    break SessionEnd::ClientGone;
                }
            }
            code = &mut wait, if exit.is_none() => {
                exit = Some(code);
                drain.as_mut().reset(tokio::time::Instant::now() + OUTPUT_DRAIN);
            }
            () = &mut drain, if exit.is_some() && output_open => output_open = false,
            Some((rows, cols)) = resizes.recv() => {
                if let Err(e) = runtime.resize_tty(id, rows, cols).await {
                    tracing::debug!(container = id, "resizing a terminal failed: {e}");
                }
            }
            ended = &mut from_client => {
                break match ended {
                    Ok(Some(why)) => SessionEnd::Failed(why),
                    _ => SessionEnd::ClientGone,
                };
            }
        }
    };
    from_client.abort();
    let last = match &end {
        SessionEnd::Exited(code) => Some(Frame::Exit(*code)),
        SessionEnd::Failed(why) => Some(Frame::Error(why.clone())),
        SessionEnd::ClientGone => None,
    };
    if let Some(frame) = last {
        let _ = send(&mut client_out, &frame.encode()).await;
        let _ = client_out.shutdown().await;
    }
    end
}

async fn send<W: AsyncWrite + Unpin>(out: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    out.write_all(bytes).await?;
    out.flush().await
}

/// Reads the client's frames: stdin data to the container, stdin EOF closes the container's
/// stdin (not with a terminal: the engine would close the output too), terminal sizes to
/// `resizes`. Returns when the client has gone (`None`) or sent something invalid (the reason).
async fn relay_client<R>(
    mut client: R,
    mut stdin: std::pin::Pin<Box<dyn AsyncWrite + Send>>,
    tty: bool,
    resizes: tokio::sync::mpsc::Sender<(u16, u16)>,
) -> Option<String>
where
    R: AsyncRead + Unpin,
{
    let mut reader = FrameReader::default();
    let mut buf = vec![0u8; 16 * 1024];
    let mut stdin_open = true;
    loop {
        let n = match client.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => n,
        };
        reader.push(&buf[..n]);
        loop {
            let frame = match reader.next_frame() {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => return Some(format!("Invalid frame from the client: {e}")),
            };
            match frame {
                Frame::Stdin(data) if stdin_open => {
                    // A process that no longer reads its stdin only loses its input.
                    stdin_open = send(&mut stdin, &data).await.is_ok();
                }
                Frame::StdinEof if stdin_open && !tty => {
                    let _ = stdin.shutdown().await;
                    stdin_open = false;
                }
                Frame::Resize { rows, cols } if tty => {
                    let _ = resizes.try_send((rows, cols));
                }
                Frame::Stdout(_) | Frame::Stderr(_) | Frame::Exit(_) | Frame::Error(_) => {
                    return Some("Invalid frame from the client: not a client frame".to_string())
                }
                _ => {}
            }
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
