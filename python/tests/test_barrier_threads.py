"""threading.Barrier's behaviour, with threads, against a real coordinator.

Each test mirrors one of CPython's own Barrier tests (Lib/test/lock_tests.py, BarrierTests) — the same scenario and
the same assertions — plus what Lockstep adds: the reasons a barrier broke, exchange, the action's exception.
"""

import os
import re
import signal
import threading
import time

import pytest

import lockstep
from conftest import free_port

N = 5
DEFAULT_TIMEOUT = 20.0


class Bunch:
    """Runs ``f`` in ``n`` threads and re-raises the first exception any of them raised."""

    def __init__(self, f, n):
        self.errors = []

        def run():
            try:
                f()
            except BaseException as e:  # noqa: B902 - reported below
                self.errors.append(e)

        self.threads = [threading.Thread(target=run) for _ in range(n)]
        for t in self.threads:
            t.start()
        for t in self.threads:
            t.join(60)
            assert not t.is_alive(), "a thread is still waiting after 60 s"
        if self.errors:
            raise self.errors[0]


@pytest.fixture
def barrier(coordinator, name):
    b = lockstep.Barrier(N, timeout=DEFAULT_TIMEOUT, name=name, address=coordinator.address)
    yield b
    b.abort()


def multipass(barrier, results, n):
    m = barrier.parties
    assert m == N
    for i in range(n):
        results[0].append(True)
        assert len(results[1]) == i * m
        barrier.wait()
        results[1].append(True)
        assert len(results[0]) == (i + 1) * m
        barrier.wait()
    assert barrier.n_waiting == 0
    assert not barrier.broken


def test_constructor():
    with pytest.raises(ValueError):
        lockstep.Barrier(0, name="x")
    with pytest.raises(ValueError):
        lockstep.Barrier(-1, name="x")
    with pytest.raises(ValueError):
        lockstep.Barrier(2, name="")
    with pytest.raises(ValueError):
        lockstep.Barrier(2, name="x" * 257)


@pytest.mark.parametrize("passes", [1, 10])
def test_barrier(barrier, passes):
    results = [[], []]
    Bunch(lambda: multipass(barrier, results, passes), N)


def test_wait_return(barrier):
    results = []
    Bunch(lambda: results.append(barrier.wait()), N)
    assert sorted(results) == list(range(N))


def test_wait_return_is_pythons_index_zero_first(make):
    b = make(3)
    results = {}

    def arrive(k):
        results[k] = b.wait()

    threads = [threading.Thread(target=arrive, args=(k,)) for k in range(3)]
    for k, t in enumerate(threads):  # in order 0, 1, 2: each starts once the one before waits
        deadline = time.monotonic() + 30
        while b.n_waiting < k:
            assert time.monotonic() < deadline, "party %d never waited" % (k - 1)
            time.sleep(0.01)
        t.start()
    for t in threads:
        t.join(30)
    assert results == {0: 0, 1: 1, 2: 2}


def test_action(make):
    results = []
    b = make(N, action=lambda: results.append(True))

    def f():
        b.wait()
        assert len(results) == 1

    Bunch(f, N)


def test_action_runs_once_per_generation_before_anyone_is_released(make):
    released = []
    trips = []
    b = make(3, action=lambda: trips.append(len(released)))

    def f():
        for _ in range(4):
            b.wait()
            released.append(True)

    Bunch(f, 3)
    assert len(trips) == 4
    assert trips[0] == 0  # nobody was released before the first action ran


def test_abort(barrier):
    results1, results2 = [], []

    def f():
        try:
            i = barrier.wait()
            if i == N // 2:
                raise RuntimeError
            barrier.wait()
            results1.append(True)
        except threading.BrokenBarrierError:
            results2.append(True)
        except RuntimeError:
            barrier.abort()

    Bunch(f, N)
    assert len(results1) == 0
    assert len(results2) == N - 1
    assert barrier.broken


