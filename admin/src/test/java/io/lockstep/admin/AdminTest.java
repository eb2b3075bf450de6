package io.lockstep.admin;

import io.lockstep.client.BarrierStatus;
import io.lockstep.client.DistributedBarrier;
import io.lockstep.client.GroupStatus;
import io.lockstep.client.LockstepClient;
import io.lockstep.coordinator.server.CoordinatorServer;
import io.lockstep.coordinator.server.ServerConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** bin/lockstep against a live coordinator: status shows who waits, abort and reset do what the client's do. */
class AdminTest {

    private CoordinatorServer server;
    private String address;
    private LockstepClient susan;
    private LockstepClient pratik;
    private final ByteArrayOutputStream printed = new ByteArrayOutputStream();

    @BeforeEach
    void start() throws Exception {
        server = new CoordinatorServer(ServerConfig.ephemeralLoopback());
        address = "127.0.0.1:" + server.start().getPort();
        susan = LockstepClient.builder().address(address).clientName("susan").connect();
        pratik = LockstepClient.builder().address(address).clientName("pratik").connect();
        Admin.out = new PrintStream(printed, true, StandardCharsets.UTF_8);
    }

    @AfterEach
    void stop() {
        susan.close();
        pratik.close();
        server.stop("test finished");
    }

    private int admin(String... args) {
        printed.reset();
        String[] all = new String[args.length + 2];
        all[0] = "--coordinator";
        all[1] = address;
        System.arraycopy(args, 0, all, 2, args.length);
        return Admin.run(all);
    }

    private String output() {
        return printed.toString(StandardCharsets.UTF_8);
    }

    private CompletableFuture<Integer> waiting(LockstepClient c) throws Exception {
        DistributedBarrier b = c.barrier("game", 4);
        CompletableFuture<Integer> f = b.awaitAsync();
        long end = System.nanoTime() + 5_000_000_000L;
        while (!f.isDone() && System.nanoTime() < end && b.getNumberWaiting() < 1) {
            Thread.sleep(5);
        }
        return f;
    }

    @Test
    void statusShowsTheWaitingPartiesByName() throws Exception {
        waiting(susan);
        waiting(pratik);
        assertEquals(0, admin("status"));
        String[] lines = output().split("\n");
        assertTrue(lines[0].startsWith("BARRIER") && lines[0].contains("WAITING PARTIES"), output());
        assertTrue(lines[1].startsWith("game") && lines[1].contains("waiting for 2")
                && lines[1].contains("susan (") && lines[1].contains("pratik ("), output());
        assertEquals(0, admin("status", "game"));
        assertTrue(output().contains("susan ("), output());
    }

    @Test
    void theStatusColumnsLineUpWhateverTheNamesAndNumbers() {
        List<BarrierStatus> barriers = List.of(
                new BarrierStatus("g", 4, 1, Optional.empty(), List.of()),
                new BarrierStatus("a-much-longer-barrier-name", Integer.MAX_VALUE, 12_345_678_901L, Optional.empty(),
                        List.of(new BarrierStatus.Waiting("susan", Duration.ofMillis(12_400)))));
        String[] lines = Admin.table(barriers).split("\n");
        for (String header : new String[]{"PARTIES", "WAITING", "GENERATION", "LONGEST WAIT"}) {
            int end = lines[0].indexOf(header) + header.length();
            for (int i = 1; i <= 2; i++) {
                assertEquals(' ', lines[i].charAt(end), header + " ends where its numbers end:\n" + lines[0] + "\n"
                        + lines[i]);
                assertTrue(Character.isDigit(lines[i].charAt(end - 1)) || lines[i].charAt(end - 1) == 's'
                        || lines[i].charAt(end - 1) == '-', header + ":\n" + lines[0] + "\n" + lines[i]);
            }
        }
        for (String header : new String[]{"STATE", "WAITING PARTIES"}) {
            int start = lines[0].indexOf(header);
            for (int i = 1; i <= 2; i++) {
                assertEquals(' ', lines[i].charAt(start - 1), header + " starts in one place:\n" + lines[0] + "\n"
                        + lines[i]);
                assertTrue(lines[i].charAt(start) != ' ', header + ":\n" + lines[0] + "\n" + lines[i]);
            }
        }
    }

    @Test
    void theGroupTableSaysWhoLeadsAndHowFarBehindEachNodeIs() {
        GroupStatus g = new GroupStatus("n1", "n1", 3, 120, List.of(
                new GroupStatus.Node("n1", "h1:7790", "h1:7777", "leader", 120, null),
                new GroupStatus.Node("n2", "h2:7790", "", "follower", 117, Duration.ofMillis(12)),
                new GroupStatus.Node("n3", "h3:7790", "", "follower", -1, null)));
        assertEquals("""
                group: term 3, 120 entries committed, as n1 sees it
                NODE  ROLE      ADDRESS  CLIENTS AT        LAG  LAST HEARD
                n1    leader    h1:7790  h1:7777     0 entries           -
                n2    follower  h2:7790  -           3 entries   12 ms ago
                n3    follower  h3:7790  -                   -           -

                """, Admin.groupTable(g));
        assertEquals(0, admin("status"));
        assertFalse(output().contains("group:"), "a single coordinator has no group table: " + output());
    }

