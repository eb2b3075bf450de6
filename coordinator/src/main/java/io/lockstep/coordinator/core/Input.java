package io.lockstep.coordinator.core;

import io.lockstep.protocol.Message;

/**
 * An input to {@link CoordinatorState}: what a connection handler learned that changes state every replica must
 * agree on. Inputs are plain values applied in one order by every replica (at once on a single node, or after
 * Raft has ordered them in a group), so a replica's state depends only on the inputs and the times they carry.
 *
 * <p>{@code connection} fields are opaque tokens of the node that took the connection: they let that node find
 * the connection when the input is applied; every other replica ignores them.
 */
public sealed interface Input {

    /**
     * A client's HELLO, after authentication: resume {@code resumeSession} if it can be resumed by this client from
     * {@code clientReceived} answers, else open session {@code newSession} (chosen by the node that took the
     * connection) with {@code leaseMillis}.
     */
    record Hello(long connection, String clientName, long resumeSession, long clientReceived, long newSession,
                 int leaseMillis) implements Input {
    }

    /**
     * Counted request number {@code index} (from 0) of {@code session}. Applied only if it is the next one the
     * session expects: a request re-sent after a resume, or proposed twice across a leader change, counts once.
     */
    record Request(long session, long index, Message.Request request) implements Input {
    }

    /** The client acknowledges {@code clientReceived} answers: the ones before may be forgotten. */
    record Ack(long session, long clientReceived) implements Input {
    }

    /** The session's connection is gone without a goodbye; see {@link Command.Disconnect}. */
    record Cut(long session, long silentSinceMillis, long closedGraceMillis) implements Input {
    }

    /** The session ends: its client said goodbye, or the coordinator ended it; see {@link Command.CloseSession}. */
    record Close(long session, String why, boolean cannotCome) implements Input {
    }

    /** Time has come: expire every deadline due. */
    record Tick() implements Input {
    }

    /** The coordinator stops: every waiter is broken with {@code why}. */
    record Shutdown(String why) implements Input {
    }

    /**
     * In a group: {@code node} leads it now, and serves clients at {@code clientAddress} — what the other nodes tell
     * a client that reaches them.
     */
    record Leader(String node, String clientAddress) implements Input {
    }
}
