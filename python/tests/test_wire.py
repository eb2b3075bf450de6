"""The Python codec against the same golden bytes as the Java one (protocol's MessageCodecTest): the spec's frames."""

import pytest

from lockstep import _wire as wire


def h(s):
    return bytes.fromhex(s)


def test_client_frames_match_the_spec():
    assert wire.hello("susan") == h("00000022" "01" "4c4b5354" "0002" "0005" "737573616e" "00000000"
                                    "0000000000000000" "0000000000000000")
    assert wire.hello("", 10_000, 7, 3, version=1) == h("0000001d" "01" "4c4b5354" "0001" "0000" "00002710"
                                                        "0000000000000007" "0000000000000003")
    assert wire.ping(5) == h("00000009" "09" "0000000000000005")
    assert wire.ack(6) == h("00000009" "0d" "0000000000000006")
    assert wire.goodbye() == h("00000001" "0a")
    assert wire.goodbye(True) == h("00000002" "0a" "01")
    assert wire.group() == h("00000001" "0e")
    assert wire.undeclare(9, "game") == h("0000000f" "0f" "0000000000000009" "0004" "67616d65")
    assert wire.auth(b"\xab\xcd") == h("00000007" "0b" "00000002" "abcd")
    assert wire.list_barriers(8) == h("00000009" "0c" "0000000000000008")
    assert wire.declare(1, "game", 4) == h("00000013" "02" "0000000000000001" "0004" "67616d65" "00000004")
    assert wire.await_(2, "game", 2000, wire.AWAIT_FLAG_ACTION, b"\x01\x02\x03") == h(
        "0000001f" "03" "0000000000000002" "0004" "67616d65" "00000000000007d0" "01" "00000003" "010203")
    assert wire.await_(2, "g", -1, wire.AWAIT_FLAG_EXCHANGE, b"\x2a") == h(
        "0000001a" "03" "0000000000000002" "0001" "67" "ffffffffffffffff" "02" "00000001" "2a")
    assert wire.cancel(2) == h("00000009" "04" "0000000000000002")
    assert wire.action_done(2) == h("0000000c" "05" "0000000000000002" "01" "0000")
    assert wire.action_done(2, "x") == h("0000000d" "05" "0000000000000002" "00" "0001" "78")
    assert wire.abort(4, "game") == h("0000000f" "06" "0000000000000004" "0004" "67616d65")
    assert wire.reset(4, "game") == h("0000000f" "07" "0000000000000004" "0004" "67616d65")
    assert wire.query(4, "game") == h("0000000f" "08" "0000000000000004" "0004" "67616d65")


def one(hexstr):
    buf = bytearray(h(hexstr))
    frames = wire.split_frames(buf)
    assert len(frames) == 1 and not buf
    return wire.decode(*frames[0])


def test_coordinator_frames_decode_as_the_spec_says():
    w = one("00000025" "81" "0001" "000000000000002a" "00100000" "0000" "00002710" "000009c4" "01"
            "0000000000000004" "0001" "6e")
    assert (w.type, w.version, w.session_id, w.max_frame_bytes, w.coordinator, w.lease_millis, w.heartbeat_millis,
            w.resumed, w.received, w.note) == (wire.WELCOME, 1, 42, 1 << 20, "", 10_000, 2500, True, 4, "n")
    assert one("00000009" "82" "0000000000000001").request_id == 1
    r = one("00000025" "83" "0000000000000003" "0000000000000007" "00000001" "00000001" "0005" "737573616e"
            "00000001" "09")
    assert (r.request_id, r.generation, r.arrival_order, r.contributions) == (3, 7, 1, [("susan", b"\x09")])
    plain = one("00000019" "83" "0000000000000003" "0000000000000007" "00000002" "00000000")
    assert (plain.request_id, plain.generation, plain.arrival_order, plain.contributions) == (3, 7, 2, [])
    with pytest.raises(wire.MalformedFrame):  # the short way for a plain release checks the body as the long one
        wire.decode(wire.RELEASED, h("0000000000000003" "0000000000000007" "00000002" "00000001"))
    f = one("0000001a" "84" "0000000000000003" "02" "01" "0000000000000007" "0001" "6e" "0002" "6869")
    assert (f.outcome, f.cause, f.generation, f.culprit, f.message) == ("timed_out", "timeout", 7, "n", "hi")
    a = one("00000011" "85" "0000000000000003" "0000000000000007")
    assert (a.type, a.request_id, a.generation) == (wire.RUN_ACTION, 3, 7)
    s = one("00000027" "86" "0000000000000006" "00000004" "0000000000000007" "00" "0000" "00000001" "0001" "73"
            "00000000000005dc")
    assert (s.parties, s.generation, s.broken, s.waiting) == (4, 7, False, [("s", 1500)])
    e = one("0000000e" "87" "0000000000000000" "0003" "0001" "78")
    assert (e.request_id, e.code, e.name, e.message) == (0, 3, "BAD_MAGIC", "x")
    p = one("00000016" "88" "0000000000000003" "00000001" "0001" "61" "00000002" "0102")
    assert p.contributions == [("a", b"\x01\x02")]
    assert one("00000009" "89" "0000000000000005").received == 5
    assert one("00000006" "8a" "00000001" "ff").nonce == b"\xff"
    b = one("0000002e" "8b" "0000000000000008" "00000001" "0001" "67" "00000002" "0000000000000003" "00" "0000"
            "00000001" "0001" "73" "0000000000000005")
    assert b.barriers == [dict(name="g", parties=2, generation=3, broken=False, broken_reason="",
                               waiting=[("s", 5)])]
    g = one("0000003e" "8c" "0002" "6e31" "0002" "6e31" "0000000000000003" "0000000000000078" "00000001" "0002"
            "6e31" "0001" "61" "0000" "0006" "6c6561646572" "0000000000000078" "ffffffffffffffff")
    assert (g.self_id, g.leader, g.term, g.commit_index) == ("n1", "n1", 3, 120)
    assert g.members == [dict(id="n1", address="a", client_address="", role="leader", match_index=120,
                              last_contact_millis=-1)]


def test_frames_split_where_they_end_and_wait_for_the_rest():
    data = wire.ping(1) + wire.ping(2)  # (any bytes do: splitting reads only the length)
    buf = bytearray(data[:15])  # one frame of 13 bytes, and 2 of the next
    assert [t for t, _ in wire.split_frames(buf)] == [wire.PING]
    assert len(buf) == 2
    assert wire.split_frames(buf) == [] and len(buf) == 2
    buf += data[15:]
    assert wire.split_frames(buf) == [(wire.PING, h("0000000000000002"))]
    assert not buf


@pytest.mark.parametrize("bad", ["00000000", "00100001"])
def test_a_frame_length_out_of_bounds_is_malformed(bad):
    with pytest.raises(wire.MalformedFrame):
        wire.split_frames(bytearray(h(bad)))


@pytest.mark.parametrize("body", ["0000000000000001ff", "00000000000001"])
def test_a_body_must_be_consumed_exactly(body):
    with pytest.raises(wire.MalformedFrame):
        wire.decode(wire.OK, h(body))


def test_malformed_utf8_is_malformed():
    with pytest.raises(wire.MalformedFrame):
        wire.decode(wire.ERROR, h("0000000000000001" "0064" "0001" "ff"))
