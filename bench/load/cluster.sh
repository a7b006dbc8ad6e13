#!/usr/bin/env bash
# Steps/s and server CPU per step of daftar in three set-ups under the same whole-session load
# (bench/load/sessions.lua, general inquiries: '', '2', '2*CODE'):
#   memory   one node, sessions in memory
#   redis    one node, sessions in Redis (deploy/redis.conf)
#   cluster  three nodes over that Redis behind HAProxy (deploy/haproxy.cfg), round robin
# Every node runs from a copy of deploy/daftar.toml.example with its ports and dirs written
# over (as tests/cluster.rs does), the rate limits off (one source address makes all the load).
#
#   bench/load/cluster.sh DAFTAR_BINARY [SECONDS] [CONNS]
#
# CPU per step is utime+stime from /proc/PID/stat over the run, divided by the steps wrk
# completed: each daftar node's, summed, and Redis's and HAProxy's apart. Needs wrk,
# redis-server, haproxy, curl.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=$1; SECS=${2:-10}; CONNS=${3:-32}
W=$(mktemp -d)
TICK=$(getconf CLK_TCK)
REDIS_PORT=16420; LB_PORT=18420; STATS_PORT=18424; NODE_BASE=18420
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT

cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
wait_ok() { until curl -sf "$1" >/dev/null; do sleep 0.1; done; }

# The callers sessions.lua plays: the sample feed's codes, general inquiries.
for code in 0012345679 0030000017 0040000011 0050000012 0060000015 0010000119 0020000111 0099999994; do
  echo "general $code"
done > "$W/callers.txt"
# sessions.lua wants every kind listed; mode `general` draws none of these.
printf 'own 0012345679 989120000001\ndeps 989120000001\nosms 000000000000 -\n' >> "$W/callers.txt"

start_redis() {
  sed -e "s/^port 6379/port $REDIS_PORT/" -e "s#^dir .*#dir $W#" deploy/redis.conf > "$W/redis.conf"
  redis-server "$W/redis.conf" >/dev/null 2>&1 & RPID=$!; PIDS+=($RPID)
  until redis-cli -p $REDIS_PORT ping >/dev/null 2>&1; do sleep 0.1; done
}

start_node() { # N STORE -> NPIDS+=
  local n=$1 store=$2 port=$((NODE_BASE + $1))
  mkdir -p "$W/node$n"
  sed -e "s#^listen = .*#listen = \"127.0.0.1:$port\"#" \
      -e "s#^db = .*#db = \"$W/node$n/db\"#" \
      -e "s#^source = .*#source = \"$ROOT/data/feed.ndjson\"#" \
      -e "s#^dir = .*#dir = \"$ROOT/menus\"#" \
      -e "s#^store = .*#store = \"$store\"#" \
      -e "s#^node = .*#node = $n#" \
      -e "s#^key_file = .*#key_file = \"$W/node$n/db.key\"#" \
      deploy/daftar.toml.example > "$W/node$n.toml"
  cat >> "$W/node$n.toml" <<CONF
[limits]
msisdn_steps_per_minute = 0
msisdn_sessions = 0
msisdn_inquiries_per_hour = 0
identifier_inquiries_per_hour = 0
source_requests_per_second = 0
CONF
  # [sessions] max: a table big enough for every session of a run.
  sed -i "s/^\[sessions\]/[sessions]\nmax = 2000000/" "$W/node$n.toml"
  DAFTAR_HASH_KEY=bench "$BIN" serve --config "$W/node$n.toml" >"$W/node$n.log" 2>&1 & local pid=$!
  PIDS+=($pid); NPIDS+=($pid)
  wait_ok "127.0.0.1:$port/readyz"
}

