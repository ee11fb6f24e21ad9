//! Images into a registry, so that every node of a Swarm can pull them: the name a local image
//! gets in a registry (pure: [`registry_name`]), and `DockerRuntime::push_image_impl`, which tags
//! the image with that name and pushes it (no credentials), turning an error the engine reports
//! in the push's progress stream into one line.

use super::{errors, DockerRuntime};
use crate::{Result, RuntimeError};
use bollard::image::{PushImageOptions, TagImageOptions};
use futures_util::StreamExt;
use std::fmt;

/// Longest tag the registry API accepts.
const MAX_TAG: usize = 128;

/// The name of an image in a registry: `<registry>/<path>` and a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegistryName {
    /// `<registry>/<path>`, e.g. `10.231.0.1:5000/paas-abc/myapp`.
    pub repository: String,
    pub tag: String,
}

impl fmt::Display for RegistryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.repository, self.tag)
    }
}

/// Whether the first path component of an image reference names a registry host (Docker's
/// rule: it has a dot or a port, or is `localhost`).
fn is_registry_host(component: &str) -> bool {
    component.contains('.') || component.contains(':') || component == "localhost"
}

/// The name `image` gets in `registry` (`host:port`): `<registry>/<path>:<tag>`, where `path` is
/// the image's repository without the registry host it may already name
/// (`other:5000/a/b:t` -> `<registry>/a/b:t`), and `tag` is its tag, or for a digest reference
/// without one the digest as a tag (`a@sha256:12ab` -> `a:sha256-12ab`: a registry name needs a
/// tag to push), or `latest`.
pub(crate) fn registry_name(image: &str, registry: &str) -> Result<RegistryName> {
    let invalid = |why: &str| RuntimeError::Docker(format!("cannot push {image:?}: {why}"));
    let registry = registry.trim().trim_end_matches('/');
    if registry.is_empty()
        || registry.contains('/')
        || registry.chars().any(|c| c.is_whitespace() || c == '@')
    {
        return Err(invalid(&format!(
            "{registry:?} is not a registry address (host:port)"
        )));
    }
    let image = image.trim();
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (repository, tag) = match name[last_slash..].rfind(':') {
        Some(colon) => (
            &name[..last_slash + colon],
            Some(&name[last_slash + colon + 1..]),
        ),
        None => (name, None),
    };
    let path = match repository.split_once('/') {
        Some((first, rest)) if is_registry_host(first) => rest,
        _ => repository,
    };
    if path.is_empty()
        || path.starts_with('/')
        || path.ends_with('/')
        || path.contains("//")
        || path.chars().any(char::is_whitespace)
    {
        return Err(invalid("no repository name"));
    }
    let tag = match (tag, digest) {
        (Some(tag), _) if !tag.is_empty() => tag.to_string(),
        (Some(_), _) => return Err(invalid("an empty tag")),
        (None, Some(digest)) => {
            let tag = digest.replacen(':', "-", 1);
            let valid = !tag.is_empty()
                && tag.len() <= MAX_TAG
                && tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !valid {
                return Err(invalid(&format!("{digest:?} is not a digest")));
            }
            tag
        }
        (None, None) => "latest".to_string(),
    };
    Ok(RegistryName {
        repository: format!("{registry}/{path}"),
        tag,
    })
}

