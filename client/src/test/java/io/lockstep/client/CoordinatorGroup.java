package io.lockstep.client;

import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * A coordinator group of separate JVMs on loopback, started from the real jar as an operator would start it: node
 * {@code i} is {@code n<i+1>}, with fixed ports (so a restarted node comes back where it was), its own data
 * directory, and mutual TLS between the nodes (certificates of a throwaway group CA). Nodes can be killed (SIGKILL)
 * and restarted, also with other certificates.
 */
final class CoordinatorGroup implements AutoCloseable {

    static final File JAR = new File("../coordinator/target/lockstep-coordinator.jar");
    /** C1 only and the serial collector: four JVMs or more share two cores here, and start faster so. */
    private static final List<String> JVM = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx256m");
    private static final Pattern LEADS = Pattern.compile("^(\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) .*node (n\\d+) "
            + "(leads the group|no longer leads)");

    private final Path data;
    private final int[] clientPorts;
    private final int[] httpPorts;
    private final String peers;
    private final List<String> jvm;
    private final java.util.function.IntFunction<java.util.Map<String, String>> environment;
    private final List<String> options;
    private final Proc[] nodes;
    /** The group's CA, and each node's peer TLS options (its certificate and key, and the CA). */
    private final TestCertificates ca;
    private final List<List<String>> peerTls = new ArrayList<>();

    CoordinatorGroup(int size, String... options) throws Exception {
        this(size, List.of(), options);
    }

    /** {@code jvm}: JVM options of every node beyond the usual ones ({@code -Draft.*} go to Ratis). */
    CoordinatorGroup(int size, List<String> jvm, String... options) throws Exception {
        this(size, jvm, node -> java.util.Map.of(), options);
    }

