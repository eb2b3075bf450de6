#!/usr/bin/env bash
# Runs Lockstep's benchmark, the bare NIO "floor" and Python's networked barrier (multiprocessing managers) in one
# go, interleaved, at 4, 64, 1,000 and 10,000 parties over 4 client processes, and prints a table of ratios; with
# WRITE=1 it also writes it, with the machine it ran on, to bench/RESULTS.md, above the hand-written notes there
# (which it keeps). The floor and the Python barrier are the project's own, in bench/reference/. Timings
# on a shared machine are noisy: each configuration runs REPS times (default 3; SMALL_REPS, default 5, for the short
# runs of 64 parties or fewer), interleaved with the others; the table gives the best run of each contender, and the
# median of the ratios of runs made back to back (the floor and Lockstep one right after the other, taking turns at
# going first, so both saw the machine alike).
#   WRITE=1 bench/compare.sh                           # everything (about 15 minutes on 2 cores), into RESULTS.md
#   REPS=1 SMALL_REPS=1 SIZES="4 64" bench/compare.sh  # a quick look: the table only
# PAIRS=0 leaves out the 10,000 independent 2-party barriers (20,000 parties; left out too when SIZES has no 10000).
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-3}
SMALL_REPS=${SMALL_REPS:-5}
SIZES=${SIZES:-"4 64 1000 10000"}
OUT=bench/RESULTS.md
WRITE=${WRITE:-0}
case " $SIZES " in *" 10000 "*) PAIRS=${PAIRS:-1};; *) PAIRS=${PAIRS:-0};; esac
ulimit -n 65536 2>/dev/null || true   # 20,000 parties need 20,000 sockets on each side

[ -f bench/target/lockstep-bench.jar ] && [ -f coordinator/target/lockstep-coordinator.jar ] || mvn -q -B -DskipTests package \
  || { echo "compare.sh: the build failed (mvn -B -DskipTests package says why)" >&2; exit 1; }
# A stage that fails says so and the run goes on; its cells read "failed".
failed() { echo "compare.sh: $1 failed at $2 parties${3:+: $3}" >&2; echo "failed"; }

rounds_for() {   # enough rounds for a few seconds each, and for the JIT to settle
  case $1 in 4) echo 100000;; 64) echo 10000;; 1000) echo 300;; *) echo 30;; esac
}
py_rounds_for() { case $1 in 4) echo 5000;; 64) echo 300;; *) echo 0;; esac; }
rate() { grep -o 'rounds_per_s=[0-9.]*' | tail -1 | cut -d= -f2; }
best() { printf '%s\n' "$@" | grep -v '^$' | sort -g | tail -1; }
ratio() { [[ "$1" =~ ^[0-9.]+$ ]] && [[ "$2" =~ ^[0-9.]+$ ]] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }' || echo "-"; }
median() { printf '%s\n' $@ | grep -E '^[0-9.]+$' | sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; else printf "-" }'; }

reps_for() { [ "$1" -le 64 ] && echo "$SMALL_REPS" || echo "$REPS"; }
cpu() { awk -v v="$1" 'BEGIN { if (v == "") printf "?"; else if (v >= 10000) printf "%.0f ms", v / 1000; else printf "%.1f µs", v }'; }
floor() {
  local out
  out=$(java bench/reference/FloorBarrier.java "$1" "$2" 4 2>&1) && rate <<< "$out" || failed "the floor" "$1" "$(tail -1 <<< "$out")"
}
lockstep() {
  local out
  out=$(java -jar bench/target/lockstep-bench.jar --parties "$1" --rounds "$2" --processes 4 2>/tmp/lockstep-bench-$1.err \
    | tee /tmp/lockstep-bench-$1.out | tail -1)
  [[ "$out" == lockstep-bench* ]] && echo "$out" || failed "lockstep-bench" "$1" "$(tail -1 /tmp/lockstep-bench-$1.err)"
}

