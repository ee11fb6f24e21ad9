# Shared by scripts/start and scripts/test: install and start what paas needs on a Debian
# machine, only when it is missing. Source it; it defines functions and runs nothing.

log() { echo "-----> $*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    as_root apt-get update -qq >&2
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "$@" >&2
}

# Installs Debian packages whose command is missing: ensure_commands cmd:package ...
ensure_commands() {
  local missing=()
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    log "Installing ${missing[*]}"
    apt_install "${missing[@]}"
  fi
}

# Debian's Chromium and its chromedriver, for the web console's browser tests
# (tests/e2e/console.rs drives headless Chromium through chromedriver).
ensure_browser() {
  ensure_commands chromium:chromium chromedriver:chromium-driver
}

# A working Docker engine: installs docker.io and starts dockerd when `docker info` fails.
ensure_docker() {
  if docker info >/dev/null 2>&1; then return; fi
  ensure_commands docker:docker.io dockerd:docker.io
  log "Starting dockerd"
  as_root sh -c 'nohup dockerd >/var/log/paas-dockerd.log 2>&1 &'
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    # Nested or unusual kernels: retry with the storage driver that works everywhere.
    log "dockerd did not start with its default storage driver; retrying with vfs"
    as_root pkill dockerd || true
    sleep 2
    as_root sh -c 'nohup dockerd --storage-driver=vfs >/var/log/paas-dockerd.log 2>&1 &'
    for _ in $(seq 1 60); do
      docker info >/dev/null 2>&1 && return
      sleep 1
    done
  fi
  docker info >/dev/null 2>&1 || { echo "dockerd does not start; see /var/log/paas-dockerd.log" >&2; exit 1; }
}

# A running PostgreSQL on 127.0.0.1:5432 with password auth for the postgres user; exports
# PAAS_TEST_POSTGRES_URL.
ensure_postgres() {
  ensure_commands pg_lsclusters:postgresql psql:postgresql-client
  if ! pg_lsclusters -h | grep -q .; then
    local version
    version=$(ls /usr/lib/postgresql | sort -n | tail -n1)
    as_root pg_createcluster "$version" main >&2
  fi
  pg_lsclusters -h | while read -r version cluster _port status _; do
    if [ "$status" != "online" ]; then
      log "Starting PostgreSQL $version/$cluster"
      as_root pg_ctlcluster "$version" "$cluster" start >&2
    fi
  done
  local port
  port=$(pg_lsclusters -h | awk 'NR==1 {print $3}')
  as_root su postgres -c "psql -q -p $port -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
  export PAAS_TEST_POSTGRES_URL="postgres://postgres:postgres@127.0.0.1:${port}/postgres"
}
