package io.lockstep.admin;

import io.lockstep.client.BarrierStatus;
import io.lockstep.client.LockstepClient;
import io.lockstep.client.LockstepException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * {@code bin/lockstep}: look at and step into a coordinator's barriers, over the coordinator's own protocol.
 * Finds the coordinator through {@code --coordinator}, else {@code LOCKSTEP_COORDINATOR}, else localhost:7777.
 */
@Command(name = "lockstep", mixinStandardHelpOptions = true, version = "Lockstep admin 0.1.0", sortOptions = false,
        description = "Shows, aborts and resets the barriers of a Lockstep coordinator.",
        subcommands = {Admin.Status.class, Admin.Abort.class, Admin.Reset.class, Admin.Watch.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:done", "1:the coordinator refused the request", "2:bad command line",
                "3:no barrier of that name", "4:cannot reach the coordinator"})
public final class Admin {

    static final int REFUSED = 1;
    static final int UNKNOWN_BARRIER = 3;
    static final int UNREACHABLE = 4;

    @Option(names = "--coordinator", paramLabel = "HOST:PORT", scope = CommandLine.ScopeType.INHERIT,
            defaultValue = "${env:LOCKSTEP_COORDINATOR:-localhost:7777}",
            description = "The coordinator (default: $LOCKSTEP_COORDINATOR, else localhost:7777).")
    String coordinator;

    @Option(names = "--auth-secret-file", paramLabel = "FILE", scope = CommandLine.ScopeType.INHERIT,
            description = "The coordinator's shared secret (or $LOCKSTEP_AUTH_SECRET).")
    Path authSecretFile;

    @Option(names = "--tls-ca", paramLabel = "PEM", scope = CommandLine.ScopeType.INHERIT,
            description = "Connect with TLS, trusting this CA.")
    Path tlsCa;

    @Option(names = "--tls-cert", paramLabel = "PEM", scope = CommandLine.ScopeType.INHERIT,
            description = "A client certificate, for mutual TLS.")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM", scope = CommandLine.ScopeType.INHERIT,
            description = "The PKCS#8 key of --tls-cert.")
    Path tlsKey;

    static PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String... args) {
        CommandLine cmd = new CommandLine(new Admin());
        cmd.setParameterExceptionHandler((ex, a) -> {
            ex.getCommandLine().getErr().println("lockstep: " + ex.getMessage());
            ex.getCommandLine().getErr().println("Try 'lockstep --help'.");
            return 2;
        });
        cmd.setExecutionStrategy(new CommandLine.RunLast());
        if (args.length == 0) {
            cmd.usage(out);
            return 2;
        }
        return cmd.execute(args);
    }

    LockstepClient connect() throws IOException {
        LockstepClient.Builder b = LockstepClient.builder().address(coordinator)
                .clientName("lockstep-admin@" + ProcessHandle.current().pid())
                .connectTimeout(Duration.ofSeconds(5)).requestTimeout(Duration.ofSeconds(10));
        b.authSecretFromFileOrEnvironment(authSecretFile);
        if (tlsCa != null) {
            b.tls(tlsCa);
        }
        if (tlsCert != null && tlsKey != null) {
            b.tlsClientCertificate(tlsCert, tlsKey);
        }
        return b.connect();
    }

    /** Runs {@code action} with a connected client; maps failures to the documented exit codes. */
    int withClient(String barrier, ClientAction action) {
        try (LockstepClient client = connect()) {
            return action.run(client);
        } catch (IOException e) {
            System.err.println("lockstep: " + e.getMessage());
            return UNREACHABLE;
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

    /** The status table: one line a barrier, who is waiting and for how long; then why broken ones broke. */
    static String table(List<BarrierStatus> barriers) {
        if (barriers.isEmpty()) {
            return "no barriers\n";
        }
        StringBuilder sb = new StringBuilder();
        String format = "%-" + Math.max(7, barriers.stream().mapToInt(b -> b.name().length()).max().orElse(7))
                + "s  %7s  %7s  %10s  %-14s  %12s  %s%n";
        sb.append(String.format(Locale.ROOT, format, "BARRIER", "PARTIES", "WAITING", "GENERATION", "STATE",
                "LONGEST WAIT", "WAITING PARTIES"));
        for (BarrierStatus b : barriers) {
            long longest = b.waiting().stream().mapToLong(w -> w.waited().toMillis()).max().orElse(0);
            String state = b.isBroken() ? "broken" : b.waiting().isEmpty() ? "idle"
                    : "waiting for " + (b.parties() - b.waiting().size());
            String who = b.waiting().stream().map(w -> w.party() + " (" + seconds(w.waited().toMillis()) + ")")
                    .collect(Collectors.joining(", "));
            sb.append(String.format(Locale.ROOT, format, b.name(), b.parties(), b.waiting().size(), b.generation(),
                    state, b.waiting().isEmpty() ? "-" : seconds(longest), who.isEmpty() ? "-" : who));
        }
        for (BarrierStatus b : barriers) {
            b.brokenReason().ifPresent(r -> sb.append('\n').append(b.name()).append(": ").append(r).append('\n'));
        }
        return sb.toString();
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

        @Option(names = "--interval", paramLabel = "MILLIS", defaultValue = "1000",
                description = "Refresh interval (default: ${DEFAULT-VALUE} ms).")
        long interval;

        @Option(names = "--count", paramLabel = "N", defaultValue = "0",
                description = "Stop after N refreshes (default: until Ctrl-C).")
        int count;

        @Override
        public Integer call() {
            return admin.withClient(name, client -> {
                for (int i = 0; count == 0 || i < count; i++) {
                    String t = table(name == null ? client.barriers() : List.of(client.status(name)));
                    // Home the cursor and clear the screen, then draw: the table refreshes in place.
                    out.print("\033[H\033[2J" + "lockstep watch " + admin.coordinator + "   "
                            + LocalTime.now().truncatedTo(ChronoUnit.SECONDS) + "\n\n" + t);
                    out.flush();
                    Thread.sleep(interval);
                }
                return 0;
            });
        }
    }
}
