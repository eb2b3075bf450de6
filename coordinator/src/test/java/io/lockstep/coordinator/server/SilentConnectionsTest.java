package io.lockstep.coordinator.server;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** 5,000 connections that open and say nothing are all closed after the handshake deadline; a real client works on. */
class SilentConnectionsTest {

    private static final int SILENT = 5_000;
    private static final long DEADLINE_MS = 1_000;

    @Test
    void fiveThousandSilentConnectionsAreClosedAfterTheHandshakeDeadline() throws Exception {
        CoordinatorServer server = new CoordinatorServer(ServerConfig.ephemeralLoopback().withHandshakeMillis(DEADLINE_MS));
        InetSocketAddress address = server.start();
        List<SocketChannel> silent = new ArrayList<>();
        try (WellBehavedPeer good = new WellBehavedPeer(address); Selector selector = Selector.open()) {
            long start = System.nanoTime();
            for (int i = 0; i < SILENT; i++) {
                SocketChannel ch = SocketChannel.open(new InetSocketAddress("127.0.0.1", address.getPort()));
                ch.configureBlocking(false);
                ch.register(selector, SelectionKey.OP_READ);
                silent.add(ch);
            }
            long opened = (System.nanoTime() - start) / 1_000_000;
            // Each gets an ERROR frame and then end-of-stream; count the ends.
            int closed = 0;
            ByteBuffer buf = ByteBuffer.allocate(512);
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DEADLINE_MS + 20_000);
            while (closed < SILENT && System.nanoTime() < end) {
                selector.select(200);
                for (Iterator<SelectionKey> it = selector.selectedKeys().iterator(); it.hasNext(); ) {
                    SelectionKey k = it.next();
                    it.remove();
                    buf.clear();
                    int n;
                    try {
                        n = ((SocketChannel) k.channel()).read(buf);
                    } catch (IOException e) {
                        n = -1;
                    }
                    if (n < 0) {
                        k.cancel();
                        closed++;
                    }
                }
            }
            long tookMillis = (System.nanoTime() - start) / 1_000_000;
            System.out.printf("%d silent connections opened in %d ms, all closed by the coordinator %d ms after the "
                    + "first opened (deadline %d ms); the real client passed %d rounds meanwhile%n", SILENT, opened,
                    tookMillis, DEADLINE_MS, good.rounds.size());
            assertEquals(SILENT, closed, "silent connections closed by the coordinator");
            assertTrue(tookMillis >= DEADLINE_MS, "none closed before the deadline");
            assertNull(good.failure.get());
            assertTrue(good.longestGapMillis(start) < 3_000, "the real client was starved");
            assertEquals(1, server.openConnections(), "only the real client's connection remains");
        } finally {
            for (SocketChannel ch : silent) {
                ch.close();
            }
            server.stop("test finished");
        }
    }
}
