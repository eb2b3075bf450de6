package io.lockstep.player;

import io.lockstep.cli.Commands;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
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
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The seed's scenario on one machine, with one command: a coordinator and one JVM per player, over TCP on
 * localhost; their output interleaved and labelled by player; then a summary of who finished when and whether
 * anybody was paid before everybody had finished.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Runs the seed's game: four player processes in step through a Lockstep coordinator.")
public final class Demo implements Callable<Integer> {

    private static final Pattern LISTENING = Pattern.compile("listening on \\S+:(\\d+)");
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
        if (!noBarrier && !Files.isRegularFile(coordJar)) {
            System.err.println("demo: coordinator jar not found at " + coordJar + "; build with: mvn -q -DskipTests package");
            return 1;
        }
        Path logs = Files.createTempDirectory("lockstep-demo-");
        List<ChildProcess> children = new ArrayList<>();
        ChildProcess coordinator = null;
        try {
            String address = null;
            if (!noBarrier) {
                coordinator = new ChildProcess("coordinator", List.of(ChildProcess.java(), "-jar", coordJar.toString(),
                        "--port", "0", "--bind", "127.0.0.1", "--no-http"), logs.resolve("coordinator.log"), Map.of());
                address = "127.0.0.1:" + awaitListening(coordinator);
            }
            out.printf("Lockstep demo: %d players, %d rounds each, about %s a round, %s.%n", players.size(), rounds,
                    typical.toMillis() % 1000 == 0 ? typical.toSeconds() + " s" : typical.toMillis() + " ms",
                    noBarrier ? "WITHOUT the barrier (the seed's first program)"
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
            int width = players.stream().mapToInt(String::length).max().orElse(6);
            // Lines reach their files a little out of order across processes; hold each back briefly and print
            // in timestamp order, so the interleaving shown is the order things happened.
            PriorityQueue<Labelled> held = new PriorityQueue<>(Comparator.comparing((Labelled l) -> l.line().at()));
            while (true) {
                boolean running = children.stream().anyMatch(ChildProcess::isAlive);
                for (ChildProcess c : children) {
                    for (String line : c.newLines()) {
                        held.add(new Labelled(c.label(), GameLine.parse(line, Instant.now())));
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
            boolean allExited0 = children.stream().allMatch(c -> c.process().exitValue() == 0);
            if (!allExited0) {
                out.println("  Some players failed; their output is in " + logs);
                return 1;
            }
            return noBarrier || (report.everyoneFinishedBeforeAnyoneWasPaid() && report.everyoneComputedTheSameTable())
                    ? 0 : 1;
        } finally {
            children.forEach(ChildProcess::close);
            if (coordinator != null) {
                coordinator.close();
            }
        }
    }

    private record Labelled(String who, GameLine line) {
    }

    private static int awaitListening(ChildProcess coordinator) throws IOException, InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        List<String> seen = new ArrayList<>();
        while (System.nanoTime() < end) {
            for (String line : coordinator.newLines()) {
                seen.add(line);
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    return Integer.parseInt(m.group(1));
                }
            }
            if (!coordinator.isAlive()) {
                break;
            }
            Thread.sleep(15);
        }
        throw new IOException("the coordinator did not start: " + String.join(" / ", seen));
    }

    private static Path ownJar() throws URISyntaxException {
        return Path.of(Demo.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }
}
