#!/usr/bin/env bash
# Pulling another directory's feed: a signpost holding N generated services (default
# 100,000) serves its Open Referral UK feed on loopback, and an empty signpost pulls it
# with `signpost sources pull`: first everything, then changes only (none), then every
# record again (all unchanged). Prints each pull's report, time and peak memory.
# Usage: bash bench/pull.sh [N] [extra `sources pull` arguments, e.g. --source-pause-ms 250]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
shift || true
cargo build --release --bins
bin=target/release/signpost
work=$(mktemp -d)
server=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
export RUST_LOG=warn

echo "generating and importing $n services into the source directory"
target/release/bench --services "$n" --postgres-url unused --write-services "$work/services.ndjson"
$bin --database-url "sqlite://$work/source.db" --index-dir "$work/source-index" import "$work/services.ndjson" 2>/dev/null
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
$bin --database-url "sqlite://$work/source.db" --index-dir "$work/source-index" serve \
  --bind "127.0.0.1:$port" --source-pull-cron off --link-check-cron off >"$work/source.log" 2>&1 &
server=$!
until curl -sf "http://127.0.0.1:$port/ready" >/dev/null; do
  kill -0 "$server" 2>/dev/null || { cat "$work/source.log"; exit 1; }
  sleep 1
done

reader=(--database-url "sqlite://$work/reader.db" --index-dir "$work/reader-index")
$bin "${reader[@]}" sources add "Bench source" "http://127.0.0.1:$port/oruk"
for pull in "first (everything)" "changes only" "everything again (--full)"; do
  extra=()
  [[ $pull == *--full* ]] && extra=(--full)
  echo
  echo "== pull: $pull"
  /usr/bin/time -f "wall %e s, peak memory %M KiB" \
    $bin "${reader[@]}" sources pull --source-pause-ms 0 "${extra[@]}" "$@"
done
echo
echo "reader database: $(du -h "$work/reader.db" | cut -f1), index: $(du -sh "$work/reader-index" | cut -f1)"
