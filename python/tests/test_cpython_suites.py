"""CPython's own Barrier tests, unchanged, against ``lockstep.Barrier`` on a real coordinator.

``test.lock_tests.BarrierTests`` is what CPython runs against ``threading.Barrier``; ``_test_multiprocessing``'s
``_TestBarrier`` what it runs against ``multiprocessing.Barrier`` (with processes, and with threads through
``multiprocessing.dummy``). They are imported from this interpreter's own ``test`` package and run as they are: the
only thing given is the barrier type, a ``lockstep.Barrier`` with a name of its own on the test coordinator.
"""

import itertools
import os
import unittest

import pytest

import lockstep

try:
    from test import lock_tests
    from test import _test_multiprocessing as mp_tests
except ImportError as e:  # Debian's python3 ships the test package separately (libpython3.X-testsuite)
    pytest.skip("this interpreter has no CPython test package (%s): install libpython3-testsuite or use a "
                "python.org/pyenv build" % e, allow_module_level=True)

_address = None
_names = itertools.count(1)


@pytest.fixture(autouse=True, scope="module")
def _on_the_test_coordinator(coordinator):
    global _address
    _address = coordinator.address


def lockstep_barrier(parties, action=None, timeout=None):
    """What the suites call their barrier type with: a Lockstep barrier no other test uses."""
    return lockstep.Barrier(parties, action, timeout, name="cpython-suite-%d-%d" % (os.getpid(), next(_names)),
                            address=_address)


class TestLockTestsBarrier(lock_tests.BarrierTests):
    barriertype = staticmethod(lockstep_barrier)


class TestMultiprocessingBarrierWithProcesses(mp_tests._TestBarrier, mp_tests.ProcessesMixin, unittest.TestCase):
    Barrier = staticmethod(lockstep_barrier)


class TestMultiprocessingBarrierWithThreads(mp_tests._TestBarrier, mp_tests.ThreadsMixin, unittest.TestCase):
    Barrier = staticmethod(lockstep_barrier)
