"""The Lockstep wire protocol (protocol/PROTOCOL.md): frame types, error codes, encoding and decoding.

Pure functions over bytes; nothing here touches a socket, a thread or a clock.
"""

import struct

MAGIC = 0x4C4B5354  # "LKST"
VERSION = 2
DEFAULT_PORT = 7777
#: The coordinator never sends a frame longer than this (after the length prefix); a client must accept it.
MAX_INBOUND_FRAME = 1 << 20

# Client to coordinator.
HELLO = 0x01
DECLARE = 0x02
AWAIT = 0x03
CANCEL = 0x04
ACTION_DONE = 0x05
ABORT = 0x06
RESET = 0x07
QUERY = 0x08
PING = 0x09
GOODBYE = 0x0A
AUTH = 0x0B
LIST = 0x0C
ACK = 0x0D
GROUP = 0x0E
UNDECLARE = 0x0F

# Coordinator to client.
WELCOME = 0x81
OK = 0x82
RELEASED = 0x83
FAILED = 0x84
RUN_ACTION = 0x85
STATUS = 0x86
ERROR = 0x87
RELEASE_PART = 0x88
PONG = 0x89
CHALLENGE = 0x8A
BARRIERS = 0x8B
GROUP_STATUS = 0x8C

#: Answers both ends count (ERROR only with a request id); everything else the coordinator sends is uncounted.
COUNTED_ANSWERS = frozenset({OK, RELEASED, RELEASE_PART, FAILED, RUN_ACTION, STATUS, BARRIERS, ERROR})

AWAIT_FLAG_ACTION = 0x01
AWAIT_FLAG_EXCHANGE = 0x02

ERROR_NAMES = {
    1: "MALFORMED_FRAME", 2: "FRAME_TOO_LARGE", 3: "BAD_MAGIC", 4: "UNSUPPORTED_VERSION",
    5: "HANDSHAKE_REQUIRED", 6: "DUPLICATE_HANDSHAKE", 7: "UNKNOWN_TYPE", 8: "SHUTTING_DOWN",
    9: "BAD_REQUEST_ID", 10: "AUTH_REQUIRED", 11: "AUTH_FAILED", 12: "TLS_REQUIRED",
    13: "TOO_MANY_CONNECTIONS", 14: "SLOW_CONSUMER", 15: "NOT_LEADER",
    100: "INVALID_ARGUMENT", 101: "PARTIES_MISMATCH", 102: "UNKNOWN_BARRIER", 103: "NOT_DECLARED",
    104: "LIMIT_EXCEEDED", 199: "INTERNAL",
}
SHUTTING_DOWN = 8
NOT_LEADER = 15
INVALID_ARGUMENT = 100
PARTIES_MISMATCH = 101
UNKNOWN_BARRIER = 102
NOT_DECLARED = 103

OUTCOMES = {1: "broken", 2: "timed_out", 3: "interrupted", 4: "action_failed"}
CAUSES = {1: "timeout", 2: "interrupted", 3: "abort", 4: "reset", 5: "lost_party", 6: "action_failed",
          7: "shutdown"}

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_I64 = struct.Struct(">q")


class MalformedFrame(ValueError):
    """A frame from the coordinator that does not parse: a bug on one side, never a user mistake."""


# ---- encoding --------------------------------------------------------------------------------------------------

def _str(s):
    b = s.encode("utf-8")
    if len(b) > 0xFFFF:
        raise ValueError("string longer than 65535 bytes in UTF-8")
    return _U16.pack(len(b)) + b


def _bytes(b):
    return _U32.pack(len(b)) + bytes(b)


def _frame(frame_type, body=b""):
    return _U32.pack(len(body) + 1) + bytes((frame_type,)) + body


def hello(client_name, lease_millis=0, resume_session=0, received=0, version=VERSION):
    return _frame(HELLO, _U32.pack(MAGIC) + _U16.pack(version) + _str(client_name) + _U32.pack(lease_millis)
                  + _U64.pack(resume_session) + _U64.pack(received))


def auth(mac):
    return _frame(AUTH, _bytes(mac))


