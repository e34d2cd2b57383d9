#!/usr/bin/env bash
# The search benchmark: builds release binaries, starts a throwaway PostgreSQL and runs
# signpost against PostgreSQL full-text search on the same data. Extra arguments go to
# the benchmark, e.g. --services 10000 --concurrency 1,16 --seconds 5.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bins
if ! command -v wrk >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 ||
    echo "wrk could not be installed: the benchmark drives signpost with its own client" >&2
fi
source .ci/postgres.sh
SIGNPOST_BENCH_POSTGRES_URL="$PG_URL" target/release/bench "$@"
