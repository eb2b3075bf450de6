package io.lockstep.client;

import io.lockstep.protocol.Protocol;
import org.slf4j.Logger;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Where a session connects next, and when: the coordinator's nodes (a group's, or one), the one tried now, the
 * leader a node that does not lead named, and the backoff between tries. A first connection tries every node within
 * the connect timeout, and keeps trying a group that is electing; a reconnect backs off, briefly for a group (a new
 * leader is a few hundred milliseconds away), longer for a single coordinator that is down.
 *
 * <p>Confined to the session's event loop.
 */
final class Reconnection {

    private static final Logger log = Logging.logger(Reconnection.class);
    private static final long MAX_BACKOFF_MILLIS = 1_000;
    /** How long a client connecting to a group that has no leader yet waits before it asks its nodes again. */
    private static final long ELECTION_RETRY_MILLIS = 100;
    /**
     * The most backoff once a node has said it does not lead (a group, electing or elected): its jittered wait, half
     * to all of it, is then about the election retry of a first connection.
     */
    private static final long GROUP_MAX_BACKOFF_MILLIS = 2 * ELECTION_RETRY_MILLIS;
    /** ... and before it follows a node's word on who leads, once it has asked every node. */
    private static final long REDIRECT_RETRY_MILLIS = 10;

    private final List<HostAndPort> nodes;
    /** Every node, as given: for messages about the session rather than one connection. */
    private final String address;
    private int current;
    /** A node that does not lead named the one that does: the next attempt goes there. */
    private boolean redirect;
    /** Some node answered that it does not lead: a group, electing or elected. */
    private boolean leaderless;
    /** The connection now (or last) answered that its node does not lead. */
    private boolean answeredNotLeader;
    private long backoffMillis;
    /** While connecting the first time: why each node tried failed, the first failure's cause, the deadline. */
    private final List<String> firstFailures = new ArrayList<>();
    private Throwable firstCause;
    private long firstDeadlineNanos;

    Reconnection(List<HostAndPort> nodes) {
        this.nodes = new ArrayList<>(nodes);
        this.address = String.join(",", nodes.stream().map(HostAndPort::toString).toList());
    }

    /** Every node as given, comma-separated. */
    String address() {
        return address;
    }

    int nodeCount() {
        return nodes.size();
    }

    /** The node connected or tried now. */
    HostAndPort node() {
        return nodes.get(current);
    }

    /** Tries the next node next time (after a failure, or a node that does not lead and names none). */
    void next() {
        current = (current + 1) % nodes.size();
    }

    /** A connection to {@link #node} is open: it has not said it does not lead (yet). */
    void opened() {
        answeredNotLeader = false;
    }

    /** Whether the connection now (or last) answered that its node does not lead. */
    boolean answeredNotLeader() {
        return answeredNotLeader;
    }

    /** A session is established: the next cut starts its backoff afresh. */
    void connected() {
        backoffMillis = 0;
    }

    /**
     * A node said it does not lead its group ({@code hint}: the leader's address, or empty). The next attempt goes
     * to the leader it named (a node this client was not given is added), else to the next node.
     */
    void notLeader(String hint) {
        leaderless = true;
        answeredNotLeader = true;
        if (hint.isEmpty()) {
            return;
        }
        try {
            HostAndPort leader = HostAndPort.parse(hint, Protocol.DEFAULT_PORT);
            int i = nodes.indexOf(leader);
            if (i < 0) {
                nodes.add(leader);
                i = nodes.size() - 1;
            }
            current = i;
            redirect = true;
            backoffMillis = 0;
        } catch (IllegalArgumentException e) {
            log.debug("a node named '{}' as its leader, which is no address: {}", hint, e.getMessage());
        }
    }

    /** An established connection was lost: the next try goes to the leader named, else to the next node. */
    void cut() {
        if (!redirect) {
            next(); // the node may be down: a group's next one may lead now
        }
        redirect = false;
    }

    /** How long to wait before the next reconnect: doubling, capped, jittered (half to all of it). */
    long backoffMillis() {
        // A group elects a new leader in a few hundred milliseconds: waiting up to a second between tries would add
        // most of that again to every failover. A single coordinator that is down gets the longer backoff.
        long cap = leaderless ? GROUP_MAX_BACKOFF_MILLIS : MAX_BACKOFF_MILLIS;
        backoffMillis = backoffMillis == 0 ? 50 : Math.min(cap, backoffMillis * 2);
        return backoffMillis / 2 + (long) (Math.random() * backoffMillis / 2);
    }

    // ---- the first connection -----------------------------------------------------------------------------------

    /** The first connection starts; it may take {@code timeoutMillis} in all. */
    void firstConnection(int timeoutMillis) {
        firstDeadlineNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    }

    /**
     * A try of the first connection failed ({@code why}). Returns how long to wait before the next try, or -1 if
     * connecting has failed ({@link #firstFailure} says why). With more nodes to try, it tries the next (or the one a
     * node that does not lead named) at once; a group whose nodes answered that they do not lead is tried again a
     * little later, until the deadline: it is electing a leader.
     */
    long firstFailed(String why, Throwable cause) {
        firstFailures.add(why);
        if (firstFailures.size() == 1) {
            firstCause = cause;
        }
        boolean redirected = redirect;
        redirect = false;
        if (!redirected) {
            next();
        }
        boolean untried = firstFailures.size() < nodes.size();
        // Within the connect timeout, whatever happens: nodes that name each other as leader must not spin.
        if (System.nanoTime() < firstDeadlineNanos && (redirected || untried || leaderless)) {
            if (!untried) {
                firstFailures.clear(); // a new round over the nodes: the last one's reasons are what failing says
            }
            return untried ? 0 : redirected ? REDIRECT_RETRY_MILLIS : ELECTION_RETRY_MILLIS;
        }
        return -1;
    }

    /** Why the first connection failed, for each node tried in the last round. */
    IOException firstFailure() {
        String all = firstFailures.size() == 1 ? firstFailures.get(0) : "cannot connect to any coordinator of "
                + address + ": " + String.join("; ", firstFailures);
        return new IOException(all, firstCause);
    }
}
