package io.lockstep.protocol;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * Every frame of the protocol, as a record. {@link MessageCodec} turns them into bytes and back; an exhaustive
 * {@code switch} over this sealed interface is how both ends handle them, so a new message that is not handled
 * fails the build. Field order in each record is the order on the wire (see {@code PROTOCOL.md}).
 */
public sealed interface Message {

    MessageType type();

    /** Requests carry an id chosen by the client, unique among its outstanding requests, never 0. */
    sealed interface Request extends Message {
        long requestId();
    }

    /** Replies name the request they answer; 0 when an error concerns the connection, not a request. */
    sealed interface Reply extends Message {
        long requestId();
    }

    // ---- client to coordinator -------------------------------------------------------------------------------

    /**
     * The first frame of every connection: opens a new session, or resumes one after a cut.
     *
     * @param leaseMillis   how long the session should outlive a cut connection; 0 asks for the default
     * @param resumeSession the session to resume, or 0 for a new one
     * @param received      counted frames of that session this client has received (0 for a new session)
     */
    record Hello(int magic, int version, String clientName, int leaseMillis, long resumeSession, long received)
            implements Message {
        public Hello(String clientName) {
            this(Protocol.MAGIC, Protocol.VERSION, clientName, 0, 0, 0);
        }

        public Hello(int magic, int version, String clientName) {
            this(magic, version, clientName, 0, 0, 0);
        }

        @Override
        public MessageType type() {
            return MessageType.HELLO;
        }
    }

    /** Create the barrier, or check that it exists with this many parties. Answered by OK or ERROR. */
    record Declare(long requestId, String barrier, int parties) implements Request {
        @Override
        public MessageType type() {
            return MessageType.DECLARE;
        }
    }

    /**
     * Arrive at the barrier as one party and wait. Answered by RELEASED or FAILED (possibly after RUN_ACTION),
     * or by ERROR when the request itself is wrong.
     *
     * @param timeoutMillis {@link Protocol#NO_TIMEOUT} to wait without deadline; 0 or more for a deadline
     *                      counted from the coordinator's receipt of this frame
     * @param runsAction    true when the client holds a barrier action to run if this party arrives last
     * @param exchange      true when the release should carry every party's contribution (an exchange); a plain
     *                      await leaves it false and is released with an empty list
     * @param contribution  bytes handed to every exchanging party on release (empty for a plain await)
     */
    record Await(long requestId, String barrier, long timeoutMillis, boolean runsAction, boolean exchange,
                 byte[] contribution) implements Request {
        public Await {
            Objects.requireNonNull(contribution, "contribution");
        }

        /** A plain await: no exchange. */
        public Await(long requestId, String barrier, long timeoutMillis, boolean runsAction, byte[] contribution) {
            this(requestId, barrier, timeoutMillis, runsAction, false, contribution);
        }

        @Override
        public MessageType type() {
            return MessageType.AWAIT;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Await a && a.requestId == requestId && a.barrier.equals(barrier)
                    && a.timeoutMillis == timeoutMillis && a.runsAction == runsAction && a.exchange == exchange
                    && Arrays.equals(a.contribution, contribution);
        }

        @Override
        public int hashCode() {
            return Objects.hash(requestId, barrier, timeoutMillis, runsAction, exchange, Arrays.hashCode(contribution));
        }

        @Override
        public String toString() {
            return "Await[requestId=" + requestId + ", barrier=" + barrier + ", timeoutMillis=" + timeoutMillis
                    + ", runsAction=" + runsAction + ", exchange=" + exchange + ", contribution=" + contribution.length
                    + " bytes]";
        }
    }

    /** Withdraw an outstanding await (its thread was interrupted). The await itself still gets its one answer. */
    record Cancel(long requestId) implements Request {
        @Override
        public MessageType type() {
            return MessageType.CANCEL;
        }
    }

    /** The barrier action asked for by RUN_ACTION finished; {@code failure} is null when it succeeded. */
    record ActionDone(long requestId, String failure) implements Request {
        public boolean succeeded() {
            return failure == null;
        }

        @Override
        public MessageType type() {
            return MessageType.ACTION_DONE;
        }
    }

    /** Heartbeat; also acknowledges the counted frames received. Answered by PONG. */
    record Ping(long received) implements Message {
        @Override
        public MessageType type() {
            return MessageType.PING;
        }
    }

    /**
     * Acknowledges the counted frames received, like PING, but wants no answer: a client writes it ahead of a
     * request, in the same write, so that the coordinator can drop what it holds for resuming without a round trip.
     */
    record Ack(long received) implements Message {
        @Override
        public MessageType type() {
            return MessageType.ACK;
        }
    }

    /**
     * The client ends its session now (no lease): its awaits are cancelled at once. {@code exiting}: its process is
     * ending, so it cannot come to the barriers it declared either, and those where others wait break too.
     */
    record Goodbye(boolean exiting) implements Message {
        /** A plain close. */
        public Goodbye() {
            this(false);
        }

        @Override
        public MessageType type() {
            return MessageType.GOODBYE;
        }
    }

