#!/usr/bin/env bash
# The Python client against Python's own networked barrier (multiprocessing managers) and Lockstep's Java client, in
# one run, interleaved: at 4 and 16 parties, one process per party, every party waiting ROUNDS times at one barrier.
# Lockstep's two clients share one coordinator (started here, on loopback); the managers barrier is its own server.
# Each configuration runs REPS times (default 5), the contenders taking turns at going first; the table gives the
# median and the best of each, and the median of the ratios of runs made back to back.
#   bench/python.sh                      # the table (about three minutes on 2 cores)
#   REPS=1 SIZES=4 bench/python.sh       # a quick look
#   WRITE=1 bench/python.sh              # also writes it to bench/RESULTS-python.md
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-5}
SIZES=${SIZES:-"4 16"}
WRITE=${WRITE:-0}
OUT=bench/RESULTS-python.md

command -v python3 >/dev/null || { echo "python.sh: python3 is needed" >&2; exit 1; }
[ -f bench/target/lockstep-bench.jar ] && [ -f coordinator/target/lockstep-coordinator.jar ] || mvn -q -B -DskipTests package \
  || { echo "python.sh: the build failed (mvn -B -DskipTests package says why)" >&2; exit 1; }

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log=$(mktemp)
java -XX:+UseSerialGC -jar coordinator/target/lockstep-coordinator.jar --bind 127.0.0.1 --port "$port" --no-http \
  >"$log" 2>&1 &
coordinator=$!
trap 'kill $coordinator 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
address=127.0.0.1:$port
# The coordinator's JIT compiles its hot paths before anything is timed.
java -jar bench/target/lockstep-bench.jar --parties 4 --rounds 20000 --processes 1 --coordinator "$address" >/dev/null 2>&1 || true

rounds_for() { case $1 in 4) echo 3000;; 16) echo 600;; *) echo 200;; esac; }
rate() { grep -o 'rounds_per_s=[0-9.]*' | tail -1 | cut -d= -f2; }
failed() { echo "python.sh: $1 failed at $2 parties: $3" >&2; echo "failed"; }
run_python() {
  local out; out=$(timeout 120 python3 bench/python_barrier.py "$1" "$2" "$address" 2>&1) && rate <<< "$out" \
    || failed "the Python client" "$1" "$(tail -1 <<< "$out")"
}
run_managers() {
  local out; out=$(timeout 120 python3 bench/reference/managers_barrier.py "$1" "$2" 2>&1) && rate <<< "$out" \
    || failed "the managers barrier" "$1" "$(tail -1 <<< "$out")"
}
run_java() {
  local out; out=$(java -jar bench/target/lockstep-bench.jar --parties "$1" --rounds "$2" --processes "$1" \
    --coordinator "$address" 2>&1) && rate <<< "$out" || failed "the Java client" "$1" "$(grep -m1 -E "Exception|rror" <<< "$out" || tail -1 <<< "$out")"
}
stats() {  # median and best of the numbers given
  printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk '{ v[NR] = $1 } END { if (!NR) { printf "-"; exit }
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.0f (best %.0f)", m, v[NR] }'
}
ratios() {  # median of a[i]/b[i], and the list
  paste -d' ' <(printf '%s\n' $1) <(printf '%s\n' $2) | awk '$1 ~ /^[0-9.]+$/ && $2 ~ /^[0-9.]+$/ { printf "%.2f\n", $1 / $2 }' \
    | sort -g | awk '{ v[NR] = $1; all = all (NR > 1 ? ", " : "") $1 } END { if (!NR) { printf "-"; exit }
      m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f (%s)", m, all }'
}

declare -A PY MG JV
for rep in $(seq "$REPS"); do
  for n in $SIZES; do
    r=$(rounds_for "$n")
    echo "== rep $rep: $n parties, $r rounds" >&2
    case $((rep % 3)) in  # who goes first takes turns
      1) p=$(run_python "$n" "$r"); m=$(run_managers "$n" "$r"); j=$(run_java "$n" "$((r * 4))");;
      2) m=$(run_managers "$n" "$r"); j=$(run_java "$n" "$((r * 4))"); p=$(run_python "$n" "$r");;
      0) j=$(run_java "$n" "$((r * 4))"); p=$(run_python "$n" "$r"); m=$(run_managers "$n" "$r");;
    esac
    echo "   python client $p, managers $m, java client $j rounds/s" >&2
    PY[$n]="${PY[$n]:-} $p"; MG[$n]="${MG[$n]:-} $m"; JV[$n]="${JV[$n]:-} $j"
  done
done

table=$(mktemp)
{
  echo "# The Python client: benchmark"
  echo
  echo "Measured by \`bench/python.sh\` ($REPS interleaved runs of each) on $(date -u +%Y-%m-%d): $(nproc) cores"
  echo "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(python3 --version 2>&1), $(java -version 2>&1 | head -1)."
  echo "One process per party, all on this machine with the coordinator; rounds per second, median (best) of the runs."
  echo "The managers barrier is bench/reference/managers_barrier.py (a threading.Barrier served by multiprocessing.managers);"
  echo "the Python client's program is bench/python_barrier.py; the Java client's is lockstep-bench with --processes = parties."
  echo
  echo "| parties | Python client | managers barrier | Java client | Python client / managers (paired runs) | Python client / Java client (paired runs) |"
  echo "|---:|---:|---:|---:|---:|---:|"
  for n in $SIZES; do
    echo "| $n | $(stats ${PY[$n]}) | $(stats ${MG[$n]}) | $(stats ${JV[$n]}) | $(ratios "${PY[$n]}" "${MG[$n]}") | $(ratios "${PY[$n]}" "${JV[$n]}") |"
  done
} > "$table"
cat "$table"
if [ "$WRITE" = 1 ]; then mv "$table" "$OUT"; echo "(written to $OUT)" >&2; else rm -f "$table"; fi
