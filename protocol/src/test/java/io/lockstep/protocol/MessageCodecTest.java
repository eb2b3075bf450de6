package io.lockstep.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.TooLongFrameException;
import org.junit.jupiter.api.Test;

import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Pins the byte layout of PROTOCOL.md and checks the frame codec's handling of good and bad input. */
class MessageCodecTest {

    /** One of every message, with every field set. */
    static final List<Message> SAMPLES = List.of(
            new Message.Hello("susan"),
            new Message.Hello(Protocol.MAGIC, Protocol.VERSION, "susan", 5000, 77, 12),
            new Message.Ping(3),
            new Message.Ack(5),
            new Message.Pong(4),
            new Message.Goodbye(),
            new Message.Goodbye(true),
            new Message.Group(),
            new Message.Admin(5, Message.AdminOp.TRANSFER_LEADER, "n2"),
            new Message.Admin(6, Message.AdminOp.SNAPSHOT, ""),
            new Message.AdminResult(5, true, "n2 leads the group now", 0, new byte[0]),
            new Message.AdminResult(6, true, "3 bytes", 1, new byte[]{1, 2, 3}),
            new Message.AdminResult(7, false, "refused: not a member", 0, new byte[0]),
            new Message.Undeclare(9, "game"),
            new Message.GroupStatus("n1", "n1", 3, 120, List.of(new Message.Member("n1", "h1:7790", "h1:7777", "leader",
                    120, -1), new Message.Member("n2", "h2:7790", "", "follower", 117, 12))),
            new Message.GroupStatus("", "", 0, 0, List.of()),
            new Message.Auth(new byte[]{1, 2, 3}),
            new Message.Challenge(new byte[32]),
            new Message.ListBarriers(8),
            new Message.Barriers(8, List.of(new Message.BarrierInfo("game", 4, 2, false, "",
                    List.of(new Message.Waiter("susan", 10))), new Message.BarrierInfo("x", 1, 9, true, "why", List.of()))),
            new Message.Declare(1, "game", 4),
            new Message.Await(2, "game", 2000, true, new byte[]{1, 2, 3}),
            new Message.Await(3, "game", Protocol.NO_TIMEOUT, false, new byte[0]),
            new Message.Await(4, "game", Protocol.NO_TIMEOUT, true, true, new byte[]{4}),
            new Message.Cancel(2),
            new Message.ActionDone(2, null),
            new Message.ActionDone(2, "java.lang.IllegalStateException: boom"),
            new Message.Abort(4, "game"),
            new Message.Reset(5, "game"),
            new Message.Query(6, "game"),
            new Message.Welcome(1, 42, Protocol.DEFAULT_MAX_FRAME_BYTES, "lockstep-coordinator@1"),
            new Message.Welcome(1, 42, Protocol.DEFAULT_MAX_FRAME_BYTES, "c", 10_000, 2500, false, 9,
                    "session 7 expired"),
            new Message.Ok(1),
            new Message.Released(3, 7, 2, List.of(new Message.Contribution("susan", new byte[]{9}),
                    new Message.Contribution("pratik", new byte[0]))),
            new Message.Failed(3, Outcome.TIMED_OUT, BreakCause.TIMEOUT, 7, "nijam", "barrier 'game' ..."),
            new Message.RunAction(3, 7),
            new Message.Status(6, 4, 7, true, "why", List.of(new Message.Waiter("susan", 1500))),
            new Message.Error(0, ErrorCode.BAD_MAGIC, "bad magic"),
            new Message.ReleasePart(3, List.of(new Message.Contribution("suman", new byte[]{1, 2}))));

    private static String hex(Message m) {
        ByteBuf b = Unpooled.buffer();
        FrameEncoder.writeFrame(m, b);
        String s = ByteBufUtil.hexDump(b);
        b.release();
        return s;
    }

