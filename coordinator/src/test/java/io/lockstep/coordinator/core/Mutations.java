package io.lockstep.coordinator.core;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** For the decoders' property tests: changes to bytes a node wrote, and the check that decoding them stays total. */
public final class Mutations {

    /** Whatever decoding {@code n} bytes allocates is at most this plus {@link #PER_BYTE} a byte. */
    private static final long BASE_ALLOCATION = 1 << 20;
    private static final long PER_BYTE = 64;

    private Mutations() {
    }

    /** A change: a bit flipped, a 32-bit field overwritten with an extreme count, cut short, or lengthened. */
    public record Mutation(int kind, int at, int value) {
        public byte[] apply(byte[] b) {
            if (b.length == 0) {
                return b;
            }
            int i = Math.floorMod(at, b.length);
            byte[] out;
            switch (kind) {
                case 0 -> {
                    out = b.clone();
                    out[i] ^= (byte) (1 << Math.floorMod(value, 8));
                }
                case 1 -> {
                    out = b.clone();
                    int[] extremes = {-1, 0x7fffffff, 0x80000000, 1 << 20, 2, value};
                    if (b.length >= 4) {
                        ByteBuffer.wrap(out).putInt(Math.min(i, b.length - 4),
                                extremes[Math.floorMod(value, extremes.length)]);
                    }
                }
                case 2 -> out = Arrays.copyOf(b, i);
                default -> {
                    out = Arrays.copyOf(b, b.length + 1 + Math.floorMod(value, 16));
                    out[b.length] = (byte) value;
                }
            }
            return out;
        }
    }

    public static Arbitrary<Mutation> mutations() {
        return Combinators.combine(Arbitraries.integers().between(0, 3), Arbitraries.integers(),
                Arbitraries.integers()).as(Mutation::new);
    }

    /** Something that decodes bytes, failing only with {@link BoundedReader.Malformed} if it is right. */
    public interface Decoder {
        void decode(byte[] bytes) throws BoundedReader.Malformed;
    }

    /** {@code decoder} on {@code bytes} decodes them or says they are malformed, and allocates little. */
    public static void decodesOrIsMalformed(Decoder decoder, byte[] bytes) {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        try {
            decoder.decode(bytes);
        } catch (BoundedReader.Malformed expected) {
            // the one way it may fail
        } catch (Throwable t) {
            fail("decoding " + bytes.length + " bytes failed with " + t, t);
        }
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertTrue(allocated <= BASE_ALLOCATION + PER_BYTE * bytes.length,
                "decoding " + bytes.length + " bytes allocated " + allocated + " bytes");
    }
}
