package io.lockstep.coordinator.core;

import io.lockstep.protocol.Message;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The snapshot decoder is total: a snapshot file with bytes changed, cut or added, or random bytes, either loads or
 * fails with {@link BoundedReader.Malformed} — never another exception, never an allocation beyond a small multiple
 * of the file's size — so a corrupt snapshot is one clear line at a node's start, not a crash.
 */
class SnapshotProperties {

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
    void aSnapshotWithBytesChangedCutOrAddedLoadsOrIsMalformed(@ForAll("mutations") Mutations.Mutation m) {
        loadsOrIsMalformed(m.apply(SNAPSHOT));
    }

    @Property(tries = 2000)
    void randomBytesLoadOrAreMalformed(@ForAll @Size(max = 400) byte[] bytes) {
        loadsOrIsMalformed(bytes);
    }

    private static void loadsOrIsMalformed(byte[] bytes) {
        Mutations.decodesOrIsMalformed(b -> CoordinatorState.readSnapshot(new BoundedReader(b),
                BarrierCore.Limits.DEFAULT, "is unknown here"), bytes);
    }

    @Provide
    Arbitrary<Mutations.Mutation> mutations() {
        return Mutations.mutations();
    }
}
