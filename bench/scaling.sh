#!/usr/bin/env bash
# How a round's cost grows with the number of parties, for the bare NIO "floor" and for Lockstep: the round time, the
# CPU every process together spends per party and round, and the TCP segments the machine sends per party and round
# (nstat; connection set-up and warm-up rounds included). If the CPU per party stays flat, the round time grows with
# the number of parties; where it rises, the growth is faster than that, and the columns say on whose side.
#   bench/scaling.sh                               # 1,000 2,000 5,000 10,000 parties, two passes (about 10 minutes)
#   PASSES=1 SIZES="1000 10000" bench/scaling.sh
# The floor reports no CPU: its launcher runs its server in-process and waits for its client JVMs, so the shell's
# `time` covers all of them, start-up and compiling the floor's source included. Running it at two round counts and
# taking the difference leaves the rounds alone. Lockstep's benchmark reports its CPU per round itself.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${SIZES:-"1000 2000 5000 10000"}
PASSES=${PASSES:-2}
[ -f bench/target/lockstep-bench.jar ] && [ -f coordinator/target/lockstep-coordinator.jar ] || mvn -q -B -DskipTests package
bench=$(realpath bench/target/lockstep-bench.jar)
times=$(mktemp)
trap 'rm -f "$times"' EXIT

# TCP segments sent on this machine since the last call (all sockets; "?" without nstat).
segments() { command -v nstat > /dev/null && nstat TcpOutSegs 2> /dev/null | awk '/TcpOutSegs/ { s = $2 } END { print s + 0 }' || echo "?"; }
per_party_round() { [ "$1" = "?" ] && echo "?" || awk -v s="$1" -v n="$2" -v r="$3" 'BEGIN { printf "%.2f", s / (n * r) }'; }

# The floor at N parties and R timed rounds: "CPU-seconds rounds/s segments". Its warm-up is R/10 rounds, in 5..200.
floor() {
  local out cpu
  segments > /dev/null
  out=$({ TIMEFORMAT='%U %S'; time java bench/reference/FloorBarrier.java "$1" "$2" 4; } 2> "$times")
  cpu=$(awk 'END { print $1 + $2 }' "$times")  # the last line: the floor may warn on stderr first
  echo "$cpu $(echo "$out" | grep -o 'rounds_per_s=[0-9.]*' | cut -d= -f2) $(segments)"
}
floor_rounds() { local w=$(($1 / 10)); [ $w -lt 5 ] && w=5; [ $w -gt 200 ] && w=200; echo $(($1 + w)); }
field() { echo "$1" | grep -o "$2=[0-9.]*" | cut -d= -f2; }

echo "| pass | parties | floor round | floor CPU per party and round | floor TCP segments per party and round | Lockstep round | Lockstep CPU per party and round: all (clients + coordinator) | Lockstep TCP segments per party and round |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for pass in $(seq "$PASSES"); do
  for n in $SIZES; do
    long=$((800000 / n)) short=$((200000 / n))
    read -r cpu_short _ < <(floor "$n" "$short")
    read -r cpu_long floor_rate floor_segments < <(floor "$n" "$long")
    floor_cpu=$(awk -v a="$cpu_short" -v b="$cpu_long" -v ra="$(floor_rounds "$short")" -v rb="$(floor_rounds "$long")" \
      -v n="$n" 'BEGIN { printf "%.1f", (b - a) * 1e6 / ((rb - ra) * n) }')
    rounds=$((400000 / n)) warmup=$((200000 / n))
    segments > /dev/null
    line=$(java -jar "$bench" --parties "$n" --rounds "$rounds" --warmup "$warmup" --processes 4 2>/dev/null | tail -1)
    lockstep_segments=$(segments)
    rate=$(field "$line" rounds_per_s) clients=$(field "$line" client_cpu_us) coordinator=$(field "$line" coordinator_cpu_us)
    awk -v pass="$pass" -v n="$n" -v fr="$floor_rate" -v fc="$floor_cpu" -v lr="$rate" -v cl="$clients" -v co="$coordinator" \
      -v fs="$(per_party_round "$floor_segments" "$n" "$(floor_rounds "$long")")" \
      -v ls="$(per_party_round "$lockstep_segments" "$n" $((rounds + warmup)))" \
      'BEGIN { printf "| %d | %d | %.1f ms | %.1f µs | %s | %.1f ms | %.1f µs (%.1f + %.1f) | %s |\n", pass, n, 1000 / fr, fc,
               fs, 1000 / lr, (cl + co) / n, cl / n, co / n, ls }'
  done
done
