package io.lockstep.coordinator.group;

import io.lockstep.coordinator.core.BoundedReader;
import io.lockstep.coordinator.core.BoundedReader.Malformed;
import io.lockstep.coordinator.core.Input;
import io.lockstep.protocol.Message;
import io.lockstep.protocol.MessageCodec;

import java.io.ByteArrayOutputStream;
import java.io.DataOutput;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The bytes of one Raft log entry: a batch of {@link Input}s — everything the leader's connections said in one
 * event-loop turn — and the leader's clock when it proposed them, which is the time every replica applies them at.
 *
 * <pre>
 * entry   = u64 stampMillis, u32 count, input*
 * input   = u8 kind, fields (strings: u32 length, UTF-8; a request: u32 length, its frame body as on the wire)
 *   1 HELLO    u64 connection, str clientName, u64 resumeSession, u64 clientReceived, u64 newSession, u32 lease
 *   2 REQUEST  u64 session, u64 index, request
 *   3 ACK      u64 session, u64 clientReceived
 *   4 CUT      u64 session, u64 silentSince, u64 closedGrace (-1: silent)
 *   5 CLOSE    u64 session, str why, u8 cannotCome
 *   6 TICK
 *   7 SHUTDOWN str why
 *   8 LEADER   str node, str clientAddress
 * </pre>
 */
final class InputCodec {

    /** One decoded entry. */
    record Batch(long stampMillis, List<Input> inputs) {
    }

    private InputCodec() {
    }

    static byte[] encode(long stampMillis, List<Input> inputs) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + 32 * inputs.size());
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeLong(stampMillis);
            out.writeInt(inputs.size());
            for (Input i : inputs) {
                write(out, i);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array does not fail
        }
        return bytes.toByteArray();
    }

    /**
     * The entry {@code entry} holds, read to its last byte. Total: every count and length is checked against the
     * bytes left before anything is allocated for it, so no sequence of bytes makes it allocate more than the entry's
     * own size or fail in any other way than {@link Malformed}.
     */
    static Batch decode(ByteBuffer entry) throws Malformed {
        BoundedReader in = new BoundedReader(entry);
        long stamp = in.u64();
        int n = in.count(1); // every input is at least its kind byte
        List<Input> inputs = new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            inputs.add(read(in));
        }
        in.end("its " + n + " inputs");
        return new Batch(stamp, inputs);
    }

    private static void write(DataOutput out, Input input) throws IOException {
        // Java 17 has no pattern switch; instanceof with a final else keeps every input encoded.
        if (input instanceof Input.Request r) {
            out.writeByte(2);
            out.writeLong(r.session());
            out.writeLong(r.index());
            byte[] body = MessageCodec.toBytes(r.request());
            out.writeInt(body.length);
            out.write(body);
        } else if (input instanceof Input.Ack a) {
            out.writeByte(3);
            out.writeLong(a.session());
            out.writeLong(a.clientReceived());
        } else if (input instanceof Input.Hello h) {
            out.writeByte(1);
            out.writeLong(h.connection());
            string(out, h.clientName());
            out.writeLong(h.resumeSession());
            out.writeLong(h.clientReceived());
            out.writeLong(h.newSession());
            out.writeInt(h.leaseMillis());
        } else if (input instanceof Input.Cut c) {
            out.writeByte(4);
            out.writeLong(c.session());
            out.writeLong(c.silentSinceMillis());
            out.writeLong(c.closedGraceMillis());
        } else if (input instanceof Input.Close c) {
            out.writeByte(5);
            out.writeLong(c.session());
            string(out, c.why());
            out.writeBoolean(c.cannotCome());
        } else if (input instanceof Input.Tick) {
            out.writeByte(6);
        } else if (input instanceof Input.Shutdown s) {
            out.writeByte(7);
            string(out, s.why());
        } else if (input instanceof Input.Leader l) {
            out.writeByte(8);
            string(out, l.node());
            string(out, l.clientAddress());
        } else {
            throw new AssertionError("unhandled input " + input);
        }
    }

    private static Input read(BoundedReader in) throws Malformed {
        int kind = in.u8();
        return switch (kind) {
            case 1 -> new Input.Hello(in.u64(), in.string(), in.u64(), in.u64(), in.u64(), in.u32());
            case 2 -> {
                long session = in.u64();
                long index = in.u64();
                byte[] body = in.lengthPrefixed();
                Message m;
                try {
                    m = MessageCodec.fromBytes(body);
                } catch (RuntimeException e) {
                    throw new Malformed("a request that does not decode: " + e.getMessage());
                }
                if (!(m instanceof Message.Request r)) {
                    throw new Malformed("a " + m.getClass().getSimpleName() + " where a request belongs");
                }
                yield new Input.Request(session, index, r);
            }
            case 3 -> new Input.Ack(in.u64(), in.u64());
            case 4 -> new Input.Cut(in.u64(), in.u64(), in.u64());
            case 5 -> new Input.Close(in.u64(), in.string(), in.bool());
            case 6 -> new Input.Tick();
            case 7 -> new Input.Shutdown(in.string());
            case 8 -> new Input.Leader(in.string(), in.string());
            default -> throw new Malformed("an input of unknown kind " + kind);
        };
    }

    private static void string(DataOutput out, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }
}
