#!/usr/bin/env bash
# The whole-session load harness (issue 10): daftar against its two reference points in the
# same run, the bare hyper server (examples/bare_http.rs, a fixed CON reply: the physical
# limit) and the peer (bench/peer: ussd-menu-builder + express on Node, the general inquiry
# alone), each pinned to core 0 while wrk plays callers from core 1.
#
#   bench/load/sessions.sh [PEOPLE] [SECONDS] [ROUNDS]
#       PEOPLE   people in the generated store (default 1000000)
#       SECONDS  of load per run (default 15)
#       ROUNDS   rounds; each runs every server on every mode, the order reversed every other
#                round so that the servers see the same machine (default 3)
#   Environment:
#       PERFDATA  where the store is built once and kept (default /work/perfdata-loadharness);
#                 PERFDATA/people-PEOPLE/ holds db/, callers.txt, tamin_codes.tsv
#       MODES     bench/load/sessions.lua modes to run (default "general first mix"); the peer
#                 runs only "general" and "first" (the rest it does not implement)
#       CONNS     concurrent callers: wrk threads = connections (default 32)
#       DAFTAR, BARE  prebuilt binaries (default: built here with cargo --release)
#
# Prints a row per run (steps/s, sessions/s, client-side p50/p99/p99.9, the server's CPU µs
# per step from /proc/PID/stat utime+stime, its RSS after the run, and the reply counts that
# check the sessions went where they should), then the medians over rounds of CPU per step and
# the ratios daftar ÷ bare and peer ÷ daftar. Needs wrk, taskset, curl, node + npm, cargo.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PEOPLE=${1:-1000000}; SECS=${2:-15}; ROUNDS=${3:-3}
PERFDATA=${PERFDATA:-/work/perfdata-loadharness}
MODES=${MODES:-general first mix}
CONNS=${CONNS:-32}
TICK=$(getconf CLK_TCK)
DATA=$PERFDATA/people-$PEOPLE
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
DAFTAR_PORT=18180; BARE_PORT=18190; PEER_PORT=18170
RELEASE=${CARGO_TARGET_DIR:-$ROOT/target}/release

say() { echo "== $*" >&2; }

build() {
  if [[ -z "${DAFTAR:-}" || -z "${BARE:-}" ]]; then
    say "building daftar, bare_http and load_sample (--release)"
    cargo build --release --quiet --bin daftar --example bare_http --example load_sample
  fi
  DAFTAR=${DAFTAR:-$RELEASE/daftar}; BARE=${BARE:-$RELEASE/examples/bare_http}
  SAMPLE=$RELEASE/examples/load_sample
  [[ -x $SAMPLE ]] || cargo build --release --quiet --example load_sample
  say "installing the peer (npm ci in bench/peer)"
  (cd bench/peer && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

# Refuses to start a build of the store that could leave under 12 GB free on PERFDATA's disk
# (about 1 KB per person: the feed, then the store of ~700 B per person).
check_disk() {
  mkdir -p "$PERFDATA"
  local free_kb need_kb
  free_kb=$(df -Pk "$PERFDATA" | awk 'NR == 2 {print $4}')
  need_kb=$(( PEOPLE + 12 * 1024 * 1024 ))
  if (( free_kb < need_kb )); then
    echo "not enough disk under $PERFDATA: $((free_kb / 1024)) MB free, $((need_kb / 1024)) MB needed" >&2
    exit 1
  fi
}

# The store of PEOPLE generated people, synced once and kept; the feed is deleted once the
# callers are derived from it.
prepare_store() {
  if [[ -f $DATA/ready ]]; then
    say "store: $DATA (built before; delete the directory to rebuild)"
    return
  fi
  check_disk
  rm -rf "$DATA"; mkdir -p "$DATA"
  say "gen-feed --people $PEOPLE"
  "$DAFTAR" gen-feed --people "$PEOPLE" --seed 1 --out "$DATA/feed.ndjson"
  say "sync into $DATA/db"
  local t0=$SECONDS
  "$DAFTAR" sync --db "$DATA/db" --feed "$DATA/feed.ndjson" >&2
  say "synced in $((SECONDS - t0)) s; $(du -sh "$DATA/db" | cut -f1) on disk"
  "$SAMPLE" "$DATA/feed.ndjson" "$DATA"
  rm -f "$DATA/feed.ndjson"
  touch "$DATA/ready"
}

# daftar's configuration for the runs: a table big enough for every session of a run, and the
# rate limits off (one source address makes all the load; they would answer 429).
write_config() {
  cat > "$WORK/daftar.toml" <<EOF
[sessions]
max = 2000000
[limits]
msisdn_steps_per_minute = 0
msisdn_sessions = 0
msisdn_inquiries_per_hour = 0
identifier_inquiries_per_hour = 0
source_requests_per_second = 0
EOF
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_mb() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

wait_ready() { # PID URL
  until curl -sf "$2" >/dev/null; do
    kill -0 "$1" 2>/dev/null || { echo "server did not start" >&2; exit 1; }
    sleep 0.05
  done
}

start_server() { # NAME -> sets PID, PORT
  case $1 in
    bare)
      PORT=$BARE_PORT
      taskset -c 0 "$BARE" "127.0.0.1:$PORT" >/dev/null 2>&1 & PID=$!
      wait_ready $PID "localhost:$PORT/" ;;
    daftar)
      PORT=$DAFTAR_PORT
      taskset -c 0 "$DAFTAR" serve --config "$WORK/daftar.toml" --db "$DATA/db" \
        --listen "127.0.0.1:$PORT" >/dev/null 2>"$WORK/daftar.log" & PID=$!
      wait_ready $PID "localhost:$PORT/readyz" ;;
    peer)
      PORT=$PEER_PORT
      taskset -c 0 node bench/peer/server.js "$PORT" "$DATA/tamin_codes.tsv" >/dev/null 2>&1 & PID=$!
      wait_ready $PID "localhost:$PORT/readyz" ;;
  esac
}