def test_reset(barrier):
    results1, results2, results3 = [], [], []

    def f():
        i = barrier.wait()
        if i == N // 2:
            while barrier.n_waiting < N - 1:  # until the others all wait again
                time.sleep(0.01)
            barrier.reset()
        else:
            try:
                barrier.wait()
                results1.append(True)
            except threading.BrokenBarrierError:
                results2.append(True)
        barrier.wait()  # and pass it again
        results3.append(True)

    Bunch(f, N)
    assert len(results1) == 0
    assert len(results2) == N - 1
    assert len(results3) == N


def test_abort_and_reset(barrier, make):
    results1, results2, results3 = [], [], []
    barrier2 = make(N)

    def f():
        try:
            i = barrier.wait()
            if i == N // 2:
                raise RuntimeError
            barrier.wait()
            results1.append(True)
        except threading.BrokenBarrierError:
            results2.append(True)
        except RuntimeError:
            barrier.abort()
        # Everyone has left the barrier when it is reset, and nobody enters it before.
        if barrier2.wait() == N // 2:
            barrier.reset()
        barrier2.wait()
        barrier.wait()
        results3.append(True)

    Bunch(f, N)
    assert len(results1) == 0
    assert len(results2) == N - 1
    assert len(results3) == N


def test_timeout(barrier):
    def f():
        i = barrier.wait()
        if i == N // 2:
            time.sleep(1.0)  # one thread is late
        with pytest.raises(threading.BrokenBarrierError):
            barrier.wait(0.5)

    Bunch(f, N)


def test_default_timeout(make):
    b = make(N, timeout=0.3)

    def f():
        i = b.wait()
        if i == N // 2:
            time.sleep(1.0)  # later than the default timeout of 0.3 s
        with pytest.raises(threading.BrokenBarrierError):
            b.wait()

    Bunch(f, N)


def test_single_thread(make):
    b = make(1)
    assert b.wait() == 0
    assert b.wait() == 0


def test_a_timeout_says_who_and_the_timed_out_party_is_broken_too(make):
    b = make(2)
    with pytest.raises(lockstep.BrokenBarrierError) as caught:
        b.wait(0.2)
    e = caught.value
    assert isinstance(e, threading.BrokenBarrierError)
    assert e.outcome == "timed_out" and e.cause == "timeout"
    assert "timed out after 200 ms" in str(e) and "1 of 2 arrived" in str(e)
    assert e.generation == 1
    assert b.broken
    with pytest.raises(threading.BrokenBarrierError) as again:
        b.wait()
    assert again.value.outcome == "broken"
    b.reset()
    assert not b.broken


def test_an_exception_in_the_action_breaks_the_barrier_and_reaches_its_runner(make):
    def action():
        raise KeyError("no cards left")

    b = make(3, action=action)
    outcomes = []

    def f():
        try:
            b.wait()
            outcomes.append("passed")
        except KeyError:
            outcomes.append("action")
        except lockstep.BrokenBarrierError as e:
            assert e.cause == "action_failed" and "no cards left" in str(e), str(e)
            outcomes.append("broken")

    Bunch(f, 3)
    assert sorted(outcomes) == ["action", "broken", "broken"]
    assert b.broken


def test_abort_before_anyone_waits_breaks_it_and_names_who(make):
    b = make(2)
    b.abort()
    assert b.broken
    with pytest.raises(lockstep.BrokenBarrierError) as caught:
        b.wait()
    assert caught.value.cause == "abort"
    assert caught.value.culprit == b._session().client_name


