package io.lockstep.admin;

import io.lockstep.cli.ClientOptions;
import io.lockstep.cli.Commands;
import io.lockstep.client.BarrierStatus;
import io.lockstep.client.GroupStatus;
import io.lockstep.client.LockstepClient;
import io.lockstep.client.LockstepException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * {@code bin/lockstep}: look at and step into a coordinator's barriers, over the coordinator's own protocol.
 * Finds the coordinator through {@code --coordinator}, else {@code LOCKSTEP_COORDINATOR}, else localhost:7777.
 */
@Command(name = "lockstep", mixinStandardHelpOptions = true, version = "Lockstep admin 0.1.0", sortOptions = false,
        description = "Shows, aborts and resets the barriers of a Lockstep coordinator, and operates a group of them.",
        subcommands = {Admin.Status.class, Admin.Abort.class, Admin.Reset.class, Admin.Watch.class,
                Admin.GroupCommands.class, Admin.SnapshotCommands.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done", "1:the coordinator refused the request", "2:bad command line",
                "3:no barrier of that name", "4:cannot reach the coordinator"})
public final class Admin {

    static final int REFUSED = 1;
    static final int UNKNOWN_BARRIER = 3;
    static final int UNREACHABLE = 4;

    @Mixin
    ClientOptions coordinator;