    /**
     * The answer to CHALLENGE: {@code HMAC-SHA256(secret, "LKST-AUTH-1" || nonce || UTF-8 client name)}, which
     * proves the client holds the shared secret without sending it, and cannot be replayed on another connection.
     */
    record Auth(byte[] mac) implements Message {
        @Override
        public MessageType type() {
            return MessageType.AUTH;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Auth a && Arrays.equals(a.mac, mac);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(mac);
        }
    }

    /** The coordinator requires authentication: a fresh random nonce for the client to answer with AUTH. */
    record Challenge(byte[] nonce) implements Message {
        @Override
        public MessageType type() {
            return MessageType.CHALLENGE;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Challenge c && Arrays.equals(c.nonce, nonce);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(nonce);
        }
    }

    /** The answer to PING; acknowledges the counted frames the coordinator has received. */
    record Pong(long received) implements Message {
        @Override
        public MessageType type() {
            return MessageType.PONG;
        }
    }

    /** Break the barrier until it is reset. Answered by OK or ERROR. */
    record Abort(long requestId, String barrier) implements Request {
        @Override
        public MessageType type() {
            return MessageType.ABORT;
        }
    }

    /**
     * This session no longer takes part in the barrier: its declaration is dropped, and the barrier is forgotten
     * when no session declares it and nobody waits at it. Answered by OK, or ERROR (an await of this session still
     * waits there; or the session never declared it).
     */
    record Undeclare(long requestId, String barrier) implements Request {
        @Override
        public MessageType type() {
            return MessageType.UNDECLARE;
        }
    }

    /** Break the current waiters and start a fresh generation. Answered by OK or ERROR. */
    record Reset(long requestId, String barrier) implements Request {
        @Override
        public MessageType type() {
            return MessageType.RESET;
        }
    }

    /** Ask for every barrier's live state (for operators). Answered by BARRIERS. */
    record ListBarriers(long requestId) implements Request {
        @Override
        public MessageType type() {
            return MessageType.LIST;
        }
    }

    /** Ask for the barrier's live state. Answered by STATUS or ERROR. */
    record Query(long requestId, String barrier) implements Request {
        @Override
        public MessageType type() {
            return MessageType.QUERY;
        }
    }

    // ---- coordinator to client -------------------------------------------------------------------------------

    /**
     * The answer to a good HELLO.
     *
     * @param leaseMillis     the lease granted: how long the session outlives a cut connection
     * @param heartbeatMillis how often the client must PING
     * @param resumed         true when the requested session was resumed; false for a new session
     * @param received        counted frames of this session the coordinator has received (0 for a new session)
     * @param note            why a requested session could not be resumed; empty otherwise
     */
    record Welcome(int version, long sessionId, int maxFrameBytes, String coordinator, int leaseMillis,
                   int heartbeatMillis, boolean resumed, long received, String note) implements Message {
        public Welcome(int version, long sessionId, int maxFrameBytes, String coordinator) {
            this(version, sessionId, maxFrameBytes, coordinator, 0, 0, false, 0, "");
        }

        @Override
        public MessageType type() {
            return MessageType.WELCOME;
        }
    }

    /** DECLARE, ABORT or RESET succeeded. */
    record Ok(long requestId) implements Reply {
        @Override
        public MessageType type() {
            return MessageType.OK;
        }
    }

    /**
     * The await passed: all parties arrived.
     *
     * @param arrivalOrder  0 for the first party to arrive, parties-1 for the last
     * @param contributions for an exchange, every party's contribution in arrival order, after those already sent
     *                      in RELEASE_PART frames; empty for a plain await
     */
    record Released(long requestId, long generation, int arrivalOrder, List<Contribution> contributions)
            implements Reply {
        public Released {
            contributions = List.copyOf(contributions);
        }

        @Override
        public MessageType type() {
            return MessageType.RELEASED;
        }
    }

    /**
     * The first contributions of a release too large for one frame; the await's RELEASED follows with the rest.
     * Contributions arrive in arrival order across the parts and the RELEASED.
     */
    record ReleasePart(long requestId, List<Contribution> contributions) implements Reply {
        public ReleasePart {
            contributions = List.copyOf(contributions);
        }

        @Override
        public MessageType type() {
            return MessageType.RELEASE_PART;
        }
    }

    /** One party's contribution to a generation, under its unique party name. */
    record Contribution(String party, byte[] data) {
        public Contribution {
            Objects.requireNonNull(party, "party");
            Objects.requireNonNull(data, "data");
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Contribution c && c.party.equals(party) && Arrays.equals(c.data, data);
        }

        @Override
        public int hashCode() {
            return 31 * party.hashCode() + Arrays.hashCode(data);
        }

        @Override
        public String toString() {
            return party + "=" + (data.length <= 16 ? HexFormat.of().formatHex(data) : data.length + " bytes");
        }
    }

    /**
     * The await did not pass.
     *
     * @param culprit the party that caused the break (timed out, interrupted, lost, ran the failing action) or
     *                who aborted or reset it; empty when there is none (shutdown)
     * @param message the full human-readable reason, e.g. {@code barrier 'game' generation 3 broken: ...}
     */
    record Failed(long requestId, Outcome outcome, BreakCause cause, long generation, String culprit,
                  String message) implements Reply {
        @Override
        public MessageType type() {
            return MessageType.FAILED;
        }
    }

