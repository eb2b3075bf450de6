package io.lockstep.launch;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A coordinator group of separate processes on loopback, started as an operator starts one: node {@code i} is
 * {@code n<i+1>}, with fixed ports (a restarted node comes back where it was), its data directory and its output
 * file under one directory. Nodes can be killed (SIGKILL), stopped (SIGTERM) and started again. Who leads is read
 * from the nodes' own log lines ({@code node n2 leads the group}), so it works with HTTP off too.
 *
 * <p>The demo ({@code ./demo --group}), the benchmarks and the group tests all start their groups here.
 * Not thread-safe: one thread drives it.
 */
public final class LocalGroup implements AutoCloseable {

    private static final Pattern LISTENING = Pattern.compile("listening on \\S+:(\\d+)");
    /** What a node logs when it takes or loses the lead; the line starts with its time of day. */
    private static final Pattern LEADS = Pattern.compile("^(\\d\\d:\\d\\d:\\d\\d\\.\\d{3}) .*node (n\\d+) "
            + "(leads the group|no longer leads)");
    private static final Pattern LEADS_ANYWHERE = Pattern.compile("node (n\\d+) leads the group");

    /** How to start the group; every field has a default but the launch command. */
    public static final class Settings {
        private final List<String> launch;
        private int size = 3;
        private Path dir;
        private List<String> options = List.of();
        private IntFunction<List<String>> nodeOptions = i -> List.of();
        private IntFunction<Map<String, String>> environment = i -> Map.of();
        private boolean http = true;
        private boolean keepDir;

        /**
         * {@code launch}: the command up to the coordinator's own options, e.g. {@code java -XX:+UseSerialGC -jar
         * coordinator.jar} (the JVM's options and the jar are the caller's choice).
         */
        public Settings(List<String> launch) {
            this.launch = List.copyOf(launch);
        }

        /** The number of nodes (default 3). */
        public Settings size(int size) {
            this.size = size;
            return this;
        }

        /** Where the nodes' data directories and output files go (default: a new temporary directory). */
        public Settings dir(Path dir) {
            this.dir = dir;
            return this;
        }

        /** Coordinator options every node gets, after the group's own. */
        public Settings options(List<String> options) {
            this.options = List.copyOf(options);
            return this;
        }

        /** Coordinator options of node {@code i} (its peer TLS certificate, say); see also {@link #nodeOptions(int, List)}. */
        public Settings nodeOptions(IntFunction<List<String>> nodeOptions) {
            this.nodeOptions = nodeOptions;
            return this;
        }

        /** What node {@code i} has in its environment beyond this JVM's. */
        public Settings environment(IntFunction<Map<String, String>> environment) {
            this.environment = environment;
            return this;
        }

        /** Whether the nodes serve HTTP (/health, /metrics, ...) on ports of their own (default: yes). */
        public Settings http(boolean http) {
            this.http = http;
            return this;
        }

        /** Keep {@link #dir} and the output files on {@link #close} (the data directories go anyway). */
        public Settings keepDir(boolean keepDir) {
            this.keepDir = keepDir;
            return this;
        }
    }

    private final Settings settings;
    private final Path dir;
    private final int[] clientPorts;
    private final int[] raftPorts;
    private final int[] httpPorts;
    private final String peers;
    private final List<List<String>> nodeOptions = new ArrayList<>();
    private final ChildProcess[] nodes;
    private final HttpClient http = HttpClient.newHttpClient();

    /** Chooses the ports and starts every node; returns once each listens for clients. */
    public static LocalGroup start(Settings settings) throws IOException, InterruptedException {
        LocalGroup g = new LocalGroup(settings);
        try {
            g.startAll();
        } catch (IOException | InterruptedException | RuntimeException e) {
            g.close();
            throw e;
        }
        return g;
    }

