package io.lockstep.coordinator.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.lockstep.protocol.BreakCause;
import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.FrameEncoder;
import io.lockstep.protocol.Message;
import io.lockstep.protocol.Outcome;
import io.lockstep.protocol.Protocol;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Throws at least 100,000 hostile frames at a live coordinator — random bytes, valid frames with mutated bytes,
 * truncated frames, absurd lengths, wrong magic and versions, requests before the handshake, repeated handshakes,
 * odd but valid requests — seeded and reproducible ({@code -Dlockstep.fuzz.seed=N}). Throughout, a well-behaved
 * client keeps completing rounds; nothing escapes the pipeline unhandled; the coordinator still serves at the end;
 * and its heap after a full GC is back near where it began.
 */
class FuzzTest {

    private static final long SEED = Long.getLong("lockstep.fuzz.seed", 20261126L);
    private static final int FRAMES = Integer.getInteger("lockstep.fuzz.frames", 100_000);
    private static final int PER_CONNECTION = 20;

    @Test
    void aHundredThousandHostileFramesChangeNothingForAWellBehavedClient() throws Exception {
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ListAppender<ILoggingEvent> captured = new ListAppender<>();
        captured.start();
        root.addAppender(captured);
        CoordinatorServer server = new CoordinatorServer(ServerConfig.ephemeralLoopback()
                .withSessions(new SessionPolicy(300, 200, 2_000)).withHandshakeMillis(2_000)); // fuzzed leases end soon
        InetSocketAddress address = server.start();
        try (WellBehavedPeer good = new WellBehavedPeer(address)) {
            waitForRounds(good, 100);
            long heapBefore = usedHeapAfterGc();
            long fuzzStart = System.nanoTime();

            AtomicLong sent = new AtomicLong();
            ExecutorService pool = Executors.newFixedThreadPool(8);
            List<Future<?>> jobs = new ArrayList<>();
            int connections = FRAMES / PER_CONNECTION + 1;
            for (int c = 0; c < connections; c++) {
                long connectionSeed = SEED * 1_000_003L + c;
                jobs.add(pool.submit(() -> {
                    sent.addAndGet(fuzzOneConnection(address, new Random(connectionSeed)));
                    return null;
                }));
            }
            for (Future<?> f : jobs) {
                f.get(5, TimeUnit.MINUTES);
            }
            pool.shutdown();
            assertTrue(sent.get() >= FRAMES, "sent " + sent.get() + " frames");
            System.out.printf("fuzz: %d frames on %d connections in %.1f s; the well-behaved client passed %d "
                            + "rounds meanwhile, longest pause %d ms%n", sent.get(), connections,
                    (System.nanoTime() - fuzzStart) / 1e9, good.rounds.stream().filter(t -> t >= fuzzStart).count(),
                    good.longestGapMillis(fuzzStart));

            assertNull(good.failure.get(), "the well-behaved client failed");
            assertTrue(good.longestGapMillis(fuzzStart) < 3_000, "the well-behaved client was starved for "
                    + good.longestGapMillis(fuzzStart) + " ms");
            // Let fuzz connections and their leases run out, then compare the heap.
            await("fuzz connections closed and their sessions' leases (2 s) run out").atMost(Duration.ofSeconds(20))
                    .until(() -> server.openConnections() == 1 && server.sessions() == 1);
            assertEquals(1, server.sessions(), "only the well-behaved client's session is left; connections: "
                    + server.openConnections());
            long heapAfter = usedHeapAfterGc();
            if (System.getProperty("lockstep.fuzz.histogram") != null) {
                Process j = new ProcessBuilder("jcmd", "" + ProcessHandle.current().pid(), "GC.class_histogram")
                        .redirectErrorStream(true).start();
                String h = new String(j.getInputStream().readAllBytes());
                System.out.println(h.lines().limit(25).reduce("", (a, b) -> a + "\n" + b));
            }
            System.out.printf("fuzz: heap after full GC %d KiB before, %d KiB after%n", heapBefore / 1024,
                    heapAfter / 1024);
            assertTrue(heapAfter - heapBefore < 8L << 20, "heap grew from " + heapBefore + " to " + heapAfter);
            int roundsBefore = good.rounds.size();
            waitForRounds(good, roundsBefore + 100);
        } finally {
            server.stop("test finished");
            root.detachAppender(captured);
        }
        List<String> bad = captured.list.stream()
                .filter(e -> e.getLevel().isGreaterOrEqual(Level.ERROR)
                        || e.getFormattedMessage().contains("reached at the tail of the pipeline"))
                .map(e -> e.getLoggerName() + ": " + e.getFormattedMessage()).toList();
        assertEquals(List.of(), bad, "errors escaped or were logged as unexpected");
    }

    private static void waitForRounds(WellBehavedPeer good, int n) {
        await("the well-behaved client at round " + n).atMost(Duration.ofSeconds(20))
                .until(() -> good.failure.get() != null || good.rounds.size() >= n);
        assertNull(good.failure.get(), "the well-behaved client failed");
    }

