#!/usr/bin/env bash
# Profiles the coordinator (or one benchmark worker) with async-profiler during the timed rounds only, and prints
# where its CPU went: the kernel's send, receive and epoll_wait, Java on the event loop, the JIT, the collector.
#   bench/profile.sh coordinator 4 60000 5          # PARTIES ROUNDS SECONDS-TO-SAMPLE [more bench options]
#   bench/profile.sh worker 10000 50 6 --warmup 40
# Writes the collapsed stacks to bench/target/profile-<who>-<parties>.collapsed (flame-graph tools read them).
# async-profiler comes from Maven Central (tools.profiler:async-profiler, which carries libasyncProfiler.so).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 4 ] || { sed -n 2,7p "$0" >&2; exit 2; }
who=$1 parties=$2 rounds=$3 seconds=$4
shift 4
case $who in coordinator) pattern='^[^ ]*java .*lockstep-coordinator.jar';; worker) pattern='bench.Worker';;
  *) echo "profile.sh: profile 'coordinator' or 'worker', not '$who'" >&2; exit 2;; esac
command -v python3 >/dev/null || { echo "profile.sh: python3 is needed for the summary" >&2; exit 2; }
[ -f bench/target/lockstep-bench.jar ] && [ -f coordinator/target/lockstep-coordinator.jar ] || mvn -q -B -DskipTests package

version=4.1
lib=bench/target/async-profiler-$version/linux-x64/libasyncProfiler.so
if [ ! -f "$lib" ]; then
  mvn -q -B dependency:get -Dartifact=tools.profiler:async-profiler:$version -Dtransitive=false >&2
  (mkdir -p "bench/target/async-profiler-$version" && cd "bench/target/async-profiler-$version" \
    && unzip -q -o "$HOME/.m2/repository/tools/profiler/async-profiler/$version/async-profiler-$version.jar" 'linux-x64/*')
fi
lib=$(realpath "$lib")
# Hardware-independent CPU samples need perf events; without them, async-profiler's interval timer still works.
event=cpu
[ "$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo 3)" -le 1 ] || event=itimer
out=$(realpath -m "bench/target/profile-$who-$parties.collapsed")
log=$(mktemp)
java -jar bench/target/lockstep-bench.jar --parties "$parties" --rounds "$rounds" --processes 4 "$@" > "$log" 2>&1 &
bench=$!
until grep -q 'rounds done [1-9]' "$log" 2>/dev/null; do   # the timed rounds have begun
  kill -0 "$bench" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.2
done
pid=$(pgrep -f "$pattern" | head -1)
# jcmd splits its arguments at '=': the inner quotes keep the agent's options in one piece.
jcmd "$pid" JVMTI.agent_load "$lib" "\"start,quiet,event=$event,interval=1ms\"" > /dev/null
sleep "$seconds"
jcmd "$pid" JVMTI.agent_load "$lib" "\"stop,collapsed,file=$out\"" > /dev/null
wait "$bench" || true
tr '\r' '\n' < "$log" | grep -E '^(coordinator:|round latency|lockstep-bench )' || true
rm -f "$log"
python3 - "$out" "$event" <<'EOF'
import collections, sys
cats = collections.Counter(); total = 0
for line in open(sys.argv[1]):
    stack, n = line.rstrip().rsplit(' ', 1); n = int(n); total += n
    frames = stack.split(';'); kernel = frames[-1].endswith('[k]')
    if 'CompileBroker' in stack: cat = 'JIT compiler'
    elif 'G1' in stack or 'GCTask' in stack or 'GangWorker' in stack or 'ParallelGC' in stack: cat = 'garbage collector'
    elif 'SingleThreadIoEventLoop.run' not in stack: cat = 'other threads'
    elif kernel and 'epollWait' in stack: cat = 'kernel: epoll_wait (sleeping, waking)'
    elif kernel and 'sendAddress' in stack or kernel and 'writev' in stack: cat = 'kernel: send (on loopback, with the receiver\'s side)'
    elif kernel and 'recvAddress' in stack: cat = 'kernel: receive'
    elif kernel: cat = 'kernel: other'
    else: cat = 'Java and native code on the event loop'
    cats[cat] += n
print(f"{total} samples ({sys.argv[2]}, 1 ms) in {sys.argv[1]}")
for cat, n in cats.most_common():
    print(f"  {100 * n / total:5.1f} %  {cat}")
EOF