# run ROUND SERVER MODE: one wrk run, one row on stdout and in $WORK/rows
run() {
  local round=$1 server=$2 mode=$3 blind=0 t0 t1 out result rss
  [[ $server == bare ]] && blind=1
  start_server "$server"
  t0=$(cpu_ticks $PID)
  out=$(taskset -c 1 wrk -t"$CONNS" -c"$CONNS" -d"${SECS}s" -s bench/load/sessions.lua \
    "http://127.0.0.1:$PORT" -- "$mode" "$DATA/callers.txt" "$blind")
  t1=$(cpu_ticks $PID)
  rss=$(rss_mb $PID)
  kill $PID; wait $PID 2>/dev/null || true
  result=$(echo "$out" | grep '^RESULT ' | sed 's/^RESULT //')
  [[ -n $result ]] || { echo "no result from wrk: $out" >&2; exit 1; }
  echo "$out" | grep -a '^FAULT' | sed 's/^/   /' || true
  echo "round=$round server=$server mode=$mode rss_mb=$rss $result" |
    awk -v a="$t0" -v b="$t1" -v t="$TICK" '{
      for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
      cpu = (b - a) * 1e6 / t / v["steps"]
      check = (v["server"] == "bare") ? "blind" : \
        sprintf("con %d end %d bad %d early %d stuck %d err %d", v["con"], v["fin"], v["bad"], v["early"], v["stuck"], v["errors"])
      printf "%-2s %-6s %-7s %8.0f steps/s %7.0f sessions/s  p50 %6d p99 %6d p99.9 %6d µs  %6.1f µs CPU/step  RSS %5d MB  %s\n",
        v["round"], v["server"], v["mode"], v["steps_per_s"], v["sessions_per_s"], v["p50_us"], v["p99_us"], v["p999_us"], cpu, v["rss_mb"], check
      print v["server"], v["mode"], cpu > "/dev/stderr"
    }' 2>>"$WORK/rows"
}

summary() {
  echo
  echo "median server CPU µs per step over $ROUNDS round(s), and the ratios:"
  sort "$WORK/rows" | awk '
    { key = $1 " " $2; n[key]++; vals[key, n[key]] = $3; modes[$2] = 1 }
    function median(key,    m, i, j, t, a) {
      m = n[key]; if (!m) return 0
      for (i = 1; i <= m; i++) a[i] = vals[key, i]
      for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    END {
      printf "%-8s %10s %10s %10s %14s %14s\n", "mode", "bare", "daftar", "peer", "daftar÷bare", "peer÷daftar"
      for (mode in modes) {
        b = median("bare " mode); d = median("daftar " mode); p = median("peer " mode)
        printf "%-8s %10.1f %10.1f %10s %14s %14s\n", mode, b, d, (p ? sprintf("%.1f", p) : "-"),
          (b ? sprintf("%.2f×", d / b) : "-"), (p && d ? sprintf("%.2f×", p / d) : "-")
      }
    }'
}

build
prepare_store
write_config
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "store: $PEOPLE people, $(du -sh "$DATA/db" | cut -f1); $SECS s per run; wrk -t$CONNS -c$CONNS on core 1, server on core 0"
for round in $(seq "$ROUNDS"); do
  servers="bare daftar peer"
  (( round % 2 )) || servers="peer daftar bare"
  for mode in $MODES; do
    for server in $servers; do
      [[ $server == peer && $mode != general && $mode != first ]] && continue
      run "$round" "$server" "$mode"
    done
  done
done
summary
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
