package io.lockstep.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A coordinator group of {@code size} processes on loopback, for the benchmarks: fixed ports (a restarted node comes
 * back where it was), a data directory each, HTTP on, so that {@code /health} says who leads.
 */
final class LocalGroup implements AutoCloseable {

    private static final Pattern LISTENING = Pattern.compile("listening on \\S+:(\\d+)");

    private final List<String> base;
    private final String raftLog;
    private final boolean peerTls;
    private final Path data;
    private final int[] clientPorts;
    private final int[] httpPorts;
    private final String peers;
    private final Process[] nodes;
    private final Path[] logs;
    private final HttpClient http = HttpClient.newHttpClient();

    /**
     * {@code base}: the coordinator's command line up to its own options (java, JVM flags, -jar, the jar, ...);
     * {@code peerTls}: mutual TLS between the nodes, with certificates {@code bin/peer-certs} makes for them.
     */
    LocalGroup(List<String> base, int size, String raftLog, boolean peerTls) throws Exception {
        this.base = base;
        this.raftLog = raftLog;
        this.peerTls = peerTls;
        this.data = Files.createTempDirectory("lockstep-bench-group-");
        int[] ports = freePorts(3 * size);
        clientPorts = new int[size];
        httpPorts = new int[size];
        List<String> p = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            clientPorts[i] = ports[i];
            httpPorts[i] = ports[2 * size + i];
            p.add("n" + (i + 1) + "=127.0.0.1:" + ports[size + i]);
        }
        peers = String.join(",", p);
        if (peerTls) {
            List<String> certs = new ArrayList<>(List.of(peerCertsScript().toString(), data.resolve("certs").toString()));
            for (int i = 0; i < size; i++) {
                certs.add("n" + (i + 1) + "=127.0.0.1");
            }
            Process made = new ProcessBuilder(certs).redirectErrorStream(true).start();
            String said = new String(made.getInputStream().readAllBytes());
            if (made.waitFor() != 0) {
                throw new IOException("bin/peer-certs failed: " + said);
            }
        }
        nodes = new Process[size];
        logs = new Path[size];
        for (int i = 0; i < size; i++) {
            launch(i);
        }
        for (int i = 0; i < size; i++) {
            awaitListening(i);
        }
    }

    /** The checkout's {@code bin/peer-certs}, found from this jar ({@code bench/target/lockstep-bench.jar}). */
    private static Path peerCertsScript() throws Exception {
        Path self = Path.of(LocalGroup.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path script = self.getParent().resolve("../../bin/peer-certs").normalize();
        if (!Files.isExecutable(script)) {
            throw new IOException("peer TLS needs " + script + " (and openssl)");
        }
        return script;
    }

    /** {@code n} distinct ports free now (held together while they are chosen). */
    static int[] freePorts(int n) throws IOException {
        List<ServerSocket> held = new ArrayList<>();
        int[] ports = new int[n];
        try {
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0);
                held.add(s);
                ports[i] = s.getLocalPort();
            }
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
        return ports;
    }

    private void launch(int i) throws IOException {
        List<String> cmd = new ArrayList<>(base);
        cmd.addAll(List.of("--port", "" + clientPorts[i], "--http-port", "" + httpPorts[i], "--node-id", "n" + (i + 1),
                "--peers", peers, "--data-dir", data.resolve("n" + (i + 1)).toString(), "--raft-log", raftLog));
        if (peerTls) {
            Path certs = data.resolve("certs");
            cmd.addAll(List.of("--peer-tls-cert", certs.resolve("n" + (i + 1) + ".pem").toString(),
                    "--peer-tls-key", certs.resolve("n" + (i + 1) + "-key.pem").toString(),
                    "--peer-tls-ca", certs.resolve("ca.pem").toString()));
        }
        logs[i] = Files.createTempFile("lockstep-bench-node-", ".log");
        nodes[i] = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(logs[i].toFile()).start();
    }

    private void awaitListening(int i) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < end) {
            if (Files.readAllLines(logs[i]).stream().anyMatch(l -> LISTENING.matcher(l).find())) {
                return;
            }
            if (!nodes[i].isAlive()) {
                break;
            }
            Thread.sleep(20);
        }
        throw new IOException("node n" + (i + 1) + " did not start: " + Files.readString(logs[i]));
    }

    /** Every node's client address, as a client takes them. */
    String addresses() {
        List<String> a = new ArrayList<>();
        for (int port : clientPorts) {
            a.add("127.0.0.1:" + port);
        }
        return String.join(",", a);
    }

    List<Process> processes() {
        return List.of(nodes);
    }

    /** The node whose /health says it leads, or -1. */
    int leader() {
        for (int i = 0; i < nodes.length; i++) {
            if (!nodes[i].isAlive()) {
                continue;
            }
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPorts[i]
                        + "/health")).timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.body().startsWith("ok: leader")) {
                    return i;
                }
            } catch (IOException e) {
                // not answering: not the leader
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
        }
        return -1;
    }

    /** SIGKILL of node {@code i}. */
    void kill(int i) throws InterruptedException {
        nodes[i].destroyForcibly();
        nodes[i].waitFor(10, TimeUnit.SECONDS);
    }

    /** Starts node {@code i} again, on its ports and its data. */
    void restart(int i) throws Exception {
        launch(i);
        awaitListening(i);
    }

    @Override
    public void close() throws Exception {
        for (Process p : nodes) {
            if (p != null) {
                p.destroy();
            }
        }
        for (Process p : nodes) {
            if (p != null && !p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
        deleteTree(data);
    }

    /** Deletes {@code dir} and everything in it. */
    static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
