package io.lockstep.coordinator.server;

import io.lockstep.coordinator.core.BarrierCore;
import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.FrameEncoder;
import io.lockstep.protocol.Message;
import io.lockstep.protocol.Protocol;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each limit: hit it, get the documented error, and a well-behaved peer (on its own connection, with a long lease)
 * keeps passing its barrier before and after.
 */
class LimitsTest {

    private CoordinatorServer server;
    private InetSocketAddress address;
    private RawPeer good;
    private long goodRequests;
    private final List<RawPeer> peers = new ArrayList<>();

    private void start(ServerConfig config) throws Exception {
        server = new CoordinatorServer(config);
        address = server.start();
        good = new RawPeer(address);
        good.send(new Message.Hello(Protocol.MAGIC, Protocol.VERSION, "good", 60_000, 0, 0));
        assertInstanceOf(Message.Welcome.class, good.read());
        good.send(new Message.Declare(++goodRequests, "solo", 1));
        assertInstanceOf(Message.Ok.class, good.read());
    }

    private RawPeer peer() throws IOException {
        RawPeer p = new RawPeer(address);
        peers.add(p);
        return p;
    }

    @AfterEach
    void stop() throws Exception {
        good.send(new Message.Await(++goodRequests, "solo", -1, false, new byte[0]));
        assertInstanceOf(Message.Released.class, good.read(), "the well-behaved peer is still served");
        good.close();
        for (RawPeer p : peers) {
            p.close();
        }
        server.stop("test finished");
    }

    private static ServerConfig base() {
        return ServerConfig.ephemeralLoopback();
    }

    private static Message.Error error(RawPeer p) throws IOException {
        Message m = p.read();
        assertInstanceOf(Message.Error.class, m, "expected an ERROR, got " + m);
        return (Message.Error) m;
    }

    @Test
    void maximumFrameSize() throws Exception {
        start(new ServerConfig("127.0.0.1", 0, 2048, 1, new BarrierCore.Limits(1000, 1 << 20), SessionPolicy.DEFAULT,
                ServerConfig.ConnectionLimits.DEFAULT, ServerConfig.DEFAULT_HANDSHAKE_MILLIS, null, null,
                ServerConfig.NO_HTTP));
        RawPeer p = peer();
        p.handshake("big");
        p.sendBytes(HexFormat.of().parseHex("00000c0003")); // announces 3072 bytes
        Message.Error e = error(p);
        assertEquals(ErrorCode.FRAME_TOO_LARGE, e.code());
        assertTrue(e.message().contains("2048"), e.message());
        assertTrue(p.closedByPeer());
    }

    @Test
    void maximumNameLength() throws Exception {
        start(base().withLimits(new BarrierCore.Limits(1024, 1 << 20, 100, 8, 100, 100)));
        RawPeer p = peer();
        p.handshake("long");
        p.send(new Message.Declare(1, "123456789", 1));
        Message.Error e = error(p);
        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertEquals("barrier name is 9 bytes of UTF-8; the limit is 8", e.message());
        p.send(new Message.Declare(2, "12345678", 1));
        assertInstanceOf(Message.Ok.class, p.read(), "the connection is still usable");
    }

    @Test
    void maximumBarriers() throws Exception {
        start(base().withLimits(new BarrierCore.Limits(1024, 1 << 20, 2, 256, 100, 100)));
        RawPeer p = peer(); // "solo" of the good peer is the first barrier
        p.handshake("many");
        p.send(new Message.Declare(1, "second", 1));
        assertInstanceOf(Message.Ok.class, p.read());
        p.send(new Message.Declare(2, "third", 1));
        Message.Error e = error(p);
        assertEquals(ErrorCode.LIMIT_EXCEEDED, e.code());
        assertTrue(e.message().contains("holds 2 barriers, its limit"), e.message());
    }

