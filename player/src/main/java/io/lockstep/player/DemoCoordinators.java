package io.lockstep.player;

import io.lockstep.launch.ChildProcess;

import io.lockstep.launch.LocalGroup;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The demo's coordinators, as child processes on loopback: one, or a group of three ({@link LocalGroup}) whose
 * leader can be killed. Who leads is read from the nodes' own log lines ({@code node n2 leads the group; ...}), which
 * the demo also shows.
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

    /** The single coordinator, or null. */
    private ChildProcess single;
    private String singleAddress;
    /** The group, or null. */
    private LocalGroup group;
    private final List<Leadership> pending = new ArrayList<>();
    /** The node that said last that it leads, or -1. */
    private int leader = -1;

    private DemoCoordinators() {
    }

    /** One coordinator, as the demo always ran it. */
    static DemoCoordinators single(Path jar, Path logs) throws IOException, InterruptedException {
        DemoCoordinators c = new DemoCoordinators();
        c.single = new ChildProcess("coordinator", List.of(ChildProcess.java(), "-jar", jar.toString(), "--port", "0",
                "--bind", "127.0.0.1", "--no-http"), logs.resolve("coordinator.log"), Map.of());
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (c.singleAddress == null) {
            for (String line : c.single.newLines()) {
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    c.singleAddress = "127.0.0.1:" + m.group(1);
                }
            }
            if (c.singleAddress == null && (!c.single.isAlive() || System.nanoTime() > end)) {
                String said = String.join(" / ", c.single.allLines());
                c.close();
                throw new IOException("the coordinator did not start: " + said);
            }
            Thread.sleep(15);
        }
        return c;
    }

    /**
     * A group of {@code size} nodes, n1..n{size}, their data directories and output under {@code logs}; returns once
     * one of them leads.
     */
    static DemoCoordinators group(Path jar, Path logs, int size) throws IOException, InterruptedException {
        DemoCoordinators c = new DemoCoordinators();
        List<String> launch = new ArrayList<>(List.of(ChildProcess.java()));
        launch.addAll(GROUP_JVM);
        launch.addAll(List.of("-jar", jar.toString()));
        c.group = LocalGroup.start(new LocalGroup.Settings(launch).size(size).dir(logs).http(false).keepDir(true));
        try {
            c.leader = c.group.awaitLeader(Duration.ofSeconds(30));
            c.poll();
            c.pending.clear(); // the first leader is named in the demo's header, before the game's first line
        } catch (IOException | InterruptedException | RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    /** Every coordinator's client address, as a client takes them (comma-separated). */
    String addresses() {
        return group != null ? group.addresses() : singleAddress;
    }

    boolean isGroup() {
        return group != null;
    }

    /** The nodes' labels and addresses, and which leads, for the demo's header. */
    String describe() {
        if (group == null) {
            return "coordinator at " + singleAddress;
        }
        List<String> s = new ArrayList<>();
        for (int i = 0; i < group.size(); i++) {
            s.add(LocalGroup.id(i) + " at " + group.address(i) + (i == leader ? " (leader)" : ""));
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
        for (int i = 0; group != null && i < group.size(); i++) {
            if (group.alive(i)) {
                for (String line : group.process(i).newLines()) {
                    Matcher m = LEADS.matcher(line);
                    if (m.find()) {
                        leader = i;
                        pending.add(new Leadership(LocalGroup.id(i), line.substring(m.start())));
                    }
                }
            }
        }
    }

    /** Kills the node that leads with SIGKILL; returns its id, or null if none is known to lead. */
    String killLeader() throws IOException, InterruptedException {
        if (group == null || leader < 0) {
            return null;
        }
        int killed = leader;
        group.kill(killed);
        leader = -1;
        return LocalGroup.id(killed);
    }

    /** Stops the coordinators; a group's data directories go, every output file stays (for a look). */
    @Override
    public void close() {
        if (single != null) {
            single.close();
        }
        if (group != null) {
            group.close();
        }
    }
}
