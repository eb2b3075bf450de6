"""multiprocessing.Barrier's behaviour with processes, under fork and spawn, against a real coordinator.

The scenarios are those of CPython's own multiprocessing tests (Lib/test/_test_multiprocessing.py, _TestBarrier):
the barrier is made in the parent and passed to each Process as an argument, as the seed's program does. Then what
only a networked barrier can do: a party killed or interrupted is named to the others.
"""

import functools
import multiprocessing
import os
import signal
import threading
import time

import pytest

import lockstep

N = 5
METHODS = ["fork", "spawn"]


def _report(q, f, *args):
    try:
        q.put(("ok", f(*args)))
    except BaseException as e:
        q.put(("error", "%s: %s" % (type(e).__name__, e)))


def run_processes(ctx, f, *args, n=N, timeout=90):
    """Runs f(*args) in n processes; returns their results, or fails with what went wrong in one."""
    q = ctx.Queue()
    procs = [ctx.Process(target=_report, args=(q, f) + args) for _ in range(n)]
    for p in procs:
        p.start()
    results = []
    deadline = time.monotonic() + timeout
    for _ in procs:
        kind, value = q.get(timeout=max(deadline - time.monotonic(), 1))
        assert kind == "ok", value
        results.append(value)
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    return results


@pytest.fixture(params=METHODS)
def ctx(request):
    return multiprocessing.get_context(request.param)


# ---- what each process does (module-level: spawn pickles them by name) -------------------------------------------

def _multipass(barrier, before, after, passes):
    m = barrier.parties
    for i in range(passes):
        with before.get_lock():
            before.value += 1
        assert after.value == i * m, (after.value, i * m)
        barrier.wait()
        with after.get_lock():
            after.value += 1
        assert before.value == (i + 1) * m, (before.value, (i + 1) * m)
        barrier.wait()
    assert barrier.n_waiting == 0 and not barrier.broken
    return os.getpid()


def _wait(barrier):
    return barrier.wait()


def _append(path):
    with open(path, "a") as f:
        f.write("x")


def _wait_and_count(barrier, path):
    barrier.wait()
    with open(path) as f:
        return len(f.read())


def _abort_one(barrier):
    try:
        i = barrier.wait()
        if i == N // 2:
            raise RuntimeError
        barrier.wait()
        return "passed"
    except threading.BrokenBarrierError:
        return "broken"
    except RuntimeError:
        barrier.abort()
        return "aborted"


def _reset_one(barrier):
    i = barrier.wait()
    outcome = "resetter"
    if i == N // 2:
        while barrier.n_waiting < N - 1:
            time.sleep(0.01)
        barrier.reset()
    else:
        try:
            barrier.wait()
            outcome = "passed"
        except threading.BrokenBarrierError:
            outcome = "broken"
    barrier.wait()
    return outcome


def _late_one(barrier, late, timeout):
    i = barrier.wait(60)  # as CPython's own test: every process runs before the short timeout starts counting
    if i == N // 2:
        time.sleep(late)
    try:
        barrier.wait(timeout)
        return "passed"
    except threading.BrokenBarrierError:
        return "broken"


def _thousand(barrier, passes):
    return [barrier.wait() for _ in range(passes)]


def _declare_and_leave(address, name, parties):
    client = lockstep.connect(address, client_name="leaver")
    client.barrier(name, parties)  # declares, then the process ends without waiting (nor closing)
    return "left"


def _wait_forever(barrier, ready):
    barrier._session()  # connected
    ready.set()
    barrier.wait()


# ---- the tests ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("passes", [1, 3])
def test_barrier(ctx, make, passes):
    b = make(N)
    before, after = ctx.Value("i", 0), ctx.Value("i", 0)
    pids = run_processes(ctx, _multipass, b, before, after, passes)
    assert len(set(pids)) == N


def test_wait_return(ctx, make):
    assert sorted(run_processes(ctx, _wait, make(N))) == list(range(N))


def test_action(ctx, make, tmp_path):
    path = tmp_path / "action"
    path.write_text("")
    b = make(N, action=functools.partial(_append, str(path)))
    assert run_processes(ctx, _wait_and_count, b, str(path)) == [1] * N


def test_abort(ctx, make):
    b = make(N)
    # The barrier's state lives on the coordinator while a session declares it: the parent, to read it afterwards,
    # uses it first (or the coordinator forgets it when the last child ends).
    assert not b.broken
    assert sorted(run_processes(ctx, _abort_one, b)) == ["aborted"] + ["broken"] * (N - 1)
    assert b.broken


def test_reset(ctx, make):
    assert sorted(run_processes(ctx, _reset_one, make(N))) == ["broken"] * (N - 1) + ["resetter"]


def test_timeout(ctx, make):
    assert run_processes(ctx, _late_one, make(N), 1.0, 0.5) == ["broken"] * N


def test_default_timeout(ctx, make):
    assert run_processes(ctx, _late_one, make(N, timeout=0.3), 1.0, None) == ["broken"] * N


def test_single_process(ctx, make):
    b = make(1)
    assert run_processes(ctx, _thousand, b, 2, n=1) == [[0, 0]]