    static PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String... args) {
        CommandLine cmd = Commands.commandLine(new Admin());
        cmd.setExecutionStrategy(new CommandLine.RunLast());
        if (args.length == 0) {
            cmd.usage(out);
            return Commands.BAD_COMMAND_LINE;
        }
        return cmd.execute(args);
    }

    LockstepClient connect() throws IOException {
        // Its session ends when the command does, on Ctrl-C too (the client's exit hook says goodbye).
        return coordinator.builder("lockstep-admin@" + ProcessHandle.current().pid())
                .connectTimeout(Duration.ofSeconds(5)).requestTimeout(Duration.ofSeconds(10)).connect();
    }

    /** Runs {@code action} with a connected client; maps failures to the documented exit codes. */
    int withClient(String barrier, ClientAction action) {
        try (LockstepClient client = connect()) {
            return action.run(client);
        } catch (IOException e) {
            System.err.println("lockstep: " + e.getMessage());
            return UNREACHABLE;
        } catch (IllegalArgumentException e) {
            System.err.println("lockstep: " + e.getMessage());
            return Commands.BAD_COMMAND_LINE;
        } catch (LockstepException e) {
            System.err.println("lockstep: " + e.getMessage());
            return e.getMessage().contains("UNKNOWN_BARRIER") ? UNKNOWN_BARRIER
                    : e.getMessage().contains("lost") || e.getMessage().contains("unreachable") ? UNREACHABLE : REFUSED;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 0;
        }
    }

    interface ClientAction {
        int run(LockstepClient client) throws InterruptedException;
    }

    /** The status table's columns: header, and whether the values are numbers (aligned right). */
    private static final String[] HEADERS = {"BARRIER", "PARTIES", "WAITING", "GENERATION", "STATE", "LONGEST WAIT",
            "WAITING PARTIES"};
    private static final boolean[] RIGHT = {false, true, true, true, false, true, false};

    /**
     * The status table: one line a barrier, who is waiting and for how long; then why broken ones broke. Every
     * column is as wide as its widest value, so the columns line up whatever the names and numbers.
     */
    static String table(List<BarrierStatus> barriers) {
        if (barriers.isEmpty()) {
            return "no barriers\n";
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(HEADERS);
        for (BarrierStatus b : barriers) {
            long longest = b.waiting().stream().mapToLong(w -> w.waited().toMillis()).max().orElse(0);
            String state = b.isBroken() ? "broken" : b.waiting().isEmpty() ? "idle"
                    : "waiting for " + (b.parties() - b.waiting().size());
            String who = b.waiting().stream().map(w -> w.party() + " (" + seconds(w.waited().toMillis()) + ")")
                    .collect(Collectors.joining(", "));
            rows.add(new String[]{b.name(), "" + b.parties(), "" + b.waiting().size(), "" + b.generation(), state,
                    b.waiting().isEmpty() ? "-" : seconds(longest), who.isEmpty() ? "-" : who});
        }
        StringBuilder sb = aligned(rows, RIGHT);
        for (BarrierStatus b : barriers) {
            b.brokenReason().ifPresent(r -> sb.append('\n').append(b.name()).append(": ").append(r).append('\n'));
        }
        return sb.toString();
    }

    /** Rows as columns as wide as their widest value; {@code right}: which columns hold numbers. */
    private static StringBuilder aligned(List<String[]> rows, boolean[] right) {
        int[] width = new int[right.length];
        for (String[] row : rows) {
            for (int c = 0; c < row.length; c++) {
                width[c] = Math.max(width[c], row[c].length());
            }
        }
        StringBuilder sb = new StringBuilder();
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int c = 0; c < row.length; c++) {
                String pad = " ".repeat(width[c] - row[c].length());
                line.append(c == 0 ? "" : "  ").append(right[c] ? pad + row[c] : row[c] + pad);
            }
            sb.append(line.toString().stripTrailing()).append('\n');
        }
        return sb;
    }

    /** The group table: every node, its role, where it is, how far behind the commit index, when last heard. */
    static String groupTable(GroupStatus g) {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[]{"NODE", "ROLE", "ADDRESS", "CLIENTS AT", "LAG", "LAST HEARD"});
        for (GroupStatus.Node n : g.nodes()) {
            long lag = n.lag(g.commitIndex());
            rows.add(new String[]{n.id(), n.role(), n.address(), n.clientAddress().isEmpty() ? "-" : n.clientAddress(),
                    lag < 0 ? "-" : lag + (lag == 1 ? " entry" : " entries"),
                    n.lastContact() == null ? "-" : n.lastContact().toMillis() + " ms ago"});
        }
        return "group: term " + g.term() + ", " + g.commitIndex() + " entries committed, as " + g.self()
                + " sees it" + (g.leader().isEmpty() ? "; no leader yet" : "") + "\n"
                + aligned(rows, new boolean[]{false, false, false, false, true, true}) + "\n";
    }

    static String seconds(long millis) {
        return String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
    }

    @Command(name = "status", description = "Show every barrier, or one: parties, who is waiting, for how long.")
    static final class Status implements Callable<Integer> {
        @CommandLine.ParentCommand
        Admin admin;

        @Parameters(arity = "0..1", paramLabel = "NAME", description = "One barrier.")
        String name;

        @Override
        public Integer call() {
            return admin.withClient(name, client -> {
                if (name == null) {
                    client.group().ifPresent(g -> out.print(groupTable(g)));
                }
                out.print(table(name == null ? client.barriers() : List.of(client.status(name))));
                return 0;
            });
        }
    }

    /** abort and reset: one barrier, one request, one line of output. */
    abstract static class OneBarrier implements Callable<Integer> {
        @CommandLine.ParentCommand
        Admin admin;

        @Parameters(paramLabel = "NAME")
        String name;

        abstract void apply(LockstepClient client, String barrier);

        abstract String done();

        @Override
        public Integer call() {
            return admin.withClient(name, client -> {
                apply(client, name);
                out.println(done() + " barrier '" + name + "'");
                return 0;
            });
        }
    }

    @Command(name = "group", mixinStandardHelpOptions = true,
            description = "Operate a coordinator group: its members and its leader.")
    static final class GroupCommands {
        @CommandLine.ParentCommand
        Admin admin;

        @Command(name = "add", description = "Add a node, started empty with --join, to the group; the leader brings it "
                + "up to date before the group counts it.")
        int add(@Parameters(paramLabel = "ID=HOST:PORT", description = "The node's id and its Raft address, as in "
                + "--peers.") String member) {
            return admin.withClient(null, client -> {
                out.println(client.addMember(member));
                return 0;
            });
        }

        @Command(name = "remove", description = "Remove a node from the group (one whose machine is gone for good, "
                + "say); refused where the group would lose its majority.")
        int remove(@Parameters(paramLabel = "ID", description = "The node's id.") String node) {
            return admin.withClient(null, client -> {
                out.println(client.removeMember(node));
                return 0;
            });
        }

        @Command(name = "transfer-leader", description = "Hand the lead to another node (before stopping the leader, "
                + "say): the leader brings its log up to date first, its clients resume on it.")
        int transferLeader(@Parameters(paramLabel = "NODE", description = "The node's id, as in --peers (n2).")
                           String node) {
            return admin.withClient(null, client -> {
                try {
                    out.println(client.transferLeadership(node));
                    return 0;
                } catch (LockstepException e) {
                    if (!e.getMessage().contains("connection was lost")) {
                        throw e;
                    }
                }
                // The leader stepped down as it handed over, before its answer left: ask who leads now.
                for (long end = System.nanoTime() + 10_000_000_000L; System.nanoTime() < end; Thread.sleep(100)) {
                    try {
                        String leader = client.group().map(GroupStatus::leader).orElse("");
                        if (leader.equals(node)) {
                            out.println(node + " leads the group now");
                            return 0;
                        }
                        if (!leader.isEmpty()) {
                            System.err.println("lockstep: " + leader + " leads the group, not " + node);
                            return REFUSED;
                        }
                    } catch (LockstepException e) {
                        // reconnecting to the new leader
                    }
                }
                System.err.println("lockstep: no answer from the group after the hand-over to " + node);
                return UNREACHABLE;
            });
        }
    }

    @Command(name = "snapshot", mixinStandardHelpOptions = true, description = "Back up the coordinator's state.",
            subcommands = SnapshotCommands.Save.class)
    static final class SnapshotCommands {
        @CommandLine.ParentCommand
        Admin admin;

        @Command(name = "save", description = "Write a consistent snapshot of every barrier, declaration and session, "
                + "as the leader has applied it, to FILE; `lockstep-coordinator --restore FILE` starts a group from it.")
        static final class Save implements Callable<Integer> {
            @CommandLine.ParentCommand
            SnapshotCommands snapshot;

            @Parameters(paramLabel = "FILE")
            java.nio.file.Path file;

            @Override
            public Integer call() {
                return snapshot.admin.withClient(null, client -> {
                    byte[] bytes = client.snapshot();
                    java.nio.file.Path tmp = file.resolveSibling(file.getFileName() + ".partial");
                    try {
                        java.nio.file.Files.write(tmp, bytes);
                        java.nio.file.Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                                java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                    } catch (IOException e) {
                        System.err.println("lockstep: cannot write " + file + ": " + e.getMessage());
                        return Commands.BAD_COMMAND_LINE;
                    }
                    out.println("saved " + bytes.length + " bytes to " + file);
                    return 0;
                });
            }
        }
    }

    @Command(name = "abort", description = "Break a barrier: its waiters fail, and so does every await until a reset.")
    static final class Abort extends OneBarrier {
        @Override
        void apply(LockstepClient client, String barrier) {
            client.abort(barrier);
        }

        @Override
        String done() {
            return "aborted";
        }
    }

    @Command(name = "reset", description = "Reset a barrier: its waiters fail, and it is fresh and usable at once.")
    static final class Reset extends OneBarrier {
        @Override
        void apply(LockstepClient client, String barrier) {
            client.reset(barrier);
        }

        @Override
        String done() {
            return "reset";
        }
    }

    @Command(name = "watch", description = "Show the status again every interval, in place, until Ctrl-C.")
    static final class Watch implements Callable<Integer> {
        @CommandLine.ParentCommand
        Admin admin;

        @Parameters(arity = "0..1", paramLabel = "NAME", description = "One barrier.")
        String name;

        @Option(names = "--interval", paramLabel = "DURATION", defaultValue = "1s",
                description = "Refresh interval, like 1s or 500ms (default: ${DEFAULT-VALUE}).")
        Duration interval;

        @Option(names = "--count", paramLabel = "N", defaultValue = "0",
                description = "Stop after N refreshes (default: until Ctrl-C).")
        int count;

        @Override
        public Integer call() {
            return admin.withClient(name, client -> {
                for (int i = 0; count == 0 || i < count; i++) {
                    String t = table(name == null ? client.barriers() : List.of(client.status(name)));
                    // Home the cursor and clear the screen, then draw: the table refreshes in place.
                    out.print("\033[H\033[2J" + "lockstep watch " + admin.coordinator.coordinator() + "   "
                            + LocalTime.now().truncatedTo(ChronoUnit.SECONDS) + "\n\n" + t);
                    out.flush();
                    Thread.sleep(interval.toMillis());
                }
                return 0;
            });
        }
    }
}