start_haproxy() {
  sed -e "s/127.0.0.1:8080/127.0.0.1:$LB_PORT/" -e "s/127.0.0.1:8404/127.0.0.1:$STATS_PORT/" \
      -e "s/127.0.0.1:8081/127.0.0.1:$((NODE_BASE + 1))/" \
      -e "s/127.0.0.1:8082/127.0.0.1:$((NODE_BASE + 2))/" \
      -e "s/127.0.0.1:8083/127.0.0.1:$((NODE_BASE + 3))/" \
      deploy/haproxy.cfg > "$W/haproxy.cfg"
  haproxy -db -f "$W/haproxy.cfg" >"$W/haproxy.log" 2>&1 & HPID=$!; PIDS+=($HPID)
  until [ "$(curl -s "127.0.0.1:$STATS_PORT/stats;csv" | grep -c '^daftar,node[123],.*,UP,')" = 3 ]; do sleep 0.2; done
}

run() { # NAME URL
  local name=$1 url=$2 before=() after=() r0=0 r1=0 h0=0 h1=0
  for p in "${NPIDS[@]}"; do before+=($(cpu "$p")); done
  [ -n "${RPID:-}" ] && r0=$(cpu $RPID); [ -n "${HPID:-}" ] && h0=$(cpu $HPID)
  out=$(wrk -t"$CONNS" -c"$CONNS" -d"${SECS}s" -s bench/load/sessions.lua "$url" -- general "$W/callers.txt")
  for p in "${NPIDS[@]}"; do after+=($(cpu "$p")); done
  [ -n "${RPID:-}" ] && r1=$(cpu $RPID); [ -n "${HPID:-}" ] && h1=$(cpu $HPID)
  local daftar=0; for i in "${!NPIDS[@]}"; do daftar=$((daftar + after[i] - before[i])); done
  local steps; steps=$(echo "$out" | awk '/requests in/ {print $1}'); LAST_STEPS=$steps
  local rps; rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  local kinds; kinds=$(echo "$out" | grep -o 'steps=.*' | head -1 || true)
  awk -v n="$name" -v q="$rps" -v s="$steps" -v d="$daftar" -v r=$((r1 - r0)) -v h=$((h1 - h0)) -v t="$TICK" -v k="$kinds" \
    'BEGIN { printf "%-8s %9s steps/s  daftar %6.1f µs CPU/step  redis %5.1f  haproxy %5.1f  (%d steps; %s)\n", n, q, d*1e6/t/s, r*1e6/t/s, h*1e6/t/s, s, k }'
}

stop_all() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; PIDS=(); NPIDS=(); RPID=""; HPID=""; rm -rf "$W"/node* "$W"/dump.rdb; }

NPIDS=(); RPID=""; HPID=""
start_node 1 memory
run memory "http://127.0.0.1:$((NODE_BASE + 1))"
stop_all

start_redis
start_node 1 "redis://127.0.0.1:$REDIS_PORT/0"
run redis "http://127.0.0.1:$((NODE_BASE + 1))"
round_trips() { # the commands Redis served (scripts apart) per step of the last run
  redis-cli -p $REDIS_PORT info commandstats | awk -F'[=,:]' -v s="$LAST_STEPS" \
    '/^cmdstat_/ && $1 != "cmdstat_info" { all += $3; if ($1 ~ /eval/) lua += $3 }
     END { printf "         redis: %d commands (%d scripts) for %d steps: %.2f per step\n", all, lua, s, all / s }'
  # Each command's share per step, the largest first (a script's own calls count here too).
  redis-cli -p $REDIS_PORT info commandstats | awk -F'[=,:]' -v s="$LAST_STEPS" \
    '/^cmdstat_/ && $1 != "cmdstat_info" { printf "           %-24s %.2f per step\n", substr($1, 9), $3 / s }' | sort -k2 -rn | head -8
}
round_trips
stop_all

start_redis
for n in 1 2 3; do start_node $n "redis://127.0.0.1:$REDIS_PORT/0"; done
start_haproxy
run cluster "http://127.0.0.1:$LB_PORT"
round_trips
