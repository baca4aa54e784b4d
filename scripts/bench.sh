#!/usr/bin/env bash
# scripts/bench.sh: the push-ingest load benchmark (archive/ingest
# BenchmarkIngestLoad, see BENCHMARKS.md) with everything it needs, on a
# fresh machine: builds livesim2's cmaf-ingest-receiver v1.9.0 from the Go
# module proxy (in a scratch module, so it never enters our go.mod),
# benchstat, and the reaparchive command from this tree, then runs the
# benchmark COUNT times (default 6, what benchstat wants for a confidence
# interval) and summarises it with benchstat.
#
#   scripts/bench.sh                 # 6 samples of every variant
#   COUNT=3 scripts/bench.sh         # fewer samples
#   SEGMENTS=4 scripts/bench.sh      # timed media segments per track (default 8)
#   scripts/bench.sh -cpuprofile cpu.out   # extra `go test` flags
#
# Raw results go to .cache/bench/ingest-<time>.txt (keep one to compare a
# change against it: benchstat old.txt new.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
cache="$root/.cache"
mkdir -p "$cache/bin" "$cache/bench"

log() { printf '== %s\n' "$*" >&2; }

LIVESIM2_VERSION=v1.9.0
receiver="$cache/bin/cmaf-ingest-receiver-$LIVESIM2_VERSION"
if [ ! -x "$receiver" ]; then
  log "building cmaf-ingest-receiver $LIVESIM2_VERSION"
  scratch=$(mktemp -d)
  (cd "$scratch" && go mod init scratch >/dev/null 2>&1 &&
    go get "github.com/Dash-Industry-Forum/livesim2/cmd/cmaf-ingest-receiver@$LIVESIM2_VERSION" >/dev/null 2>&1 &&
    go build -o "$receiver" github.com/Dash-Industry-Forum/livesim2/cmd/cmaf-ingest-receiver)
  rm -rf "$scratch"
fi

# benchstat (golang.org/x/perf); the module proxy here needs an exact version.
BENCHSTAT_VERSION=v0.0.0-20250909190841-7e13e04d9366
benchstat="$cache/bin/benchstat"
if [ ! -x "$benchstat" ]; then
  if command -v benchstat >/dev/null; then
    benchstat=$(command -v benchstat)
  else
    log "building benchstat"
    scratch=$(mktemp -d)
    (cd "$scratch" && go mod init bs >/dev/null 2>&1 &&
      go get "golang.org/x/perf/cmd/benchstat@$BENCHSTAT_VERSION" >/dev/null 2>&1 &&
      go build -o "$benchstat" golang.org/x/perf/cmd/benchstat)
    rm -rf "$scratch"
  fi
fi

log "building reaparchive (this tree)"
go build -o "$cache/bin/reaparchive-bench" ./cmd/reaparchive

export REAPARCHIVE_BENCH_CMAF_INGEST_RECEIVER="$receiver"
export REAPARCHIVE_BENCH_REAPARCHIVE="$cache/bin/reaparchive-bench"
if [ -n "${SEGMENTS:-}" ]; then export REAPARCHIVE_BENCH_SEGMENTS="$SEGMENTS"; fi

out="$cache/bench/ingest-$(date -u +%Y%m%dT%H%M%SZ).txt"
log "go test -bench IngestLoad -count ${COUNT:-6} > $out"
{
  echo "# $(uname -srm); $(nproc) cores $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); $(go version | cut -d' ' -f3)"
  go test -run '^$' -bench 'IngestLoad' -benchtime 1x -count "${COUNT:-6}" -timeout 60m "$@" ./archive/ingest/
} | tee "$out"

log "benchstat: every variant, medians ± 95 % confidence interval"
"$benchstat" "$out"
log "benchstat: reaparchive and the others against directwrite (same run)"
"$benchstat" -col '/impl@(directwrite reaparchive directwrite-nosync cmafingestreceiver)' "$out"
log "benchstat: reaparchive against cmaf-ingest-receiver (same run)"
"$benchstat" -col '/impl@(cmafingestreceiver reaparchive)' "$out"
log "reaparchive / baseline, per round (round i = the i-th result of every variant: one -count iteration)"
awk '
# per-round ratios of reaparchive to each baseline: round i is the i-th
# result of every impl (go test -count runs all impls once per round).
/^BenchmarkIngestLoad\/impl=/ {
  name = $1; sub(/^BenchmarkIngestLoad\/impl=/, "", name); sub(/-[0-9]+$/, "", name)
  r = ++rounds[name]
  for (i = 3; i + 1 <= NF; i += 2) val[name, r, $(i+1)] = $i
}
function median(a, n,    i, j, t) {
  for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t }
  return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
END {
  split("MB/s segments/s peak-RSS-MiB RSS-growth-MiB recv-cpu-s p50-ms p99-ms", metrics, " ")
  split("directwrite directwrite-nosync cmafingestreceiver", bases, " ")
  printf "%-16s %-20s %8s %8s %8s  %s\n", "metric", "reaparchive / base", "median", "min", "max", "rounds"
  for (m = 1; m <= 7; m++) for (b = 1; b <= 3; b++) {
    n = 0; lo = ""; hi = ""
    for (r = 1; r <= rounds["reaparchive"] && r <= rounds[bases[b]]; r++) {
      x = val["reaparchive", r, metrics[m]]; y = val[bases[b], r, metrics[m]]
      if (x == "" || y == "" || y + 0 == 0) continue
      q[++n] = x / y
      if (lo == "" || q[n] < lo) lo = q[n]
      if (hi == "" || q[n] > hi) hi = q[n]
    }
    if (n > 0) printf "%-16s %-20s %8.3f %8.3f %8.3f  %d\n", metrics[m], bases[b], median(q, n), lo, hi, n
  }
}
' "$out" | tee "${out%.txt}-ratios.txt"
log "raw results: $out"