    private LocalGroup(Settings settings) throws IOException {
        this.settings = settings;
        this.dir = settings.dir != null ? Files.createDirectories(settings.dir)
                : Files.createTempDirectory("lockstep-group-");
        int size = settings.size;
        int[] ports = freePorts(3 * size);
        clientPorts = new int[size];
        raftPorts = new int[size];
        httpPorts = new int[size];
        List<String> p = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            clientPorts[i] = ports[i];
            raftPorts[i] = ports[size + i];
            httpPorts[i] = ports[2 * size + i];
            p.add(id(i) + "=127.0.0.1:" + raftPorts[i]);
            nodeOptions.add(settings.nodeOptions.apply(i));
        }
        peers = String.join(",", p);
        nodes = new ChildProcess[size];
    }

    /** Node {@code i}'s id: {@code n<i+1>}. */
    public static String id(int i) {
        return "n" + (i + 1);
    }

    public int size() {
        return nodes.length;
    }

    /** Starts every node that is not running, all at once, and waits until each listens. */
    public void startAll() throws IOException, InterruptedException {
        for (int i = 0; i < nodes.length; i++) {
            if (!alive(i)) {
                launch(i);
            }
        }
        for (int i = 0; i < nodes.length; i++) {
            awaitListening(i);
        }
    }

    /** Starts (or restarts) node {@code i}, on its ports and its data, and waits until it listens. */
    public void start(int i) throws IOException, InterruptedException {
        launch(i);
        awaitListening(i);
    }

    /** Node {@code i}'s own options from its next start on (another certificate, say). */
    public void nodeOptions(int i, List<String> options) {
        nodeOptions.set(i, List.copyOf(options));
    }

    private void launch(int i) throws IOException {
        List<String> cmd = new ArrayList<>(settings.launch);
        cmd.addAll(List.of("--bind", "127.0.0.1", "--port", "" + clientPorts[i]));
        cmd.addAll(settings.http ? List.of("--http-port", "" + httpPorts[i]) : List.of("--no-http"));
        cmd.addAll(List.of("--node-id", id(i), "--peers", peers, "--data-dir", dataDir(i).toString()));
        cmd.addAll(settings.options);
        cmd.addAll(nodeOptions.get(i));
        nodes[i] = new ChildProcess(id(i), cmd, logFile(i), settings.environment.apply(i));
    }

    private void awaitListening(int i) throws IOException, InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            boolean exited = !alive(i); // before reading: what it wrote before exiting is in the file
            if (nodes[i].allLines().stream().anyMatch(l -> LISTENING.matcher(l).find())) {
                return;
            }
            if (exited || System.nanoTime() > end) {
                throw new IOException(id(i) + (exited ? " exited (" + nodes[i].process().exitValue() + ")"
                        : " did not listen within 60 s") + "; its output: " + String.join(" / ", nodes[i].allLines()));
            }
            Thread.sleep(20);
        }
    }

    /** SIGKILL of node {@code i}: no goodbye to anyone. */
    public void kill(int i) throws IOException, InterruptedException {
        if (!nodes[i].process().destroyForcibly().waitFor(10, TimeUnit.SECONDS)) {
            throw new IOException(id(i) + " still runs 10 s after SIGKILL");
        }
    }

    /** SIGTERM of node {@code i}, as an operator stops it; returns its exit code once it has stopped. */
    public int stop(int i) throws IOException, InterruptedException {
        nodes[i].process().destroy();
        if (!nodes[i].process().waitFor(20, TimeUnit.SECONDS)) {
            throw new IOException(id(i) + " did not stop within 20 s of SIGTERM");
        }
        return nodes[i].process().exitValue();
    }

    public boolean alive(int i) {
        return nodes[i] != null && nodes[i].isAlive();
    }

    /** Node {@code i}'s process and its output. */
    public ChildProcess process(int i) {
        return nodes[i];
    }

    /** Every line node {@code i} wrote since it last started. */
    public List<String> log(int i) throws IOException {
        return nodes[i].allLines();
    }

    public Path dataDir(int i) {
        return dir.resolve(id(i));
    }

    public Path logFile(int i) {
        return dir.resolve(id(i) + ".log");
    }

    /** The members, by id, with the address of their Raft traffic (what {@code --peers} says). */
    public Map<String, String> peers() {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < nodes.length; i++) {
            m.put(id(i), "127.0.0.1:" + raftPorts[i]);
        }
        return m;
    }

    /** Node {@code i}'s client address. */
    public String address(int i) {
        return "127.0.0.1:" + clientPorts[i];
    }

    /** Every node's client address, comma-separated, as a client takes them. */
    public String addresses() {
        List<String> a = new ArrayList<>();
        for (int i = 0; i < nodes.length; i++) {
            a.add(address(i));
        }
        return String.join(",", a);
    }

    /** Node {@code i}'s HTTP port (when {@link Settings#http} is on). */
    public int httpPort(int i) {
        return httpPorts[i];
    }

    /** Node {@code i}'s answer to GET {@code path} on its HTTP port. */
    public HttpResponse<String> get(int i, String path) throws IOException, InterruptedException {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPorts[i] + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * The node that leads now as the nodes' logs say — the one alive whose last word on it is that it leads, the
     * latest if several say so — or -1.
     */
    public int leader() throws IOException {
        int best = -1;
        LocalTime bestAt = null;
        for (int i = 0; i < nodes.length; i++) {
            if (!alive(i)) {
                continue;
            }
            String last = null;
            LocalTime at = null;
            for (String line : nodes[i].allLines()) {
                Matcher m = LEADS.matcher(line);
                if (m.find()) {
                    last = m.group(3);
                    at = time(m.group(1));
                } else if (LEADS_ANYWHERE.matcher(line).find()) { // another log format: no time to compare
                    last = "leads the group";
                    at = LocalTime.MIN;
                }
            }
            if ("leads the group".equals(last) && (bestAt == null || at.isAfter(bestAt))) {
                best = i;
                bestAt = at;
            }
        }
        return best;
    }

    /** {@link #leader}, waiting up to {@code within} for one; IOException if none leads by then. */
    public int awaitLeader(Duration within) throws IOException, InterruptedException {
        long end = System.nanoTime() + within.toNanos();
        while (true) {
            int l = leader();
            if (l >= 0) {
                return l;
            }
            if (System.nanoTime() > end) {
                throw new IOException("no node of the group leads after " + within.toSeconds() + " s; their output "
                        + "is in " + dir);
            }
            Thread.sleep(20);
        }
    }

    private static LocalTime time(String s) {
        try {
            return LocalTime.parse(s);
        } catch (DateTimeParseException e) {
            return LocalTime.MIN;
        }
    }

    /** Kills every node; deletes their data directories, and the whole directory unless it is to be kept. */
    @Override
    public void close() {
        for (ChildProcess p : nodes) {
            if (p != null) {
                p.process().destroyForcibly();
            }
        }
        for (ChildProcess p : nodes) {
            if (p != null) {
                try {
                    p.process().waitFor(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        List<Path> gone = new ArrayList<>();
        if (settings.keepDir) {
            for (int i = 0; i < nodes.length; i++) {
                gone.add(dataDir(i));
            }
        } else {
            gone.add(dir);
        }
        for (Path d : gone) {
            deleteTree(d);
        }
    }

    /** Deletes {@code dir} and everything in it, if it is there. */
    public static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            System.err.println("cannot delete " + dir + ": " + e.getMessage());
        }
    }

    /** {@code n} distinct TCP ports free now (held together while they are chosen). */
    public static int[] freePorts(int n) throws IOException {
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
}
