package io.lockstep.coordinator.server;

import io.lockstep.protocol.Message;
import io.lockstep.protocol.MessageType;
import io.lockstep.protocol.Protocol;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * How the two ends acknowledge counted frames without round trips (PROTOCOL.md, "Counted frames"): ACK drops
 * what the coordinator held for resuming and is not answered; the coordinator says PONG unasked, ahead of an
 * answer, once {@link ServerSession#ACKNOWLEDGE_EVERY} requests are unacknowledged.
 */
class AcknowledgementTest {

    private CoordinatorServer server;
    private InetSocketAddress address;

    @BeforeEach
    void start() throws Exception {
        server = new CoordinatorServer(ServerConfig.ephemeralLoopback());
        address = server.start();
    }

    @AfterEach
    void stop() {
        server.stop("test finished");
    }

    @Test
    void ackIsNotAnsweredAndDropsTheAnswersHeldForResuming() throws Exception {
        long session;
        try (RawPeer peer = new RawPeer(address)) {
            session = peer.handshake("acker").sessionId();
            peer.send(new Message.Declare(1, "solo", 1));
            assertInstanceOf(Message.Ok.class, peer.read());
            for (long id = 2; id <= 6; id++) {
                peer.send(new Message.Await(id, "solo", -1, false, new byte[0]));
                assertInstanceOf(Message.Released.class, peer.read());
            }
            // Six answers received and acknowledged; the next frame read is the QUERY's answer, not a PONG.
            peer.send(new Message.Ack(6)).send(new Message.Query(7, "solo"));
            assertInstanceOf(Message.Status.class, peer.read());
        }
        assertEquals(1, server.metrics().framesReceived(MessageType.ACK));
        assertEquals(0, server.metrics().framesReceived(MessageType.PING));

        // The coordinator now holds only answer 7 (STATUS): a resume that missed answer 6 cannot be served ...
        try (RawPeer late = new RawPeer(address)) {
            late.send(new Message.Hello(Protocol.MAGIC, Protocol.VERSION, "acker", 0, session, 5));
            Message.Welcome w = (Message.Welcome) late.read();
            assertFalse(w.resumed(), "answer 6 was acknowledged and dropped; resuming after 5 must be refused");
        }
        // ... while one that has it resumes, and gets the STATUS again.
        try (RawPeer back = new RawPeer(address)) {
            back.send(new Message.Hello(Protocol.MAGIC, Protocol.VERSION, "acker", 0, session, 6));
            Message.Welcome w = (Message.Welcome) back.read();
            assertTrue(w.resumed(), w.note());
            assertEquals(7, w.received(), "the coordinator received seven requests");
            Message again = back.read();
            assertInstanceOf(Message.Status.class, again);
            assertEquals(7, ((Message.Status) again).requestId());
        }
    }

    @Test
    void coordinatorAcknowledgesABusyClientUnasked() throws Exception {
        int requests = 3 * ServerSession.ACKNOWLEDGE_EVERY + 5;
        List<Long> pongs = new ArrayList<>();
        List<Long> answeredBeforeEachPong = new ArrayList<>();
        try (RawPeer peer = new RawPeer(address)) {
            peer.handshake("busy");
            peer.send(new Message.Declare(1, "solo", 1));
            long answers = 0;
            for (long id = 1; id <= requests; id++) {
                if (id > 1) {
                    peer.send(new Message.Await(id, "solo", -1, false, new byte[0]));
                }
                Message m = peer.read();
                if (m instanceof Message.Pong p) {
                    pongs.add(p.received());
                    answeredBeforeEachPong.add(answers);
                    m = peer.read();
                }
                assertEquals(id, ((Message.Reply) m).requestId(), "answers in order, one per request: " + m);
                answers++;
            }
        }
        long every = ServerSession.ACKNOWLEDGE_EVERY;
        assertEquals(List.of(every, 2 * every, 3 * every), pongs, "an unasked PONG after every "
                + every + " requests, counting them");
        // Each PONG comes just ahead of the answer to the request it counts up to, in the same write.
        assertEquals(List.of(every - 1, 2 * every - 1, 3 * every - 1), answeredBeforeEachPong);
        assertEquals(0, server.metrics().framesReceived(MessageType.PING), "the client never asked");
    }
}
