"""The seed's program with one line changed (examples/seed_game.py), alone and with Java players on one barrier."""

import os
import re
import subprocess
import sys

import pytest

from conftest import JAVA, PLAYER_JAR, ROOT

SEED_GAME = ROOT / "python" / "examples" / "seed_game.py"


def run_seed_game(address, *names, start_method=None):
    env = dict(os.environ, LOCKSTEP_COORDINATOR=address, ROUND_SECONDS="0.2", PYTHONPATH=str(ROOT / "python"))
    args = [sys.executable]
    if start_method:  # the seed's program as is, under another start method
        args += ["-c", "import multiprocessing, runpy, sys; multiprocessing.set_start_method(%r); "
                       "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')" % start_method]
    return subprocess.Popen(args + [str(SEED_GAME)] + list(names), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def lines_of(proc, timeout=120):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, "exit %d\n%s\n%s" % (proc.returncode, out, err)
    assert err == "", err
    return out.splitlines()


@pytest.mark.parametrize("start_method", [None, "spawn"])
def test_the_seed_game_pays_nobody_before_everyone_finished(start_coordinator, start_method):
    c = start_coordinator()
    lines = lines_of(run_seed_game(c.address, start_method=start_method))
    text = "\n".join(lines)  # (four processes share one pipe: a line may hold the start of another)
    print(text)
    finished = [m.start() for m in re.finditer("finished playing and is waiting for others", text)]
    paid = [m.start() for m in re.finditer("sending winning amount to", text)]
    assert len(finished) == 4 and len(paid) == 4
    assert max(finished) < min(paid), "somebody was paid before everyone had finished"
    assert lines[-1] == "All winning players have received their winning amount."


def test_two_java_players_and_two_python_players_share_one_barrier(start_coordinator):
    if not PLAYER_JAR.is_file():
        pytest.fail("%s is missing: build it first with `mvn -B -DskipTests package`" % PLAYER_JAR)
    c = start_coordinator()
    java = [subprocess.Popen([JAVA, "-XX:TieredStopAtLevel=1", "-jar", str(PLAYER_JAR), "--name", name,
                              "--round-time", "300ms", "--coordinator", c.address],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for name in ("susan", "pratik")]
    python = run_seed_game(c.address, "suman", "nijam")
    py_lines = lines_of(python)
    java_lines = [lines_of(p) for p in java]
    print("\n".join(py_lines + sum(java_lines, [])))
    assert "\n".join(py_lines).count("sending winning amount to") == 2
    for lines in java_lines:
        assert any(line.startswith("sending winning amount") for line in lines), lines
        table = next(line for line in lines if line.startswith("winnings table"))
        # Every party is in it: the two Java players by name, the two Python ones by their client names.
        assert "susan" in table and "pratik" in table and table.count("points") == 4, table


def test_demo_python_plays_the_seed_game_against_its_own_coordinator():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    out = subprocess.run([str(ROOT / "demo"), "--python", "--quick"], capture_output=True, text=True, timeout=120,
                         env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 4 * 6 + 1, lines  # every line whole: one write per line
    assert lines[-1] == "All winning players have received their winning amount."
    assert "A Lockstep coordinator listens on 127.0.0.1:" in out.stderr
