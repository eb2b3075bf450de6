import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The floor Lockstep is measured against: a barrier with nothing but the network in it. One selector thread serves
 * PARTIES connections; each party sends one byte to arrive, and when all have, the server sends each one byte back.
 * No framing, names, errors, timeouts or safety: nothing real can be this cheap. The parties are spread over PROCS
 * client JVMs, one selector thread each, as Lockstep's benchmark spreads its parties.
 *
 *   java bench/reference/FloorBarrier.java PARTIES ROUNDS [PROCS]
 *
 * Prints one line: {@code floor parties=N procs=P rounds=R wall_s=... rounds_per_s=... us_per_round=...}, timed from
 * the first round after a warm-up of ROUNDS/10 rounds (5 to 200) to the last.
 */
public final class FloorBarrier {

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("client")) {
            client(Integer.parseInt(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
            return;
        }
        int parties = Integer.parseInt(args[0]);
        int rounds = Integer.parseInt(args[1]);
        int procs = Math.min(parties, args.length > 2 ? Integer.parseInt(args[2]) : 4);
        int warmup = Math.min(200, Math.max(5, rounds / 10));
        ServerSocketChannel server = ServerSocketChannel.open();
        server.bind(new InetSocketAddress("127.0.0.1", 0), 65_535);
        int port = ((InetSocketAddress) server.getLocalAddress()).getPort();
        List<Process> clients = new ArrayList<>();
        String javaCommand = ProcessHandle.current().info().command().orElse("java");
        String source = System.getProperty("jdk.launcher.sourcefile", "bench/reference/FloorBarrier.java");
        for (int p = 0; p < procs; p++) {
            int n = parties / procs + (p < parties % procs ? 1 : 0);
            clients.add(new ProcessBuilder(javaCommand, source, "client", "" + port, "" + n, "" + (warmup + rounds))
                    .inheritIO().start());
        }
        List<SocketChannel> conns = new ArrayList<>();
        while (conns.size() < parties) {
            SocketChannel c = server.accept();
            c.setOption(java.net.StandardSocketOptions.TCP_NODELAY, true);
            c.configureBlocking(false);
            conns.add(c);
        }
        Selector selector = Selector.open();
        for (SocketChannel c : conns) {
            c.register(selector, SelectionKey.OP_READ);
        }
        ByteBuffer in = ByteBuffer.allocate(4096);
        ByteBuffer one = ByteBuffer.allocate(1);
        long start = 0;
        int arrived = 0;
        for (int round = 0; round < warmup + rounds; ) {
            selector.select();
            Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
            while (keys.hasNext()) {
                SelectionKey k = keys.next();
                keys.remove();
                in.clear();
                int read = ((SocketChannel) k.channel()).read(in);
                if (read < 0) {
                    throw new IOException("a party went away");
                }
                arrived += read;
            }
            if (arrived == parties) { // everyone is here: release them all
                arrived = 0;
                for (SocketChannel c : conns) {
                    one.clear();
                    while (one.hasRemaining()) {
                        c.write(one);
                    }
                }
                round++;
                if (round == warmup) {
                    start = System.nanoTime();
                }
            }
        }
        double wall = (System.nanoTime() - start) / 1e9;
        for (Process p : clients) {
            p.waitFor(30, TimeUnit.SECONDS);
        }
        System.out.printf(Locale.ROOT, "floor parties=%d procs=%d rounds=%d wall_s=%.3f rounds_per_s=%.1f us_per_round=%.1f%n",
                parties, procs, rounds, wall, rounds / wall, wall * 1e6 / rounds);
    }

    /** {@code n} parties on one selector thread: each round, every one arrives, then waits for its byte. */
    private static void client(int port, int n, int rounds) throws IOException {
        List<SocketChannel> conns = new ArrayList<>();
        Selector selector = Selector.open();
        for (int i = 0; i < n; i++) {
            SocketChannel c = SocketChannel.open(new InetSocketAddress("127.0.0.1", port));
            c.setOption(java.net.StandardSocketOptions.TCP_NODELAY, true);
            c.configureBlocking(false);
            c.register(selector, SelectionKey.OP_READ);
            conns.add(c);
        }
        ByteBuffer one = ByteBuffer.allocate(1);
        ByteBuffer in = ByteBuffer.allocate(16);
        for (int round = 0; round < rounds; round++) {
            for (SocketChannel c : conns) {
                one.clear();
                while (one.hasRemaining()) {
                    c.write(one);
                }
            }
            int released = 0;
            while (released < n) {
                selector.select();
                Iterator<SelectionKey> keys = selector.selectedKeys().iterator();
                while (keys.hasNext()) {
                    SelectionKey k = keys.next();
                    keys.remove();
                    in.clear();
                    int read = ((SocketChannel) k.channel()).read(in);
                    if (read < 0) {
                        return;
                    }
                    released += read;
                }
            }
        }
    }
}