    /** This await arrived last and its client holds a barrier action: run it, then send ACTION_DONE. */
    record RunAction(long requestId, long generation) implements Reply {
        @Override
        public MessageType type() {
            return MessageType.RUN_ACTION;
        }
    }

    /** The answer to QUERY. {@code brokenReason} is empty unless {@code broken}. */
    record Status(long requestId, int parties, long generation, boolean broken, String brokenReason,
                  List<Waiter> waiting) implements Reply {
        public Status {
            waiting = List.copyOf(waiting);
        }

        @Override
        public MessageType type() {
            return MessageType.STATUS;
        }
    }

    /**
     * Asks the coordinator about its group: who leads, and how far behind each node is. Not counted, like PING;
     * answered by {@link GroupStatus}.
     */
    record Group() implements Message {
        @Override
        public MessageType type() {
            return MessageType.GROUP;
        }
    }

    /**
     * The answer to GROUP. {@code self} is the node that answers (empty for a single coordinator, which has no
     * group: then {@code members} is empty too), {@code leader} the one that leads as far as it knows.
     */
    record GroupStatus(String self, String leader, long term, long commitIndex, List<Member> members)
            implements Message {
        public GroupStatus {
            members = List.copyOf(members);
        }

        @Override
        public MessageType type() {
            return MessageType.GROUP_STATUS;
        }
    }

    /**
     * One node of a group: its id, the address of its group traffic, where it serves clients (known for the leader;
     * empty otherwise), its role ({@code leader}, {@code follower}), the highest log index known to be on it
     * ({@code -1} if unknown), and how long ago the leader last heard from it ({@code -1} if unknown or itself).
     */
    record Member(String id, String address, String clientAddress, String role, long matchIndex,
                  long lastContactMillis) {
    }

    /** What an operator may ask of a coordinator through {@link Admin}. */
    enum AdminOp {
        /** Hand the lead of the group to the node {@code argument} names (the leader only). */
        TRANSFER_LEADER(1),
        /** Send a snapshot of the whole state (barriers, declarations, sessions) as the leader has applied it. */
        SNAPSHOT(2),
        /** Add the node {@code argument} names ({@code id=host:port}, its Raft address) to the group. */
        ADD_MEMBER(3),
        /** Remove the node {@code argument} names (its id) from the group. */
        REMOVE_MEMBER(4);

        private final int code;

        AdminOp(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }

        /** @throws ProtocolException with {@link ErrorCode#INVALID_ARGUMENT} for a code that names no operation */
        public static AdminOp fromCode(int code) {
            for (AdminOp op : values()) {
                if (op.code == code) {
                    return op;
                }
            }
            throw new ProtocolException(ErrorCode.INVALID_ARGUMENT, "unknown admin operation " + code);
        }
    }

    /**
     * An operator's request ({@link AdminOp}): not counted, like GROUP; answered by one or more {@link AdminResult}s
     * with the same {@code id}. A coordinator takes it only on a connection that authenticated, or from loopback.
     */
    record Admin(long id, AdminOp op, String argument) implements Message {
        @Override
        public MessageType type() {
            return MessageType.ADMIN;
        }
    }

    /**
     * The answer to ADMIN {@code id}: done ({@code ok}) or refused, saying what happened or why not, and data (a
     * snapshot) in as many frames as it takes: {@code remaining} more follow this one.
     */
    record AdminResult(long id, boolean ok, String message, int remaining, byte[] data) implements Message {
        @Override
        public MessageType type() {
            return MessageType.ADMIN_RESULT;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof AdminResult r && r.id == id && r.ok == ok && r.message.equals(message)
                    && r.remaining == remaining && Arrays.equals(r.data, data);
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(id, ok, message, remaining, Arrays.hashCode(data));
        }

        @Override
        public String toString() {
            return "AdminResult[id=" + id + ", ok=" + ok + ", message=" + message + ", remaining=" + remaining
                    + ", " + data.length + " bytes]";
        }
    }

    /** The answer to LIST: every barrier the coordinator holds, by name. */
    record Barriers(long requestId, List<BarrierInfo> barriers) implements Reply {
        public Barriers {
            barriers = List.copyOf(barriers);
        }

        @Override
        public MessageType type() {
            return MessageType.BARRIERS;
        }
    }

    /** One barrier in a BARRIERS answer; the fields of STATUS, with the name. */
    record BarrierInfo(String name, int parties, long generation, boolean broken, String brokenReason,
                       List<Waiter> waiting) {
        public BarrierInfo {
            waiting = List.copyOf(waiting);
        }
    }

    /** A party waiting at a barrier, and for how long it has waited. */
    record Waiter(String party, long waitedMillis) {
    }

    /** A request failed ({@code requestId} set) or the connection is being closed ({@code requestId} 0). */
    record Error(long requestId, ErrorCode code, String message) implements Reply {
        @Override
        public MessageType type() {
            return MessageType.ERROR;
        }
    }
}
