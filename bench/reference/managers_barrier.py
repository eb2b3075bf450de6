"""What a Python user reaches for to put processes on many machines in step today: a threading.Barrier served
over TCP by multiprocessing.managers, one client process per party, each waiting ROUNDS times.

    python3 bench/reference/managers_barrier.py PARTIES ROUNDS

Prints one line: python-managers parties=N rounds=R wall_s=... rounds_per_s=... us_per_round=...
"""
import multiprocessing as mp
import sys
import threading
import time
from multiprocessing.managers import BaseManager

AUTH = b"lockstep-bench"


class Manager(BaseManager):
    pass


def serve(parties, ready):
    barrier = threading.Barrier(parties)
    Manager.register("barrier", callable=lambda: barrier)
    manager = Manager(address=("127.0.0.1", 0), authkey=AUTH)
    server = manager.get_server()
    ready.put(server.address)
    server.serve_forever()


def party(address, rounds, start, done):
    Manager.register("barrier")
    manager = Manager(address=address, authkey=AUTH)
    manager.connect()
    barrier = manager.barrier()
    barrier.wait()  # everyone connected: the clock starts after this one
    start.put(time.perf_counter())
    for _ in range(rounds):
        barrier.wait()
    done.put(time.perf_counter())


def main():
    parties, rounds = int(sys.argv[1]), int(sys.argv[2])
    ctx = mp.get_context("fork")
    ready, start, done = ctx.Queue(), ctx.Queue(), ctx.Queue()
    server = ctx.Process(target=serve, args=(parties, ready), daemon=True)
    server.start()
    address = ready.get()
    procs = [ctx.Process(target=party, args=(address, rounds, start, done)) for _ in range(parties)]
    for p in procs:
        p.start()
    first = min(start.get() for _ in procs)
    last = max(done.get() for _ in procs)
    for p in procs:
        p.join()
    wall = last - first
    print("python-managers parties=%d rounds=%d wall_s=%.3f rounds_per_s=%.1f us_per_round=%.1f"
          % (parties, rounds, wall, rounds / wall, wall * 1e6 / rounds))
    server.terminate()


if __name__ == "__main__":
    main()
