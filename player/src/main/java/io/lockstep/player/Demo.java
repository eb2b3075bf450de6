package io.lockstep.player;

import io.lockstep.launch.ChildProcess;

import io.lockstep.cli.Commands;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.Callable;

/**
 * The seed's scenario on one machine, with one command: a coordinator and one JVM per player, over TCP on
 * localhost; their output interleaved and labelled by player; then a summary of who finished when and whether
 * anybody was paid before everybody had finished.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Runs the seed's game: four player processes in step through a Lockstep coordinator.")
public final class Demo implements Callable<Integer> {

    private static final Duration REORDER_WINDOW = Duration.ofMillis(150);

    @Option(names = "--quick", description = "Short rounds (about 0.3 s instead of 3 s).")
    boolean quick;

    @Option(names = "--no-barrier", description = "Play the seed's first program, without the barrier, for contrast.")
    boolean noBarrier;

    @Option(names = "--rounds", paramLabel = "N", defaultValue = "3", description = "Rounds per player (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--round-time", paramLabel = "DURATION",
            description = "Typical round time (default: 3s, or 300ms with --quick).")
    Duration roundTime;

    @Option(names = "--players", paramLabel = "NAMES", split = ",", defaultValue = "susan,pratik,suman,nijam",
            description = "The players (default: ${DEFAULT-VALUE}).")
    List<String> players;

    @Option(names = "--group", description = "Play on a group of three coordinators (replicated, on this machine) "
            + "instead of one.")
    boolean group;

    @Option(names = "--kill-leader", description = "With --group: kill -9 the leading coordinator while a player "
            + "waits at the barrier. The game goes on.")
    boolean killLeader;

    @Option(names = "--coordinator-jar", paramLabel = "JAR",
            description = "The coordinator's jar (default: coordinator/target/lockstep-coordinator.jar).")
    Path coordinatorJar;

    private final PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);

    public static void main(String[] args) {
        System.exit(Commands.commandLine(new Demo()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        Duration typical = roundTime != null ? roundTime : quick ? Duration.ofMillis(300) : Duration.ofSeconds(3);
        Path playerJar = ownJar();
        Path coordJar = coordinatorJar != null ? coordinatorJar
                : playerJar.getParent().resolve("../../coordinator/target/lockstep-coordinator.jar").normalize();
        if (noBarrier && group || killLeader && !group) {
            System.err.println(noBarrier && group ? "demo: --group plays with the barrier: drop --no-barrier"
                    : "demo: --kill-leader kills a coordinator of a group: add --group");
            return 2;
        }
        if (!noBarrier && !Files.isRegularFile(coordJar)) {
            System.err.println("demo: coordinator jar not found at " + coordJar + "; build with: mvn -q -DskipTests package");
            return 1;
        }
        Path logs = Files.createTempDirectory("lockstep-demo-");
        List<ChildProcess> children = new ArrayList<>();
        DemoCoordinators coordinators = null;
        try {
            String address = null;
            if (!noBarrier) {
                coordinators = group ? DemoCoordinators.group(coordJar, logs, 3) : DemoCoordinators.single(coordJar, logs);
                address = coordinators.addresses();
            }
            out.printf("Lockstep demo: %d players, %d rounds each, about %s a round, %s.%n", players.size(), rounds,
                    typical.toMillis() % 1000 == 0 ? typical.toSeconds() + " s" : typical.toMillis() + " ms",
                    noBarrier ? "WITHOUT the barrier (the seed's first program)"
                            : group ? "in step through the barrier 'game' on a group of three coordinators:"
                                    + System.lineSeparator() + "  " + coordinators.describe() + (killLeader ? "."
                                    + System.lineSeparator() + "The leader will be killed (kill -9) while a player "
                                    + "waits at the barrier" : "")
                            : "in step through the barrier 'game' on coordinator " + address);
            out.println();
            Instant start = null; // the first line any player writes: JVM start-up is not part of the game
            for (String p : players) {
                List<String> cmd = new ArrayList<>(List.of(ChildProcess.java(), "-jar", playerJar.toString(),
                        "--name", p, "--players", "" + players.size(), "--rounds", "" + rounds,
                        "--round-time", typical.toMillis() + "ms", "--timestamps"));
                if (noBarrier) {
                    cmd.add("--no-barrier");
                } else {
                    cmd.addAll(List.of("--coordinator", address));
                }
                children.add(new ChildProcess(p, cmd, logs.resolve(p + ".log"), Map.of()));
            }
            GameReport report = new GameReport(players);
            long deadline = System.nanoTime() + typical.multipliedBy(rounds * 2L).plusSeconds(60).toNanos();
            int width = Math.max(4, players.stream().mapToInt(String::length).max().orElse(6));
            Failover failover = new Failover();
            GameReport received = new GameReport(players); // as lines arrive, not yet ordered: who waits now
            Instant firstWait = null;
            // Lines reach their files a little out of order across processes; hold each back briefly and print
            // in timestamp order, so the interleaving shown is the order things happened.
            PriorityQueue<Labelled> held = new PriorityQueue<>(Comparator.comparing((Labelled l) -> l.line().at()));
            while (true) {
                boolean running = children.stream().anyMatch(ChildProcess::isAlive);
                for (ChildProcess c : children) {
                    for (String line : c.newLines()) {
                        GameLine g = GameLine.parse(line, Instant.now());
                        held.add(new Labelled(c.label(), g));
                        received.add(g);
                        if (firstWait == null && g.kind() == GameLine.Kind.FINISHED) {
                            firstWait = Instant.now();
                        }
                    }
                }
                // A player said it waits: a moment later its arrival is with the leader, which is then killed.
                if (killLeader && failover.killedAt == null && firstWait != null
                        && firstWait.plus(REORDER_WINDOW).isBefore(Instant.now())) {
                    String killed = coordinators.killLeader();
                    failover.noLeaderToKill = killed == null;
                    if (killed != null) {
                        failover.killed(killed, Instant.now(), received.waiting());
                        held.add(new Labelled("demo", GameLine.parse("kill -9 of the leader, " + killed + ", while "
                                + failover.waiting + " waiting at the barrier", failover.killedAt)));
                    }
                }
                if (coordinators != null && coordinators.isGroup()) {
                    // Seen within a poll of being written: close enough to place among the players' lines.
                    for (DemoCoordinators.Leadership l : coordinators.newLeaderships()) {
                        held.add(new Labelled(l.node(), GameLine.parse(l.text(), Instant.now())));
                        failover.led(l.node(), Instant.now());
                    }
                }
                Instant ripe = running ? Instant.now().minus(REORDER_WINDOW) : Instant.MAX;
                while (!held.isEmpty() && held.peek().line().at().isBefore(ripe)) {
                    Labelled l = held.poll();
                    if (start == null) {
                        start = l.line().at();
                    }
                    report.add(l.line());
                    out.printf("  %9s  %-" + width + "s | %s%n", "+" + GameReport.at(start, l.line().at()),
                            l.who(), l.line().text());
                }
                if (!running) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    System.err.println("demo: the players did not finish in time; stopping them");
                    return 1;
                }
                Thread.sleep(15);
            }
            out.println();
            out.println(noBarrier ? "Summary (without the barrier)" : "Summary (with the barrier)");
            report.summary(start == null ? Instant.now() : start, !noBarrier).forEach(out::println);
            if (killLeader) {
                out.println(failover.summary(start == null ? Instant.now() : start, report));
            }
            boolean allExited0 = children.stream().allMatch(c -> c.process().exitValue() == 0);
            if (!allExited0) {
                out.println("  Some players failed; their output is in " + logs);
                return 1;
            }
            return noBarrier || (report.everyoneFinishedBeforeAnyoneWasPaid() && report.everyoneComputedTheSameTable()
                    && (!killLeader || failover.replaced())) ? 0 : 1;
        } finally {
            children.forEach(ChildProcess::close);
            if (coordinators != null) {
                coordinators.close();
            }
        }
    }

    /** What the demo saw of a group's leaders: the kill, and who led after it. */
    private static final class Failover {
        String killed;
        Instant killedAt;
        /** When a player first waited, no coordinator was known to lead. */
        boolean noLeaderToKill;
        String waiting;
        String nextLeader;
        Instant nextLedAt;

        void killed(String who, Instant at, List<String> waitingPlayers) {
            killed = who;
            killedAt = at;
            int n = waitingPlayers.size();
            waiting = n == 0 ? "nobody was" : n == 1 ? waitingPlayers.get(0) + " was"
                    : String.join(", ", waitingPlayers.subList(0, n - 1)) + " and " + waitingPlayers.get(n - 1)
                    + " were";
        }

        void led(String node, Instant at) {
            if (killedAt != null && nextLeader == null) {
                nextLeader = node;
                nextLedAt = at;
            }
        }

        boolean replaced() {
            return killedAt != null && nextLeader != null;
        }

        String summary(Instant start, GameReport report) {
            if (killedAt == null) {
                return noLeaderToKill
                        ? "  The leader was NOT killed: no coordinator was known to lead when the first player waited."
                        : "  The leader was NOT killed: the game ended before a player had waited long enough.";
            }
            if (nextLeader == null) {
                return "  The leader " + killed + " was killed at " + GameReport.at(start, killedAt)
                        + ", and NO other coordinator took the lead.";
            }
            return String.format("  The leader %s was killed at %s while %s waiting; %s took the lead %.2f s later%s.",
                    killed, GameReport.at(start, killedAt), waiting, nextLeader,
                    Duration.between(killedAt, nextLedAt).toNanos() / 1e9,
                    report.broken().isEmpty() ? ", and no player's wait broke" : "");
        }
    }

    private record Labelled(String who, GameLine line) {
    }

    private static Path ownJar() throws URISyntaxException {
        return Path.of(Demo.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }
}
