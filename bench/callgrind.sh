#!/usr/bin/env bash
# Instructions per in-process engine step, counted by valgrind's callgrind: repeatable where
# time on a shared machine is not. For each kind, examples/step_callgrind runs at N1 and at N2
# steps; (Ir(N2) - Ir(N1)) / (N2 - N1) is the cost of one step, the setup (store, menus,
# engine) cancelled out. Ir counts every thread (the writer thread's audit writes too).
#
#   bench/callgrind.sh [KINDS] [N1] [N2]
#       KINDS  default "first general own deps osms session" (examples/step_callgrind.rs)
#       N1 N2  default 200 and 1200
#   Environment: DB and CALLERS, a store and its callers.txt (bench/load/sessions.sh builds
#   them under /work/perfdata-loadharness/people-N/); without them, the sample feed in a temp
#   dir. Needs valgrind and cargo.
#
# With PIECES=1, the larger run is also broken down: the inclusive Ir of each of the hot pieces
# (FUNCS, patterns of callgrind_annotate's function names; the largest match of each) per
# step. Those include the one checked step and, for the store's pieces, the setup's own calls
# (a sync of the sample feed makes no lookups), so they are per-step shares, not exact costs.
#
# sled's background flusher wakes on a timer, so a few thousand instructions of it vary with
# how long valgrind takes: two runs of the whole step agreed within 4 % (BENCHMARKS.md), the
# pieces within 0.2 %. Raise N2 for steadier whole-step figures.
set -euo pipefail
cd "$(dirname "$0")/.."
KINDS=${1:-first general own deps osms session}; N1=${2:-200}; N2=${3:-1200}
FUNCS=${FUNCS:-Tracker::record Store::person MemoryStore.*::save MemoryStore.*::load render::pages page::paginate KeyedHasher::hash}
RELEASE=${CARGO_TARGET_DIR:-$PWD/target}/release
cargo build --release --quiet --example step_callgrind
BIN=$RELEASE/examples/step_callgrind
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
EXTRA=()
[[ -n "${DB:-}" ]] && EXTRA=("$DB" "${CALLERS:?CALLERS must go with DB}")

# instructions KIND N: "Ir steps" of one run (a session's steps come in threes)
instructions() {
  local out=$WORK/cg.$1.$2 ir steps
  valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN" "$1" "$2" "${EXTRA[@]}" 2>"$WORK/log" ||
    { cat "$WORK/log" >&2; exit 1; }
  ir=$(awk '/^(summary|totals):/ {print $2; exit}' "$out")
  steps=$(awk -v k="$1:" '$1 == k {print $2}' "$WORK/log")
  echo "$ir $steps"
}

# pieces OUT STEPS: the inclusive Ir of each FUNCS pattern per step, from one run's profile
pieces() {
  callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null >"$WORK/annotated"
  for f in $FUNCS; do
    awk -v f="$f" -v n="$2" '$0 ~ f { v = $1; gsub(",", "", v); if (v + 0 > best) { best = v + 0; name = $0 } }
      END { sub(/^ *[0-9,]+ *(\([^)]*\))? */, "", name); sub(/ \[.*$/, "", name); sub(/^[^:]*:/, "", name)
            printf "           %-24s %9.0f Ir/step inclusive  (%s)\n", f, best / n, substr(name, 1, 70) }' "$WORK/annotated"
  done
}

echo "instructions per step (callgrind: difference of Ir between N=$N2 and N=$N1 steps over the difference of steps)${DB:+, store $DB}"
for kind in $KINDS; do
  first=$(instructions "$kind" "$N1"); read -r a sa <<<"$first"
  second=$(instructions "$kind" "$N2"); read -r b sb <<<"$second"
  awk -v k="$kind" -v a="$a" -v b="$b" -v sa="$sa" -v sb="$sb" \
    'BEGIN { printf "%-8s %10.0f Ir/step   (runs: %d Ir over %d steps, %d Ir over %d steps)\n", k, (b - a) / (sb - sa), a, sa, b, sb }'
  [[ "${PIECES:-0}" == 1 ]] && pieces "$WORK/cg.$kind.$N2" "$sb"
done
