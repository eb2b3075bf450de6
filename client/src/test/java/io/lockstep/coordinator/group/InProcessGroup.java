package io.lockstep.coordinator.group;

import io.lockstep.coordinator.server.CoordinatorServer;
import io.lockstep.coordinator.server.ServerConfig;

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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Three nodes of a group in this JVM, on loopback, with their logs on disk: for tests that reach into a node
 * ({@link ReplicatedLog#proposeAsIs}) where a group of processes cannot be reached. Fixed Raft ports and data
 * directories, so {@link #restartAll} brings the same group back from its logs.
 */
final class InProcessGroup implements AutoCloseable {

    private final Path data;
    private final Map<String, String> peers = new LinkedHashMap<>();
    private final CoordinatorServer[] servers = new CoordinatorServer[3];
    private final ReplicatedLog[] logs = new ReplicatedLog[3];
    private final HttpClient http = HttpClient.newHttpClient();

    InProcessGroup() throws Exception {
        data = Files.createTempDirectory("lockstep-inprocess-group-");
        List<ServerSocket> held = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                ServerSocket s = new ServerSocket(0);
                held.add(s);
                peers.put("n" + (i + 1), "127.0.0.1:" + s.getLocalPort());
            }
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
        startAll();
    }

    private void startAll() throws Exception {
        for (int i = 0; i < 3; i++) {
            GroupConfig config = new GroupConfig("n" + (i + 1), peers, data.resolve("n" + (i + 1)), false,
                    GroupConfig.DEFAULT_SNAPSHOT_EVERY);
            logs[i] = new ReplicatedLog(config, "127.0.0.1");
            servers[i] = new CoordinatorServer(ServerConfig.ephemeralLoopback().withHttpPort(0), logs[i]);
            servers[i].start();
        }
    }

    /** Stops every node, then starts them again on their logs. */
    void restartAll() throws Exception {
        stopAll();
        startAll();
    }

    /** Stops every node (each takes a snapshot as it stops, unless told not to). */
    void stopAll() {
        for (CoordinatorServer s : servers) {
            s.stop("stopping the whole group");
        }
    }

    /** Where node {@code i} keeps its log and snapshots. */
    Path dataDir(int i) {
        return data.resolve("n" + (i + 1));
    }

    /** Every node's client address, as a client takes them. */
    String addresses() {
        List<String> a = new ArrayList<>();
        for (CoordinatorServer s : servers) {
            a.add("127.0.0.1:" + s.address().getPort());
        }
        return String.join(",", a);
    }

    /** The members, by id, with their Raft addresses. */
    Map<String, String> peers() {
        return peers;
    }

    /** The node that leads and has taken over, or -1. */
    int leader() {
        for (int i = 0; i < 3; i++) {
            if (logs[i].leads()) {
                return i;
            }
        }
        return -1;
    }

    ReplicatedLog log(int i) {
        return logs[i];
    }

    /** The value of counter {@code name} (its {@code _total}) in node {@code i}'s /metrics, as an operator reads it. */
    long counter(int i, String name) throws IOException, InterruptedException {
        String body = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + servers[i].httpAddress().getPort()
                + "/metrics")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("(?m)^" + name + "_total (\\S+)$").matcher(body);
        if (!m.find()) {
            throw new AssertionError(name + "_total is not in /metrics:\n" + body);
        }
        return (long) Double.parseDouble(m.group(1));
    }

    @Override
    public void close() throws IOException {
        for (CoordinatorServer s : servers) {
            if (s != null) {
                s.stop("test over");
            }
        }
        try (Stream<Path> files = Files.walk(data)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
