#!/bin/bash
# Build driver, run as root (with only CHOWN, SETUID and SETGID) inside a build container: /buildpacks/.driver BUILDPACK_DIR
# Prepares the build, cache and env folders, then runs the buildpack's bin/compile and
# bin/release as the unprivileged app user. bin/release's YAML goes to /tmp/paas/release.yml.
set -eo pipefail
buildpack="$1"
mkdir -p /app /cache /env /tmp/paas
chown app:app /app /cache /tmp/paas
as_app() { setpriv --reuid=app --regid=app --init-groups env HOME=/app "$@"; }
as_app "/buildpacks/$buildpack/bin/compile" /app /cache /env
# The redirection runs as the app user too: root here has no capability to write its files.
as_app bash -c 'exec "$1" /app > /tmp/paas/release.yml' release "/buildpacks/$buildpack/bin/release"
