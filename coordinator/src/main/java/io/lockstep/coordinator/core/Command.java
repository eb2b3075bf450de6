package io.lockstep.coordinator.core;

import java.util.Arrays;
import java.util.Objects;

/**
 * An input to {@link BarrierCore}. Commands are plain values, so a sequence of them can be recorded, replayed in
 * a test, or (later) replicated through a log; the core's answer to a command depends only on its state, the
 * command and the time passed with it.
 */
public sealed interface Command {

    /**
     * A request under an id of its own — every client request but CANCEL and ACTION_DONE, which carry the id of
     * the await they are about. Such an id must not be that of an await of the session still waiting.
     */
    sealed interface OwnRequest extends Command {
        long session();

        long requestId();
    }

    /**
     * A client completed the handshake: from now on its requests carry {@code session}. The session outlives a
     * cut connection by {@code leaseMillis}.
     */
    record OpenSession(long session, String clientName, long leaseMillis) implements Command {
        public OpenSession(long session, String clientName) {
            this(session, clientName, io.lockstep.protocol.Protocol.DEFAULT_LEASE_MILLIS);
        }
    }

    /**
     * The session's connection is gone without a goodbye, and the session lives on until it reconnects or its time
     * runs out. A connection that went silent (a network cut: the client may well be alive) leaves it its whole
     * lease from {@code silentSinceMillis}. A connection its peer closed (FIN or RST: a live client is back within
     * milliseconds, a killed one never comes) leaves it {@code closedGraceMillis} from the command's time, or its
     * lease if that ends sooner; {@link #SILENT} there means the connection went silent.
     */
    record Disconnect(long session, long silentSinceMillis, long closedGraceMillis) implements Command {
        /** {@link #closedGraceMillis} of a connection that went silent: the session keeps its whole lease. */
        public static final long SILENT = -1;

        public Disconnect {
            if (closedGraceMillis < SILENT) {
                throw new IllegalArgumentException("grace must be SILENT or at least 0 ms, was " + closedGraceMillis);
            }
        }

        /** A connection that went silent at {@code silentSinceMillis}. */
        public static Disconnect silent(long session, long silentSinceMillis) {
            return new Disconnect(session, silentSinceMillis, SILENT);
        }

        /** A connection its peer closed; the client was last heard at {@code silentSinceMillis}. */
        public static Disconnect closed(long session, long silentSinceMillis, long graceMillis) {
            return new Disconnect(session, silentSinceMillis, graceMillis);
        }
    }

    /** The session's client is back on a new connection: its lease stops running. */
    record Reconnect(long session) implements Command {
    }

    /** Create the barrier, or check its party count. */
    record Declare(long session, long requestId, String barrier, int parties) implements OwnRequest {
    }

    /**
     * One party arrives. {@code timeoutMillis} is -1 for none; the deadline counts from the command's time. An
     * {@code exchange} is released with every party's contribution; a plain await with an empty list.
     */
    record Arrive(long session, long requestId, String barrier, long timeoutMillis, boolean runsAction,
                  boolean exchange, byte[] contribution) implements OwnRequest {
        public Arrive {
            Objects.requireNonNull(contribution, "contribution");
        }

        /** A plain await. */
        public Arrive(long session, long requestId, String barrier, long timeoutMillis, boolean runsAction,
                      byte[] contribution) {
            this(session, requestId, barrier, timeoutMillis, runsAction, false, contribution);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Arrive a && a.session == session && a.requestId == requestId
                    && a.barrier.equals(barrier) && a.timeoutMillis == timeoutMillis && a.runsAction == runsAction
                    && a.exchange == exchange && Arrays.equals(a.contribution, contribution);
        }

        @Override
        public int hashCode() {
            return Objects.hash(session, requestId, barrier, timeoutMillis, runsAction);
        }

        @Override
        public String toString() {
            return "Arrive[session=" + session + ", requestId=" + requestId + ", barrier=" + barrier
                    + ", timeoutMillis=" + timeoutMillis + ", runsAction=" + runsAction + ", exchange=" + exchange
                    + ", contribution="
                    + contribution.length + " bytes]";
        }
    }

    /** The party's thread was interrupted: withdraw the await {@code requestId}. */
    record Cancel(long session, long requestId) implements Command {
    }

    /** The barrier action run for await {@code requestId} finished; {@code failure} null means success. */
    record ActionDone(long session, long requestId, String failure) implements Command {
    }

    record Abort(long session, long requestId, String barrier) implements OwnRequest {
    }

    /** The session no longer takes part in the barrier; refused while one of its awaits waits there. */
    record Undeclare(long session, long requestId, String barrier) implements OwnRequest {
    }

    record Reset(long session, long requestId, String barrier) implements OwnRequest {
    }

    record Query(long session, long requestId, String barrier) implements OwnRequest {
    }

    /** Ask for every barrier (for operators). */
    record ListBarriers(long session, long requestId) implements OwnRequest {
    }

    /** Time has reached the command's time: expire every deadline at or before it. */
    record Tick() implements Command {
    }

    /**
     * The session ended: closed by its client, or lost. {@code why} is said to the parties it leaves waiting. With
     * {@code cannotCome} (its process is exiting), the barriers it declared where others wait and it had not arrived
     * break too, as when a session is lost; a plain close leaves them: the client left them on purpose.
     */
    record CloseSession(long session, String why, boolean cannotCome) implements Command {
        /** A plain close. */
        public CloseSession(long session, String why) {
            this(session, why, false);
        }
    }

    /** The coordinator stops: every waiter is broken with {@code why}. */
    record Shutdown(String why) implements Command {
    }
}
