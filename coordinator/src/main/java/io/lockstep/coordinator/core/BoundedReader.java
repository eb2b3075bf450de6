package io.lockstep.coordinator.core;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads bytes that another node wrote — a log entry, a snapshot — where a wrong byte must never cost more than a
 * {@link Malformed}: every read is checked against the bytes left, and every count and length before anything is
 * allocated for it, so whatever the bytes say, decoding allocates no more than a small multiple of their own size.
 * Big-endian, as {@link java.io.DataOutputStream} writes.
 */
public final class BoundedReader {

    /** Bytes that are not what their writer writes. */
    public static final class Malformed extends IOException {
        public Malformed(String why) {
            super(why);
        }
    }

    private final ByteBuffer b;

    public BoundedReader(ByteBuffer bytes) {
        this.b = bytes.slice();
    }

    public BoundedReader(byte[] bytes) {
        this(ByteBuffer.wrap(bytes));
    }

    /** Bytes not read yet. */
    public int left() {
        return b.remaining();
    }

    /** Fails unless every byte was read. */
    public void end(String what) throws Malformed {
        if (b.remaining() > 0) {
            throw new Malformed(b.remaining() + " bytes after the end of " + what);
        }
    }

    private void need(int n, String what) throws Malformed {
        if (b.remaining() < n) {
            throw new Malformed("it ends inside " + what + " (" + b.remaining() + " of " + n + " bytes left)");
        }
    }

    public long u64() throws Malformed {
        need(8, "a 64-bit field");
        return b.getLong();
    }

    public int u32() throws Malformed {
        need(4, "a 32-bit field");
        return b.getInt();
    }

    public int u8() throws Malformed {
        need(1, "a byte field");
        return b.get() & 0xff;
    }

    public boolean bool() throws Malformed {
        int v = u8();
        if (v > 1) {
            throw new Malformed("a boolean of " + v);
        }
        return v == 1;
    }

    /** A u32 count of items that take at least {@code minBytes} each: never more than the bytes left can hold. */
    public int count(int minBytes) throws Malformed {
        int n = u32();
        if (n < 0 || (long) n * minBytes > b.remaining()) {
            throw new Malformed("a count of " + Integer.toUnsignedString(n) + " with " + b.remaining()
                    + " bytes left");
        }
        return n;
    }

    /** A u32 index into something of {@code size} items, or -1 where {@code none} allows it. */
    public int index(int size, boolean none) throws Malformed {
        int i = u32();
        if (i >= size || i < (none ? -1 : 0)) {
            throw new Malformed("an index of " + i + " into " + size + " items");
        }
        return i;
    }

    public byte[] bytes(int n) throws Malformed {
        need(n, "a field of " + n + " bytes");
        byte[] out = new byte[n];
        b.get(out);
        return out;
    }

    /** A u32 length and that many bytes. */
    public byte[] lengthPrefixed() throws Malformed {
        return bytes(count(1));
    }

    /** A u32 length and that many bytes of UTF-8. */
    public String string() throws Malformed {
        return new String(lengthPrefixed(), StandardCharsets.UTF_8);
    }

    /** A u32 count and that many strings. */
    public List<String> strings() throws Malformed {
        int n = count(4);
        List<String> xs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            xs.add(string());
        }
        return xs;
    }
}