    /** Heap still in use after a full collection, as the collector itself reports it. */
    private static long usedHeapAfterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc(); // a full, stop-the-world collection: its usage figures are final when it returns
        }
        long used = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP && pool.getCollectionUsage() != null) {
                used += pool.getCollectionUsage().getUsed();
            }
        }
        return used;
    }

    /** One connection's worth of hostile input; returns the number of frames written. */
    private static int fuzzOneConnection(InetSocketAddress address, Random rnd) {
        int written = 0;
        try (Socket s = new Socket(address.getAddress(), address.getPort())) {
            s.setSoTimeout(100);
            s.setSoLinger(true, 0);
            OutputStream out = s.getOutputStream();
            boolean handshake = rnd.nextInt(3) > 0;
            if (handshake) {
                out.write(frame(new Message.Hello("fuzz-" + rnd.nextInt(1000))));
                written++;
            }
            for (int i = written; i < PER_CONNECTION; i++) {
                out.write(hostile(rnd));
                written++;
            }
            drain(s.getInputStream());
        } catch (IOException e) {
            // the coordinator closed the connection, as it should after a bad frame
        }
        return Math.max(written, PER_CONNECTION); // frames after a close count as sent: they hit a closed door
    }

    private static void drain(InputStream in) {
        byte[] buf = new byte[4096];
        try {
            while (in.read(buf) >= 0) {
                // discard
            }
        } catch (IOException e) {
            // timeout or reset
        }
    }

    private static byte[] hostile(Random rnd) {
        byte[] valid = frame(randomMessage(rnd));
        return switch (rnd.nextInt(9)) {
            case 0 -> randomBytes(rnd, 1 + rnd.nextInt(64));
            case 1, 2 -> { // a valid frame with a byte mutated
                valid[rnd.nextInt(valid.length)] ^= (byte) (1 + rnd.nextInt(255));
                yield valid;
            }
            case 3 -> java.util.Arrays.copyOf(valid, rnd.nextInt(valid.length)); // truncated
            case 4 -> { // an absurd length prefix
                int[] lengths = {0, -1, Integer.MAX_VALUE, 0x7fff_fff0, Protocol.DEFAULT_MAX_FRAME_BYTES + 1};
                ByteBuf b = Unpooled.buffer().writeInt(lengths[rnd.nextInt(lengths.length)]).writeByte(rnd.nextInt(256));
                yield bytes(b);
            }
            case 5 -> frame(new Message.Hello(rnd.nextInt(), rnd.nextInt(4), "bad magic or version"));
            case 6 -> frame(new Message.Hello("again")); // a repeated handshake, or one out of place
            default -> valid; // odd but well-formed requests
        };
    }

    private static Message randomMessage(Random rnd) {
        long id = rnd.nextInt(5) == 0 ? 0 : 1 + rnd.nextInt(50);
        String barrier = rnd.nextInt(10) == 0 ? "" : "b" + rnd.nextInt(5);
        return switch (rnd.nextInt(16)) {
            case 0 -> new Message.Declare(id, barrier, rnd.nextInt(6) - 1);
            case 1, 2 -> new Message.Await(id, barrier, rnd.nextInt(5) - 2L, rnd.nextBoolean(), rnd.nextBoolean(),
                    randomBytes(rnd, rnd.nextInt(40)));
            case 3 -> new Message.Cancel(id);
            case 4 -> new Message.ActionDone(id, rnd.nextBoolean() ? null : "x");
            case 5 -> new Message.Abort(id, barrier);
            case 6 -> new Message.Reset(id, barrier);
            case 7 -> new Message.Query(id, barrier);
            case 8 -> new Message.Ping(rnd.nextLong());
            case 9 -> new Message.Goodbye();
            case 10 -> new Message.Auth(randomBytes(rnd, 32));
            case 11 -> new Message.Welcome(1, id, 10, "x");
            case 12 -> new Message.Released(id, 1, 0, List.of(new Message.Contribution("p", new byte[1])));
            case 13 -> new Message.Failed(id, Outcome.BROKEN, BreakCause.ABORT, 1, "p", "m");
            case 14 -> new Message.Error(id, ErrorCode.INTERNAL, "e");
            default -> new Message.Hello(Protocol.MAGIC, Protocol.VERSION, "h", rnd.nextInt(), rnd.nextLong(),
                    rnd.nextLong());
        };
    }

    private static byte[] frame(Message m) {
        ByteBuf b = Unpooled.buffer();
        FrameEncoder.writeFrame(m, b);
        return bytes(b);
    }

    private static byte[] bytes(ByteBuf b) {
        byte[] out = new byte[b.readableBytes()];
        b.readBytes(out);
        b.release();
        return out;
    }

    private static byte[] randomBytes(Random rnd, int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        return b;
    }
}
