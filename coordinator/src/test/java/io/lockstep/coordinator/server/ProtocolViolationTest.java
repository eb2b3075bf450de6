package io.lockstep.coordinator.server;

import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.Message;
import io.lockstep.protocol.Protocol;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each protocol violation gets an ERROR frame with its code and a closed connection, while a well-behaved peer
 * on another connection keeps passing its barrier.
 */
class ProtocolViolationTest {

    private CoordinatorServer server;
    private InetSocketAddress address;
    private RawPeer good;
    private long goodRequests;

    @BeforeEach
    void start() throws Exception {
        server = new CoordinatorServer(ServerConfig.ephemeralLoopback());
        address = server.start();
        good = new RawPeer(address);
        good.handshake("good");
        good.send(new Message.Declare(++goodRequests, "solo", 1));
        assertInstanceOf(Message.Ok.class, good.read());
    }

    @AfterEach
    void stop() throws Exception {
        // The well-behaved peer is still served after whatever the test did.
        good.send(new Message.Await(++goodRequests, "solo", -1, false, new byte[0]));
        assertInstanceOf(Message.Released.class, good.read());
        good.close();
        server.stop("test finished");
    }

    private void expectError(RawPeer peer, ErrorCode code) throws IOException {
        Message m = peer.read();
        assertInstanceOf(Message.Error.class, m);
        assertEquals(code, ((Message.Error) m).code(), ((Message.Error) m).message());
        assertTrue(peer.closedByPeer(), "connection closed after " + code);
    }

    @Test
    void badMagic() throws Exception {
        try (RawPeer p = new RawPeer(address)) {
            p.send(new Message.Hello(0x47455420, Protocol.VERSION, "http?"));
            expectError(p, ErrorCode.BAD_MAGIC);
        }
    }

    @Test
    void unsupportedVersion() throws Exception {
        try (RawPeer p = new RawPeer(address)) {
            p.send(new Message.Hello(Protocol.MAGIC, 99, "future"));
            Message.Error e = (Message.Error) p.read();
            assertEquals(ErrorCode.UNSUPPORTED_VERSION, e.code());
            assertEquals("protocol version 99 is not supported; this coordinator speaks versions 1 to 2", e.message());
        }
        try (RawPeer p = new RawPeer(address)) { // a version-1 client is still served
            p.send(new Message.Hello(Protocol.MAGIC, 1, "older", 0, 0, 0));
            assertInstanceOf(Message.Welcome.class, p.read());
        }
    }

    @Test
    void requestBeforeHandshake() throws Exception {
        try (RawPeer p = new RawPeer(address)) {
            p.send(new Message.Declare(1, "x", 2));
            expectError(p, ErrorCode.HANDSHAKE_REQUIRED);
        }
    }

    @Test
    void repeatedHandshake() throws Exception {
        try (RawPeer p = new RawPeer(address)) {
            p.handshake("twice");
            p.send(new Message.Hello("twice"));
            expectError(p, ErrorCode.DUPLICATE_HANDSHAKE);
        }
    }

    @Test
    void frameAboveTheMaximum() throws Exception {
        try (RawPeer p = new RawPeer(address)) {
            p.sendBytes(HexFormat.of().parseHex("7fffffff01"));
            expectError(p, ErrorCode.FRAME_TOO_LARGE);
        }
    }

    @Test
    void unknownTypeAndCoordinatorOnlyType() throws Exception {
        try (RawPeer p = new RawPeer(address)) {
            p.handshake("odd");
            p.sendBytes(HexFormat.of().parseHex("000000017f"));
            expectError(p, ErrorCode.UNKNOWN_TYPE);
        }
        try (RawPeer p = new RawPeer(address)) {
            p.handshake("odd");
            p.send(new Message.Ok(1));
            expectError(p, ErrorCode.UNKNOWN_TYPE);
        }
    }

    @Test
    void truncatedBody() throws Exception {
        try (RawPeer p = new RawPeer(address)) {
            p.handshake("short");
            p.sendBytes(HexFormat.of().parseHex("0000000302" + "0000"));
            expectError(p, ErrorCode.MALFORMED_FRAME);
        }
    }

    @Test
    void requestIdZero() throws Exception {
        try (RawPeer p = new RawPeer(address)) {
            p.handshake("zero");
            p.send(new Message.Declare(0, "x", 2));
            expectError(p, ErrorCode.BAD_REQUEST_ID);
        }
    }

    @Test
    void argumentErrorsAnswerTheRequestAndKeepTheConnection() throws Exception {
        try (RawPeer p = new RawPeer(address)) {
            p.handshake("careless");
            p.send(new Message.Declare(1, "x", 0));
            assertEquals(ErrorCode.INVALID_ARGUMENT, ((Message.Error) p.read()).code());
            p.send(new Message.Await(2, "undeclared", -1, false, new byte[0]));
            assertEquals(ErrorCode.NOT_DECLARED, ((Message.Error) p.read()).code());
            p.send(new Message.Query(3, "nope"));
            assertEquals(ErrorCode.UNKNOWN_BARRIER, ((Message.Error) p.read()).code());
            p.send(new Message.Declare(4, "x", 1));
            assertInstanceOf(Message.Ok.class, p.read());
        }
    }
}
