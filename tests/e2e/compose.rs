//! `docker-compose.yml` is accepted by Docker Compose (v2 plugin or v1) and runs paasd with
//! PostgreSQL and the Docker socket.

use paas_e2e::workspace;
use std::process::Command;

fn compose_config() -> std::process::Output {
    let file = workspace().join("docker-compose.yml");
    let v2 = Command::new("docker")
        .args(["compose", "-f"])
        .arg(&file)
        .arg("config")
        .output();
    match v2 {
        Ok(output) if output.status.success() => output,
        _ => Command::new("docker-compose")
            .arg("-f")
            .arg(&file)
            .arg("config")
            .output()
            .expect("docker compose or docker-compose is installed"),
    }
}

#[test]
fn compose_file_is_valid_and_wires_paasd_to_postgres_and_docker() {
    let output = compose_config();
    let config = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        config.contains("postgres://paas:paas@postgres:5432/paas"),
        "{config}"
    );
    assert!(config.contains("/var/run/docker.sock"), "{config}");
    assert!(config.contains("8080"), "{config}");
}
