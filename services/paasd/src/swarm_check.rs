//! The Swarm at start (issue 11, point 6). With `PAAS_SCHEDULER=swarm` the engine paasd
//! talks to must be a Swarm manager; when it is not, paasd stops with one line that says so
//! and how to fix it. With the default `docker`, paasd still uses the Swarm when its engine
//! happens to be a manager (for apps that choose it with `paas scheduler:set swarm`), and
//! otherwise runs exactly as before, without a word about Swarm.

use crate::config::SchedulerKind;
use paas_runtime::swarm::{SwarmRuntime, SwarmState};

/// The one line paasd stops with on this engine's Swarm state; `None` on a manager.
pub fn startup_problem(state: SwarmState) -> Option<String> {
    state.problem()
}

/// The Swarm manager at `DOCKER_HOST` (or the local socket), when there is one.
pub async fn connect(scheduler: SchedulerKind) -> anyhow::Result<Option<SwarmRuntime>> {
    let required = scheduler == SchedulerKind::Swarm;
    let swarm = match SwarmRuntime::connect().await {
        Ok(swarm) => swarm,
        Err(e) if required => anyhow::bail!("PAAS_SCHEDULER=swarm: {e}"),
        Err(_) => return Ok(None),
    };
    let state = match swarm.state().await {
        Ok(state) => state,
        Err(e) if required => anyhow::bail!("PAAS_SCHEDULER=swarm: {e}"),
        Err(_) => return Ok(None),
    };
    match startup_problem(state) {
        None => {
            tracing::info!(
                default = required,
                "this engine is a Swarm manager: apps can run on the Swarm"
            );
            Ok(Some(swarm))
        }
        Some(line) if required => anyhow::bail!(line),
        Some(_) => Ok(None),
    }
}

/// How long the registry has to answer at start.
const REGISTRY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// `PAAS_REGISTRY` at start: it must answer the registry API (`GET /v2/`, any HTTP status:
/// one with authentication answers 401) over plain HTTP, else paasd stops with one line
/// rather than failing every deploy later.
pub async fn check_registry(registry: &str) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let answer = async {
        let mut stream = tokio::net::TcpStream::connect(registry).await?;
        let request = format!("GET /v2/ HTTP/1.0\r\nHost: {registry}\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut head = [0u8; 16];
        let n = stream.read(&mut head).await?;
        Ok::<_, std::io::Error>(head[..n].starts_with(b"HTTP/"))
    };
    match tokio::time::timeout(REGISTRY_TIMEOUT, answer).await {
        Ok(Ok(true)) => Ok(()),
        Ok(Ok(false)) => {
            anyhow::bail!("PAAS_REGISTRY {registry} does not speak HTTP: is it a registry (Debian's docker-registry listens on :5000)?")
        }
        Ok(Err(e)) => anyhow::bail!("PAAS_REGISTRY {registry} does not answer: {e}"),
        Err(_) => anyhow::bail!(
            "PAAS_REGISTRY {registry} did not answer within {}s",
            REGISTRY_TIMEOUT.as_secs()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_outside_a_swarm_gets_one_line_with_the_init_command() {
        let line = startup_problem(SwarmState::Inactive).expect("a problem");
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(line.starts_with("PAAS_SCHEDULER=swarm but "), "{line}");
        assert!(
            line.contains("`docker swarm init --advertise-addr <this host's address>`"),
            "{line}"
        );
    }

    #[test]
    fn a_worker_is_told_to_use_a_manager_and_a_manager_passes() {
        let line = startup_problem(SwarmState::Worker).expect("a problem");
        assert!(line.contains("docker node promote"), "{line}");
        assert_eq!(startup_problem(SwarmState::Manager), None);
    }

    /// A real listener for each case: a registry-like HTTP answer passes; a closed port and
    /// a server that is not HTTP each give one line naming the registry.
    #[tokio::test]
    async fn the_registry_must_answer_http() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let serve = |answer: &'static [u8]| async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap().to_string();
            tokio::spawn(async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    let mut buf = [0u8; 256];
                    let _ = stream.read(&mut buf).await;
                    let _ = stream.write_all(answer).await;
                }
            });
            addr
        };
        let registry = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").await;
        check_registry(&registry).await.expect("a registry passes");
        let not_http = serve(b"SSH-2.0-OpenSSH\r\n").await;
        let e = check_registry(&not_http).await.unwrap_err().to_string();
        assert!(
            e.contains("does not speak HTTP") && e.contains(&not_http),
            "{e}"
        );
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().to_string()
        };
        let e = check_registry(&closed).await.unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("PAAS_REGISTRY {closed} does not answer")),
            "{e}"
        );
        assert_eq!(e.lines().count(), 1, "{e}");
    }
}
