package io.lockstep.player;

import io.lockstep.cli.ClientOptions;
import io.lockstep.cli.Commands;
import io.lockstep.client.DistributedBarrier;
import io.lockstep.client.Exchange;
import io.lockstep.client.LockstepClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeoutException;

/**
 * One player of the seed's game, as its own process: plays its rounds, waits at the Lockstep barrier until every
 * player has finished, then receives its winnings. With {@code --no-barrier} it is the seed's first program,
 * which pays each player as soon as it is done.
 */
@Command(name = "lockstep-player", mixinStandardHelpOptions = true, version = "Lockstep player 0.1.0",
        sortOptions = false,
        description = "Plays the seed's card game in step with the other players through a Lockstep barrier.",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
                "0:played, waited for everyone, received winnings",
                "2:bad command line",
                "3:the barrier broke (a player died, timed out, or the coordinator stopped)",
                "4:cannot reach the coordinator"})
public final class Player implements Callable<Integer> {

    static final int EXIT_BROKEN = 3;
    static final int EXIT_UNREACHABLE = 4;

    @Option(names = "--name", required = true, paramLabel = "NAME", description = "This player's name.")
    String name;

    @Option(names = "--rounds", paramLabel = "N", defaultValue = "3",
            description = "Rounds to play (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--round-time", paramLabel = "DURATION", defaultValue = "3s",
            description = "Typical time of one round, like 3s or 300ms (default: ${DEFAULT-VALUE}); each round "
                    + "takes between half and one and a half times this, differently per player and round.")
    Duration roundTime;

    @Mixin
    ClientOptions coordinator;

    @Option(names = "--players", paramLabel = "N", defaultValue = "4",
            description = "Number of players, the barrier's parties (default: ${DEFAULT-VALUE}).")
    int players;

    @Option(names = "--barrier", paramLabel = "NAME", defaultValue = "game",
            description = "The barrier's name (default: ${DEFAULT-VALUE}).")
    String barrierName;

    @Option(names = "--wait-timeout", paramLabel = "DURATION", defaultValue = "2m",
            description = "How long to wait at the barrier for the others before giving up (default: "
                    + "${DEFAULT-VALUE}); the error then names who had not arrived.")
    Duration waitTimeout;

    @Option(names = "--session-lease", paramLabel = "DURATION",
            description = "How long this player's session survives a network cut (default: the coordinator's).")
    Duration sessionLease;

    @Option(names = "--no-barrier", description = "Play the seed's first program: no waiting, no coordinator.")
    boolean noBarrier;

    @Option(names = "--timestamps", description = "Start every line with the time (ISO-8601, UTC).")
    boolean timestamps;

    private PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);

    public static void main(String[] args) {
        System.exit(Commands.commandLine(new Player()).execute(args));
    }

    @Override
    public Integer call() throws InterruptedException {
        if (rounds < 0 || players < 1) {
            System.err.println("lockstep-player: --rounds must be at least 0 and --players at least 1");
            return 2;
        }
        if (noBarrier) {
            play();
            say("sending winning amount to " + name);
            return 0;
        }
        // Join before playing: a coordinator that cannot be reached, or a barrier declared with another number of
        // players, is reported now rather than after the rounds.
        LockstepClient.Builder builder;
        try {
            builder = clientBuilder();
        } catch (IOException | IllegalArgumentException e) {
            System.err.println(name + ": " + e.getMessage());
            return 2;
        }
        try (LockstepClient client = builder.connect()) {
            DistributedBarrier barrier = client.barrier(barrierName, players);
            List<Integer> scores = play();
            say(name + " finished playing and is waiting for others.");
            // Everyone's scores travel with the barrier: nobody sees any before all have finished, and all see
            // the same, so every player computes the same winnings table.
            Exchange all = barrier.exchange(Winnings.encode(scores), waitTimeout.toMillis(), TimeUnit.MILLISECONDS);
            Map<String, Integer> totals = new LinkedHashMap<>();
            all.byParty().forEach((party, bytes) ->
                    totals.put(party, Winnings.decode(bytes).stream().mapToInt(Integer::intValue).sum()));
            say("winnings table seen by " + name + ": " + Winnings.table(totals));
            say("sending winning amount to " + name + ": " + Winnings.split(totals, Winnings.POT).get(all.party())
                    + " of " + Winnings.POT + " coins");
            return 0;
        } catch (IOException e) {
            System.err.println(name + ": " + e.getMessage());
            return EXIT_UNREACHABLE;
        } catch (IllegalArgumentException e) {
            System.err.println(name + ": " + e.getMessage());
            return 2;
        } catch (BrokenBarrierException | TimeoutException e) {
            say(name + " cannot be paid: " + e.getMessage());
            return EXIT_BROKEN;
        }
    }

    private LockstepClient.Builder clientBuilder() throws IOException {
        LockstepClient.Builder b = coordinator.builder(name);
        if (sessionLease != null) {
            b.sessionLease(sessionLease);
        }
        return b;
    }

    /** Plays the rounds; returns this player's score in each. */
    private List<Integer> play() throws InterruptedException {
        say(name + " started playing.");
        List<Integer> scores = new ArrayList<>();
        for (int i = 1; i <= rounds; i++) {
            Thread.sleep(roundDuration(name, i, roundTime).toMillis());
            say(name + " is playing round " + i);
            scores.add(ThreadLocalRandom.current().nextInt(101));
        }
        return scores;
    }

    /**
     * How long round {@code round} takes for {@code player}: between 0.5 and 1.5 times the typical round time,
     * the same for the same player and round on every run, so players finish at different moments.
     */
    static Duration roundDuration(String player, int round, Duration typical) {
        long h = (player + "#" + round).hashCode() * 0x9E3779B97F4A7C15L;
        double f = 0.5 + ((h >>> 11) * 0x1.0p-53);
        return Duration.ofMillis(Math.round(typical.toMillis() * f));
    }

    private void say(String line) {
        out.println(timestamps ? Instant.now().truncatedTo(ChronoUnit.MICROS) + " " + line : line);
    }
}
