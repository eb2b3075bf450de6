package io.lockstep.coordinator.core;

import io.lockstep.protocol.Message;
import io.lockstep.protocol.MessageCodec;
import io.lockstep.protocol.ReleaseFrames;

import java.io.DataOutput;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Everything the replicas of a coordinator must agree on: the {@link BarrierCore}, and for each session the
 * counted frames of the protocol — how many requests it has received, the answers it has produced and those its
 * client has not acknowledged yet — so that any replica can answer a resume exactly; and why recently ended
 * sessions ended. It applies {@link Input}s with the time they carry, and says what to write through
 * {@link Outputs}; applied time never goes backwards. Like the core, it is pure: no threads, sockets, clocks or
 * Netty, so the same inputs in the same order give every replica the same state.
 *
 * <p>Not thread-safe: one thread calls it (the server's core executor).
 */
public final class CoordinatorState {

    /** Ended sessions whose reason is kept, so that a late resume gets a precise answer. */
    static final int ENDED_REMEMBERED = 10_000;

    /** What applying inputs asks the node that holds the connections to do. Called during {@link #apply}. */
    public interface Outputs {
        /**
         * Answer the handshake on {@code connection} with WELCOME for {@code session}; if {@code resumed}, then
         * write {@code resend}, the answers its client has not acknowledged, in order.
         */
        void welcome(long connection, long session, String clientName, int leaseMillis, boolean resumed,
                     long received, String note, Iterable<Message> resend);

        /** Write {@code frame}, the next counted answer of {@code session}, if the session is connected here. */
        void answer(long session, Message frame);

        /** {@code session} has ended ({@code why}); its connection, if any, carries nothing more. */
        void ended(long session, String why);

        /** An event for logs and metrics: {@link Effect.Broken}, {@link Effect.Tripped}, {@link Effect.SessionExpired}. */
        void event(Effect event);
    }

    /** The counted frames of one session. */
    private static final class Account {
        final String clientName;
        final int leaseMillis;
        /** Counted requests received (the index of the next one expected). */
        long received;
        /** Counted answers produced (the index of the next one). */
        long produced;
        /** Answers produced and not yet acknowledged, oldest first. */
        final ArrayDeque<Message> outbox = new ArrayDeque<>();

        Account(String clientName, int leaseMillis) {
            this.clientName = clientName;
            this.leaseMillis = leaseMillis;
        }

        long oldestHeld() {
            return produced - outbox.size();
        }

        void acknowledge(long clientReceived) {
            while (!outbox.isEmpty() && oldestHeld() < clientReceived) {
                outbox.poll();
            }
        }
    }

    private final BarrierCore core;
    private final String unknownSession;
    private final Map<Long, Account> accounts = new HashMap<>();
    private final Map<Long, String> ended = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, String> eldest) {
            return size() > ENDED_REMEMBERED;
        }
    };
    private final Consumer<Effect> dispatcher = this::dispatch;
    private Outputs out;
    private long now;
    /** In a group, the last leader that said so; null on a single node or before any. */
    private Input.Leader leader;

    /**
     * @param unknownSession how a resume of a session this state never held is explained to the client, after
     *                       "session N" (where it can, it says when the coordinator started)
     */
    public CoordinatorState(BarrierCore.Limits limits, String unknownSession) {
        this(new BarrierCore(limits), unknownSession);
    }

    private CoordinatorState(BarrierCore core, String unknownSession) {
        this.core = core;
        this.unknownSession = unknownSession;
    }

    /** Applies {@code input} at {@code stampMillis} (or at the time already applied, if later). */
    public void apply(Input input, long stampMillis, Outputs outputs) {
        now = Math.max(now, stampMillis);
        out = outputs;
        try {
            // Java 17 has no pattern switch; instanceof with a final else keeps every input handled.
            if (input instanceof Input.Request r) {
                request(r);
            } else if (input instanceof Input.Ack a) {
                Account s = accounts.get(a.session());
                if (s != null) {
                    s.acknowledge(a.clientReceived());
                }
            } else if (input instanceof Input.Tick) {
                core.apply(new Command.Tick(), now, dispatcher);
            } else if (input instanceof Input.Hello h) {
                hello(h);
            } else if (input instanceof Input.Cut c) {
                core.apply(new Command.Disconnect(c.session(), c.silentSinceMillis(), c.closedGraceMillis()), now,
                        dispatcher);
            } else if (input instanceof Input.Close c) {
                close(c.session(), c.why(), c.cannotCome());
            } else if (input instanceof Input.Shutdown s) {
                core.apply(new Command.Shutdown(s.why()), now, dispatcher);
            } else if (input instanceof Input.Leader l) {
                leader = l;
            } else {
                throw new AssertionError("unhandled input " + input);
            }
        } finally {
            out = null;
        }
    }

    /** The group's leader as last announced through the log, or null. */
    public Input.Leader leader() {
        return leader;
    }

    /** Sessions open and connected somewhere (no lease running): all of them, after their leader died. */
    public List<Long> connectedSessions() {
        return core.connectedSessions();
    }

    /** The time applied so far. */
    public long now() {
        return now;
    }

    /** The earliest pending deadline; see {@link BarrierCore#nextDeadline()}. */
    public long nextDeadline() {
        return core.nextDeadline();
    }

    /** True while {@code session} is open (connected, or cut and within its lease). */
    public boolean isOpen(long session) {
        return accounts.containsKey(session);
    }

    /** Counted requests {@code session} has received: the index its next request must have (0 if not open). */
    public long received(long session) {
        Account s = accounts.get(session);
        return s == null ? 0 : s.received;
    }

    /** Answers of {@code session} its client has not acknowledged (0 if not open). */
    public int unacknowledged(long session) {
        Account s = accounts.get(session);
        return s == null ? 0 : s.outbox.size();
    }

    public int sessionCount() {
        return accounts.size();
    }

    public int barrierCount() {
        return core.barrierCount();
    }

    /** A snapshot of every barrier at the time applied, ordered by name. */
    public List<BarrierView> views(long nowMillis) {
        return core.views(Math.max(now, nowMillis));
    }

    /** See {@link BarrierCore#stillToArrive}. */
    public int stillToArrive(String barrier) {
        return core.stillToArrive(barrier);
    }

    /** A snapshot of one barrier, or null. */
    public BarrierView view(String name, long nowMillis) {
        return core.view(name, Math.max(now, nowMillis));
    }

    // ---- snapshots -----------------------------------------------------------------------------------------------

    /** Writes the whole state; {@link #readSnapshot} makes one that goes on exactly as this one would. */
    public void writeSnapshot(DataOutput out) throws IOException {
        out.writeLong(now);
        out.writeBoolean(leader != null);
        if (leader != null) {
            SnapshotStrings.write(out, leader.node());
            SnapshotStrings.write(out, leader.clientAddress());
        }
        out.writeInt(accounts.size());
        for (Map.Entry<Long, Account> e : accounts.entrySet()) {
            Account a = e.getValue();
            out.writeLong(e.getKey());
            SnapshotStrings.write(out, a.clientName);
            out.writeInt(a.leaseMillis);
            out.writeLong(a.received);
            out.writeLong(a.produced);
            out.writeInt(a.outbox.size());
            for (Message m : a.outbox) {
                byte[] body = MessageCodec.toBytes(m);
                out.writeInt(body.length);
                out.write(body);
            }
        }
        out.writeInt(ended.size());
        for (Map.Entry<Long, String> e : ended.entrySet()) {
            out.writeLong(e.getKey());
            SnapshotStrings.write(out, e.getValue());
        }
        core.writeSnapshot(out);
    }

    /**
     * The state {@link #writeSnapshot} wrote, with this node's limits and words for unknown sessions. Total: bytes
     * that are not such a state fail with {@link BoundedReader.Malformed}, whatever they hold.
     */
    public static CoordinatorState readSnapshot(BoundedReader in, BarrierCore.Limits limits, String unknownSession)
            throws BoundedReader.Malformed {
        long now = in.u64();
        Input.Leader leader = in.bool() ? new Input.Leader(in.string(), in.string()) : null;
        Map<Long, Account> accounts = new HashMap<>();
        for (int n = in.count(36); n > 0; n--) {
            long id = in.u64();
            Account a = new Account(in.string(), in.u32());
            a.received = in.u64();
            a.produced = in.u64();
            for (int k = in.count(4); k > 0; k--) {
                byte[] body = in.lengthPrefixed();
                try {
                    a.outbox.add(MessageCodec.fromBytes(body));
                } catch (RuntimeException e) {
                    throw new BoundedReader.Malformed("an answer that does not decode: " + e.getMessage());
                }
            }
            accounts.put(id, a);
        }
        Map<Long, String> ended = new LinkedHashMap<>();
        for (int n = in.count(12); n > 0; n--) {
            ended.put(in.u64(), in.string());
        }
        CoordinatorState state = new CoordinatorState(BarrierCore.readSnapshot(in, limits), unknownSession);
        in.end("the state");
        state.now = now;
        state.leader = leader;
        state.accounts.putAll(accounts);
        state.ended.putAll(ended);
        return state;
    }

    // ---- inputs --------------------------------------------------------------------------------------------------

    private void hello(Input.Hello h) {
        String note = "";
        if (h.resumeSession() != 0) {
            long id = h.resumeSession();
            Account s = accounts.get(id);
            if (s != null && s.clientName.equals(h.clientName()) && h.clientReceived() >= s.oldestHeld()
                    && h.clientReceived() <= s.produced) {
                s.acknowledge(h.clientReceived());
                core.apply(new Command.Reconnect(id), now, dispatcher);
                out.welcome(h.connection(), id, s.clientName, s.leaseMillis, true, s.received, "", s.outbox);
                return;
            }
            note = s != null ? "session " + id + " cannot be resumed by this client"
                    : ended.getOrDefault(id, "session " + id + " " + unknownSession);
        }
        if (accounts.putIfAbsent(h.newSession(), new Account(h.clientName(), h.leaseMillis())) != null) {
            throw new IllegalStateException("session " + h.newSession() + " is already open");
        }
        core.apply(new Command.OpenSession(h.newSession(), h.clientName(), h.leaseMillis()), now, dispatcher);
        out.welcome(h.connection(), h.newSession(), h.clientName(), h.leaseMillis(), false, 0, note, List.of());
    }

    private void request(Input.Request r) {
        Account s = accounts.get(r.session());
        if (s == null || r.index() != s.received) {
            return; // the session ended, or this request was applied already (re-sent or proposed twice)
        }
        s.received++;
        core.apply(toCommand(r.session(), r.request()), now, dispatcher);
    }

    private void close(long session, String why, boolean cannotCome) {
        if (accounts.remove(session) == null) {
            return;
        }
        ended.put(session, "session " + session + " ended: " + why);
        core.apply(new Command.CloseSession(session, why, cannotCome), now, dispatcher);
        out.ended(session, why);
    }

    /** The core's command for a request frame of session {@code session}. */
    private static Command toCommand(long session, Message.Request r) {
        // Java 17: a switch over the type enum is exhaustive-checked; each case casts to its record.
        return switch (r.type()) {
            case DECLARE -> {
                Message.Declare d = (Message.Declare) r;
                yield new Command.Declare(session, d.requestId(), d.barrier(), d.parties());
            }
            case AWAIT -> {
                Message.Await a = (Message.Await) r;
                yield new Command.Arrive(session, a.requestId(), a.barrier(), a.timeoutMillis(), a.runsAction(),
                        a.exchange(), a.contribution());
            }
            case CANCEL -> new Command.Cancel(session, r.requestId());
            case ACTION_DONE -> new Command.ActionDone(session, r.requestId(), ((Message.ActionDone) r).failure());
            case ABORT -> new Command.Abort(session, r.requestId(), ((Message.Abort) r).barrier());
            case UNDECLARE -> new Command.Undeclare(session, r.requestId(), ((Message.Undeclare) r).barrier());
            case RESET -> new Command.Reset(session, r.requestId(), ((Message.Reset) r).barrier());
            case QUERY -> new Command.Query(session, r.requestId(), ((Message.Query) r).barrier());
            case LIST -> new Command.ListBarriers(session, r.requestId());
            case HELLO, PING, ACK, GOODBYE, AUTH, WELCOME, OK, RELEASED, FAILED, RUN_ACTION, STATUS, ERROR,
                 RELEASE_PART, PONG, CHALLENGE, BARRIERS, GROUP, GROUP_STATUS, ADMIN, ADMIN_RESULT ->
                    throw new AssertionError(r.type() + " is not a request");
        };
    }

    // ---- effects -------------------------------------------------------------------------------------------------

    private void dispatch(Effect effect) {
        if (effect instanceof Effect.Answer answer) {
            Account s = accounts.get(answer.session());
            if (s == null) {
                return;
            }
            Message m = Answers.toMessage(answer);
            if (m instanceof Message.Released r && !r.contributions().isEmpty()) {
                for (Message frame : ReleaseFrames.split(r)) {
                    produce(answer.session(), s, frame);
                }
            } else {
                produce(answer.session(), s, m);
            }
            return;
        }
        if (effect instanceof Effect.SessionExpired e && accounts.remove(e.session()) != null) {
            ended.put(e.session(), "session " + e.session() + " expired: " + e.why());
            out.ended(e.session(), e.why());
        }
        out.event(effect);
    }

    private void produce(long session, Account s, Message frame) {
        s.outbox.add(frame);
        s.produced++;
        out.answer(session, frame);
    }
}
