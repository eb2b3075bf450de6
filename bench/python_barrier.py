"""Lockstep's Python client in the shape of bench/reference/managers_barrier.py: one process per party, each with its
own session, waiting ROUNDS times at one barrier of a running coordinator.

    python3 bench/python_barrier.py PARTIES ROUNDS HOST:PORT

Prints one line: python-lockstep parties=N rounds=R wall_s=... rounds_per_s=... us_per_round=...
"""
import multiprocessing as mp
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import lockstep  # noqa: E402


def party(barrier, rounds, start, done):
    for _ in range(max(rounds // 10, 1)):  # everyone connected and declared, the coordinator's JIT warm
        barrier.wait()
    start.put(time.perf_counter())
    for _ in range(rounds):
        barrier.wait()
    done.put(time.perf_counter())


def main():
    parties, rounds, address = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    ctx = mp.get_context("fork")
    start, done = ctx.Queue(), ctx.Queue()
    barrier = lockstep.Barrier(parties, name="bench-%d-%d" % (parties, os.getpid()), address=address)
    procs = [ctx.Process(target=party, args=(barrier, rounds, start, done)) for _ in range(parties)]
    for p in procs:
        p.start()
    first = min(start.get() for _ in procs)
    last = max(done.get() for _ in procs)
    for p in procs:
        p.join()
    wall = last - first
    print("python-lockstep parties=%d rounds=%d wall_s=%.3f rounds_per_s=%.1f us_per_round=%.1f"
          % (parties, rounds, wall, rounds / wall, wall * 1e6 / rounds))


if __name__ == "__main__":
    main()
