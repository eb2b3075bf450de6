"""The seed's second program — four players, three rounds each, nobody paid before all have finished — with one
line changed: the barrier is Lockstep's, so the players may be processes on different machines.

    python3 seed_game.py                  # all four players here, as the seed runs them
    python3 seed_game.py susan            # only susan here; the others run the same line on their machines

The coordinator is $LOCKSTEP_COORDINATOR (default localhost:7777); $ROUND_SECONDS shortens the rounds (default 3).
"""

import multiprocessing
import os
import sys
import time

import lockstep

ROUND_SECONDS = float(os.environ.get("ROUND_SECONDS", "3"))


def player(name, barrier):
    print(f"{name} started playing.", flush=True)

    # Simulate the playing process (a task each player does)
    for i in range(3):
        time.sleep(ROUND_SECONDS)
        print(f"{name} is playing round {i + 1}", flush=True)

    # Synchronize the players: make them wait until all have finished playing
    print(f"{name} finished playing and is waiting for others.", flush=True)
    try:
        barrier.wait()  # All processes will wait at this point
    except lockstep.BrokenBarrierError as e:  # a player died, timed out or left: it says who
        print(f"{name} cannot be paid: {e}", flush=True)
        sys.exit(3)

    # After all players are done, they proceed to the next task
    print(f"sending winning amount to {name}", flush=True)


def main():
    # List of players (those named on the command line, when the others play elsewhere)
    players_name = sys.argv[1:] or ['susan', 'pratik', 'suman', 'nijam']
    Processes = []

    # Create a Barrier for 4 players
    barrier = lockstep.Barrier(4, name="game")  # was: multiprocessing.Barrier(4)

    # Create and start processes
    for name in players_name:
        process = multiprocessing.Process(target=player, args=(name, barrier))
        Processes.append(process)
        process.start()

    # Wait for all processes to finish
    for process in Processes:
        process.join()

    if all(process.exitcode == 0 for process in Processes):
        print("All winning players have received their winning amount.", flush=True)
    else:
        sys.exit(3)


if __name__ == "__main__":
    main()