def test_thousand(ctx, make):
    passes = 1000 if ctx.get_start_method() == "fork" else 300
    results = run_processes(ctx, _thousand, make(N), passes)
    for i in range(passes):  # in every pass, every index once
        assert sorted(r[i] for r in results) == list(range(N))


def signal_a_waiting_party(ctx, make, signum):
    """Three parties: a child process waits, the test waits too, and the child gets ``signum`` meanwhile. Returns
    what the test's wait raised, how long after the signal, and the child's pid."""
    b = make(3)
    ready = ctx.Event()
    victim = ctx.Process(target=_wait_forever, args=(b, ready))
    victim.start()
    assert ready.wait(60)
    deadline = time.monotonic() + 20
    while b.n_waiting < 1:
        assert time.monotonic() < deadline, "the child never waited"
        time.sleep(0.01)
    signalled = []
    timer = threading.Timer(0.3, lambda: (signalled.append(time.monotonic()), os.kill(victim.pid, signum)))
    timer.start()
    with pytest.raises(lockstep.BrokenBarrierError) as caught:
        b.wait()
    took = time.monotonic() - signalled[0]
    victim.join(10)
    return caught.value, took, victim.pid


def test_a_killed_party_is_named_within_seconds(ctx, make):
    e, took, pid = signal_a_waiting_party(ctx, make, signal.SIGKILL)
    print("a SIGKILLed party was reported after %.2f s: %s" % (took, e))
    assert e.cause == "lost_party"
    assert e.culprit is not None and e.culprit.endswith("-%d" % pid)
    assert "its connection was closed and it did not come back" in str(e)
    assert took < 15


def test_a_ctrl_c_party_breaks_the_barrier_at_once(ctx, make):
    e, took, pid = signal_a_waiting_party(ctx, make, signal.SIGINT)
    print("a Ctrl-C'd party was reported after %.2f s: %s" % (took, e))
    assert e.cause == "interrupted"
    assert e.culprit.endswith("-%d" % pid)


def test_a_process_that_ends_without_arriving_breaks_what_it_declared(ctx, coordinator, name):
    b = lockstep.Barrier(2, name=name, address=coordinator.address)
    errors = []

    def wait():
        try:
            b.wait()
            errors.append("passed")
        except lockstep.BrokenBarrierError as e:
            errors.append(e)

    waiter = threading.Thread(target=wait)
    waiter.start()
    while b.n_waiting < 1:
        time.sleep(0.01)
    started = time.monotonic()
    p = ctx.Process(target=_declare_and_leave, args=(coordinator.address, name, 2))
    p.start()
    p.join(60)
    waiter.join(30)
    e = errors[0]
    assert isinstance(e, lockstep.BrokenBarrierError), e
    print("a party that ended without arriving was reported after %.2f s: %s" % (time.monotonic() - started, e))
    assert e.culprit == "leaver" and "its process is exiting, before it arrived" in str(e)


def test_a_barrier_used_before_fork_gives_the_child_its_own_session(make):
    ctx = multiprocessing.get_context("fork")
    b = make(2)
    parent_session = b._session().session_id
    q = ctx.Queue()
    p = ctx.Process(target=lambda: q.put((b.wait(), b._session().session_id)))
    p.start()
    mine = b.wait()
    theirs, child_session = q.get(timeout=30)
    p.join(30)
    assert sorted([mine, theirs]) == [0, 1]
    assert child_session != parent_session


_FORK_WITH_AN_UNUSED_BARRIER = r"""
import os, sys, threading, warnings
sys.path.insert(0, sys.argv[1])
import lockstep
barrier = lockstep.Barrier(4, name="seed-shape", address=sys.argv[2])  # made, never used: its I/O thread idles
assert any(t.name == "lockstep-io" for t in threading.enumerate()), "the barrier started its I/O thread"
with warnings.catch_warnings(record=True) as said:
    warnings.simplefilter("always")  # 3.12+: fork() in a process with other threads warns
    pid = os.fork()
    if pid == 0:
        os._exit(0)
_, status = os.waitpid(pid, 0)
assert not [w for w in said if "multi-threaded" in str(w.message)], [str(w.message) for w in said]
assert barrier.n_waiting == 0  # the first use: it connects, and has its thread again
assert any(t.name == "lockstep-io" for t in threading.enumerate()), "the thread is back once the barrier is used"
print("forked with no thread")
"""


def test_a_parent_that_made_a_barrier_and_never_used_it_forks_with_no_thread_of_ours(coordinator):
    """The seed's shape: Python 3.12 and newer warn (here: raise) if fork() happens in a process with threads."""
    import glob
    import subprocess
    import sys
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = sorted(glob.glob(os.path.join(pyenv, "versions", "3.1[2-9]*", "bin", "python3")))
    python = sys.executable if sys.version_info >= (3, 12) else (found[-1] if found else None)
    if python is None:
        pytest.skip("no Python 3.12 or newer here, whose fork() says whether other threads run")
    done = subprocess.run([python, "-c", _FORK_WITH_AN_UNUSED_BARRIER, os.path.dirname(lockstep.__path__[0]),
                           coordinator.address], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "forked with no thread" in done.stdout, done.stdout + done.stderr
