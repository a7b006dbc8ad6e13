#!/usr/bin/env bash
# CPU per request of a server under a closed-loop wrk load, measured from /proc/PID/stat.
# The server is pinned to core 0 and wrk (one thread, 32 connections) to core 1, so the two
# do not share a core; run it on a quiet machine.
#
#   bench/load/cpu.sh DAFTAR_BINARY BARE_BINARY [SECONDS] [ROUNDS]
#
# MENUS=DIR serves the menus of DIR (an older binary needs the menus of its own tree).
# Prints, per round, the bare server's and daftar's CPU µs per request in each mode of
# bench/load/at.lua (first, inquiry, mix), each on a fresh store over data/feed.ndjson.
set -euo pipefail
cd "$(dirname "$0")/../.."
DAFTAR=$1; BARE=$2; SECS=${3:-10}; ROUNDS=${4:-3}
TICK=$(getconf CLK_TCK)
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
printf '[sessions]\nmax = 2000000\n' > "$WORK/daftar.toml"

cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }

# measure PID PORT MODE: CPU µs per request over one wrk run
measure() {
  local pid=$1 port=$2 mode=$3 t0 t1 out reqs
  t0=$(cpu "$pid")
  out=$(taskset -c 1 wrk -t1 -c32 -d"${SECS}s" -s bench/load/at.lua "http://127.0.0.1:$port" -- "$mode")
  t1=$(cpu "$pid")
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  awk -v a="$t0" -v b="$t1" -v r="$reqs" -v t="$TICK" 'BEGIN { printf "%.1f µs (%d req)", (b-a)*1e6/t/r, r }'
}

for round in $(seq "$ROUNDS"); do
  taskset -c 0 "$BARE" 127.0.0.1:18090 >/dev/null 2>&1 & BPID=$!
  sleep 0.5
  echo "round $round bare mix: $(measure $BPID 18090 mix)"
  kill $BPID; wait $BPID 2>/dev/null || true
  for mode in first inquiry mix; do
    taskset -c 0 "$DAFTAR" serve --config "$WORK/daftar.toml" --db "$WORK/db-$round-$mode" \
      --feed data/feed.ndjson --listen 127.0.0.1:18080 --menus "${MENUS:-menus}" >/dev/null 2>&1 & PID=$!
    until curl -sf localhost:18080/readyz >/dev/null; do
      kill -0 $PID 2>/dev/null || { echo "daftar did not start" >&2; exit 1; }
      sleep 0.05
    done
    echo "round $round daftar $mode: $(measure $PID 18080 $mode)"
    kill $PID; wait $PID 2>/dev/null || true
  done
done