/// One line of what the engine said: a push error may span lines.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl DockerRuntime {
    /// [`crate::ContainerRuntime::push_image`]: tags `image` as [`registry_name`] and pushes it
    /// with no credentials. An error entry in the push's progress stream (registry unreachable,
    /// a plain-HTTP registry the engine does not list in `insecure-registries`, refused upload)
    /// is `RuntimeError::Docker` with the engine's message on one line.
    pub(crate) async fn push_image_impl(&self, image: &str, registry: &str) -> Result<String> {
        let name = registry_name(image, registry)?;
        let target = name.to_string();
        self.docker
            .tag_image(
                image,
                Some(TagImageOptions {
                    repo: name.repository.clone(),
                    tag: name.tag.clone(),
                }),
            )
            .await
            .map_err(errors::map)?;
        let options = PushImageOptions {
            tag: name.tag.clone(),
        };
        let failed = |message: &str| {
            RuntimeError::Docker(format!(
                "pushing {image} to {registry} as {target} failed: {}",
                one_line(message)
            ))
        };
        let mut stream = self.slow.push_image(&name.repository, Some(options), None);
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(error) = info.error {
                        return Err(failed(&error));
                    }
                }
                Err(bollard::errors::Error::DockerStreamError { error }) => {
                    return Err(failed(&error))
                }
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 404,
                    message,
                }) => return Err(RuntimeError::NotFound(one_line(&message))),
                Err(e @ bollard::errors::Error::DockerResponseServerError { .. }) => {
                    return Err(failed(&errors::map(e).to_string()))
                }
                Err(e) => return Err(errors::map(e)),
            }
        }
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REG: &str = "10.231.0.1:5000";

    fn name(image: &str) -> String {
        match registry_name(image, REG) {
            Ok(name) => name.to_string(),
            Err(e) => panic!("{image}: {e}"),
        }
    }

    #[test]
    fn release_images_keep_their_repository_and_tag() {
        assert_eq!(
            name("paas-abc/myapp:build-3"),
            "10.231.0.1:5000/paas-abc/myapp:build-3"
        );
        assert_eq!(
            name("debian:bookworm-slim"),
            "10.231.0.1:5000/debian:bookworm-slim"
        );
        let parts = registry_name("paas-abc/myapp:build-3", REG).expect("valid");
        assert_eq!(parts.repository, "10.231.0.1:5000/paas-abc/myapp");
        assert_eq!(parts.tag, "build-3");
    }

    #[test]
    fn a_missing_tag_is_latest() {
        assert_eq!(
            name("paas-abc/myapp"),
            "10.231.0.1:5000/paas-abc/myapp:latest"
        );
        assert_eq!(name("myapp"), "10.231.0.1:5000/myapp:latest");
        // The port of a registry host is not a tag.
        assert_eq!(name("other:5000/a/b"), "10.231.0.1:5000/a/b:latest");
    }

    #[test]
    fn a_registry_host_in_the_name_is_replaced() {
        assert_eq!(name("other:5000/a/b:t"), "10.231.0.1:5000/a/b:t");
        assert_eq!(
            name("registry.example.com/team/app:v1"),
            "10.231.0.1:5000/team/app:v1"
        );
        assert_eq!(name("localhost/app:v1"), "10.231.0.1:5000/app:v1");
        assert_eq!(
            name("docker.io/library/debian:12"),
            "10.231.0.1:5000/library/debian:12"
        );
        // Pushing again what came from this registry keeps its name.
        assert_eq!(
            name("10.231.0.1:5000/paas-abc/app:3"),
            "10.231.0.1:5000/paas-abc/app:3"
        );
        // A first component without a dot or port is a path, not a host.
        assert_eq!(name("team/app:v1"), "10.231.0.1:5000/team/app:v1");
    }

    #[test]
    fn digest_references() {
        let hex = "a".repeat(64);
        assert_eq!(
            name(&format!("paas-abc/app@sha256:{hex}")),
            format!("10.231.0.1:5000/paas-abc/app:sha256-{hex}")
        );
        // A tag beside the digest is kept.
        assert_eq!(
            name(&format!("other:5000/app:v2@sha256:{hex}")),
            "10.231.0.1:5000/app:v2"
        );
        assert!(registry_name("app@", REG).is_err());
        assert!(registry_name("app@sha256:not/hex", REG).is_err());
    }

    #[test]
    fn registry_addresses_are_checked() {
        assert_eq!(
            registry_name("app:1", "10.231.0.1:5000/")
                .expect("a trailing slash is fine")
                .to_string(),
            "10.231.0.1:5000/app:1"
        );
        for bad in ["", " ", "http://10.231.0.1:5000", "a b:5000"] {
            let err = registry_name("app:1", bad).expect_err(bad).to_string();
            assert!(err.contains("not a registry address"), "{bad}: {err}");
        }
    }

    #[test]
    fn malformed_images_are_refused() {
        for bad in ["", "other:5000/", "app:", "a//b:1", "/app:1"] {
            assert!(registry_name(bad, REG).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn engine_messages_become_one_line() {
        assert_eq!(
            one_line("Get \"https://h/v2/\": http: server gave\nHTTP response to HTTPS client\n"),
            "Get \"https://h/v2/\": http: server gave HTTP response to HTTPS client"
        );
    }
}
