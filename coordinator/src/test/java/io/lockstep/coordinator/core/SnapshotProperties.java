package io.lockstep.coordinator.core;

import io.lockstep.protocol.Message;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The snapshot decoder is total: a snapshot file with bytes changed, cut or added, or random bytes, either loads or
 * fails with {@link BoundedReader.Malformed} — never another exception, never an allocation beyond a small multiple
 * of the file's size — so a corrupt snapshot is one clear line at a node's start, not a crash.
 */
class SnapshotProperties {

    private static final long BASE_ALLOCATION = 1 << 20;
    private static final long PER_BYTE = 64;
    /** A state with a bit of everything: sessions open and cut, barriers waiting, broken, exchanging; answers held. */
    private static final byte[] SNAPSHOT = snapshot();

    private static byte[] snapshot() {
        CoordinatorState state = new CoordinatorState(BarrierCore.Limits.DEFAULT, "is unknown here");
        CoordinatorState.Outputs ignore = new CoordinatorState.Outputs() {
            @Override
            public void welcome(long connection, long session, String clientName, int leaseMillis, boolean resumed,
                                long received, String note, Iterable<Message> resend) {
            }

            @Override
            public void answer(long session, Message frame) {
            }

            @Override
            public void ended(long session, String why) {
            }

            @Override
            public void event(Effect effect) {
            }
        };
        long now = 1000;
        Input[] inputs = {
                new Input.Leader("n1", "127.0.0.1:7777"),
                new Input.Hello(1, "susan", 0, 0, 11, 10_000),
                new Input.Hello(2, "pratik", 0, 0, 12, 10_000),
                new Input.Hello(3, "suman", 0, 0, 13, 10_000),
                new Input.Request(11, 0, new Message.Declare(1, "game", 3)),
                new Input.Request(12, 0, new Message.Declare(1, "game", 3)),
                new Input.Request(11, 1, new Message.Await(2, "game", 5000, false, true, new byte[]{1, 2, 3})),
                new Input.Request(12, 1, new Message.Await(2, "game", -1, true, true, new byte[]{4})),
                new Input.Request(13, 0, new Message.Declare(1, "broken", 2)),
                new Input.Request(13, 1, new Message.Await(2, "broken", 10, false, new byte[0])),
                new Input.Tick(),
                new Input.Cut(12, 900, -1),
                new Input.Close(99, "never open", false),
        };
        for (Input i : inputs) {
            state.apply(i, now, ignore);
            now += 100;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            state.writeSnapshot(new DataOutputStream(bytes));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        return bytes.toByteArray();
    }

    @Example
    void theSnapshotLoadsAndWritesTheSameBytesAgain() throws Exception {
        CoordinatorState copy = CoordinatorState.readSnapshot(new BoundedReader(SNAPSHOT), BarrierCore.Limits.DEFAULT,
                "is unknown here");
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        copy.writeSnapshot(new DataOutputStream(again));
        assertArrayEquals(SNAPSHOT, again.toByteArray());
    }

    @Property(tries = 3000)
    void aSnapshotWithBytesChangedCutOrAddedLoadsOrIsMalformed(@ForAll("mutations") Mutation m) {
        loadsOrIsMalformed(m.apply(SNAPSHOT));
    }

    @Property(tries = 2000)
    void randomBytesLoadOrAreMalformed(@ForAll @Size(max = 400) byte[] bytes) {
        loadsOrIsMalformed(bytes);
    }

    private static void loadsOrIsMalformed(byte[] bytes) {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long before = threads.getCurrentThreadAllocatedBytes();
        try {
            CoordinatorState.readSnapshot(new BoundedReader(bytes), BarrierCore.Limits.DEFAULT, "is unknown here");
        } catch (BoundedReader.Malformed expected) {
            // the one way it may fail
        } catch (Throwable t) {
            fail("loading " + bytes.length + " bytes failed with " + t, t);
        }
        long allocated = threads.getCurrentThreadAllocatedBytes() - before;
        assertTrue(allocated <= BASE_ALLOCATION + PER_BYTE * bytes.length,
                "loading " + bytes.length + " bytes allocated " + allocated + " bytes");
    }

    /** A change to a snapshot: a bit flipped, a 32-bit field overwritten with an extreme value, cut, lengthened. */
    record Mutation(int kind, int at, int value) {
        byte[] apply(byte[] b) {
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
                    ByteBuffer.wrap(out).putInt(Math.min(i, b.length - 4), extremes[Math.floorMod(value,
                            extremes.length)]);
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

    @Provide
    Arbitrary<Mutation> mutations() {
        return Combinators.combine(Arbitraries.integers().between(0, 3), Arbitraries.integers(),
                Arbitraries.integers()).as(Mutation::new);
    }
}
