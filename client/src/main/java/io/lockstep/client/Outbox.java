package io.lockstep.client;

import io.lockstep.protocol.Message;
import io.netty.channel.Channel;

import java.util.ArrayDeque;

/**
 * The counted frames of one session, from the client's end: the requests sent and not yet acknowledged by the
 * coordinator (kept to send again when the session resumes on a new connection), and the answers received, which
 * the coordinator holds until this end acknowledges them. Knows when an acknowledgement is due.
 *
 * <p>Confined to the session's event loop.
 */
final class Outbox {

    /**
     * The coordinator holds each answer until it is acknowledged. An ACK ahead of a request costs a few bytes in
     * the same write, so one goes out with the first request after this many answers ...
     */
    private static final int ACK_WITH_REQUEST_AFTER = 8;
    /** ... and one on its own, which costs a packet, only after this many with no request to carry it. */
    private static final int ACK_ALONE_AFTER = 64;

    /** Counted frames sent and not yet acknowledged by the coordinator, oldest first. */
    private final ArrayDeque<Message.Request> unacknowledged = new ArrayDeque<>();
    private long sent;
    private long received;
    private long acknowledged;

    /** {@code request} is sent (or will be, once connected): kept until the coordinator has it. */
    void add(Message.Request request) {
        unacknowledged.add(request);
        sent++;
    }

    /** An answer was received (counted, whoever it was for). */
    void answered() {
        received++;
    }

    /** The answers received in this session: what a HELLO that resumes it says. */
    long received() {
        return received;
    }

    /** Whether an ACK should ride in the same write as the request about to be sent. */
    boolean ackDueWithRequest() {
        return received - acknowledged >= ACK_WITH_REQUEST_AFTER;
    }

    /** Whether an ACK is worth a write of its own now. */
    boolean ackDueAlone() {
        return received - acknowledged >= ACK_ALONE_AFTER;
    }

    /** The count of answers received, for a PING or ACK about to be written: from now on they are acknowledged. */
    long acknowledgeNow() {
        acknowledged = received;
        return received;
    }

    /** The coordinator has received {@code coordinatorReceived} of this session's requests: it needs them no more. */
    void coordinatorHas(long coordinatorReceived) {
        while (!unacknowledged.isEmpty() && sent - unacknowledged.size() < coordinatorReceived) {
            unacknowledged.poll();
        }
    }

    /** Writes what the coordinator has not got (after a resume) and flushes; returns how many frames. */
    int resendOn(Channel ch) {
        for (Message.Request r : unacknowledged) {
            ch.write(r, ch.voidPromise());
        }
        ch.flush();
        return unacknowledged.size();
    }

    /** The session was lost: a new one counts from zero (a stale count would hold back every ACK). */
    void clear() {
        unacknowledged.clear();
        sent = 0;
        received = 0;
        acknowledged = 0;
    }
}
