#!/usr/bin/env bash
# The replicated group against the reference points, interleaved in one go (these machines are noisy: only ratios
# measured in one run mean anything). For each size in SIZES and each of REPS repetitions, back to back:
#   atomix         Atomix 3.1.12's Raft DistributedCyclicBarrier, 3 members (its run.sh, its own flags)
#   ratis-plain    the plain way on Ratis: one entry and one Ratis client call per arrival (Netty, disk log, C1+serial)
#   group-disk     a Lockstep group of 3, disk log (the default: an arrival is acknowledged once a majority has it on disk)
#   group-tls      the same with mutual TLS between the nodes (--peer-tls-*, certificates from bin/peer-certs)
#   group-memory   a Lockstep group of 3, memory log
#   single         one Lockstep coordinator
#   ratis-alone    no barrier at all: 3 Ratis servers set up as a group's nodes, the leader committing one 128-byte
#                  entry at a time (RatisAlone; disk log). A barrier round on Ratis needs such a commit after its last
#                  arrival: about the most rounds/s a barrier on Ratis with this log does here (not a strict bound)
# and prints rounds/s, CPU per round (all processes of the system: servers and parties) and the ratio to Atomix.
# Every system runs its parties in the same number of client JVMs, CLIENT_PROCS: 1 by default, as both reference
# programs do by default (one thread per party); CLIENT_PROCS=4 spreads them over four JVMs each (Lockstep's own
# bench default; the references take it as their PROCS).
# Each at its best flags: Atomix its own (it gains nothing from others); the group and plain Ratis C1 and the serial
# collector on every JVM (TUNED: several JVMs share the cores); the single coordinator its defaults.
#   bench/ha.sh                         SIZES="4 16" REPS=3 ROUNDS=1000 WARMUP=2000
#   SYSTEMS="atomix ratis-alone"        only these (default: all six above)
#   REFS=dir                            where atomix/ and ratis/ are (default ../shared/bench); copied and built once
#   FAILOVERS=20 bench/ha.sh failover   instead: kill -9 of the leader 20 times, the pause each time
#   PEER_TLS=1 FAILOVERS=20 bench/ha.sh failover    the same with mutual TLS between the nodes
set -uo pipefail
cd "$(dirname "$0")/.."
# Two of these at once would each measure the other: the second refuses to start.
exec 9> "${TMPDIR:-/tmp}/lockstep-bench-ha.lock"
flock -n 9 || { echo "ha.sh: another bench/ha.sh is running here; wait for it (two at once would both be wrong)" >&2; exit 1; }
SYSTEMS=${SYSTEMS:-atomix ratis-plain group-disk group-tls group-memory single ratis-alone}
SIZES=${SIZES:-4 16}; REPS=${REPS:-3}; ROUNDS=${ROUNDS:-1000}; WARMUP=${WARMUP:-2000}; CLIENT_PROCS=${CLIENT_PROCS:-1}
TUNED=${TUNED:--XX:TieredStopAtLevel=1 -XX:+UseSerialGC}
REFS=${REFS:-../shared/bench}
JAR=bench/target/lockstep-bench.jar
[ -f "$JAR" ] && [ -f coordinator/target/lockstep-coordinator.jar ] || mvn -q -B -DskipTests package

if [ "${1:-}" = failover ]; then
  exec java -cp "$JAR" io.lockstep.bench.Failover "${FAILOVERS:-20}" "$([ "${PEER_TLS:-0}" = 1 ] && echo tls || echo plaintext)"
fi

work=${WORK:-/tmp/lockstep-ha-refs}
have_atomix=0; have_ratis=0
if [ -d "$REFS/atomix" ] && [ -d "$REFS/ratis" ]; then
  mkdir -p "$work"
  [ -d "$work/atomix" ] || cp -r "$REFS/atomix" "$work/"
  [ -d "$work/ratis" ] || cp -r "$REFS/ratis" "$work/"
  [ -d "$work/atomix/target/classes/anchor" ] || (cd "$work/atomix" && mvn -q -B package) || echo "ha.sh: the Atomix reference did not build; it is left out" >&2
  [ -d "$work/ratis/target-netty/classes" ] || (cd "$work/ratis" && mvn -q -B package -Pnetty) || echo "ha.sh: the Ratis reference did not build; it is left out" >&2
  [ -d "$work/atomix/target/classes/anchor" ] && have_atomix=1
  [ -d "$work/ratis/target-netty/classes" ] && have_ratis=1
else
  echo "ha.sh: no reference programs in $REFS (atomix/, ratis/); only Lockstep is measured" >&2
fi