    /** {@code environment}: what each node ({@code 0..size-1}) has in its environment beyond this JVM's. */
    CoordinatorGroup(int size, List<String> jvm, java.util.function.IntFunction<java.util.Map<String, String>> environment,
                     String... options) throws Exception {
        assertTrue(JAR.isFile(), "build the coordinator jar first: " + JAR.getAbsolutePath());
        this.data = Files.createTempDirectory("lockstep-group-");
        this.jvm = jvm;
        this.environment = environment;
        this.options = List.of(options);
        int[] ports = freePorts(3 * size);
        this.clientPorts = new int[size];
        this.httpPorts = new int[size];
        List<String> p = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            clientPorts[i] = ports[i];
            httpPorts[i] = ports[2 * size + i];
            p.add("n" + (i + 1) + "=127.0.0.1:" + ports[size + i]);
        }
        this.peers = String.join(",", p);
        this.nodes = new Proc[size];
        this.ca = new TestCertificates();
        for (int i = 0; i < size; i++) {
            Path[] own = ca.issue("n" + (i + 1));
            peerTls.add(peerTlsOptions(own[0], own[1], ca.caPem()));
        }
        startAll();
    }

    private static int[] freePorts(int n) throws IOException {
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

    static List<String> peerTlsOptions(Path cert, Path key, Path ca) {
        return List.of("--peer-tls-cert", cert.toString(), "--peer-tls-key", key.toString(), "--peer-tls-ca",
                ca.toString());
    }

    /** The group's CA: it signed every node's certificate. */
    TestCertificates ca() {
        return ca;
    }

    /** Node {@code i}'s peer TLS options from its next start on (another CA's certificate, say). */
    void usePeerTls(int i, List<String> options) {
        peerTls.set(i, options);
    }

    /** Starts (or restarts) node {@code i} and waits until it listens. */
    void start(int i) throws Exception {
        launch(i);
        nodes[i].expect(Pattern.compile("listening on"), 60);
    }

    /** Starts every node that is not running, all at once, and waits until they listen. */
    void startAll() throws Exception {
        for (int i = 0; i < nodes.length; i++) {
            if (nodes[i] == null || !alive(i)) {
                launch(i);
            }
        }
        for (Proc p : nodes) {
            p.expect(Pattern.compile("listening on"), 60);
        }
    }

    private void launch(int i) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Proc.java()));
        cmd.addAll(JVM);
        cmd.addAll(jvm);
        cmd.addAll(List.of("-jar", JAR.getPath(), "--bind", "127.0.0.1", "--port", "" + clientPorts[i],
                "--http-port", "" + httpPorts[i],
                "--node-id", "n" + (i + 1), "--peers", peers, "--data-dir", data.resolve("n" + (i + 1)).toString()));
        cmd.addAll(peerTls.get(i));
        cmd.addAll(options);
        nodes[i] = new Proc(cmd, environment.apply(i));
    }

    /** SIGKILL of node {@code i}: no goodbye to anyone. */
    void kill(int i) throws InterruptedException {
        nodes[i].process.destroyForcibly();
        assertTrue(nodes[i].process.waitFor(10, TimeUnit.SECONDS));
    }

    /** SIGTERM of node {@code i}, as an operator stops it; returns its exit code. */
    int stop(int i) throws InterruptedException {
        nodes[i].process.destroy();
        assertTrue(nodes[i].process.waitFor(20, TimeUnit.SECONDS), "n" + (i + 1) + " stops on SIGTERM");
        return nodes[i].process.exitValue();
    }

    boolean alive(int i) {
        return nodes[i].process.isAlive();
    }

    int size() {
        return nodes.length;
    }

    /** The members, by id, with the address of their Raft traffic. */
    java.util.Map<String, String> peers() {
        java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
        for (String p : peers.split(",")) {
            m.put(p.substring(0, p.indexOf('=')), p.substring(p.indexOf('=') + 1));
        }
        return m;
    }

    /** Every node's client address, as a client takes them. */
    String addresses() {
        List<String> a = new ArrayList<>();
        for (int port : clientPorts) {
            a.add("127.0.0.1:" + port);
        }
        return String.join(",", a);
    }

    /**
     * The node that leads now, as the nodes' logs say (the one alive whose last word on it is that it leads, the
     * latest if several do), waiting up to {@code seconds} for one.
     */
    int leader(int seconds) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            int best = -1;
            LocalTime bestAt = null;
            for (int i = 0; i < nodes.length; i++) {
                if (!alive(i)) {
                    continue;
                }
                String last = null;
                LocalTime at = null;
                for (String line : nodes[i].lines()) {
                    Matcher m = LEADS.matcher(line);
                    if (m.find()) {
                        last = m.group(3);
                        at = LocalTime.parse(m.group(1));
                    }
                }
                if ("leads the group".equals(last) && (bestAt == null || at.isAfter(bestAt))) {
                    best = i;
                    bestAt = at;
                }
            }
            if (best >= 0) {
                return best;
            }
            if (System.nanoTime() > end) {
                fail("no node of the group leads after " + seconds + " s");
            }
            Thread.sleep(20);
        }
    }

    /** Node {@code i}'s answer to GET {@code path} on its HTTP port. */
    String http(int i, String path) throws IOException, InterruptedException {
        return get(i, path).body();
    }

    private java.net.http.HttpResponse<String> get(int i, String path) throws IOException, InterruptedException {
        return java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + httpPorts[i] + path))
                        .timeout(java.time.Duration.ofSeconds(10)).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
    }

    /** Node {@code i}'s answer to GET {@code path}: the status code, a space, the body. */
    String httpStatus(int i, String path) throws IOException, InterruptedException {
        java.net.http.HttpResponse<String> r = get(i, path);
        return r.statusCode() + " " + r.body();
    }

    /** Node {@code i}'s client address. */
    String address(int i) {
        return "127.0.0.1:" + clientPorts[i];
    }

    /** What node {@code i} logged. */
    List<String> log(int i) throws IOException {
        return nodes[i].lines();
    }

    @Override
    public void close() throws IOException {
        for (Proc p : nodes) {
            if (p != null) {
                p.process.destroyForcibly();
            }
        }
        for (Path dir : List.of(data, ca.dir)) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
        }
    }
}
