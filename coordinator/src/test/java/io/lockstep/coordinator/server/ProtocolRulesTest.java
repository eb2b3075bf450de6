package io.lockstep.coordinator.server;

import io.lockstep.protocol.BreakCause;
import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.Message;
import io.lockstep.protocol.Outcome;
import io.lockstep.protocol.Protocol;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The rules of PROTOCOL.md's "Rules for a client", one test each, through raw frames: what a client written from
 * the spec alone can rely on.
 */
class ProtocolRulesTest {

    private CoordinatorServer server;
    private InetSocketAddress address;
    private final List<RawPeer> peers = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        server = new CoordinatorServer(ServerConfig.ephemeralLoopback());
        address = server.start();
    }

    @AfterEach
    void stop() throws IOException {
        for (RawPeer p : peers) {
            p.close();
        }
        server.stop("test finished");
    }

    private RawPeer peer() throws IOException {
        RawPeer p = new RawPeer(address);
        peers.add(p);
        return p;
    }

    private long queryIds = 1_000_000;

    /** Asks (QUERY through {@code asker}) until {@code n} parties wait at {@code barrier}: arrivals on other
     * connections are applied in no order the test could rely on otherwise. */
    private List<String> waitUntilWaiting(RawPeer asker, String barrier, int n) {
        return Awaitility.await(n + " parties waiting at " + barrier).atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(5))
                .until(() -> {
                    asker.send(new Message.Query(++queryIds, barrier));
                    return ((Message.Status) asker.read()).waiting().stream().map(Message.Waiter::party).toList();
                }, waiting -> waiting.size() == n);
    }

    /** One connection per name, each with a session that declared {@code barrier} for {@code parties} (id 1). */
    private RawPeer[] declared(String barrier, int parties, String... names) throws Exception {
        RawPeer[] p = new RawPeer[names.length];
        for (int i = 0; i < names.length; i++) {
            p[i] = peer();
            p[i].handshake(names[i]);
            p[i].send(new Message.Declare(1, barrier, parties));
            assertInstanceOf(Message.Ok.class, p[i].read());
        }
        return p;
    }

    private static Message.Await await(long id, String barrier, boolean runsAction) {
        return new Message.Await(id, barrier, Protocol.NO_TIMEOUT, runsAction, new byte[0]);
    }

    @Test
    void aSessionThatCannotBeResumedIsANewOneWhoseBarriersMustBeDeclaredAgainAndRequestIdsMayBeReused()
            throws Exception {
        RawPeer first = peer();
        Message.Welcome w = first.handshake("susan");
        first.send(new Message.Declare(1, "game", 1));
        assertInstanceOf(Message.Ok.class, first.read());
        first.close();

        // More answers than the coordinator ever produced for it: the counts cannot be reconciled.
        RawPeer again = peer();
        again.send(new Message.Hello(Protocol.MAGIC, Protocol.VERSION, "susan", 0, w.sessionId(), 5));
        Message.Welcome fresh = (Message.Welcome) again.read();
        assertFalse(fresh.resumed());
        assertEquals("session " + w.sessionId() + " cannot be resumed by this client", fresh.note());
        again.send(await(1, "game", false)); // request id 1 again: a new session, a new count
        Message.Error e = (Message.Error) again.read();
        assertEquals(ErrorCode.NOT_DECLARED, e.code(), "a declaration belongs to the session that made it");
        again.send(new Message.Declare(2, "game", 1)).send(await(3, "game", false));
        assertInstanceOf(Message.Ok.class, again.read());
        assertInstanceOf(Message.Released.class, again.read());
    }

    @Test
    void requestsOfOneSessionAreAppliedInTheOrderSentEvenInOneWrite() throws Exception {
        RawPeer p = peer();
        p.handshake("pipelined");
        ByteArrayOutputStream one = new ByteArrayOutputStream();
        for (Message m : List.of(new Message.Declare(1, "order", 1), await(2, "order", false),
                new Message.Query(3, "order"))) {
            one.write(RawPeer.frame(m));
        }
        p.sendBytes(one.toByteArray());
        assertInstanceOf(Message.Ok.class, p.read(), "DECLARE first");
        Message.Released r = (Message.Released) p.read();
        assertEquals(2, r.requestId(), "then the AWAIT, which saw the declaration");
        Message.Status s = (Message.Status) p.read();
        assertEquals(2, s.generation(), "then the QUERY, which saw the release");
    }

    @Test
    void anAbortWhileTheBarrierActionRunsFailsEveryPartyAtOnceAndTheLaterActionDoneIsIgnored() throws Exception {
        RawPeer waiter = peer();
        RawPeer runner = peer();
        RawPeer admin = peer();
        waiter.handshake("waiter");
        runner.handshake("runner");
        admin.handshake("admin");
        waiter.send(new Message.Declare(1, "act", 2));
        runner.send(new Message.Declare(1, "act", 2));
        assertInstanceOf(Message.Ok.class, waiter.read());
        assertInstanceOf(Message.Ok.class, runner.read());
        waiter.send(await(2, "act", false));
        waitUntilWaiting(admin, "act", 1);
        runner.send(await(2, "act", true));
        assertInstanceOf(Message.RunAction.class, runner.read(), "the last party runs the action");
        admin.send(new Message.Abort(1, "act"));
        assertInstanceOf(Message.Ok.class, admin.read());
        for (RawPeer p : List.of(waiter, runner)) {
            Message.Failed f = (Message.Failed) p.read();
            assertEquals(Outcome.BROKEN, f.outcome());
            assertEquals(BreakCause.ABORT, f.cause());
        }
        runner.send(new Message.ActionDone(2, null)); // too late: nothing answers it
        runner.send(new Message.Query(3, "act"));
        Message.Status s = (Message.Status) runner.read();
        assertTrue(s.broken(), "still broken: the action's success did not release anyone");
    }

    @Test
    void undeclareDropsADeclarationAndTheBarrierOnceNobodyDeclaresItButNotWhileAnAwaitWaits() throws Exception {
        RawPeer p = peer();
        p.handshake("long-lived");
        p.send(new Message.Declare(1, "once", 2));
        assertInstanceOf(Message.Ok.class, p.read());
        p.send(await(2, "once", false));
        p.send(new Message.Undeclare(3, "once"));
        Message.Error busy = (Message.Error) p.read();
        assertEquals(3, busy.requestId());
        assertEquals(ErrorCode.INVALID_ARGUMENT, busy.code(), busy.message());
        p.send(new Message.Cancel(2));
        assertInstanceOf(Message.Failed.class, p.read(), "the withdrawn await");
        p.send(new Message.Reset(4, "once"));
        assertInstanceOf(Message.Ok.class, p.read());
        p.send(new Message.Undeclare(5, "once"));
        assertInstanceOf(Message.Ok.class, p.read());
        p.send(new Message.Query(6, "once"));
        assertEquals(ErrorCode.UNKNOWN_BARRIER, ((Message.Error) p.read()).code(), "forgotten: nobody declares it");
        p.send(new Message.Undeclare(7, "once"));
        assertEquals(ErrorCode.NOT_DECLARED, ((Message.Error) p.read()).code());
    }

    @Test
    void aZeroTimeoutPassesForThePartyThatCompletesTheGenerationAndTimesOutOtherwise() throws Exception {
        RawPeer[] ab = declared("zero", 2, "a", "b");
        RawPeer a = ab[0];
        RawPeer b = ab[1];
        a.send(new Message.Await(2, "zero", 0, false, new byte[0]));
        Message.Failed f = (Message.Failed) a.read();
        assertEquals(Outcome.TIMED_OUT, f.outcome(), "first of two, no time to wait");
        a.send(new Message.Reset(3, "zero"));
        assertInstanceOf(Message.Ok.class, a.read());
        a.send(await(4, "zero", false));
        waitUntilWaiting(b, "zero", 1);
        b.send(new Message.Await(2, "zero", 0, false, new byte[0]));
        assertInstanceOf(Message.Released.class, b.read(), "the last to arrive passes with no time at all");
        assertInstanceOf(Message.Released.class, a.read());
    }

    @Test
    void aRequestReusingTheIdOfAWaitingAwaitIsRefusedAndTheAwaitIsUnaffected() throws Exception {
        RawPeer[] ab = declared("ids", 2, "a", "b");
        RawPeer a = ab[0];
        RawPeer b = ab[1];
        a.send(await(5, "ids", false));
        for (Message.Request reuse : List.<Message.Request>of(await(5, "ids", false), new Message.Declare(5, "ids", 2),
                new Message.Query(5, "ids"), new Message.ListBarriers(5), new Message.Abort(5, "nope"))) {
            a.send(reuse);
            Message.Error e = (Message.Error) a.read();
            assertEquals(5, e.requestId());
            assertEquals(ErrorCode.BAD_REQUEST_ID, e.code(), reuse + " is refused: " + e.message());
        }
        b.send(await(2, "ids", false));
        Message.Released r = (Message.Released) a.read();
        assertEquals(5, r.requestId(), "the await that holds the id gets its own answer, once");
        assertEquals(0, r.arrivalOrder());
        assertInstanceOf(Message.Released.class, b.read());
        a.send(new Message.Query(5, "ids")); // answered: the id is free again
        assertInstanceOf(Message.Status.class, a.read());
    }

    @Test
    void aSecondPartyOfOneClientNameIsSuffixedPerGenerationAcrossSessionsAndEachFindsItselfAtItsArrivalOrder()
            throws Exception {
        RawPeer[] p = declared("names", 3, "same", "same", "same"); // three sessions, one client name
        RawPeer asker = peer();
        asker.handshake("asker");
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < 3; i++) {
                p[i].send(new Message.Await(2 + round, "names", -1, false, true, new byte[]{(byte) i}));
                if (i < 2) {
                    waitUntilWaiting(asker, "names", i + 1); // arrive in this order
                }
            }
            for (int i = 0; i < 3; i++) {
                Message.Released r = (Message.Released) p[i].read();
                assertEquals(i, r.arrivalOrder());
                assertEquals(List.of("same", "same#2", "same#3"), r.contributions().stream()
                        .map(Message.Contribution::party).toList(), "suffixes start over in every generation");
                assertEquals(i, r.contributions().get(r.arrivalOrder()).data()[0], "its own entry is at its order");
            }
        }
    }

    @Test
    void generationsStartAtOneAndStatusCountsTheArrivedPartiesOfTheCurrentGeneration() throws Exception {
        RawPeer a = peer();
        RawPeer b = peer();
        a.handshake("a");
        b.handshake("b");
        a.send(new Message.Declare(1, "gen", 2));
        a.read();
        a.send(new Message.Query(2, "gen"));
        Message.Status fresh = (Message.Status) a.read();
        assertEquals(1, fresh.generation());
        assertEquals(List.of(), fresh.waiting());
        a.send(await(3, "gen", false));
        assertEquals(List.of("a"), waitUntilWaiting(b, "gen", 1)); // (QUERY needs no declaration)
        b.send(new Message.Declare(2, "gen", 2)).send(await(3, "gen", false));
        b.read();
        assertEquals(1, ((Message.Released) a.read()).generation());
        assertEquals(1, ((Message.Released) b.read()).generation());
        b.send(new Message.Query(4, "gen"));
        Message.Status next = (Message.Status) b.read();
        assertEquals(2, next.generation());
        assertEquals(List.of(), next.waiting(), "released parties no longer count as waiting");
    }

    @Test
    void anActionDoneForNoAwaitThatRunsAnActionIsIgnored() throws Exception {
        RawPeer a = peer();
        a.handshake("a");
        a.send(new Message.ActionDone(77, null)).send(new Message.ActionDone(78, "no such await"));
        a.send(new Message.Declare(1, "done", 1));
        Message.Ok ok = (Message.Ok) a.read();
        assertEquals(1, ok.requestId(), "nothing answered the ACTION_DONEs, and the connection stays");
    }

    @Test
    void atShutdownEveryWaitingAwaitFailsThenAConnectionErrorSaysSoThenTheConnectionCloses() throws Exception {
        RawPeer a = peer();
        a.handshake("a");
        // The query is answered after the await was applied (one session's requests apply in order): it waits.
        a.send(new Message.Declare(1, "stop", 2)).send(await(2, "stop", false)).send(new Message.Query(3, "stop"));
        assertEquals(1, ((Message.Ok) a.read()).requestId());
        assertEquals(3, ((Message.Reply) a.read()).requestId());
        server.stop("maintenance");
        Message.Failed f = (Message.Failed) a.read();
        assertEquals(BreakCause.SHUTDOWN, f.cause());
        Message.Error e = (Message.Error) a.read();
        assertEquals(0, e.requestId());
        assertEquals(ErrorCode.SHUTTING_DOWN, e.code());
        assertTrue(a.closedByPeer(), "then the coordinator closes the connection");
        server = new CoordinatorServer(ServerConfig.ephemeralLoopback());
        address = server.start(); // for @AfterEach
    }

    @Test
    void unknownAwaitFlagBitsAreAMalformedFrameAndCloseTheConnection() throws Exception {
        RawPeer a = peer();
        a.handshake("a");
        a.send(new Message.Declare(1, "flags", 1));
        a.read();
        // AWAIT id 2, "flags", no timeout, flags 0x04 (not defined), no contribution.
        a.sendBytes(HexFormat.of().parseHex("0000001d" + "03" + "0000000000000002" + "0005" + "666c616773"
                + "ffffffffffffffff" + "04" + "00000000"));
        Message.Error e = (Message.Error) a.read();
        assertEquals(0, e.requestId());
        assertEquals(ErrorCode.MALFORMED_FRAME, e.code());
        assertTrue(a.closedByPeer());
    }
}