    @Test
    void abortBreaksTheWaitersAsTheClientsAbortDoes() throws Exception {
        CompletableFuture<Integer> w = waiting(susan);
        assertEquals(0, admin("abort", "game"));
        assertEquals("aborted barrier 'game'\n", output());
        ExecutionException e = assertThrows(ExecutionException.class, () -> w.get(5, TimeUnit.SECONDS));
        assertInstanceOf(BrokenBarrierException.class, e.getCause());
        assertTrue(e.getCause().getMessage().contains("aborted by 'lockstep-admin@"), e.getCause().getMessage());
        assertEquals(0, admin("status", "game"));
        assertTrue(output().contains("broken") && output().contains("aborted by"), output());
    }

    @Test
    void resetBreaksTheWaitersAndLeavesTheBarrierFresh() throws Exception {
        CompletableFuture<Integer> w = waiting(susan);
        assertEquals(0, admin("reset", "game"));
        ExecutionException e = assertThrows(ExecutionException.class, () -> w.get(5, TimeUnit.SECONDS));
        assertTrue(e.getCause().getMessage().contains("reset by 'lockstep-admin@"), e.getCause().getMessage());
        assertFalse(susan.status("game").isBroken());
    }

    @Test
    void exitCodesAScriptCanRelyOn() {
        assertEquals(3, admin("status", "nope"));
        assertEquals(3, admin("abort", "nope"));
        assertEquals(2, admin("frobnicate"));
        assertEquals(4, Admin.run("--coordinator", "127.0.0.1:1", "status"));
        assertEquals(0, admin("watch", "--count", "1", "--interval", "10"));
        assertTrue(output().contains("no barriers"), output());
    }

    @Test
    void snapshotSaveWritesTheWholeStateAndASingleCoordinatorHasNoLeadToHand() throws Exception {
        waiting(susan);
        java.nio.file.Path file = java.nio.file.Files.createTempFile("lockstep-admin-", ".snapshot");
        assertEquals(0, admin("snapshot", "save", file.toString()));
        assertTrue(output().startsWith("saved " + java.nio.file.Files.size(file) + " bytes to " + file), output());
        io.lockstep.coordinator.core.CoordinatorState saved = io.lockstep.coordinator.core.CoordinatorState
                .readSnapshot(new io.lockstep.coordinator.core.BoundedReader(java.nio.file.Files.readAllBytes(file)),
                        io.lockstep.coordinator.core.BarrierCore.Limits.DEFAULT, "");
        assertEquals(List.of("susan"), saved.view("game", 0).waiting().stream()
                .map(io.lockstep.coordinator.core.BarrierView.WaitingParty::party).toList(), "the waiting party is in it");
        java.nio.file.Files.delete(file);

        assertEquals(Admin.REFUSED, admin("group", "transfer-leader", "n2"));
    }

    /**
     * From another machine (here: this one's own network address, not loopback), admin requests need a coordinator
     * whose clients authenticate; barrier requests on the same connection go on.
     */
    @Test
    void anAdminRequestFromOffTheMachineNeedsAnAuthenticatedClient() throws Exception {
        java.net.InetAddress own = ownAddress();
        org.junit.jupiter.api.Assumptions.assumeTrue(own != null, "this machine has no address but loopback");
        for (boolean secret : new boolean[]{false, true}) {
            ServerConfig config = new ServerConfig(own.getHostAddress(), 0, 1 << 20, 1);
            CoordinatorServer open = new CoordinatorServer(secret ? config.withAuthSecret("a-secret-of-enough-bytes".getBytes()) : config);
            try {
                int port = open.start().getPort();
                LockstepClient.Builder b = LockstepClient.builder().address(own.getHostAddress() + ":" + port)
                        .clientName("from-afar");
                try (LockstepClient c = secret ? b.authSecret("a-secret-of-enough-bytes".getBytes()).connect() : b.connect()) {
                    if (secret) {
                        assertTrue(c.snapshot().length > 0);
                    } else {
                        io.lockstep.client.LockstepException refused = assertThrows(
                                io.lockstep.client.LockstepException.class, c::snapshot);
                        assertTrue(refused.getMessage().startsWith("refused: admin requests need an authenticated "
                                + "client"), refused.getMessage());
                        assertTrue(c.barriers().isEmpty(), "the connection goes on");
                    }
                }
            } finally {
                open.stop("test finished");
            }
        }
    }

    private static java.net.InetAddress ownAddress() throws java.net.SocketException {
        for (java.net.NetworkInterface i : java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces())) {
            if (i.isUp() && !i.isLoopback()) {
                for (java.net.InetAddress a : java.util.Collections.list(i.getInetAddresses())) {
                    if (a instanceof java.net.Inet4Address) {
                        return a;
                    }
                }
            }
        }
        return null;
    }
}
