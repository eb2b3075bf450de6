"""Test fixtures: a real Lockstep coordinator (the jar `mvn package` builds), and a TCP proxy that cuts.

The jar is ../coordinator/target/lockstep-coordinator.jar, or $LOCKSTEP_COORDINATOR_JAR. `mvn -B verify` runs these
tests (player/.../PythonClientIT) after building it.
"""

import os
import pathlib
import select
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))

COORDINATOR_JAR = pathlib.Path(os.environ.get("LOCKSTEP_COORDINATOR_JAR",
                                              ROOT / "coordinator" / "target" / "lockstep-coordinator.jar"))
PLAYER_JAR = pathlib.Path(os.environ.get("LOCKSTEP_PLAYER_JAR", ROOT / "player" / "target" / "lockstep-player.jar"))
JAVA = os.environ.get("JAVA", "java")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Coordinator:
    """A coordinator process on a free port of 127.0.0.1; ``address`` is its barrier protocol's host:port."""

    def __init__(self, *args, env=None):
        if not COORDINATOR_JAR.is_file():
            pytest.fail("%s is missing: build it first with `mvn -B -DskipTests package`" % COORDINATOR_JAR)
        self.port = free_port()
        self.http_port = free_port()
        self.log = open(os.path.join(os.environ.get("TMPDIR", "/tmp"), "lockstep-coordinator-%d.log" % self.port),
                        "w+")
        cmd = [JAVA, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", str(COORDINATOR_JAR),
               "--bind", "127.0.0.1", "--port", str(self.port), "--http-port", str(self.http_port)] + list(args)
        self.process = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                        env=dict(os.environ, **(env or {})))
        self.address = "127.0.0.1:%d" % self.port
        deadline = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                pytest.fail("the coordinator exited with %d:\n%s" % (self.process.returncode, self.output()))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("the coordinator did not listen within 30 s:\n" + self.output())
                time.sleep(0.05)

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


@pytest.fixture(scope="session")
def coordinator():
    """One coordinator for every test that needs nothing special of it (tests use their own barrier names)."""
    c = Coordinator("--session-lease", "10s")
    yield c
    c.stop()


@pytest.fixture
def start_coordinator():
    """A factory for coordinators with options of their own, stopped after the test."""
    started = []

    def start(*args, env=None):
        c = Coordinator(*args, env=env)
        started.append(c)
        return c

    yield start
    for c in started:
        c.stop()


class Proxy:
    """A TCP proxy to ``target`` that can reset every connection (cut) or stop forwarding (a silent network)."""

    def __init__(self, target_port):
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.address = "127.0.0.1:%d" % self.listener.getsockname()[1]
        self.pairs = []
        self.lock = threading.Lock()
        self.silent = False
        self.refusing = False
        self.refused = 0  # connections reset at once while refusing
        self.connections = 0
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopped:
            with self.lock:
                socks = [self.listener] + [s for p in self.pairs for s in p]
            try:
                readable, _, _ = select.select(socks, [], [], 0.05)
            except (OSError, ValueError):
                continue
            for s in readable:
                if s is self.listener:
                    try:
                        client, _ = self.listener.accept()
                    except OSError:
                        continue
                    if self.refusing:
                        _reset(client)
                        with self.lock:
                            self.refused += 1
                        continue
                    try:
                        upstream = socket.create_connection(self.target)
                    except OSError:
                        _reset(client)
                        continue
                    with self.lock:
                        self.pairs.append((client, upstream))
                        self.connections += 1
                    continue
                if self.silent:
                    continue  # hold the bytes: nothing passes while the network is "cut"
                with self.lock:
                    pair = next((p for p in self.pairs if s in p), None)
                if pair is None:
                    continue
                other = pair[1] if s is pair[0] else pair[0]
                try:
                    data = s.recv(65536)
                    if data:
                        other.sendall(data)
                        continue
                except OSError:
                    pass
                self._drop(pair)
            if self.silent:
                time.sleep(0.02)

    def _drop(self, pair):
        with self.lock:
            if pair in self.pairs:
                self.pairs.remove(pair)
        for s in pair:
            _reset(s)

    def cut(self):
        """Resets every connection through the proxy (RST both ways), as a flaky NAT or proxy would."""
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                _reset(s)

    def close(self):
        self.stopped = True
        self.cut()
        self.listener.close()


def _reset(s):
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    s.close()


@pytest.fixture
def proxy_to():
    made = []

    def make(coordinator):
        p = Proxy(coordinator.port)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


@pytest.fixture
def make(coordinator, name):
    """A factory of barriers on the shared coordinator, each with a name of this test's own."""
    import lockstep
    counter = iter(range(1, 100))

    def make_barrier(parties, action=None, timeout=None):
        return lockstep.Barrier(parties, action, timeout, name="%s-%d" % (name, next(counter)),
                                address=coordinator.address)

    return make_barrier


_names = iter(range(1, 1 << 30))


@pytest.fixture
def name(request):
    """A barrier name of this test's own, so tests sharing a coordinator never meet."""
    return "%s-%d" % (request.node.name, next(_names))
