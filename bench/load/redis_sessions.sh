#!/usr/bin/env bash
# Steps/s and CPU µs per step of one node with sessions in memory and in Redis (a local
# redis-server started here), under wrk -t1 -c32 with bench/load/at.lua; the rate limits are off.
#
#   bench/load/sessions.sh DAFTAR_BINARY [SECONDS] [first|inquiry|mix]
#
# AT_CHECK=1 also counts the replies (CON / END / other). Needs redis-server and wrk.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$1; SECS=${2:-10}; MODE=${3:-first}
W=$(mktemp -d)
TICK=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
for store in memory redis; do
  RPID=""
  extra=""
  if [ $store = redis ]; then
    redis-server --port 16398 --bind 127.0.0.1 --save '' --appendonly no --dir "$W" >/dev/null 2>&1 & RPID=$!
    sleep 0.5
    extra='store = "redis://127.0.0.1:16398/0"'
  fi
  printf '[sessions]\nmax = 2000000\n%s\n[limits]\nmsisdn_steps_per_minute = 0\nmsisdn_sessions = 0\nmsisdn_inquiries_per_hour = 0\nidentifier_inquiries_per_hour = 0\nsource_requests_per_second = 0\n' "$extra" > "$W/$store.toml"
  DAFTAR_HASH_KEY=bench "$BIN" serve --config "$W/$store.toml" --db "$W/db-$store" --feed data/feed.ndjson --listen 127.0.0.1:18398 --menus menus >"$W/$store.log" 2>&1 & PID=$!
  until curl -sf localhost:18398/readyz >/dev/null; do kill -0 $PID; sleep 0.1; done
  t0=$(cpu $PID); r0=0; [ -n "$RPID" ] && r0=$(cpu $RPID)
  out=$(AT_CHECK=${AT_CHECK:-} wrk -t1 -c32 -d"${SECS}s" -s bench/load/at.lua http://127.0.0.1:18398 -- "$MODE")
  t1=$(cpu $PID); r1=0; [ -n "$RPID" ] && r1=$(cpu $RPID)
  [ -n "${AT_CHECK:-}" ] && echo "$out" | tail -3
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
  awk -v s=$store -v m=$MODE -v a=$t0 -v b=$t1 -v c=$r0 -v d=$r1 -v r=$reqs -v q=$rps -v t=$TICK -v n="${non2xx:-0}" \
    'BEGIN { printf "%-6s %-8s %8s req/s  daftar %.1f µs CPU/req  redis %.1f µs CPU/req  (%d req, non-2xx %s)\n", s, m, q, (b-a)*1e6/t/r, (d-c)*1e6/t/r, r, n }'
  curl -s -d "sessionId=chk-$store" --data-urlencode "serviceCode=*4*1420#" --data-urlencode "phoneNumber=+989129999999" -d networkCode=63902 --data-urlencode "text=2*0012345679" localhost:18398/ussd/africastalking | head -c 60; echo
  kill $PID; wait $PID 2>/dev/null || true
  [ -n "$RPID" ] && { kill $RPID; wait $RPID 2>/dev/null || true; }
done
rm -rf "$W"
