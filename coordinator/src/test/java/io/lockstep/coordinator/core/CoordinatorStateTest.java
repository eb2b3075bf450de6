package io.lockstep.coordinator.core;

import io.lockstep.protocol.Message;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The counted frames replicas agree on: requests applied once, answers held until acknowledged, resumes, snapshots. */
class CoordinatorStateTest {

    /** Everything the state asked the node to do, as text, in order. */
    private static final class Recorder implements CoordinatorState.Outputs {
        final List<String> said = new ArrayList<>();
        final List<Message> resent = new ArrayList<>();

        @Override
        public void welcome(long connection, long session, String clientName, int leaseMillis, boolean resumed,
                            long received, String note, Iterable<Message> resend) {
            said.add("welcome " + connection + " session " + session + (resumed ? " resumed at " + received : " new")
                    + (note.isEmpty() ? "" : ": " + note));
            resend.forEach(resent::add);
        }

        @Override
        public void answer(long session, Message frame) {
            said.add("answer " + session + " " + frame.type());
        }

        @Override
        public void ended(long session, String why) {
            said.add("ended " + session + ": " + why);
        }

        @Override
        public void event(Effect event) {
            said.add("event " + event.getClass().getSimpleName());
        }
    }

    private CoordinatorState state = new CoordinatorState(BarrierCore.Limits.DEFAULT, "is unknown here");
    private Recorder out = new Recorder();
    private long now;

    private List<String> apply(Input input) {
        out = new Recorder();
        state.apply(input, now, out);
        return out.said;
    }

    private static Input.Request declare(long session, long index, long requestId) {
        return new Input.Request(session, index, new Message.Declare(requestId, "game", 2));
    }

    private static Input.Request await(long session, long index, long requestId) {
        return new Input.Request(session, index, new Message.Await(requestId, "game", -1, false, new byte[0]));
    }

    @Test
    void aRequestAppliedTwiceCountsOnceAndEveryAnswerIsHeldUntilAcknowledged() {
        assertEquals(List.of("welcome 7 session 1 new"), apply(new Input.Hello(7, "susan", 0, 0, 1, 10_000)));
        assertEquals(List.of("answer 1 OK"), apply(declare(1, 0, 11)));
        assertEquals(List.of(), apply(declare(1, 0, 11)), "the same index again: proposed twice, applied once");
        assertEquals(List.of(), apply(declare(1, 5, 12)), "an index the session has not reached is no request yet");
        assertEquals(1, state.received(1));
        assertEquals(List.of("welcome 8 session 2 new"), apply(new Input.Hello(8, "pratik", 0, 0, 2, 10_000)));
        apply(declare(2, 0, 21));
        apply(await(1, 1, 13));
        assertEquals(List.of("event Tripped", "answer 1 RELEASED", "answer 2 RELEASED"), apply(await(2, 1, 22)));
        assertEquals(2, state.unacknowledged(1));
        apply(new Input.Ack(1, 1));
        assertEquals(1, state.unacknowledged(1), "the client has the OK; the release is still held");
    }

    @Test
    void aResumeGetsWhatTheClientMissedAndTheRequestCountAndAStaleOneANewSessionWithAReason() {
        apply(new Input.Hello(7, "susan", 0, 0, 1, 10_000));
        apply(declare(1, 0, 11));
        apply(new Input.Cut(1, 0, Command.Disconnect.SILENT));
        assertEquals(List.of("welcome 9 session 1 resumed at 1"), apply(new Input.Hello(9, "susan", 1, 0, 3, 10_000)));
        assertEquals(1, out.resent.size(), "the OK it had not acknowledged");
        assertInstanceOf(Message.Ok.class, out.resent.get(0));
        apply(new Input.Ack(1, 1));
        assertEquals(List.of("welcome 10 session 4 new: session 1 cannot be resumed by this client"),
                apply(new Input.Hello(10, "nijam", 1, 1, 4, 10_000)), "another client's session");
        assertEquals(List.of("welcome 11 session 5 new: session 99 is unknown here"),
                apply(new Input.Hello(11, "susan", 99, 0, 5, 10_000)));
        assertEquals(List.of("welcome 12 session 6 new: session 1 cannot be resumed by this client"),
                apply(new Input.Hello(12, "susan", 1, 0, 6, 10_000)), "it acknowledged more than that already");
        apply(new Input.Close(1, "its client closed it", false));
        assertEquals(List.of("welcome 13 session 7 new: session 1 ended: its client closed it"),
                apply(new Input.Hello(13, "susan", 1, 1, 7, 10_000)));
    }

    @Test
    void aLapsedLeaseEndsTheSessionAndSaysWhyToALateResume() {
        apply(new Input.Hello(7, "susan", 0, 0, 1, 2_000));
        apply(new Input.Cut(1, 0, Command.Disconnect.SILENT));
        now = 2_500;
        List<String> said = apply(new Input.Tick());
        assertTrue(said.contains("ended 1: silent for 2.5 s; its session lease of 2 s expired"), said.toString());
        assertFalse(state.isOpen(1));
        assertEquals(List.of("welcome 8 session 2 new: session 1 expired: silent for 2.5 s; its session lease of 2 s "
                + "expired"), apply(new Input.Hello(8, "susan", 1, 0, 2, 2_000)));
    }

    @Test
    void appliedTimeNeverGoesBackwards() {
        now = 5_000;
        apply(new Input.Tick());
        now = 1_000; // a new leader whose clock is behind
        apply(new Input.Hello(7, "susan", 0, 0, 1, 10_000));
        assertEquals(5_000, state.now());
    }

    @Test
    void aStateLoadedFromASnapshotGoesOnAsTheOneThatWroteIt() throws IOException {
        apply(new Input.Hello(7, "susan", 0, 0, 1, 10_000));
        apply(new Input.Hello(8, "pratik", 0, 0, 2, 10_000));
        apply(declare(1, 0, 11));
        apply(declare(2, 0, 21));
        apply(await(1, 1, 12));
        apply(new Input.Cut(2, 0, Command.Disconnect.SILENT));
        apply(new Input.Close(3, "never open", false));

        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        state.writeSnapshot(new DataOutputStream(bytes));
        CoordinatorState copy = CoordinatorState.readSnapshot(new BoundedReader(bytes.toByteArray()),
                BarrierCore.Limits.DEFAULT, "is unknown here");
        for (CoordinatorState s : List.of(state, copy)) {
            state = s;
            assertEquals(List.of("welcome 9 session 2 resumed at 1"), apply(new Input.Hello(9, "pratik", 2, 0, 4,
                    10_000)));
            assertEquals(List.of("event Tripped", "answer 1 RELEASED", "answer 2 RELEASED"), apply(await(2, 1, 22)));
            assertEquals(2, s.unacknowledged(1));
            assertEquals(1, s.barrierCount());
        }
    }
}