    @Test
    void maximumParties() throws Exception {
        start(base().withLimits(new BarrierCore.Limits(1024, 1 << 20, 100, 256, 100, 10)));
        RawPeer p = peer();
        p.handshake("wide");
        p.send(new Message.Declare(1, "huge", Integer.MAX_VALUE));
        Message.Error e = error(p);
        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertEquals("barrier 'huge' asks for 2147483647 parties; this coordinator allows at most 10 (its "
                + "--max-parties)", e.message());
        p.send(new Message.Declare(2, "huge", 10));
        assertInstanceOf(Message.Ok.class, p.read(), "the limit itself is allowed, and nothing was created before");
    }

    @Test
    void maximumAwaitsPerSession() throws Exception {
        start(base().withLimits(new BarrierCore.Limits(1024, 1 << 20, 100, 256, 2, 100)));
        RawPeer p = peer();
        p.handshake("greedy");
        p.send(new Message.Declare(1, "wide", 10));
        assertInstanceOf(Message.Ok.class, p.read());
        p.send(new Message.Await(2, "wide", -1, false, new byte[0]));
        p.send(new Message.Await(3, "wide", -1, false, new byte[0]));
        p.send(new Message.Await(4, "wide", -1, false, new byte[0]));
        Message.Error e = error(p);
        assertEquals(4, e.requestId());
        assertEquals(ErrorCode.LIMIT_EXCEEDED, e.code());
        assertTrue(e.message().contains("2 awaits outstanding"), e.message());
    }

    @Test
    void maximumConnectionsInTotal() throws Exception {
        start(base().withConnections(new ServerConfig.ConnectionLimits(3, 100, 1000, 1 << 20)));
        RawPeer a = peer();
        a.handshake("a");
        RawPeer b = peer();
        b.handshake("b");
        RawPeer c = peer();
        Message.Error e = error(c);
        assertEquals(ErrorCode.TOO_MANY_CONNECTIONS, e.code());
        assertTrue(e.message().contains("3 connections, its limit"), e.message());
        assertTrue(c.closedByPeer());
    }

    @Test
    void maximumConnectionsPerAddress() throws Exception {
        start(base().withConnections(new ServerConfig.ConnectionLimits(100, 2, 1000, 1 << 20)));
        RawPeer a = peer();
        a.handshake("a");
        RawPeer b = peer();
        Message.Error e = error(b);
        assertEquals(ErrorCode.TOO_MANY_CONNECTIONS, e.code());
        assertTrue(e.message().contains("from 127.0.0.1, the limit per address"), e.message());
        a.close();
        long end = System.nanoTime() + 5_000_000_000L;
        Message m = null;
        while (System.nanoTime() < end) { // once a's connection is gone, its place is free again
            try (RawPeer attempt = new RawPeer(address)) {
                attempt.send(new Message.Hello("later"));
                m = attempt.read();
                if (m instanceof Message.Welcome) {
                    break;
                }
            } catch (IOException ignored) {
                // closed: still full
            }
            Thread.sleep(20);
        }
        assertInstanceOf(Message.Welcome.class, m);
    }

    @Test
    void handshakeDeadline() throws Exception {
        start(base().withHandshakeMillis(300));
        RawPeer p = peer();
        long start = System.nanoTime();
        Message.Error e = error(p); // it says nothing at all
        assertEquals(ErrorCode.HANDSHAKE_REQUIRED, e.code());
        assertTrue((System.nanoTime() - start) / 1_000_000 >= 250, "not before the deadline");
        assertTrue(p.closedByPeer());
    }

    @Test
    void idleTimeoutAfterTheHandshake() throws Exception {
        start(base().withSessions(new SessionPolicy(10_000, 200, 300_000)));
        RawPeer p = peer();
        p.send(new Message.Hello(Protocol.MAGIC, Protocol.VERSION, "quiet", 400, 0, 0));
        Message.Welcome w = (Message.Welcome) p.read();
        assertEquals(100, w.heartbeatMillis());
        long start = System.nanoTime();
        assertTrue(p.closedByPeer(), "a connection that sends no heartbeat is closed"); // blocks until closed
        long after = (System.nanoTime() - start) / 1_000_000;
        assertTrue(after >= 250 && after < 3_000, "closed after three heartbeats of silence, took " + after + " ms");
    }