    @Test
    void goldenBytesMatchTheSpec() {
        // Each expected string is the frame written out by hand from PROTOCOL.md: length, type, fields.
        assertEquals("00000022" + "01" + "4c4b5354" + "0002" + "0005" + "737573616e" + "00000000"
                + "0000000000000000" + "0000000000000000", hex(new Message.Hello("susan")));
        assertEquals("0000001d" + "01" + "4c4b5354" + "0001" + "0000" + "00002710" + "0000000000000007"
                + "0000000000000003", hex(new Message.Hello(Protocol.MAGIC, 1, "", 10_000, 7, 3)));
        assertEquals("00000009" + "09" + "0000000000000005", hex(new Message.Ping(5)));
        assertEquals("00000009" + "89" + "0000000000000005", hex(new Message.Pong(5)));
        assertEquals("00000009" + "0d" + "0000000000000006", hex(new Message.Ack(6)));
        assertEquals("00000001" + "0a", hex(new Message.Goodbye()));
        assertEquals("00000002" + "0a" + "01", hex(new Message.Goodbye(true)));
        assertEquals("00000001" + "0e", hex(new Message.Group()));
        assertEquals("0000000e" + "10" + "0000000000000005" + "01" + "0002" + "6e32",
                hex(new Message.Admin(5, Message.AdminOp.TRANSFER_LEADER, "n2")));
        assertEquals("00000018" + "8d" + "0000000000000006" + "01" + "0002" + "6f6b" + "00000001" + "00000002" + "0102",
                hex(new Message.AdminResult(6, true, "ok", 1, new byte[]{1, 2})));
        assertEquals("0000000f" + "0f" + "0000000000000009" + "0004" + "67616d65", hex(new Message.Undeclare(9, "game")));
        assertEquals("0000003e" + "8c" + "0002" + "6e31" + "0002" + "6e31" + "0000000000000003" + "0000000000000078"
                + "00000001" + "0002" + "6e31" + "0001" + "61" + "0000" + "0006" + "6c6561646572" + "0000000000000078"
                + "ffffffffffffffff", hex(new Message.GroupStatus("n1", "n1", 3, 120,
                List.of(new Message.Member("n1", "a", "", "leader", 120, -1)))));
        assertEquals("00000007" + "0b" + "00000002" + "abcd", hex(new Message.Auth(new byte[]{(byte) 0xab, (byte) 0xcd})));
        assertEquals("00000006" + "8a" + "00000001" + "ff", hex(new Message.Challenge(new byte[]{(byte) 0xff})));
        assertEquals("00000009" + "0c" + "0000000000000008", hex(new Message.ListBarriers(8)));
        assertEquals("0000002e" + "8b" + "0000000000000008" + "00000001" + "0001" + "67" + "00000002"
                + "0000000000000003" + "00" + "0000" + "00000001" + "0001" + "73" + "0000000000000005",
                hex(new Message.Barriers(8, List.of(new Message.BarrierInfo("g", 2, 3, false, "",
                        List.of(new Message.Waiter("s", 5)))))));
        assertEquals("00000013" + "02" + "0000000000000001" + "0004" + "67616d65" + "00000004",
                hex(new Message.Declare(1, "game", 4)));
        assertEquals("0000001f" + "03" + "0000000000000002" + "0004" + "67616d65" + "00000000000007d0" + "01"
                + "00000003" + "010203", hex(new Message.Await(2, "game", 2000, true, new byte[]{1, 2, 3})));
        assertEquals("0000001a" + "03" + "0000000000000002" + "0001" + "67" + "ffffffffffffffff" + "02"
                + "00000001" + "2a", hex(new Message.Await(2, "g", -1, false, true, new byte[]{42})));
        assertEquals("00000016" + "88" + "0000000000000003" + "00000001" + "0001" + "61" + "00000002" + "0102",
                hex(new Message.ReleasePart(3, List.of(new Message.Contribution("a", new byte[]{1, 2})))));
        assertEquals("00000009" + "04" + "0000000000000002", hex(new Message.Cancel(2)));
        assertEquals("0000000c" + "05" + "0000000000000002" + "01" + "0000", hex(new Message.ActionDone(2, null)));
        assertEquals("0000000f" + "06" + "0000000000000004" + "0004" + "67616d65", hex(new Message.Abort(4, "game")));
        assertEquals("00000025" + "81" + "0001" + "000000000000002a" + "00100000" + "0000" + "00002710" + "000009c4"
                        + "01" + "0000000000000004" + "0001" + "6e",
                hex(new Message.Welcome(1, 42, 1 << 20, "", 10_000, 2500, true, 4, "n")));
        assertEquals("00000009" + "82" + "0000000000000001", hex(new Message.Ok(1)));
        assertEquals("00000025" + "83" + "0000000000000003" + "0000000000000007" + "00000001" + "00000001"
                        + "0005" + "737573616e" + "00000001" + "09",
                hex(new Message.Released(3, 7, 1, List.of(new Message.Contribution("susan", new byte[]{9})))));
        assertEquals("0000001a" + "84" + "0000000000000003" + "02" + "01" + "0000000000000007" + "0001" + "6e"
                + "0002" + "6869", hex(new Message.Failed(3, Outcome.TIMED_OUT, BreakCause.TIMEOUT, 7, "n", "hi")));
        assertEquals("00000011" + "85" + "0000000000000003" + "0000000000000007", hex(new Message.RunAction(3, 7)));
        assertEquals("00000027" + "86" + "0000000000000006" + "00000004" + "0000000000000007" + "00" + "0000"
                        + "00000001" + "0001" + "73" + "00000000000005dc",
                hex(new Message.Status(6, 4, 7, false, "", List.of(new Message.Waiter("s", 1500)))));
        assertEquals("0000000e" + "87" + "0000000000000000" + "0003" + "0001" + "78",
                hex(new Message.Error(0, ErrorCode.BAD_MAGIC, "x")));
    }