declare -A FLOOR LOCK PY P50 P99 HEAP PAIRED CPU
most=$(for n in $SIZES; do reps_for "$n"; done | sort -n | tail -1)
for rep in $(seq "$most"); do
  for n in $SIZES; do
    [ "$rep" -le "$(reps_for "$n")" ] || continue
    r=$(rounds_for "$n")
    echo "== rep $rep: $n parties, $r rounds" >&2
    if [ $((rep % 2)) = 1 ]; then  # who goes first takes turns: a drift in the machine's speed favours neither
      f=$(floor "$n" "$r"); line=$(lockstep "$n" "$r")
    else
      line=$(lockstep "$n" "$r"); f=$(floor "$n" "$r")
    fi
    echo "   floor      $f rounds/s" >&2
    l=$(echo "$line" | rate)
    echo "   lockstep   $l rounds/s   ($line)" >&2
    p=""
    pr=$(py_rounds_for "$n")
    if [ "$pr" -gt 0 ] && command -v python3 >/dev/null && [[ "${PY[$n]:-}" != did* ]]; then  # once too slow, skipped
      p=$(timeout "${PY_TIMEOUT:-60}" python3 bench/reference/managers_barrier.py "$n" "$pr" 2>/dev/null | rate || true)
      [ -n "$p" ] || p="timeout"
      echo "   python     $p rounds/s" >&2
    fi
    PAIRED[$n]="${PAIRED[$n]:-} $(ratio "$l" "$f")"
    FLOOR[$n]=$(best "${FLOOR[$n]:-}" "$f")
    if [ "$(best "${LOCK[$n]:-0}" "$l")" = "$l" ]; then
      LOCK[$n]=$l
      P50[$n]=$(echo "$line" | grep -o 'p50_us=[0-9]*' | cut -d= -f2)
      P99[$n]=$(echo "$line" | grep -o 'p99_us=[0-9]*' | cut -d= -f2)
      CPU[$n]="$(cpu "$(echo "$line" | grep -o 'client_cpu_us=[0-9.]*' | cut -d= -f2)") / $(cpu "$(echo "$line" | grep -o 'coordinator_cpu_us=[0-9.]*' | cut -d= -f2)")"
      HEAP[$n]=$(grep -o '([0-9]* bytes per party)' /tmp/lockstep-bench-$n.out | tr -dc 0-9 || true)
    fi
    if [ "$p" = "timeout" ]; then
      [ -n "${PY[$n]:-}" ] || PY[$n]="did not finish in ${PY_TIMEOUT:-60} s"
    elif [ -n "$p" ]; then
      case "${PY[$n]:-}" in ""|did*) PY[$n]=$p;; *) PY[$n]=$(best "${PY[$n]}" "$p");; esac
    fi
  done
done

pairs="not measured (PAIRS=0)"
if [ "$PAIRS" = 1 ]; then
  echo "== 10,000 independent 2-party barriers" >&2
  # 20,000 parties on 10,000 connections (two parties of different barriers per connection): a coordinator here may
  # hold at most 20,000 file descriptors, and each barrier still spans two connections.
  pairs=$(java -jar bench/target/lockstep-bench.jar --parties 20000 --barriers 10000 --parties-per-connection 2 \
    --rounds 20 --processes 4 2>&1 | tail -1)
  echo "   $pairs" >&2
fi

# Everything in RESULTS.md from the NOTES line on is written by hand (what the numbers mean, what was tried): kept.
NOTES='<!-- Written by hand from here on; compare.sh replaces what is above this line and keeps the rest. -->'
notes=$(mktemp)
trap 'rm -f "$notes"' EXIT
{ [ -f "$OUT" ] && sed -n "/^$NOTES\$/,\$p" "$OUT"; } > "$notes" || true
{
  echo "# Lockstep benchmark results"
  echo
  echo "Measured by \`bench/compare.sh\` (best of $SMALL_REPS interleaved runs each at 64 parties or fewer, of $REPS above) on $(date -u +%Y-%m-%d):"
  echo "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB, Linux $(uname -r),"
  echo "$(java -version 2>&1 | head -1). Every party has its own TCP connection; parties are spread over 4 client processes;"
  echo "the coordinator runs as its own process. The floor is bench/reference/FloorBarrier.java; Python is multiprocessing's managers barrier (bench/reference/managers_barrier.py), one process per party."
  echo
  echo "| parties | floor rounds/s | Lockstep rounds/s | Lockstep / floor | paired runs: median (each) | Python rounds/s | Lockstep / Python | Lockstep p50 / p99 per round | CPU per round: clients / coordinator | coordinator heap per connected party |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for n in $SIZES; do
    echo "| $n | ${FLOOR[$n]} | ${LOCK[$n]} | $(ratio "${LOCK[$n]}" "${FLOOR[$n]}") | $(median ${PAIRED[$n]}) ($(echo ${PAIRED[$n]} | sed 's/ /, /g')) | ${PY[$n]:--} | $(ratio "${LOCK[$n]}" "${PY[$n]:-}") | ${P50[$n]} / ${P99[$n]} µs | ${CPU[$n]} | ${HEAP[$n]:-?} bytes |"
  done
  echo
  if [ -n "${LOCK[1000]:-}" ] && [ -n "${LOCK[10000]:-}" ]; then
    echo "Round time from 1,000 to 10,000 parties: Lockstep × $(ratio "${LOCK[1000]}" "${LOCK[10000]}"), floor × $(ratio "${FLOOR[1000]}" "${FLOOR[10000]}")."
    echo
  fi
  echo "10,000 independent 2-party barriers cycling at once (20,000 parties on 10,000 connections, each barrier across two): \`$pairs\`"
} > "$OUT.new"
cat "$OUT.new"
if [ "$WRITE" != 1 ]; then
  rm -f "$OUT.new"
  echo "(not written to $OUT: WRITE=1 writes it)" >&2
  exit 0
fi
if [ -s "$notes" ]; then
  { echo; cat "$notes"; } >> "$OUT.new"
  echo "(the hand-written notes below the table in $OUT are kept: read them against the new numbers)" >&2
fi
mv "$OUT.new" "$OUT"