def declare(request_id, barrier, parties):
    return _frame(DECLARE, _U64.pack(request_id) + _str(barrier) + _U32.pack(parties))


def undeclare(request_id, barrier):
    return _frame(UNDECLARE, _U64.pack(request_id) + _str(barrier))


def await_(request_id, barrier, timeout_millis, flags, contribution=b""):
    return await_encoded(request_id, _str(barrier), timeout_millis, flags, contribution)


def encoded_name(barrier):
    """A barrier name as AWAIT carries it (its u16 length and UTF-8 bytes), for :func:`await_encoded`."""
    return _str(barrier)


def await_encoded(request_id, name, timeout_millis, flags, contribution=b""):
    """AWAIT with the barrier name already encoded (a barrier encodes its name once, not at every wait)."""
    body_length = 8 + len(name) + 8 + 1 + 4 + len(contribution)
    return b"".join((_U32.pack(body_length + 1), _AWAIT_TYPE, _U64.pack(request_id), name,
                     _I64.pack(timeout_millis), _FLAGS[flags], _U32.pack(len(contribution)), contribution))


_AWAIT_TYPE = bytes((AWAIT,))
_FLAGS = [bytes((f,)) for f in range(4)]


def cancel(request_id):
    return _frame(CANCEL, _U64.pack(request_id))


def action_done(request_id, failure=None):
    """ACTION_DONE: ``failure`` None when the action succeeded, else the text saying how it failed."""
    return _frame(ACTION_DONE, _U64.pack(request_id) + bytes((0 if failure is not None else 1,))
                  + _str(failure or ""))


def abort(request_id, barrier):
    return _frame(ABORT, _U64.pack(request_id) + _str(barrier))


def reset(request_id, barrier):
    return _frame(RESET, _U64.pack(request_id) + _str(barrier))


def query(request_id, barrier):
    return _frame(QUERY, _U64.pack(request_id) + _str(barrier))


def list_barriers(request_id):
    return _frame(LIST, _U64.pack(request_id))


def ping(received):
    return _frame(PING, _U64.pack(received))


def ack(received):
    return _frame(ACK, _U64.pack(received))


def goodbye(exiting=False):
    return _frame(GOODBYE, b"\x01" if exiting else b"")


def group():
    return _frame(GROUP)


# ---- decoding --------------------------------------------------------------------------------------------------

class _Reader:
    __slots__ = ("buf", "pos")

    def __init__(self, buf):
        self.buf = buf
        self.pos = 0

    def _take(self, n):
        end = self.pos + n
        if end > len(self.buf):
            raise MalformedFrame("frame body too short")
        chunk = self.buf[self.pos:end]
        self.pos = end
        return chunk

    def u8(self):
        return self._take(1)[0]

    def u16(self):
        return _U16.unpack(self._take(2))[0]

    def u32(self):
        return _U32.unpack(self._take(4))[0]

    def u64(self):
        return _U64.unpack(self._take(8))[0]

    def i64(self):
        return _I64.unpack(self._take(8))[0]

    def str(self):
        try:
            return bytes(self._take(self.u16())).decode("utf-8")
        except UnicodeDecodeError as e:
            raise MalformedFrame("malformed UTF-8 in a string") from e

    def bytes(self):
        return bytes(self._take(self.u32()))

    def end(self):
        if self.pos != len(self.buf):
            raise MalformedFrame("%d bytes left over in a frame body" % (len(self.buf) - self.pos))


class Frame:
    """One decoded frame from the coordinator: ``type`` and the body's fields as attributes."""

    def __init__(self, frame_type, **fields):
        self.type = frame_type
        self.__dict__.update(fields)

    def __repr__(self):
        fields = ", ".join("%s=%r" % kv for kv in self.__dict__.items() if kv[0] != "type")
        return "Frame(0x%02x, %s)" % (self.type, fields)


def _contributions(r):
    return [(r.str(), r.bytes()) for _ in range(r.u32())]


def _waiters(r):
    return [(r.str(), r.u64()) for _ in range(r.u32())]


_PLAIN_RELEASE = struct.Struct(">QQII")


