#!/usr/bin/env bash
# A reminder run at scale: N generated services (default 100,000) spread over M
# organisations (default 20,000), each with an update contact, composed and sent to a
# mail server on loopback (bench/smtp_sink.py), then composed again into a dry-run folder.
# Usage: bash bench/reminders.sh [N] [M]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
m=${2:-20000}
cargo build --release --bins
bin=target/release/signpost
work=$(mktemp -d)
sink=
cleanup() {
  if [ -n "$sink" ]; then kill "$sink" 2>/dev/null || true; wait "$sink" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
export RUST_LOG=warn
db=(--database-url "sqlite://$work/d.db" --index-dir "$work/index")

echo "generating $n services over $m organisations, each with an update contact"
target/release/bench --services "$n" --postgres-url unused --write-services "$work/services.ndjson"
$bin "${db[@]}" import "$work/services.ndjson" 2>/dev/null
sqlite3 "$work/d.db" <<SQL
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $m - 1)
INSERT INTO organizations (id, name, doc, retired, version, created_at, last_modified)
SELECT printf('00000000-0000-4000-8000-%012d', i), 'Bench Organisation ' || i,
       json_object('name', 'Bench Organisation ' || i), 0, 1,
       '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z' FROM n;
UPDATE services SET organization_id = printf('00000000-0000-4000-8000-%012d', rowid % $m);
INSERT INTO update_contacts (organization_id, email, name, added_at)
SELECT id, 'keeper' || substr(id, 25) || '@example.org', 'Keeper ' || substr(id, 25), '2026-01-01T00:00:00Z'
FROM organizations WHERE name LIKE 'Bench Organisation %';
SQL
echo "services needing a look: $(sqlite3 "$work/d.db" "SELECT COUNT(*) FROM services WHERE status IN ('active','temporarily_closed') AND (json_extract(doc, '$.assured_date') IS NULL OR json_extract(doc, '$.assured_date') < date('now', '-183 days'))") (not confirmed for six months; capacity and links add more)"
$bin "${db[@]}" reindex 2>&1 | tail -1

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 bench/smtp_sink.py "$port" &
sink=$!
sleep 1
echo
echo "== sent through SMTP on loopback"
/usr/bin/time -f "wall %e s, peak memory %M KiB" \
  $bin "${db[@]}" reminders run --smtp-host 127.0.0.1 --smtp-port "$port" --smtp-security none
kill "$sink"; wait "$sink" || true; sink=
echo
echo "== again at once: every organisation reminded too recently"
/usr/bin/time -f "wall %e s, peak memory %M KiB" \
  $bin "${db[@]}" reminders run --dry-run "$work/mail"
echo
echo "== composed into a dry-run folder (interval 0)"
/usr/bin/time -f "wall %e s, peak memory %M KiB" \
  $bin "${db[@]}" reminders run --dry-run "$work/mail" --reminder-interval-days 0
echo "$(ls "$work/mail" | wc -l) emails, $(du -sh "$work/mail" | cut -f1)"
