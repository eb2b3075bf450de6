package io.lockstep.player;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A TCP proxy for tests that misbehaves on request, as a network does:
 * <ul>
 * <li>{@link #latency}: every chunk is delayed by a base time plus random jitter, in order;</li>
 * <li>{@link #cut}: nothing passes either way and nothing is closed — a partition, as both ends see it: no FIN,
 * no RST, just silence — until {@link #restore}, when what was held flows on (TCP would have retransmitted it);</li>
 * <li>{@link #sever}: every connection is reset at once.</li>
 * </ul>
 * Blocking sockets, two threads per direction per connection; fine for tests.
 */
final class ChaosProxy implements AutoCloseable {

    private final ServerSocket server;
    private volatile InetSocketAddress target;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final Object gate = new Object();
    private final Random random = new Random(11);
    private volatile boolean cut;
    private volatile int baseMillis;
    private volatile int jitterMillis;
    private volatile boolean closed;

    ChaosProxy(InetAddress bind, InetSocketAddress target) throws IOException {
        this.target = target;
        this.server = new ServerSocket(0, 512, bind);
        Thread acceptor = new Thread(this::acceptLoop, "chaos-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return server.getLocalPort();
    }

    /** Where new connections go from now on. */
    void retarget(InetSocketAddress newTarget) {
        target = newTarget;
    }

    void latency(int base, int jitter) {
        baseMillis = base;
        jitterMillis = jitter;
    }

    void cut() {
        cut = true;
    }

    void restore() {
        synchronized (gate) {
            cut = false;
            gate.notifyAll();
        }
    }

    void sever() {
        for (Socket s : sockets) {
            try {
                s.setSoLinger(true, 0); // close with RST, not FIN
                s.close();
            } catch (IOException e) {
                // already closed by its own end
            }
        }
        sockets.clear();
    }

    @Override
    public void close() throws IOException {
        closed = true;
        restore();
        server.close();
        for (Socket s : sockets) {
            s.close();
        }
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket client = server.accept();
                Socket upstream = new Socket();
                upstream.connect(target, 5000);
                client.setTcpNoDelay(true);
                upstream.setTcpNoDelay(true);
                sockets.add(client);
                sockets.add(upstream);
                pump(client, upstream);
                pump(upstream, client);
            } catch (IOException e) {
                // the proxy closed, or the target refused: the client sees its connection drop
            }
        }
    }

    private record Chunk(long dueNanos, byte[] bytes) {
    }

    private void pump(Socket from, Socket to) {
        LinkedBlockingQueue<Chunk> queue = new LinkedBlockingQueue<>();
        Chunk eof = new Chunk(0, null);
        Thread reader = new Thread(() -> {
            long lastDue = 0;
            try (InputStream in = from.getInputStream()) {
                byte[] buf = new byte[16 * 1024];
                for (int n; (n = in.read(buf)) > 0; ) {
                    int delay = baseMillis + (jitterMillis == 0 ? 0 : random.nextInt(2 * jitterMillis + 1) - jitterMillis);
                    long due = Math.max(lastDue, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Math.max(0, delay)));
                    lastDue = due;
                    queue.add(new Chunk(due, java.util.Arrays.copyOf(buf, n)));
                }
            } catch (IOException ignored) {
                // closed or reset
            }
            queue.add(eof);
        }, "chaos-read");
        Thread writer = new Thread(() -> {
            try (OutputStream out = to.getOutputStream()) {
                while (true) {
                    Chunk c = queue.take();
                    waitWhileCut();
                    if (c == eof) {
                        break;
                    }
                    long wait = c.dueNanos() - System.nanoTime();
                    if (wait > 0) {
                        TimeUnit.NANOSECONDS.sleep(wait);
                    }
                    waitWhileCut();
                    out.write(c.bytes());
                    out.flush();
                }
            } catch (IOException | InterruptedException ignored) {
                // closed or reset
            }
            try {
                to.shutdownOutput();
            } catch (IOException ignored) {
                // already closed
            }
        }, "chaos-write");
        reader.setDaemon(true);
        writer.setDaemon(true);
        reader.start();
        writer.start();
    }

    private void waitWhileCut() throws InterruptedException {
        synchronized (gate) {
            while (cut && !closed) {
                gate.wait();
            }
        }
    }
}
