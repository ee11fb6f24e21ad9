//! Mapping of bollard errors onto `RuntimeError`: 404 → `NotFound`, 409 → `Conflict`,
//! transport failures (socket missing, connection refused or reset, timeouts) → `Unavailable`,
//! anything else → `Docker`.

use crate::RuntimeError;
use bollard::errors::Error as BollardError;

/// Converts a bollard error, keeping the engine's message.
pub(crate) fn map(err: BollardError) -> RuntimeError {
    match err {
        BollardError::DockerResponseServerError {
            status_code: 404,
            message,
        } => RuntimeError::NotFound(message),
        BollardError::DockerResponseServerError {
            status_code: 409,
            message,
        } => RuntimeError::Conflict(message),
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } => RuntimeError::Docker(format!("engine answered {status_code}: {message}")),
        BollardError::DockerStreamError { error } => RuntimeError::Docker(error),
        e @ (BollardError::IOError { .. }
        | BollardError::HyperResponseError { .. }
        | BollardError::HyperLegacyError { .. }
        | BollardError::RequestTimeoutError
        | BollardError::SocketNotFoundError(_)) => RuntimeError::Unavailable(e.to_string()),
        other => RuntimeError::Docker(other.to_string()),
    }
}

/// Whether the engine answered 404 (no such container, image, volume or network).
pub(crate) fn is_not_found(err: &BollardError) -> bool {
    matches!(
        err,
        BollardError::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Whether the engine answered 409 (name taken, removal in progress, in use).
pub(crate) fn is_conflict(err: &BollardError) -> bool {
    matches!(
        err,
        BollardError::DockerResponseServerError {
            status_code: 409,
            ..
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status_code: u16) -> BollardError {
        BollardError::DockerResponseServerError {
            status_code,
            message: "m".into(),
        }
    }

    #[test]
    fn status_codes_map_to_variants() {
        assert!(matches!(map(server(404)), RuntimeError::NotFound(m) if m == "m"));
        assert!(matches!(map(server(409)), RuntimeError::Conflict(_)));
        assert!(matches!(map(server(500)), RuntimeError::Docker(_)));
        assert!(is_not_found(&server(404)) && !is_not_found(&server(409)));
        assert!(is_conflict(&server(409)));
    }

    #[test]
    fn transport_errors_are_unavailable() {
        let io = BollardError::IOError {
            err: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        };
        assert!(matches!(map(io), RuntimeError::Unavailable(_)));
        assert!(matches!(
            map(BollardError::RequestTimeoutError),
            RuntimeError::Unavailable(_)
        ));
        assert!(matches!(
            map(BollardError::SocketNotFoundError(
                "/var/run/docker.sock".into()
            )),
            RuntimeError::Unavailable(_)
        ));
    }
}