def test_n_waiting_is_live(make):
    b = make(3)
    threads = [threading.Thread(target=b.wait) for _ in range(2)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while b.n_waiting < 2:
        assert time.monotonic() < deadline, "two waiters never showed"
        time.sleep(0.01)
    assert b.n_waiting == 2 and not b.broken
    b.wait()
    for t in threads:
        t.join(20)
    assert b.n_waiting == 0


def test_exchange_gives_everyone_every_contribution_in_arrival_order(make):
    b = make(3)
    out = {}

    def f(k):
        time.sleep(0.2 * k)
        out[k] = b.exchange(b"score %d" % k)

    threads = [threading.Thread(target=f, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    lists = [[c.data for c in out[k].contributions] for k in range(3)]
    assert lists == [[b"score 0", b"score 1", b"score 2"]] * 3
    assert [out[k].index for k in range(3)] == [0, 1, 2]
    assert [out[k].data for k in range(3)] == [b"score 0", b"score 1", b"score 2"]
    assert len({out[k].party for k in range(3)}) == 3  # name, name#2, name#3
    assert list(out[0].by_party().values()) == lists[0]


def test_a_plain_wait_and_an_exchange_meet_at_one_barrier(make):
    b = make(2)
    got = []
    t = threading.Thread(target=lambda: got.append(b.wait()))
    t.start()
    ex = b.exchange(b"x")
    t.join(30)
    assert sorted(c.data for c in ex.contributions) == [b"", b"x"]


def test_keyboard_interrupt_in_wait_withdraws_the_party_and_breaks_the_barrier(make):
    b = make(2)
    assert threading.current_thread() is threading.main_thread()
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))  # Ctrl-C
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        b.wait()
    timer.join()
    assert b.broken
    with pytest.raises(lockstep.BrokenBarrierError) as caught:
        b.wait()
    assert caught.value.cause == "interrupted"


def test_a_barrier_declared_with_another_count_is_a_value_error(make, coordinator, name):
    lockstep.Barrier(2, name=name + "-m", address=coordinator.address).abort()
    with pytest.raises(ValueError) as caught:
        lockstep.Barrier(3, name=name + "-m", address=coordinator.address).wait()
    assert caught.value.code == "PARTIES_MISMATCH"
    assert "2" in str(caught.value) and "3" in str(caught.value)


def test_barrier_from_a_client_declares_at_once(coordinator, name):
    with lockstep.connect(coordinator.address, client_name="susan") as client:
        b = client.barrier(name, 2)
        assert any(x["name"] == name for x in client.barriers())
        with pytest.raises(ValueError):
            client.barrier(name, 5)
        assert "susan" in repr(client)
        assert b.parties == 2
        client.forget(name)
        assert not any(x["name"] == name for x in client.barriers())


def test_repr_has_threading_barriers_shape(make):
    b = make(3)
    assert re.fullmatch(r"<lockstep\.Barrier at 0x[0-9a-f]+, '[^']+' on 127\.0\.0\.1:\d+: waiters=0/3>", repr(b))
    b.abort()
    assert repr(b).endswith(": broken>")


def test_repr_of_a_barrier_whose_coordinator_is_unreachable_says_so_within_a_second_or_two():
    b = lockstep.Barrier(4, name="game", address="127.0.0.1:%d" % free_port())
    started = time.monotonic()
    r = repr(b)
    assert r.startswith("<lockstep.Barrier at 0x") and "'game' on 127.0.0.1:" in r, r
    assert "parties=4, state unknown (" in r and "connection refused" in r.lower(), r
    assert time.monotonic() - started < 30  # bounded (a second and a half, not the 10 s connect timeout)


def test_an_exchange_larger_than_a_frame_arrives_whole_in_parts(make):
    """20 parties of 64 KiB each: the release does not fit in one frame (1 MiB), so RELEASE_PART frames carry the
    first contributions; every party gets all of them, in arrival order, byte for byte."""
    n = 20
    b = make(n)
    out = []
    data = [bytes([k]) * (64 * 1024 - 16) for k in range(n)]

    def f(k):
        out.append((k, b.exchange(data[k], 60)))

    threads = [threading.Thread(target=f, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(out) == n
    for k, ex in out:
        assert len(ex.contributions) == n
        assert ex.data == data[k]
        assert sorted(c.data for c in ex.contributions) == sorted(data)
        assert [c.data for c in ex.contributions] == [c.data for c in out[0][1].contributions]


def test_a_contribution_over_the_limit_is_refused_and_breaks_nothing(make):
    b = make(2)
    with pytest.raises(lockstep.InvalidRequestError) as caught:
        b.exchange(b"x" * (64 * 1024 + 1))
    assert caught.value.code == "INVALID_ARGUMENT" and isinstance(caught.value, ValueError)
    assert not b.broken
    t = threading.Thread(target=b.wait, args=(30,))
    t.start()
    assert b.exchange(b"ok", 30).data == b"ok"
    t.join(30)
