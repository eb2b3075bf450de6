package io.lockstep.coordinator.server;

import io.lockstep.coordinator.core.Input;
import io.lockstep.protocol.Message;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The way down through the seam: where the driver's inputs go, between the connections and the state they change. A
 * single coordinator applies each input at once ({@link Local}); a node of a group proposes it to the group's log and
 * applies it when the log has ordered it, as every other node does ({@code group.ReplicatedLog}). The log hands each
 * input back through the {@link Applier} it was started with. Everything above (connections, the sessions this node
 * serves) and below ({@link io.lockstep.coordinator.core.CoordinatorState}) is the same for both.
 *
 * <p>Called on the applier's executor only, unless a method says otherwise.
 */
public interface CommandLog {

    /**
     * Starts the log, which from now on applies through {@code applier}; the node serves clients on
     * {@code clientPort}. Called once, before any other method except {@link #notReady}.
     */
    void start(Applier applier, int clientPort) throws IOException;

    /** Stops it, after the node stopped serving clients. Any thread. */
    void stop();

    /**
     * Puts {@code input} in the log; it is applied through {@link Applier#apply} or {@link Applier#applyEntry}.
     * {@code nowMillis} is {@link #now}, read by the caller already.
     */
    void submit(Input input, long nowMillis);

    /** Whether inputs submitted here are applied: this node is alone, or leads its group. */
    boolean accepting();

    /** Where a client that reached this node while it does not accept should go: an address, or "" if not known. */
    String elsewhere();

    /**
     * The time on the state's timeline now, in milliseconds: what an input submitted now is applied at, and what
     * deadlines are compared to. Monotonic; its origin means nothing. A single coordinator's is its own monotonic
     * clock; a group's is continued by each leader from the time it took over at.
     */
    long now();

    /**
     * While a deadline is pending, an input goes into the log at least this often, so that the time the log holds is
     * never older than this: a leader that takes over continues from it (a single coordinator's time needs none).
     */
    long clockEntryEveryMillis();

    /**
     * This node stops serving clients. A single coordinator is the service: its state ends with it, every waiter
     * broken with {@code why}. A node of a group leaves; the group carries on without it.
     */
    void leaving(String why);

    /**
     * Why clients should not be sent to this node now, in words an operator can act on; null if they should (what
     * {@code /readyz} answers). Any thread.
     */
    String notReady();

    /** What this node is, said after "ok" in {@code /health}: "" alone; in a group, its role and the leader. */
    String role();

    /** The answer to GROUP: the members as this node knows them (a single coordinator has none). */
    Message.GroupStatus groupStatus();

    /**
     * Hands the lead of the group to {@code node}, on the leader. Completes with what happened, in a line for the
     * operator, or exceptionally with why not ({@link Refused}: a line too).
     */
    CompletableFuture<String> transferLeadership(String node);

    /** Adds the node {@code spec} names ({@code id=host:port}) to the group, on the leader; as {@link #transferLeadership}. */
    CompletableFuture<String> addMember(String spec);

    /** Removes node {@code id} from the group, on the leader; as {@link #transferLeadership}. */
    CompletableFuture<String> removeMember(String id);

    /** A request this log cannot do, saying why in a line for whoever asked. */
    final class Refused extends Exception {
        public Refused(String why) {
            super(why, null, false, false);
        }
    }

    /** A single coordinator: every input is applied at once, on the caller's thread, at the node's clock. */
    final class Local implements CommandLog {
        private Applier applier;

        @Override
        public void start(Applier applier, int clientPort) {
            this.applier = applier;
        }

        @Override
        public void stop() {
        }

        @Override
        public void submit(Input input, long nowMillis) {
            applier.apply(input, nowMillis);
        }

        @Override
        public boolean accepting() {
            return true;
        }

        @Override
        public String elsewhere() {
            return "";
        }

        @Override
        public long now() {
            return applier.localMillis();
        }

        @Override
        public long clockEntryEveryMillis() {
            return Long.MAX_VALUE;
        }

        @Override
        public void leaving(String why) {
            submit(new Input.Shutdown(why), now());
        }

        @Override
        public String notReady() {
            return null;
        }

        @Override
        public String role() {
            return "";
        }

        @Override
        public Message.GroupStatus groupStatus() {
            return new Message.GroupStatus("", "", 0, 0, List.of());
        }

        @Override
        public CompletableFuture<String> transferLeadership(String node) {
            return CompletableFuture.failedFuture(new Refused("a single coordinator has no group to hand the lead in"));
        }

        @Override
        public CompletableFuture<String> addMember(String spec) {
            return CompletableFuture.failedFuture(new Refused("a single coordinator has no group to add a node to: "
                    + "start a group (--peers) instead"));
        }

        @Override
        public CompletableFuture<String> removeMember(String id) {
            return CompletableFuture.failedFuture(new Refused("a single coordinator has no group to remove a node "
                    + "from"));
        }
    }
}
