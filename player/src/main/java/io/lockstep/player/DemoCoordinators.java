package io.lockstep.player;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The demo's coordinators, as child processes on loopback: one, or a group of three whose leader can be killed. Who
 * leads is read from the nodes' own log lines ({@code node n2 leads the group; ...}), which the demo also shows.
 *
 * <p>Not thread-safe: the demo's one thread uses it.
 */
final class DemoCoordinators implements AutoCloseable {

    private static final Pattern LISTENING = Pattern.compile("listening on \\S+:(\\d+)");
    private static final Pattern LEADS = Pattern.compile("node (n\\d+) leads the group");
    /** C1 only and the serial collector, as the README advises for several JVMs on a small machine. */
    private static final List<String> GROUP_JVM = List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC");

    /** A line the demo shows from a coordinator: a node took the lead. */
    record Leadership(String node, String text) {
    }

    private final List<ChildProcess> nodes = new ArrayList<>();
    private final List<String> addresses = new ArrayList<>();
    private final List<Leadership> pending = new ArrayList<>();
    /** The nodes' Raft logs and snapshots, deleted on {@link #close} (their output files stay, for a look). */
    private final List<Path> dataDirs = new ArrayList<>();
    /** Index into {@link #nodes} of the node that said last that it leads, or -1. */
    private int leader = -1;

    private DemoCoordinators() {
    }

    /** One coordinator, as the demo always ran it. */
    static DemoCoordinators single(Path jar, Path logs) throws IOException, InterruptedException {
        DemoCoordinators c = new DemoCoordinators();
        c.launch("coordinator", List.of(ChildProcess.java(), "-jar", jar.toString(), "--port", "0",
                "--bind", "127.0.0.1", "--no-http"), logs.resolve("coordinator.log"));
        return c;
    }

    /**
     * A group of {@code size} nodes, n1..n{size}, each with its data directory under {@code logs}; returns once one of
     * them leads.
     */
    static DemoCoordinators group(Path jar, Path logs, int size) throws IOException, InterruptedException {
        DemoCoordinators c = new DemoCoordinators();
        int[] raftPorts = freePorts(size);
        List<String> peers = new ArrayList<>();
        for (int i = 0; i < size; i++) {
            peers.add("n" + (i + 1) + "=127.0.0.1:" + raftPorts[i]);
        }
        try {
            for (int i = 0; i < size; i++) {
                String id = "n" + (i + 1);
                List<String> cmd = new ArrayList<>(List.of(ChildProcess.java()));
                cmd.addAll(GROUP_JVM);
                cmd.addAll(List.of("-jar", jar.toString(), "--port", "0", "--bind", "127.0.0.1", "--no-http",
                        "--node-id", id, "--peers", String.join(",", peers), "--data-dir", logs.resolve(id).toString()));
                c.dataDirs.add(logs.resolve(id));
                c.launch(id, cmd, logs.resolve(id + ".log"));
            }
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (c.leader < 0) {
                c.poll();
                if (System.nanoTime() > end) {
                    throw new IOException("no coordinator of the group took the lead within 30 s; their logs are in "
                            + logs);
                }
                Thread.sleep(15);
            }
            c.pending.clear(); // the first leader is named in the demo's header, before the game's first line
        } catch (IOException | InterruptedException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    private void launch(String label, List<String> cmd, Path log) throws IOException, InterruptedException {
        ChildProcess p = new ChildProcess(label, cmd, log, Map.of());
        nodes.add(p);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        List<String> seen = new ArrayList<>();
        while (System.nanoTime() < end && p.isAlive()) {
            String address = null;
            for (String line : p.newLines()) {
                seen.add(line);
                noteLeadership(nodes.size() - 1, line);
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    address = "127.0.0.1:" + m.group(1);
                }
            }
            if (address != null) {
                addresses.add(address);
                return;
            }
            Thread.sleep(15);
        }
        close();
        throw new IOException(label + " did not start: " + String.join(" / ", seen));
    }

    /** Every coordinator's client address, as a client takes them (comma-separated). */
    String addresses() {
        return String.join(",", addresses);
    }

    boolean isGroup() {
        return nodes.size() > 1;
    }

    /** The nodes' labels and addresses, and which leads, for the demo's header. */
    String describe() {
        List<String> s = new ArrayList<>();
        for (int i = 0; i < nodes.size(); i++) {
            s.add(nodes.get(i).label() + " at " + addresses.get(i) + (i == leader ? " (leader)" : ""));
        }
        return String.join(", ", s);
    }

    /** Leadership lines the nodes wrote since the last call. */
    List<Leadership> newLeaderships() throws IOException {
        poll();
        List<Leadership> out = new ArrayList<>(pending);
        pending.clear();
        return out;
    }

    private void poll() throws IOException {
        for (int i = 0; i < nodes.size(); i++) {
            if (nodes.get(i).isAlive()) {
                for (String line : nodes.get(i).newLines()) {
                    noteLeadership(i, line);
                }
            }
        }
    }

    private void noteLeadership(int node, String line) {
        Matcher m = LEADS.matcher(line);
        if (m.find()) {
            leader = node;
            pending.add(new Leadership(nodes.get(node).label(), line.substring(m.start())));
        }
    }

    /** Kills the node that leads with SIGKILL; returns its label, or null if none is known to lead. */
    String killLeader() throws InterruptedException {
        if (leader < 0) {
            return null;
        }
        ChildProcess p = nodes.get(leader);
        p.process().destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        leader = -1;
        return p.label();
    }

    @Override
    public void close() {
        nodes.forEach(ChildProcess::close);
        for (Path dir : dataDirs) {
            if (Files.isDirectory(dir)) {
                try (Stream<Path> files = Files.walk(dir)) {
                    files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
                } catch (IOException e) {
                    System.err.println("demo: could not delete " + dir + ": " + e.getMessage());
                }
            }
        }
    }

    /** {@code n} distinct TCP ports free now (held together while they are chosen). */
    private static int[] freePorts(int n) throws IOException {
        ServerSocket[] held = new ServerSocket[n];
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                held[i] = new ServerSocket(0);
                ports[i] = held[i].getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket s : held) {
                if (s != null) {
                    s.close();
                }
            }
        }
    }
}