    @Test
    void everyTypeHasASample() {
        java.util.Set<MessageType> sampled = java.util.EnumSet.noneOf(MessageType.class);
        SAMPLES.forEach(m -> sampled.add(m.type()));
        assertEquals(java.util.EnumSet.allOf(MessageType.class), sampled, "the codec tests cover every frame type");
    }

    @Test
    void everyMessageSurvivesARoundTripThroughTheCodec() {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_BYTES),
                FrameEncoder.INSTANCE);
        for (Message m : SAMPLES) {
            assertTrue(ch.writeOutbound(m));
            ByteBuf bytes = ch.readOutbound();
            assertTrue(ch.writeInbound(bytes));
            assertEquals(m, ch.readInbound());
        }
        assertFalse(ch.finish());
    }

    @Test
    void aFrameSplitAcrossReadsIsReassembled() {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(Protocol.DEFAULT_MAX_FRAME_BYTES));
        ByteBuf all = Unpooled.buffer();
        for (Message m : SAMPLES) {
            FrameEncoder.writeFrame(m, all);
        }
        // Feed one byte at a time: no frame appears before its last byte.
        while (all.isReadable()) {
            ch.writeInbound(all.readRetainedSlice(1));
        }
        all.release();
        for (Message m : SAMPLES) {
            assertEquals(m, ch.readInbound());
        }
        assertNull(ch.readInbound());
        assertFalse(ch.finish());
    }

    @Test
    void aLengthAboveTheMaximumFailsFastWithoutBuffering() {
        EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(Protocol.MIN_MAX_FRAME_BYTES));
        ByteBuf b = Unpooled.buffer().writeInt(Integer.MAX_VALUE).writeByte(1);
        assertThrows(TooLongFrameException.class, () -> ch.writeInbound(b));
        ch.finishAndReleaseAll();
    }

    @Test
    void malformedBodiesAreProtocolErrorsWithTheRightCode() {
        assertCode(ErrorCode.UNKNOWN_TYPE, "7f");
        assertCode(ErrorCode.MALFORMED_FRAME, "");
        assertCode(ErrorCode.MALFORMED_FRAME, "02" + "0000000000000001" + "0004" + "6761"); // truncated name
        assertCode(ErrorCode.MALFORMED_FRAME, "04" + "0000000000000002" + "01"); // trailing byte
        assertCode(ErrorCode.MALFORMED_FRAME, "02" + "0000000000000001" + "0001" + "ff" + "00000001"); // bad UTF-8
        assertCode(ErrorCode.MALFORMED_FRAME, "03" + "0000000000000001" + "0001" + "67" + "0000000000000000" + "04"
                + "00000000"); // unknown AWAIT flag
        assertCode(ErrorCode.MALFORMED_FRAME, "03" + "0000000000000001" + "0001" + "67" + "0000000000000000" + "00"
                + "7fffffff"); // contribution longer than the frame
        assertCode(ErrorCode.MALFORMED_FRAME, "83" + "0000000000000001" + "0000000000000001" + "00000000"
                + "7fffffff"); // absurd count
        assertCode(ErrorCode.MALFORMED_FRAME, "84" + "0000000000000001" + "09" + "01" + "0000000000000001" + "0000"
                + "0000"); // unknown outcome
        assertCode(ErrorCode.MALFORMED_FRAME, "0a" + "02"); // GOODBYE's exiting byte is 0 or 1
        assertCode(ErrorCode.MALFORMED_FRAME, "0a" + "01" + "00"); // and alone
    }

    private static void assertCode(ErrorCode expected, String bodyHex) {
        ByteBuf b = Unpooled.wrappedBuffer(HexFormat.of().parseHex(bodyHex));
        ProtocolException e = assertThrows(ProtocolException.class, () -> MessageCodec.decode(b));
        assertEquals(expected, e.code(), e.getMessage());
        b.release();
    }
}
