"""The Python client and a replicated group of three coordinators: it finds the leader, and a wait survives the
leader's death (kill -9) with its session and every answer, exactly once."""

import signal
import subprocess
import threading
import time

import pytest

import lockstep
from conftest import COORDINATOR_JAR, JAVA, free_port


class Group:
    def __init__(self, tmp_path):
        if not COORDINATOR_JAR.is_file():
            pytest.fail("%s is missing: build it first with `mvn -B -DskipTests package`" % COORDINATOR_JAR)
        self.client_ports = [free_port() for _ in range(3)]
        raft_ports = [free_port() for _ in range(3)]
        peers = ",".join("n%d=127.0.0.1:%d" % (i + 1, p) for i, p in enumerate(raft_ports))
        self.processes = {}
        self.logs = {}
        for i in range(3):
            node = "n%d" % (i + 1)
            log = open(tmp_path / (node + ".log"), "w+")
            self.logs[node] = log
            self.processes[node] = subprocess.Popen(
                [JAVA, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", str(COORDINATOR_JAR), "--bind",
                 "127.0.0.1", "--port", str(self.client_ports[i]), "--no-http", "--node-id", node, "--peers", peers,
                 "--data-dir", str(tmp_path / node)], stdout=log, stderr=subprocess.STDOUT)
        self.address = ",".join("127.0.0.1:%d" % p for p in self.client_ports)

    def kill(self, node):
        self.processes[node].send_signal(signal.SIGKILL)
        self.processes[node].wait(10)

    def stop(self):
        for p in self.processes.values():
            if p.poll() is None:
                p.kill()
                p.wait(10)
        for log in self.logs.values():
            log.close()


@pytest.fixture
def group(tmp_path):
    g = Group(tmp_path)
    yield g
    g.stop()


def test_the_client_finds_the_leader_and_a_wait_survives_its_death(group, name):
    # Every address in the list, whichever is the leader: followers answer NOT_LEADER and name it.
    first = lockstep.connect(group.address, client_name="first", connect_timeout=60)
    second = lockstep.connect(list(reversed(group.address.split(","))), client_name="second", connect_timeout=60)
    try:
        status = first.group()
        assert [m["id"] for m in status["members"]] == ["n1", "n2", "n3"]
        leader = status["leader"]
        assert leader in ("n1", "n2", "n3") and status["self_id"] == leader
        sessions = (first.session_id, second.session_id)
        b1, b2 = first.barrier(name, 2), second.barrier(name, 2)
        rounds, kill_at = 20, 8
        got = []
        t = threading.Thread(target=lambda: got.extend(b2.wait(60) for _ in range(rounds)))
        t.start()
        mine = []
        for i in range(rounds):
            if i == kill_at:
                group.kill(leader)
                killed = time.monotonic()
            mine.append(b1.wait(60))
            if i == kill_at:
                print("the leader %s was killed; the next round passed %.2f s later" % (leader,
                                                                                         time.monotonic() - killed))
        t.join(60)
        assert len(got) == rounds == len(mine)
        assert all(sorted(pair) == [0, 1] for pair in zip(mine, got)), "every round passed once, together"
        assert (first.session_id, second.session_id) == sessions, "resumed on the new leader, not replaced"
        after = first.group()
        assert after["leader"] not in ("", leader)
    finally:
        first.close()
        second.close()