    @Test
    void onlyTheSilentConnectionIsClosedWhateverThreadItIsOn() throws Exception {
        // Two I/O threads: the sweep runs on the core's thread and reaches connections on the other one too.
        start(new ServerConfig("127.0.0.1", 0, Protocol.DEFAULT_MAX_FRAME_BYTES, 2)
                .withSessions(new SessionPolicy(10_000, 200, 300_000)));
        List<RawPeer> quiet = new ArrayList<>();
        List<RawPeer> alive = new ArrayList<>();
        for (int i = 0; i < 4; i++) { // consecutive connections land on alternating threads
            RawPeer q = peer();
            q.send(new Message.Hello(Protocol.MAGIC, Protocol.VERSION, "quiet-" + i, 1_000, 0, 0));
            assertEquals(250, ((Message.Welcome) q.read()).heartbeatMillis());
            quiet.add(q);
            RawPeer a = peer();
            a.send(new Message.Hello(Protocol.MAGIC, Protocol.VERSION, "alive-" + i, 1_000, 0, 0));
            assertInstanceOf(Message.Welcome.class, a.read());
            alive.add(a);
        }
        // The pinging peers keep talking, paced by their own round trips, until the coordinator has closed every
        // quiet one: at least three heartbeats, through which they must stay served. (The first peer is `good`.)
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.openConnections() > 1 + alive.size()) {
            assertTrue(System.nanoTime() < end, "silent connections still open: " + server.openConnections());
            for (RawPeer a : alive) {
                a.send(new Message.Ping(0));
                assertInstanceOf(Message.Pong.class, a.read(), "a pinging client is answered, not closed");
            }
        }
        for (RawPeer q : quiet) {
            assertTrue(q.closedByPeer(), "a silent connection is closed");
        }
        for (RawPeer a : alive) {
            a.send(new Message.Declare(1, "still-here", 1));
            assertInstanceOf(Message.Ok.class, a.read(), "the pinging connection is still served");
        }
    }

    @Test
    void aClientThatNeverAcknowledgesIsCutOff() throws Exception {
        start(base().withConnections(new ServerConfig.ConnectionLimits(100, 100, 5, 1 << 20)));
        RawPeer p = peer();
        Message.Welcome w = p.handshake("deaf");
        // One write: the coordinator may cut the connection off while later frames are still on their way, and a
        // write into a closed connection would fail the test rather than show the cut-off.
        ByteBuf requests = Unpooled.buffer();
        FrameEncoder.writeFrame(new Message.Declare(1, "q", 1), requests);
        for (int i = 2; i < 12; i++) {
            FrameEncoder.writeFrame(new Message.Query(i, "q"), requests); // answers pile up: it never acknowledges
        }
        p.sendBytes(ByteBufUtil.getBytes(requests));
        requests.release();
        Message m;
        do {
            m = p.read();
        } while (!(m instanceof Message.Error e && e.requestId() == 0));
        assertEquals(ErrorCode.SLOW_CONSUMER, ((Message.Error) m).code());
        assertTrue(p.closedByPeer());
        // Not only the connection: the session is ended, as PROTOCOL.md says, and a resume is told why.
        RawPeer again = peer();
        again.send(new Message.Hello(Protocol.MAGIC, Protocol.VERSION, "deaf", 0, w.sessionId(), 0));
        Message.Welcome fresh = (Message.Welcome) again.read();
        assertFalse(fresh.resumed());
        assertTrue(fresh.note().contains("acknowledge"), fresh.note());
    }
}
