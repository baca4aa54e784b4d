#!/usr/bin/env bash
# scripts/test.sh: the whole test suite, with all set-up, on a fresh machine.
# Installs what the tests need (Debian: ffmpeg, chromium; Go: livesim2 v1.9.0,
# MinIO and fake-gcs-server built from the module proxy; npm: dash.js, Shaka
# Player, hls.js, playwright-core), then runs vet, gofmt and every Go test,
# including the end-to-end tests against real livesim2 servers, ffmpeg,
# headless Chromium, and the storage tests on a directory, MinIO (S3) and
# fake-gcs-server (GCS). Nothing is skipped: a missing tool is an error.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
cache="$root/.cache"
mkdir -p "$cache/bin"

log() { printf '== %s\n' "$*"; }

need_apt=()
command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null || need_apt+=(ffmpeg)
command -v chromium >/dev/null || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# livesim2 (the DASH-IF live simulator) v1.9.0, from the Go module proxy,
# built in a scratch module so it never enters our go.mod.
LIVESIM2_VERSION=v1.9.0
if [ ! -x "$cache/bin/livesim2-$LIVESIM2_VERSION" ]; then
  log "building livesim2 $LIVESIM2_VERSION"
  scratch=$(mktemp -d)
  (cd "$scratch" && go mod init scratch >/dev/null 2>&1 &&
    go get "github.com/Dash-Industry-Forum/livesim2/cmd/livesim2@$LIVESIM2_VERSION" >/dev/null 2>&1 &&
    go build -o "$cache/bin/livesim2-$LIVESIM2_VERSION" github.com/Dash-Industry-Forum/livesim2/cmd/livesim2)
  # its test assets ship in the module
  rm -rf "$cache/livesim2-assets"
  cp -r "$(cd "$scratch" && go list -m -f '{{.Dir}}' github.com/Dash-Industry-Forum/livesim2)/cmd/livesim2/app/testdata/assets" "$cache/livesim2-assets"
  chmod -R u+w "$cache/livesim2-assets"
  rm -rf "$scratch"
fi

# Object stores for the storage tests (S3 and GCS APIs on 127.0.0.1, started
# and stopped by the tests through internal/testenv): MinIO and
# fake-gcs-server, at exact versions from the Go module proxy, each built in
# a scratch module (MinIO takes a few minutes; the binaries are cached).
build_tool() { # build_tool NAME MODULE@VERSION PACKAGE
  local out="$cache/bin/$1"
  [ -x "$out" ] && return 0
  log "building $1"
  local scratch
  scratch=$(mktemp -d)
  if ! (cd "$scratch" && go mod init scratch >/dev/null 2>&1 &&
    go get "$2" >get.log 2>&1 && go build -o "$out.tmp" "$3" 2>>get.log); then
    cat "$scratch/get.log"; rm -rf "$scratch" "$out.tmp"; echo "building $1 failed"; return 1
  fi
  mv "$out.tmp" "$out"
  rm -rf "$scratch"
}
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
FAKEGCS_VERSION=v1.53.0 # the first that pages object listings (nextPageToken)
build_tool "minio-$MINIO_VERSION" "github.com/minio/minio@$MINIO_VERSION" github.com/minio/minio
build_tool "fake-gcs-server-$FAKEGCS_VERSION" "github.com/fsouza/fake-gcs-server@$FAKEGCS_VERSION" github.com/fsouza/fake-gcs-server

log "npm ci (players)"
(cd scripts/player && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

log "go vet"
go vet ./...
log "gofmt"
unformatted=$(gofmt -l $(git ls-files -co --exclude-standard '*.go' 2>/dev/null || find . -name '*.go' -not -path './.cache/*'))
if [ -n "$unformatted" ]; then echo "gofmt wants to rewrite: $unformatted"; exit 1; fi

export REAPARCHIVE_TEST_LIVESIM2="$cache/bin/livesim2-$LIVESIM2_VERSION"
export REAPARCHIVE_TEST_LIVESIM2_ASSETS="$cache/livesim2-assets"
export REAPARCHIVE_TEST_PLAYER="$root/scripts/player"
export REAPARCHIVE_TEST_MINIO="$cache/bin/minio-$MINIO_VERSION"
export REAPARCHIVE_TEST_FAKEGCS="$cache/bin/fake-gcs-server-$FAKEGCS_VERSION"
export REAPARCHIVE_TEST_REQUIRE=1   # tests fail, not skip, when a tool is missing

log "go test"
go test -count=1 -timeout 40m "$@" ./...
