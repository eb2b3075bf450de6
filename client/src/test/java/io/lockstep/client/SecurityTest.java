package io.lockstep.client;

import io.lockstep.coordinator.server.ServerConfig;
import io.lockstep.protocol.Authentication;
import io.lockstep.protocol.FrameDecoder;
import io.lockstep.protocol.Message;
import io.lockstep.protocol.MessageCodec;
import io.lockstep.protocol.FrameEncoder;
import io.lockstep.protocol.Protocol;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Shared-secret authentication and TLS, against a live coordinator. */
class SecurityTest {

    private static final byte[] SECRET = "correct horse battery staple".getBytes(StandardCharsets.UTF_8);

    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    private LiveCoordinator coordinator(ServerConfig config) {
        LiveCoordinator c = new LiveCoordinator(config);
        open.add(c);
        return c;
    }

    private LockstepClient connect(LockstepClient.Builder b) throws IOException {
        LockstepClient c = b.connectTimeout(Duration.ofSeconds(3)).connect();
        open.add(c);
        return c;
    }

    private static void onePartyRound(LockstepClient c) throws Exception {
        assertEquals(0, c.barrier("secure", 1).await());
    }

    @Test
    void theRightSecretIsAcceptedAndTheWrongOneOrNoneIsRefusedClearly() throws Exception {
        LiveCoordinator coord = coordinator(ServerConfig.ephemeralLoopback().withAuthSecret(SECRET));
        onePartyRound(connect(LockstepClient.builder().address(coord.address).clientName("ok").authSecret(SECRET)));

        IOException wrong = assertThrows(IOException.class, () -> connect(LockstepClient.builder()
                .address(coord.address).clientName("wrong").authSecret("not the secret at all".getBytes())));
        assertTrue(wrong.getMessage().contains("authentication failed"), wrong.getMessage());

        IOException none = assertThrows(IOException.class, () -> connect(LockstepClient.builder()
                .address(coord.address).clientName("none")));
        assertTrue(none.getMessage().contains("requires authentication, and this client has no shared secret"),
                none.getMessage());
    }

    @Test
    void beforeAuthenticatingAConnectionCanDoNothingElse() throws Exception {
        LiveCoordinator coord = coordinator(ServerConfig.ephemeralLoopback().withAuthSecret(SECRET));
        try (Raw raw = new Raw(coord)) {
            raw.send(new Message.Hello("sneaky"));
            assertInstanceOf(Message.Challenge.class, raw.read());
            raw.send(new Message.Declare(1, "x", 1));
            Message.Error e = (Message.Error) raw.read();
            assertEquals(io.lockstep.protocol.ErrorCode.AUTH_REQUIRED, e.code());
        }
    }

    @Test
    void aRecordedHandshakeCannotBeReplayed() throws Exception {
        LiveCoordinator coord = coordinator(ServerConfig.ephemeralLoopback().withAuthSecret(SECRET));
        byte[] recordedAnswer;
        try (Raw honest = new Raw(coord)) {
            honest.send(new Message.Hello("honest"));
            byte[] nonce = ((Message.Challenge) honest.read()).nonce();
            recordedAnswer = Authentication.answer(SECRET, nonce, "honest");
            honest.send(new Message.Auth(recordedAnswer));
            assertInstanceOf(Message.Welcome.class, honest.read());
        }
        try (Raw replay = new Raw(coord)) {
            replay.send(new Message.Hello("honest"));
            assertInstanceOf(Message.Challenge.class, replay.read()); // a fresh nonce
            replay.send(new Message.Auth(recordedAnswer));
            Message.Error e = (Message.Error) replay.read();
            assertEquals(io.lockstep.protocol.ErrorCode.AUTH_FAILED, e.code());
        }
    }

    @Test
    void aClientConnectsOverTlsAndAPlaintextClientIsRefusedClearly() throws Exception {
        TestCertificates certs = new TestCertificates();
        Path[] server = certs.issue("coordinator");
        LiveCoordinator coord = coordinator(ServerConfig.ephemeralLoopback()
                .withTls(new ServerConfig.TlsFiles(server[0], server[1], null)));
        onePartyRound(connect(LockstepClient.builder().address(coord.address).clientName("tls").tls(certs.caPem())));

        IOException plain = assertThrows(IOException.class, () -> connect(LockstepClient.builder()
                .address(coord.address).clientName("plain")));
        assertTrue(plain.getMessage().contains("accepts TLS connections only"), plain.getMessage());

        // A client that does not trust the coordinator's certificate refuses it.
        TestCertificates other = new TestCertificates();
        IOException untrusted = assertThrows(IOException.class, () -> connect(LockstepClient.builder()
                .address(coord.address).clientName("wary").tls(other.caPem())));
        assertTrue(untrusted.getMessage().startsWith("TLS with coordinator"), untrusted.getMessage());
    }

    @Test
    void withMutualTlsAClientWithoutACertificateIsRefused() throws Exception {
        TestCertificates certs = new TestCertificates();
        Path[] server = certs.issue("coordinator");
        Path[] client = certs.issue("player");
        LiveCoordinator coord = coordinator(ServerConfig.ephemeralLoopback()
                .withTls(new ServerConfig.TlsFiles(server[0], server[1], certs.caPem())));
        onePartyRound(connect(LockstepClient.builder().address(coord.address).clientName("mtls").tls(certs.caPem())
                .tlsClientCertificate(client[0], client[1])));
        assertThrows(IOException.class, () -> connect(LockstepClient.builder().address(coord.address)
                .clientName("anonymous").tls(certs.caPem())));
    }

    @Test
    void authenticationAndTlsTogether() throws Exception {
        TestCertificates certs = new TestCertificates();
        Path[] server = certs.issue("coordinator");
        LiveCoordinator coord = coordinator(ServerConfig.ephemeralLoopback().withAuthSecret(SECRET)
                .withTls(new ServerConfig.TlsFiles(server[0], server[1], null)));
        onePartyRound(connect(LockstepClient.builder().address(coord.address).clientName("both")
                .tls(certs.caPem()).authSecret(SECRET)));
    }

    /** A hand-driven plaintext peer. */
    private static final class Raw implements AutoCloseable {
        private final Socket socket;
        private final DataInputStream in;

        Raw(LiveCoordinator coord) throws IOException {
            String[] hp = coord.address.split(":");
            socket = new Socket(hp[0], Integer.parseInt(hp[1]));
            socket.setSoTimeout(5000);
            in = new DataInputStream(socket.getInputStream());
        }

        void send(Message m) throws IOException {
            ByteBuf b = Unpooled.buffer();
            FrameEncoder.writeFrame(m, b);
            byte[] bytes = new byte[b.readableBytes()];
            b.readBytes(bytes);
            b.release();
            socket.getOutputStream().write(bytes);
        }

        Message read() throws IOException {
            byte[] body = new byte[in.readInt()];
            in.readFully(body);
            return MessageCodec.decode(Unpooled.wrappedBuffer(body));
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