on() { [[ " $SYSTEMS " == *" $1 "* ]]; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" | head -1; }
row() { # system parties rep rounds_per_s cpu_ms_per_round atomix_rounds_per_s
  awk -v s="$1" -v p="$2" -v n="$3" -v r="$4" -v c="$5" -v a="$6" 'BEGIN {
    printf "%-13s parties=%-3s rep=%s rounds_per_s=%7.1f cpu_ms_per_round=%6s ratio_to_atomix=%s\n", s, p, n, r, c,
      (a > 0 && r > 0 ? sprintf("%.2f", r / a) : "-") }'
}
lockstep() { # parties, extra options; prints rounds/s and CPU ms a round (clients and coordinators)
  local line
  line=$(java -jar "$JAR" --parties "$1" --rounds "$ROUNDS" --warmup "$WARMUP" --processes "$CLIENT_PROCS" \
    "${@:2}" 2>/dev/null | grep '^lockstep-bench')
  local rps c k
  rps=$(field rounds_per_s <<< "$line"); c=$(field client_cpu_us <<< "$line"); k=$(field coordinator_cpu_us <<< "$line")
  echo "${rps:-0} $(awk -v c="${c:-0}" -v k="${k:-0}" 'BEGIN { printf "%.2f", (c + k) / 1000 }')"
}

ratis_alone() { # log kind; prints commits/s (one at a time), or 0 if leadership moved mid-run (then it is run again)
  local d line pids=() try
  for try in 1 2; do
    d=$(mktemp -d /tmp/lockstep-ratis-alone.XXXXXX)
    local peers="n1=127.0.0.1:${ALONE_PORT:-27951},n2=127.0.0.1:$(( ${ALONE_PORT:-27951} + 1 )),n3=127.0.0.1:$(( ${ALONE_PORT:-27951} + 2 ))"
    pids=()
    for n in n1 n2 n3; do
      # shellcheck disable=SC2086
      java $TUNED -cp coordinator/target/lockstep-coordinator.jar:"$JAR" io.lockstep.bench.RatisAlone \
        $n "$peers" "$d" "$1" "$ROUNDS" "$WARMUP" 0 > "$d/$n.out" 2> "$d/$n.err" &
      pids+=($!)
    done
    line=""
    for _ in $(seq 1 1500); do
      line=$(cat "$d"/n*.out | grep '^ratis-alone' | head -1)
      [ -n "$line" ] && break
      if ! kill -0 "${pids[@]}" 2>/dev/null; then break; fi # one ended without a line: leadership moved
      sleep 0.2
    done
    kill "${pids[@]}" 2>/dev/null; wait "${pids[@]}" 2>/dev/null; rm -rf "$d"
    [ -n "$line" ] && break
  done
  echo "${line:-0}" | sed -n 's/.*commits_per_s=\([0-9.]*\).*/\1/p;/^0$/p'
}

echo "# bench/ha.sh $(date -u +%FT%TZ) $(nproc) cores, ROUNDS=$ROUNDS WARMUP=$WARMUP CLIENT_PROCS=$CLIENT_PROCS, Lockstep and plain Ratis with: $TUNED"
for P in $SIZES; do
  for rep in $(seq 1 "$REPS"); do
    a=0
    if [ $have_atomix = 1 ] && on atomix; then
      line=$(PARTIES=$P PROCS=$CLIENT_PROCS ROUNDS=$ROUNDS WARMUP=$WARMUP "$work/atomix/run.sh" 2>/dev/null | grep '^atomix-raft3')
      a=$(field rounds_per_s <<< " $line"); a=${a:-0}
      row atomix "$P" "$rep" "$a" "$(field cpu_ms_per_round <<< " $line")" "$a"
    fi
    if [ $have_ratis = 1 ] && on ratis-plain; then
      line=$(cd "$work/ratis" && RPC=NETTY LOG=disk JVM=tuned PARTIES=$P PROCS=$CLIENT_PROCS ROUNDS=$ROUNDS WARMUP=$WARMUP ./run.sh 2>/dev/null | grep '^ratis-barrier')
      row ratis-plain "$P" "$rep" "$(field rounds_per_s <<< " $line")" "$(field cpu_ms_per_round <<< " $line")" "$a"
    fi
    if on group-disk; then
      read -r r c <<< "$(lockstep "$P" --group 3 --raft-log disk --coordinator-opts "$TUNED" --worker-opts "$TUNED")"
      row group-disk "$P" "$rep" "$r" "$c" "$a"
    fi
    if on group-tls; then
      read -r r c <<< "$(lockstep "$P" --group 3 --raft-log disk --peer-tls --coordinator-opts "$TUNED" --worker-opts "$TUNED")"
      row group-tls "$P" "$rep" "$r" "$c" "$a"
    fi
    if on group-memory; then
      read -r r c <<< "$(lockstep "$P" --group 3 --raft-log memory --coordinator-opts "$TUNED" --worker-opts "$TUNED")"
      row group-memory "$P" "$rep" "$r" "$c" "$a"
    fi
    if on single; then
      read -r r c <<< "$(lockstep "$P")"; row single "$P" "$rep" "$r" "$c" "$a" # its own defaults: C2, parallel GC
    fi
    if on ratis-alone; then
      row ratis-alone "$P" "$rep" "$(ratis_alone disk)" "-" "$a" # one entry at a time: parties only name the Atomix run
    fi
  done
done
