package io.lockstep.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns {@link Message}s into frame bodies and back. Knows bytes only; framing (the length prefix and the
 * maximum frame size) is {@link FrameDecoder}'s and {@link FrameEncoder}'s job.
 *
 * <pre>
 * frame      = u32 length, then `length` bytes: u8 type, body      (big-endian throughout)
 * str        = u16 n, n bytes of UTF-8
 * bytes      = u32 n, n bytes
 *
 * HELLO       0x01  u32 magic "LKST", u16 version, str clientName, u32 leaseMillis, u64 resumeSession,
 *                   u64 received
 * DECLARE     0x02  u64 requestId, str barrier, u32 parties
 * AWAIT       0x03  u64 requestId, str barrier, i64 timeoutMillis (-1 = none), u8 flags (bit 0: runsAction,
 *                   bit 1: exchange), bytes contribution
 * CANCEL      0x04  u64 requestId (of the await)
 * ACTION_DONE 0x05  u64 requestId (of the await), u8 succeeded, str failure
 * ABORT       0x06  u64 requestId, str barrier
 * RESET       0x07  u64 requestId, str barrier
 * QUERY       0x08  u64 requestId, str barrier
 * PING        0x09  u64 received
 * GOODBYE     0x0A  (empty), or u8 exiting (1: the client's process is ending; 0 as empty)
 * AUTH        0x0B  bytes mac
 * LIST        0x0C  u64 requestId
 * ACK         0x0D  u64 received
 * GROUP       0x0E  (empty)
 * UNDECLARE   0x0F  u64 requestId, str barrier
 * ADMIN       0x10  u64 id, u8 op (1 transfer leader, 2 snapshot, 3 add member, 4 remove member), str argument
 * WELCOME     0x81  u16 version, u64 sessionId, u32 maxFrameBytes, str coordinator, u32 leaseMillis,
 *                   u32 heartbeatMillis, u8 resumed, u64 received, str note
 * OK          0x82  u64 requestId
 * RELEASED    0x83  u64 requestId, u64 generation, u32 arrivalOrder, u32 n, n x (str party, bytes data)
 * FAILED      0x84  u64 requestId, u8 outcome, u8 cause, u64 generation, str culprit, str message
 * RUN_ACTION  0x85  u64 requestId, u64 generation
 * STATUS      0x86  u64 requestId, u32 parties, u64 generation, u8 broken, str brokenReason,
 *                   u32 n, n x (str party, u64 waitedMillis)
 * ERROR       0x87  u64 requestId, u16 code, str message
 * RELEASE_PART 0x88 u64 requestId, u32 n, n x (str party, bytes data)
 * PONG        0x89  u64 received
 * CHALLENGE   0x8A  bytes nonce
 * BARRIERS    0x8B  u64 requestId, u32 n, n x (str name, u32 parties, u64 generation, u8 broken, str brokenReason,
 *                   u32 w, w x (str party, u64 waitedMillis))
 * GROUP_STATUS 0x8C str self, str leader, u64 term, u64 commitIndex, u32 n, n x (str id, str address,
 *                   str clientAddress, str role, i64 matchIndex, i64 lastContactMillis)
 * ADMIN_RESULT 0x8D u64 id, u8 ok, str message, u32 remaining, bytes data
 * </pre>
 *
 * Stateless and thread-safe.
 */
public final class MessageCodec {

    private static final byte[] EMPTY = new byte[0];

    private MessageCodec() {
    }

    /** Writes the type byte and the body of {@code m} (not the length prefix). */
    public static void encode(Message m, ByteBuf out) {
        out.writeByte(m.type().code());
        encodeBody(m, out);
    }

    // A switch expression over the type enum must name every constant: a new message fails the build here.
    private static ByteBuf encodeBody(Message m, ByteBuf out) {
        return switch (m.type()) {
            case HELLO -> {
                Message.Hello h = (Message.Hello) m;
                out.writeInt(h.magic());
                out.writeShort(h.version());
                writeString(out, h.clientName());
                out.writeInt(h.leaseMillis());
                out.writeLong(h.resumeSession());
                yield out.writeLong(h.received());
            }
            case DECLARE -> {
                Message.Declare d = (Message.Declare) m;
                out.writeLong(d.requestId());
                writeString(out, d.barrier());
                yield out.writeInt(d.parties());
            }
            case AWAIT -> {
                Message.Await a = (Message.Await) m;
                out.writeLong(a.requestId());
                writeString(out, a.barrier());
                out.writeLong(a.timeoutMillis());
                out.writeByte((a.runsAction() ? 1 : 0) | (a.exchange() ? 2 : 0));
                yield writeBytes(out, a.contribution());
            }
            case CANCEL -> out.writeLong(((Message.Cancel) m).requestId());
            case ACTION_DONE -> {
                Message.ActionDone d = (Message.ActionDone) m;
                out.writeLong(d.requestId());
                out.writeByte(d.succeeded() ? 1 : 0);
                yield writeString(out, d.succeeded() ? "" : d.failure());
            }
            case ABORT -> writeString(out.writeLong(((Message.Abort) m).requestId()), ((Message.Abort) m).barrier());
            case UNDECLARE -> writeString(out.writeLong(((Message.Undeclare) m).requestId()),
                    ((Message.Undeclare) m).barrier());
            case RESET -> writeString(out.writeLong(((Message.Reset) m).requestId()), ((Message.Reset) m).barrier());
            case QUERY -> writeString(out.writeLong(((Message.Query) m).requestId()), ((Message.Query) m).barrier());
            case WELCOME -> {
                Message.Welcome w = (Message.Welcome) m;
                out.writeShort(w.version());
                out.writeLong(w.sessionId());
                out.writeInt(w.maxFrameBytes());
                writeString(out, w.coordinator());
                out.writeInt(w.leaseMillis());
                out.writeInt(w.heartbeatMillis());
                out.writeByte(w.resumed() ? 1 : 0);
                out.writeLong(w.received());
                yield writeString(out, w.note());
            }
            case OK -> out.writeLong(((Message.Ok) m).requestId());
            case RELEASED -> {
                Message.Released r = (Message.Released) m;
                out.writeLong(r.requestId());
                out.writeLong(r.generation());
                out.writeInt(r.arrivalOrder());
                yield writeContributions(out, r.contributions());
            }
            case FAILED -> {
                Message.Failed f = (Message.Failed) m;
                out.writeLong(f.requestId());
                out.writeByte(f.outcome().code());
                out.writeByte(f.cause().code());
                out.writeLong(f.generation());
                writeString(out, f.culprit());
                yield writeString(out, f.message());
            }
            case RUN_ACTION -> {
                Message.RunAction r = (Message.RunAction) m;
                yield out.writeLong(r.requestId()).writeLong(r.generation());
            }
            case STATUS -> {
                Message.Status s = (Message.Status) m;
                out.writeLong(s.requestId());
                yield writeStatus(out, s.parties(), s.generation(), s.broken(), s.brokenReason(), s.waiting());
            }
            case LIST -> out.writeLong(((Message.ListBarriers) m).requestId());
            case GROUP -> out;
            case ADMIN -> {
                Message.Admin a = (Message.Admin) m;
                out.writeLong(a.id()).writeByte(a.op().code());
                yield writeString(out, a.argument());
            }
            case ADMIN_RESULT -> {
                Message.AdminResult r = (Message.AdminResult) m;
                out.writeLong(r.id()).writeByte(r.ok() ? 1 : 0);
                writeString(out, r.message());
                out.writeInt(r.remaining());
                yield writeBytes(out, r.data());
            }
            case GROUP_STATUS -> {
                Message.GroupStatus g = (Message.GroupStatus) m;
                writeString(out, g.self());
                writeString(out, g.leader());
                out.writeLong(g.term()).writeLong(g.commitIndex()).writeInt(g.members().size());
                for (Message.Member n : g.members()) {
                    writeString(out, n.id());
                    writeString(out, n.address());
                    writeString(out, n.clientAddress());
                    writeString(out, n.role());
                    out.writeLong(n.matchIndex()).writeLong(n.lastContactMillis());
                }
                yield out;
            }
            case BARRIERS -> {
                Message.Barriers b = (Message.Barriers) m;
                out.writeLong(b.requestId());
                out.writeInt(b.barriers().size());
                for (Message.BarrierInfo i : b.barriers()) {
                    writeString(out, i.name());
                    writeStatus(out, i.parties(), i.generation(), i.broken(), i.brokenReason(), i.waiting());
                }
                yield out;
            }
            case ERROR -> {
                Message.Error e = (Message.Error) m;
                out.writeLong(e.requestId());
                out.writeShort(e.code().code());
                yield writeString(out, e.message());
            }
            case RELEASE_PART -> {
                Message.ReleasePart r = (Message.ReleasePart) m;
                out.writeLong(r.requestId());
                yield writeContributions(out, r.contributions());
            }
            case PING -> out.writeLong(((Message.Ping) m).received());
            case ACK -> out.writeLong(((Message.Ack) m).received());
            case PONG -> out.writeLong(((Message.Pong) m).received());
            case GOODBYE -> ((Message.Goodbye) m).exiting() ? out.writeByte(1) : out; // a plain one stays empty
            case AUTH -> writeBytes(out, ((Message.Auth) m).mac());
            case CHALLENGE -> writeBytes(out, ((Message.Challenge) m).nonce());
        };
    }

    /**
     * Reads one message from a whole frame body (type byte first). Consumes the buffer; does not release it.
     *
     * @throws ProtocolException if the body does not parse or has bytes left over
     */
    public static Message decode(ByteBuf in) {
        if (!in.isReadable()) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "empty frame: no type byte");
        }
        MessageType type = MessageType.fromCode(in.readUnsignedByte());
        try {
            Message m = decodeBody(type, in);
            if (in.isReadable()) {
                throw new ProtocolException(ErrorCode.MALFORMED_FRAME,
                        type + " frame has " + in.readableBytes() + " unexpected trailing bytes");
            }
            return m;
        } catch (IndexOutOfBoundsException e) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, type + " frame is truncated");
        }
    }

    private static Message decodeBody(MessageType type, ByteBuf in) {
        return switch (type) {
            case HELLO -> new Message.Hello(in.readInt(), in.readUnsignedShort(), readString(in), in.readInt(),
                    in.readLong(), in.readLong());
            case DECLARE -> new Message.Declare(in.readLong(), readString(in), in.readInt());
            case AWAIT -> {
                long id = in.readLong();
                String barrier = readString(in);
                long timeout = in.readLong();
                int flags = in.readUnsignedByte();
                if ((flags & ~3) != 0) {
                    throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "AWAIT has unknown flags " + flags);
                }
                yield new Message.Await(id, barrier, timeout, (flags & 1) != 0, (flags & 2) != 0, readBytes(in));
            }
            case CANCEL -> new Message.Cancel(in.readLong());
            case ACTION_DONE -> {
                long id = in.readLong();
                boolean ok = readBoolean(in);
                String failure = readString(in);
                yield new Message.ActionDone(id, ok ? null : failure);
            }
            case ABORT -> new Message.Abort(in.readLong(), readString(in));
            case UNDECLARE -> new Message.Undeclare(in.readLong(), readString(in));
            case RESET -> new Message.Reset(in.readLong(), readString(in));
            case QUERY -> new Message.Query(in.readLong(), readString(in));
            case WELCOME -> new Message.Welcome(in.readUnsignedShort(), in.readLong(), in.readInt(), readString(in),
                    in.readInt(), in.readInt(), readBoolean(in), in.readLong(), readString(in));
            case OK -> new Message.Ok(in.readLong());
            case RELEASED -> {
                long id = in.readLong();
                long generation = in.readLong();
                int order = in.readInt();
                yield new Message.Released(id, generation, order, readContributions(in));
            }
            case FAILED -> new Message.Failed(in.readLong(), Outcome.fromCode(in.readUnsignedByte()),
                    BreakCause.fromCode(in.readUnsignedByte()), in.readLong(), readString(in), readString(in));
            case RUN_ACTION -> new Message.RunAction(in.readLong(), in.readLong());
            case STATUS -> {
                long id = in.readLong();
                Message.BarrierInfo i = readStatus(in, "");
                yield new Message.Status(id, i.parties(), i.generation(), i.broken(), i.brokenReason(), i.waiting());
            }
            case LIST -> new Message.ListBarriers(in.readLong());
            case GROUP -> new Message.Group();
            case ADMIN -> new Message.Admin(in.readLong(), Message.AdminOp.fromCode(in.readUnsignedByte()),
                    readString(in));
            case ADMIN_RESULT -> new Message.AdminResult(in.readLong(), readBoolean(in), readString(in), in.readInt(),
                    readBytes(in));
            case GROUP_STATUS -> {
                String self = readString(in);
                String leader = readString(in);
                long term = in.readLong();
                long commit = in.readLong();
                int n = readCount(in, 4 * 2 + 8 + 8);
                List<Message.Member> ms = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    ms.add(new Message.Member(readString(in), readString(in), readString(in), readString(in),
                            in.readLong(), in.readLong()));
                }
                yield new Message.GroupStatus(self, leader, term, commit, ms);
            }
            case BARRIERS -> {
                long id = in.readLong();
                int n = readCount(in, 2 + 4 + 8 + 1 + 2 + 4);
                List<Message.BarrierInfo> bs = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    bs.add(readStatus(in, readString(in)));
                }
                yield new Message.Barriers(id, bs);
            }
            case ERROR -> new Message.Error(in.readLong(), ErrorCode.fromCode(in.readUnsignedShort()), readString(in));
            case RELEASE_PART -> new Message.ReleasePart(in.readLong(), readContributions(in));
            case PING -> new Message.Ping(in.readLong());
            case ACK -> new Message.Ack(in.readLong());
            case PONG -> new Message.Pong(in.readLong());
            case GOODBYE -> new Message.Goodbye(in.isReadable() && readBoolean(in));
            case AUTH -> new Message.Auth(readBytes(in));
            case CHALLENGE -> new Message.Challenge(readBytes(in));
        };
    }

    /** {@code m}'s frame body (type and fields, no length prefix), for storing a message outside a connection. */
    public static byte[] toBytes(Message m) {
        ByteBuf b = Unpooled.buffer();
        try {
            encode(m, b);
            return ByteBufUtil.getBytes(b);
        } finally {
            b.release();
        }
    }

    /** The message of a body {@link #toBytes} wrote; {@link ProtocolException} if it is not one. */
    public static Message fromBytes(byte[] body) {
        ByteBuf b = Unpooled.wrappedBuffer(body);
        try {
            return decode(b);
        } finally {
            b.release();
        }
    }

    /** The encoded size of one contribution in a RELEASED or RELEASE_PART body. */
    public static int contributionSize(Message.Contribution c) {
        return 2 + ByteBufUtil.utf8Bytes(c.party()) + 4 + c.data().length;
    }

    /** Bytes of a RELEASED frame (length prefix included) before its contributions. */
    public static final int RELEASED_OVERHEAD = Protocol.LENGTH_PREFIX_BYTES + 1 + 8 + 8 + 4 + 4;
    /** Bytes of a RELEASE_PART frame (length prefix included) before its contributions. */
    public static final int RELEASE_PART_OVERHEAD = Protocol.LENGTH_PREFIX_BYTES + 1 + 8 + 4;

    private static ByteBuf writeStatus(ByteBuf out, int parties, long generation, boolean broken, String reason,
                                       List<Message.Waiter> waiting) {
        out.writeInt(parties);
        out.writeLong(generation);
        out.writeByte(broken ? 1 : 0);
        writeString(out, reason);
        out.writeInt(waiting.size());
        for (Message.Waiter w : waiting) {
            writeString(out, w.party());
            out.writeLong(w.waitedMillis());
        }
        return out;
    }

    private static Message.BarrierInfo readStatus(ByteBuf in, String name) {
        int parties = in.readInt();
        long generation = in.readLong();
        boolean broken = readBoolean(in);
        String reason = readString(in);
        int n = readCount(in, 2 + 8);
        List<Message.Waiter> ws = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            ws.add(new Message.Waiter(readString(in), in.readLong()));
        }
        return new Message.BarrierInfo(name, parties, generation, broken, reason, ws);
    }

    private static ByteBuf writeContributions(ByteBuf out, List<Message.Contribution> cs) {
        out.writeInt(cs.size());
        for (Message.Contribution c : cs) {
            writeString(out, c.party());
            writeBytes(out, c.data());
        }
        return out;
    }

    private static List<Message.Contribution> readContributions(ByteBuf in) {
        int n = readCount(in, 2 + 4);
        if (n == 0) {
            return List.of(); // a plain await's release: the record keeps this instance, no copy
        }
        List<Message.Contribution> cs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            cs.add(new Message.Contribution(readString(in), readBytes(in)));
        }
        return cs;
    }

    private static ByteBuf writeString(ByteBuf out, String s) {
        int lengthIndex = out.writerIndex();
        out.writeShort(0);
        int n = out.writeCharSequence(s, StandardCharsets.UTF_8);
        if (n > Protocol.MAX_STRING_BYTES) {
            throw new IllegalArgumentException("string of " + n + " bytes exceeds " + Protocol.MAX_STRING_BYTES);
        }
        return out.setShort(lengthIndex, n);
    }

    private static String readString(ByteBuf in) {
        int n = in.readUnsignedShort();
        if (n > in.readableBytes()) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME,
                    "string of " + n + " bytes but only " + in.readableBytes() + " left in frame");
        }
        int start = in.readerIndex();
        if (in.forEachByte(start, n, b -> b >= 0) == -1) {
            // All ASCII (names nearly always are): no decoder needed.
            String s = in.toString(start, n, StandardCharsets.US_ASCII);
            in.skipBytes(n);
            return s;
        }
        // Strict decoding: a name with malformed UTF-8 is an error, not a string with replacement characters.
        ByteBuffer bytes = in.nioBuffer(start, n);
        in.skipBytes(n);
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "string is not valid UTF-8");
        }
    }

    private static ByteBuf writeBytes(ByteBuf out, byte[] b) {
        return out.writeInt(b.length).writeBytes(b);
    }

    private static byte[] readBytes(ByteBuf in) {
        int n = in.readInt();
        if (n < 0 || n > in.readableBytes()) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME,
                    "byte string of " + Integer.toUnsignedString(n) + " bytes but only " + in.readableBytes()
                            + " left in frame");
        }
        if (n == 0) {
            return EMPTY;
        }
        byte[] b = new byte[n];
        in.readBytes(b);
        return b;
    }

    private static boolean readBoolean(ByteBuf in) {
        int b = in.readUnsignedByte();
        if (b > 1) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME, "boolean byte " + b + " is neither 0 nor 1");
        }
        return b == 1;
    }

    /** Reads a u32 element count and rejects one that the remaining bytes cannot possibly hold. */
    private static int readCount(ByteBuf in, int minElementBytes) {
        int n = in.readInt();
        if (n < 0 || (long) n * minElementBytes > in.readableBytes()) {
            throw new ProtocolException(ErrorCode.MALFORMED_FRAME,
                    "count " + Integer.toUnsignedString(n) + " exceeds what the frame can hold");
        }
        return n;
    }
}
