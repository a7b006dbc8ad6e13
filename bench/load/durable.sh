#!/usr/bin/env bash
# What durable tracking codes cost (SPEC §8, group commit on the writer thread): the same
# binary served with `[store] durable_writes = true` (the default: every batch of writes is
# flushed before its steps reply) and `= false` (sled's own background flush only), rounds
# alternating so that both see the same machine. The server is pinned to core 0, wrk (one
# thread, C connections, bench/load/at.lua) to core 1; each run on a fresh store over
# data/feed.ndjson. Prints requests/s, server CPU µs per request, the latency percentiles, and
# the writer's batches (count, mean jobs per batch) and commit time from /metrics.
#
#   bench/load/durable.sh DAFTAR_BINARY [SECONDS] [ROUNDS] [MODE] [CONNECTIONS]
#
# MODE is at.lua's: inquiry (every request a general inquiry, so every request writes an
# audit entry: the worst case, and the default) or mix.
set -euo pipefail
cd "$(dirname "$0")/../.."
DAFTAR=$1; SECS=${2:-10}; ROUNDS=${3:-3}; MODE=${4:-inquiry}; CONNS=${5:-32}
TICK=$(getconf CLK_TCK)
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
PORT=18085

cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
metric() { curl -s "localhost:$PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

run_one() {
  local durable=$1 round=$2 pid t0 t1 out reqs
  # The rate limits off: one source address and a few phones make all the load, and limited
  # requests (a polite END, no audit write) would be measured instead of inquiries.
  printf '[sessions]\nmax = 2000000\n[store]\ndurable_writes = %s\n[limits]\nmsisdn_steps_per_minute = 0\nmsisdn_sessions = 0\nmsisdn_inquiries_per_hour = 0\nidentifier_inquiries_per_hour = 0\nsource_requests_per_second = 0\n' "$durable" > "$WORK/d.toml"
  taskset -c 0 "$DAFTAR" serve --config "$WORK/d.toml" --db "$WORK/db-$round-$durable" \
    --feed data/feed.ndjson --listen "127.0.0.1:$PORT" >/dev/null 2>&1 & pid=$!
  until curl -sf "localhost:$PORT/readyz" >/dev/null; do
    kill -0 $pid 2>/dev/null || { echo "daftar did not start" >&2; exit 1; }
    sleep 0.05
  done
  t0=$(cpu $pid)
  out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s bench/load/at.lua "http://127.0.0.1:$PORT" -- "$MODE")
  t1=$(cpu $pid)
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  local rps p50 p99 batches jobs csum
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  batches=$(metric daftar_writer_batch_jobs_count)
  jobs=$(metric daftar_writer_batch_jobs_sum)
  csum=$(metric daftar_writer_commit_seconds_sum)
  awk -v d="$durable" -v r="$round" -v rps="$rps" -v a="$t0" -v b="$t1" -v n="$reqs" -v t="$TICK" \
      -v p50="$p50" -v p99="$p99" -v bt="$batches" -v j="$jobs" -v cs="${csum:-0}" 'BEGIN {
    printf "round %d durable=%-5s %8.0f req/s  %5.1f µs CPU/req  p50 %s p99 %s  batches %d, %.1f jobs/batch, commit %.0f µs mean\n",
      r, d, rps, (b-a)*1e6/t/n, p50, p99, bt, (bt > 0 ? j/bt : 0), (bt > 0 && d == "true" ? cs*1e6/bt : 0) }'
  kill $pid; wait $pid 2>/dev/null || true
}

for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then order="true false"; else order="false true"; fi
  for durable in $order; do run_one "$durable" "$round"; done
done