def decode(frame_type, body):
    """Decodes one coordinator-to-client frame (type byte already split off). Raises MalformedFrame."""
    if frame_type == RELEASED and len(body) == 24:  # the common case, a plain await's release: no contributions
        request_id, generation, arrival_order, n = _PLAIN_RELEASE.unpack(body)
        if n == 0:
            return Frame(RELEASED, request_id=request_id, generation=generation, arrival_order=arrival_order,
                         contributions=[])
    r = _Reader(memoryview(body))
    t = frame_type
    if t == WELCOME:
        f = Frame(t, version=r.u16(), session_id=r.u64(), max_frame_bytes=r.u32(), coordinator=r.str(),
                  lease_millis=r.u32(), heartbeat_millis=r.u32(), resumed=r.u8() == 1, received=r.u64(),
                  note=r.str())
    elif t == OK:
        f = Frame(t, request_id=r.u64())
    elif t == RELEASED:
        f = Frame(t, request_id=r.u64(), generation=r.u64(), arrival_order=r.u32(), contributions=_contributions(r))
    elif t == RELEASE_PART:
        f = Frame(t, request_id=r.u64(), contributions=_contributions(r))
    elif t == FAILED:
        f = Frame(t, request_id=r.u64(), outcome=OUTCOMES.get(r.u8(), "broken"), cause=CAUSES.get(r.u8()),
                  generation=r.u64(), culprit=r.str(), message=r.str())
    elif t == RUN_ACTION:
        f = Frame(t, request_id=r.u64(), generation=r.u64())
    elif t == STATUS:
        f = Frame(t, request_id=r.u64(), parties=r.u32(), generation=r.u64(), broken=r.u8() == 1,
                  broken_reason=r.str(), waiting=_waiters(r))
    elif t == ERROR:
        f = Frame(t, request_id=r.u64(), code=r.u16(), message=r.str())
        f.name = ERROR_NAMES.get(f.code, str(f.code))
    elif t == PONG:
        f = Frame(t, received=r.u64())
    elif t == CHALLENGE:
        f = Frame(t, nonce=r.bytes())
    elif t == BARRIERS:
        f = Frame(t, request_id=r.u64(), barriers=[
            dict(name=r.str(), parties=r.u32(), generation=r.u64(), broken=r.u8() == 1, broken_reason=r.str(),
                 waiting=_waiters(r)) for _ in range(r.u32())])
    elif t == GROUP_STATUS:
        f = Frame(t, self_id=r.str(), leader=r.str(), term=r.u64(), commit_index=r.u64(), members=[
            dict(id=r.str(), address=r.str(), client_address=r.str(), role=r.str(), match_index=r.i64(),
                 last_contact_millis=r.i64()) for _ in range(r.u32())])
    else:
        raise MalformedFrame("unknown frame type 0x%02x from the coordinator" % t)
    r.end()
    return f


def split_frames(buf):
    """Takes every whole frame off the front of ``buf`` (a bytearray, consumed in place).

    Returns a list of (type, body); raises MalformedFrame for an empty frame or one over MAX_INBOUND_FRAME.
    """
    frames = []
    pos = 0
    n = len(buf)
    while n - pos >= 4:
        length = _U32.unpack_from(buf, pos)[0]
        if length == 0 or length > MAX_INBOUND_FRAME:
            raise MalformedFrame("frame length %d from the coordinator is out of bounds" % length)
        if n - pos - 4 < length:
            break
        frames.append((buf[pos + 4], bytes(buf[pos + 5:pos + 4 + length])))
        pos += 4 + length
    if pos:
        del buf[:pos]
    return frames


def split_one(buf):
    """Takes one whole frame off the front of ``buf`` (a bytearray): (type, body), or None if none is whole yet."""
    if len(buf) < 4:
        return None
    length = _U32.unpack_from(buf, 0)[0]
    if length == 0 or length > MAX_INBOUND_FRAME:
        raise MalformedFrame("frame length %d from the coordinator is out of bounds" % length)
    if len(buf) - 4 < length:
        return None
    frame = (buf[4], bytes(buf[5:4 + length]))
    del buf[:4 + length]
    return frame
