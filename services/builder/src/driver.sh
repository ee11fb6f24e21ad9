#!/bin/bash
# Build driver of the classic buildpack API, inside a build container: /buildpacks/.driver MODE ARGS...
#   detect DIR...              runs each buildpack's bin/detect on the app, in order; the first
#                              that exits 0 wins (its stdout: line 1 the name, line 2 why).
#   build DIR...               detect as above, then compile and release the winner.
#   build-explicit DIR LABEL...  the chosen buildpacks (URL or path as LABEL), all in order.
#   detect-explicit DIR LABEL... checks the chosen buildpacks as build-explicit does, and
#                              records the last one's name, without compiling.
# Started as root (with only CHOWN, SETUID and SETGID), it hands /app, /cache, /env and
# /tmp/paas to the app user and runs itself again as that user: every buildpack step, the
# sourcing of `export` files included, runs unprivileged.
# Results go to $PAAS_OUT (/tmp/paas): `detected` (folder, name, reason), `release.yml` (the
# last buildpack's bin/release), and `error` (one line for the user, with exit code 100).
# PAAS_APP_DIR, PAAS_CACHE_DIR, PAAS_ENV_DIR and PAAS_OUT may point elsewhere, and
# PAAS_DRIVER_NO_DROP=1 keeps the current user (tests run the detect mode of this script over
# the sample apps on the host).
set -eo pipefail
app="${PAAS_APP_DIR:-/app}"
cache="${PAAS_CACHE_DIR:-/cache}"
env_dir="${PAAS_ENV_DIR:-/env}"
out="${PAAS_OUT:-/tmp/paas}"

if [ "$(id -u)" = 0 ] && [ -z "$PAAS_DRIVER_NO_DROP" ]; then
  mkdir -p "$app" "$cache" "$env_dir" "$out"
  chown app:app "$app" "$cache" "$env_dir" "$out"
  exec setpriv --reuid=app --regid=app --init-groups env HOME="$app" "$0" "$@"
fi
mkdir -p "$out"

fail() {
  printf '%s\n' "$1" > "$out/error"
  exit 100
}

# Runs bin/detect of each buildpack folder in order; the first to exit 0 wins and is written
# to $out/detected. A bin/detect that does not match may print on stderr what it looked for.
detect() {
  local bp result looked="" hint
  for bp in "$@"; do
    [ -x "$bp/bin/detect" ] || continue
    if result=$("$bp/bin/detect" "$app" 2> "$out/detect.err"); then
      {
        printf '%s\n' "$bp"
        printf '%s\n' "$result" | sed -n 1p
        printf '%s\n' "$result" | sed -n 2p
      } > "$out/detected"
      return 0
    fi
    hint=$(head -n 1 "$out/detect.err")
    looked="${looked:+$looked; }${hint:-$(basename "$bp")}"
  done
  fail "no buildpack matches this app; looked for: ${looked:-nothing (no buildpacks)}"
}

# Removes the paths .slugignore lists (one pattern per line, relative to the app) before any
# buildpack runs, as Heroku does; a pattern without a slash matches at any depth.
slugignore() {
  [ -f "$app/.slugignore" ] || return 0
  echo "-----> Removing the paths .slugignore lists"
  local pattern path
  (
    cd "$app"
    shopt -s nullglob dotglob globstar
    while IFS= read -r pattern || [ -n "$pattern" ]; do
      pattern="${pattern%$'\r'}"
      pattern="${pattern#/}"
      case "$pattern" in "" | "#"* | *..*) continue ;; esac
      for path in $pattern; do rm -rf -- "$path"; done
      if [[ "$pattern" != */* ]]; then
        for path in **/$pattern; do rm -rf -- "$path"; done
      fi
    done < .slugignore
  )
}

# Compiles with one buildpack, then sources its export file for the buildpacks after it.
compile() {
  local bp="$1" name="$2" code=0
  "$bp/bin/compile" "$app" "$cache" "$env_dir" || code=$?
  if [ "$code" != 0 ]; then
    fail "failed to compile $name app (bin/compile exited with $code)"
  fi
  if [ -f "$bp/export" ]; then
    # shellcheck disable=SC1091
    . "$bp/export"
  fi
}

release() {
  local bp="$1"
  if [ -x "$bp/bin/release" ]; then
    "$bp/bin/release" "$app" > "$out/release.yml"
  else
    : > "$out/release.yml"
  fi
}

mode="$1"
shift
case "$mode" in
  detect)
    detect "$@"
    ;;
  build)
    detect "$@"
    { read -r bp; read -r name; read -r reason; } < "$out/detected"
    echo "-----> $name app detected"
    [ -z "$reason" ] || echo "       ($reason)"
    slugignore
    compile "$bp" "$name"
    release "$bp"
    ;;
  build-explicit | detect-explicit)
    [ "$mode" = detect-explicit ] || slugignore
    last=""
    while [ $# -ge 2 ]; do
      bp="$1" label="$2"
      shift 2
      [ -x "$bp/bin/compile" ] || fail "$label is not a buildpack: it has no bin/compile"
      name=""
      if [ -x "$bp/bin/detect" ]; then
        name=$("$bp/bin/detect" "$app" 2> /dev/null | sed -n 1p) ||
          fail "App not compatible with buildpack $label (its bin/detect found nothing to build)"
      fi
      printf '%s\n%s\n%s\n' "$bp" "${name:-$label}" "chosen: $label" > "$out/detected"
      last="$bp"
      [ "$mode" = build-explicit ] || continue
      echo "-----> Using buildpack $label"
      echo "-----> ${name:-$label} app detected"
      compile "$bp" "${name:-$label}"
    done
    [ -n "$last" ] || fail "no buildpack was chosen"
    [ "$mode" = detect-explicit ] || release "$last"
    ;;
  *)
    echo "usage: driver detect|build|build-explicit|detect-explicit ..." >&2
    exit 2
    ;;
esac
