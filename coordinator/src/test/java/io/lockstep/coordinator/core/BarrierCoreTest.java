package io.lockstep.coordinator.core;

import io.lockstep.protocol.BreakCause;
import io.lockstep.protocol.ErrorCode;
import io.lockstep.protocol.Outcome;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import static io.lockstep.coordinator.core.CoreHarness.only;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One test per line of DESIGN.md's semantics, on the core alone. */
class BarrierCoreTest {

    private final CoreHarness h = new CoreHarness();

    private void players(String barrier, int parties, String... names) {
        for (int i = 0; i < names.length; i++) {
            h.open(i + 1, names[i]);
            List<Effect> r = h.declare(i + 1, barrier, parties);
            assertTrue(r.get(0) instanceof Effect.Ok, r.toString());
        }
    }

    private static Map<Long, Effect.Released> releasedBySession(List<Effect> effects) {
        return only(effects, Effect.Released.class).stream()
                .collect(Collectors.toMap(Effect.Released::session, Function.identity()));
    }

    @Test
    void singlePartyPassesRepeatedlyAndEachPassIsANewGeneration() {
        players("solo", 1, "susan");
        for (int g = 1; g <= 5; g++) {
            List<Effect> r = h.arrive(1, 100 + g, "solo");
            Effect.Released rel = only(r, Effect.Released.class).get(0);
            assertEquals(g, rel.generation());
            assertEquals(0, rel.order());
        }
    }

    @Test
    void nobodyPassesUntilAllArriveThenAllPassAtOnceInArrivalOrder() {
        players("game", 3, "susan", "pratik", "suman");
        assertEquals(List.of(), h.arrive(2, 10, "game"));
        assertEquals(List.of(), h.arrive(3, 11, "game"));
        List<Effect> r = h.arrive(1, 12, "game");
        Map<Long, Effect.Released> rel = releasedBySession(r);
        assertEquals(3, rel.size());
        assertEquals(0, rel.get(2L).order());
        assertEquals(1, rel.get(3L).order());
        assertEquals(2, rel.get(1L).order());
        assertEquals(1, only(r, Effect.Tripped.class).size());
        // The next generation starts empty.
        assertEquals(List.of(), h.arrive(1, 13, "game"));
        assertEquals(2, h.core.view("game", 0).generation());
    }

    @Test
    void aLaterDeclarationWithAnotherPartyCountFailsNamingBothCounts() {
        players("game", 4, "susan");
        h.open(2, "pratik");
        Effect.Rejected r = (Effect.Rejected) h.declare(2, "game", 3).get(0);
        assertEquals(ErrorCode.PARTIES_MISMATCH, r.code());
        assertTrue(r.message().contains("4") && r.message().contains("3"), r.message());
    }

    @Test
    void namesAndPartyCountsAreChecked() {
        h.open(1, "susan");
        assertEquals(ErrorCode.INVALID_ARGUMENT, ((Effect.Rejected) h.declare(1, "", 2).get(0)).code());
        assertEquals(ErrorCode.INVALID_ARGUMENT, ((Effect.Rejected) h.declare(1, "x".repeat(257), 2).get(0)).code());
        assertTrue(h.declare(1, "é".repeat(128), 2).get(0) instanceof Effect.Ok, "256 bytes of UTF-8 is allowed");
        Effect.Rejected zero = (Effect.Rejected) h.declare(1, "game", 0).get(0);
        assertEquals(ErrorCode.INVALID_ARGUMENT, zero.code());
        assertTrue(zero.message().contains("0"), zero.message());
    }

    @Test
    void anAwaitOnABarrierTheSessionDidNotDeclareIsRejected() {
        players("game", 2, "susan");
        h.open(9, "stranger");
        Effect.Rejected r = (Effect.Rejected) h.arrive(9, 1, "game").get(0);
        assertEquals(ErrorCode.NOT_DECLARED, r.code());
    }

    @Test
    void aTimeoutFiresAtItsDeadlineNeverBeforeAndBreaksTheOthers() {
        players("game", 4, "susan", "pratik", "suman", "nijam");
        h.arrive(1, 10, "game");
        h.arrive(2, 11, "game");
        h.now = 500;
        h.arrive(4, 12, "game", 2000);
        assertEquals(2500, h.core.nextDeadline());
        assertEquals(List.of(), h.tickAt(2499));
        List<Effect> r = h.tickAt(2500);
        List<Effect.Failed> failed = only(r, Effect.Failed.class);
        assertEquals(3, failed.size());
        for (Effect.Failed f : failed) {
            assertEquals(f.session() == 4 ? Outcome.TIMED_OUT : Outcome.BROKEN, f.outcome());
            assertEquals(BreakCause.TIMEOUT, f.reason().cause());
        }
        assertEquals("barrier 'game' generation 1 broken: party 'nijam' timed out after 2000 ms; "
                + "3 of 4 arrived: susan, pratik, nijam; not arrived: suman", failed.get(0).reason().message());
        assertEquals(BarrierCore.NO_DEADLINE, h.core.nextDeadline());
    }

    @Test
    void aZeroTimeoutTimesOutAtOnceUnlessItTripsTheBarrier() {
        players("game", 2, "susan", "pratik");
        Effect.Failed f = (Effect.Failed) h.arrive(1, 10, "game", 0).get(1);
        assertEquals(Outcome.TIMED_OUT, f.outcome());
        h.apply(new Command.Reset(1, 11, "game"));
        h.arrive(1, 12, "game");
        assertEquals(2, only(h.arrive(2, 13, "game", 0), Effect.Released.class).size());
    }

    @Test
    void aBrokenBarrierStaysBrokenUntilResetAndSaysWhy() {
        players("game", 2, "susan", "pratik");
        h.arrive(1, 10, "game", 100);
        Effect.Failed first = only(h.tickAt(100), Effect.Failed.class).get(0);
        Effect.Failed later = (Effect.Failed) h.arrive(2, 11, "game").get(0);
        assertEquals(Outcome.BROKEN, later.outcome());
        assertEquals(first.reason(), later.reason());
        assertTrue(h.core.view("game", 0).broken() != null);
        assertTrue(h.apply(new Command.Reset(2, 12, "game")).get(0) instanceof Effect.Ok);
        assertNull(h.core.view("game", 0).broken());
        h.arrive(1, 13, "game");
        assertEquals(2, only(h.arrive(2, 14, "game"), Effect.Released.class).size());
    }

    @Test
    void anInterruptedWaiterBreaksTheBarrierForTheOthers() {
        players("game", 3, "susan", "pratik", "suman");
        h.arrive(1, 10, "game");
        h.arrive(2, 11, "game");
        List<Effect> r = h.apply(new Command.Cancel(2, 11));
        List<Effect.Failed> failed = only(r, Effect.Failed.class);
        assertEquals(2, failed.size());
        assertEquals(Outcome.BROKEN, failed.get(0).outcome());
        assertEquals(Outcome.INTERRUPTED, failed.get(1).outcome());
        assertTrue(failed.get(0).reason().message().contains("party 'pratik' was interrupted"));
        // A cancel that races with the outcome changes nothing.
        assertEquals(List.of(), h.apply(new Command.Cancel(2, 11)));
    }

    @Test
    void abortBreaksNowAndLaterUntilReset() {
        players("game", 2, "susan", "pratik");
        h.arrive(1, 10, "game");
        List<Effect> r = h.apply(new Command.Abort(2, 11, "game"));
        assertEquals(Outcome.BROKEN, only(r, Effect.Failed.class).get(0).outcome());
        assertTrue(only(r, Effect.Failed.class).get(0).reason().message().contains("aborted by 'pratik'"));
        assertEquals(Outcome.BROKEN, ((Effect.Failed) h.arrive(1, 12, "game").get(0)).outcome());
        assertEquals(Outcome.BROKEN, ((Effect.Failed) h.arrive(2, 13, "game").get(0)).outcome());
        h.apply(new Command.Reset(1, 14, "game"));
        h.arrive(1, 15, "game");
        assertEquals(2, only(h.arrive(2, 16, "game"), Effect.Released.class).size());
    }

    @Test
    void resetBreaksCurrentWaitersButBeforeAnyoneWaitsBreaksNothing() {
        players("game", 3, "susan", "pratik", "suman");
        List<Effect> idle = h.apply(new Command.Reset(1, 9, "game"));
        assertEquals(List.of(new Effect.Ok(1, 9)), idle);
        h.arrive(1, 10, "game");
        h.arrive(2, 11, "game");
        List<Effect> r = h.apply(new Command.Reset(3, 12, "game"));
        List<Effect.Failed> failed = only(r, Effect.Failed.class);
        assertEquals(2, failed.size());
        assertEquals(BreakCause.RESET, failed.get(0).reason().cause());
        assertTrue(failed.get(0).reason().message().contains("reset by 'suman'"), failed.get(0).reason().message());
        assertNull(h.core.view("game", 0).broken(), "usable at once after reset");
        h.arrive(1, 13, "game");
        h.arrive(2, 14, "game");
        assertEquals(3, only(h.arrive(3, 15, "game"), Effect.Released.class).size());
    }

    @Test
    void theLastPartyRunsTheActionBeforeAnyoneIsReleased() {
        players("game", 2, "susan", "pratik");
        h.arrive(1, 10, "game");
        List<Effect> r = h.apply(new Command.Arrive(2, 11, "game", -1, true, new byte[0]));
        assertEquals(List.of(new Effect.RunAction(2, 11, "game", 1)), r);
        List<Effect> done = h.apply(new Command.ActionDone(2, 11, null));
        assertEquals(2, only(done, Effect.Released.class).size());
        // A duplicate report changes nothing: the action ran once per trip.
        assertEquals(List.of(), h.apply(new Command.ActionDone(2, 11, null)));
    }

    @Test
    void aFailingActionBreaksTheBarrierAndTheRunnerGetsItsOwnFailure() {
        players("game", 2, "susan", "pratik");
        h.arrive(1, 10, "game");
        h.apply(new Command.Arrive(2, 11, "game", -1, true, new byte[0]));
        List<Effect.Failed> failed = only(h.apply(new Command.ActionDone(2, 11, "boom")), Effect.Failed.class);
        assertEquals(Outcome.BROKEN, failed.get(0).outcome());
        assertEquals(Outcome.ACTION_FAILED, failed.get(1).outcome());
        assertTrue(failed.get(0).reason().message().contains("the barrier action of party 'pratik' failed: boom"));
    }

    @Test
    void timeoutsAndInterruptsDoNotApplyWhileTheActionRunsAndLateArrivalsJoinTheNextGeneration() {
        players("game", 2, "susan", "pratik");
        h.arrive(1, 10, "game", 100);
        h.apply(new Command.Arrive(2, 11, "game", -1, true, new byte[0]));
        assertEquals(List.of(), h.tickAt(500));
        assertEquals(List.of(), h.apply(new Command.Cancel(1, 10)));
        assertEquals(List.of(), h.arrive(1, 12, "game"), "queued behind the tripping generation");
        List<Effect> r = h.apply(new Command.ActionDone(2, 11, null));
        assertEquals(2, only(r, Effect.Released.class).size());
        assertEquals(1, h.core.view("game", 500).waiting().size(), "the queued await joined generation 2");
        assertEquals(2, h.core.view("game", 500).generation());
    }

    @Test
    void aLostPartyBreaksTheBarrierAndEveryoneLearnsWho() {
        players("game", 3, "susan", "pratik", "suman");
        h.arrive(1, 10, "game");
        h.arrive(3, 11, "game");
        List<Effect> r = h.apply(new Command.CloseSession(3, "connection closed"));
        List<Effect.Failed> failed = only(r, Effect.Failed.class);
        assertEquals(1, failed.size(), "the lost session itself gets nothing");
        assertEquals(1, failed.get(0).session());
        assertEquals("barrier 'game' generation 1 broken: party 'suman' was lost: connection closed; "
                + "2 of 3 arrived: susan, suman; not arrived: pratik", failed.get(0).reason().message());
    }

    @Test
    void aCutSessionKeepsItsWaitsForItsLeaseAndComesBackIntact() {
        h.open(1, "susan");
        h.apply(new Command.OpenSession(2, "pratik", 10_000));
        h.declare(1, "game", 2);
        h.declare(2, "game", 2);
        h.arrive(2, 10, "game");
        h.now = 1000;
        h.apply(Command.Disconnect.silent(2, 900));
        assertEquals(10_900, h.core.nextDeadline());
        assertEquals(List.of(), h.tickAt(10_899));
        h.apply(new Command.Reconnect(2));
        assertEquals(BarrierCore.NO_DEADLINE, h.core.nextDeadline());
        assertEquals(2, only(h.arrive(1, 11, "game"), Effect.Released.class).size(), "nobody was lost");
    }

    @Test
    void aLeaseThatRunsOutLosesThePartyAndSaysHowLongItWasSilent() {
        h.open(1, "susan");
        h.apply(new Command.OpenSession(2, "nijam", 10_000));
        h.open(3, "pratik");
        for (long s = 1; s <= 3; s++) {
            h.declare(s, "game", 3);
        }
        h.arrive(1, 10, "game");
        h.arrive(2, 11, "game");
        h.apply(Command.Disconnect.silent(2, 0));
        assertEquals(List.of(), h.tickAt(9_999), "within the lease nothing happens");
        List<Effect> r = h.tickAt(10_400);
        List<Effect.Failed> failed = only(r, Effect.Failed.class);
        assertEquals(1, failed.size(), "only susan hears of it; nijam's session is gone");
        assertEquals(1, failed.get(0).session());
        assertEquals("barrier 'game' generation 1 broken: party 'nijam' was lost: silent for 10.4 s; its session "
                + "lease of 10 s expired; 2 of 3 arrived: susan, nijam; not arrived: pratik",
                failed.get(0).reason().message());
        assertEquals(List.of(new Effect.SessionExpired(2, "nijam", 10_400,
                "silent for 10.4 s; its session lease of 10 s expired")), only(r, Effect.SessionExpired.class));
        assertFalse(h.core.isOpen(2));
    }

    @Test
    void aConnectionItsPeerClosedLeavesTheSessionOnlyTheGraceAndTheBreakSaysSo() {
        h.open(1, "susan");
        h.apply(new Command.OpenSession(2, "nijam", 10_000));
        h.open(3, "pratik");
        for (long s = 1; s <= 3; s++) {
            h.declare(s, "game", 3);
        }
        h.arrive(1, 10, "game");
        h.arrive(2, 11, "game");
        h.now = 5_000;
        h.apply(Command.Disconnect.closed(2, 4_900, 1_000)); // nijam's process was killed: its kernel closed it
        assertEquals(6_000, h.core.nextDeadline(), "the grace counts from the close, not from when it was last heard");
        assertEquals(List.of(), h.tickAt(5_999));
        List<Effect> r = h.tickAt(6_000);
        List<Effect.Failed> failed = only(r, Effect.Failed.class);
        assertEquals(1, failed.size());
        assertEquals("barrier 'game' generation 1 broken: party 'nijam' was lost: its connection was closed and it did "
                + "not come back within 1.0 s; 2 of 3 arrived: susan, nijam; not arrived: pratik",
                failed.get(0).reason().message());
        assertEquals(List.of(new Effect.SessionExpired(2, "nijam", 1_100,
                "its connection was closed and it did not come back within 1.0 s")), only(r, Effect.SessionExpired.class));
    }

    @Test
    void aClosedConnectionNeverGetsMoreThanTheLeaseAndAClientBackWithinTheGraceLosesNothing() {
        h.open(1, "susan");
        h.apply(new Command.OpenSession(2, "nijam", 2_000));
        h.declare(1, "game", 2);
        h.declare(2, "game", 2);
        h.arrive(2, 10, "game");
        h.now = 1_500;
        h.apply(Command.Disconnect.closed(2, 0, 5_000));
        assertEquals(2_000, h.core.nextDeadline(), "a grace longer than the lease: the lease, from when it was heard");
        assertTrue(only(h.tickAt(2_000), Effect.Failed.class).isEmpty(), "nijam's own await is not answered");
        assertFalse(h.core.isOpen(2));

        h.apply(new Command.OpenSession(3, "pratik", 10_000));
        h.declare(3, "game", 2);
        h.apply(new Command.Reset(1, 11, "game"));
        h.arrive(3, 12, "game");
        h.now = 3_000;
        h.apply(Command.Disconnect.closed(3, 3_000, 1_000)); // a proxy reset the connection; the client is alive
        h.now = 3_040;
        h.apply(new Command.Reconnect(3)); // back in 40 ms
        assertEquals(BarrierCore.NO_DEADLINE, h.core.nextDeadline());
        assertEquals(List.of(), h.tickAt(60_000));
        assertEquals(2, only(h.arrive(1, 13, "game"), Effect.Released.class).size(), "nobody was lost");
    }

    @Test
    void aPartyLostBeforeItArrivedBreaksTheBarrierItDeclaredInsteadOfLeavingTheOthersWaiting() {
        h.open(1, "susan");
        h.apply(new Command.OpenSession(2, "nijam", 10_000));
        for (long s = 1; s <= 2; s++) {
            h.declare(s, "game", 2);
        }
        h.arrive(1, 10, "game");
        h.apply(Command.Disconnect.silent(2, 0)); // nijam's process died while it was still playing
        List<Effect.Failed> failed = only(h.tickAt(10_000), Effect.Failed.class);
        assertEquals(1, failed.size());
        assertEquals("barrier 'game' generation 1 broken: party 'nijam' was lost: silent for 10.0 s; its session lease "
                + "of 10 s expired before it arrived; 1 of 2 arrived: susan; not arrived: nijam",
                failed.get(0).reason().message());
        // A client that closes (says goodbye) before arriving breaks nothing: it left on purpose.
        h.apply(new Command.Reset(1, 11, "game"));
        h.open(3, "pratik");
        h.declare(3, "game", 2);
        h.arrive(1, 12, "game");
        assertEquals(List.of(), only(h.apply(new Command.CloseSession(3, "its client closed it")), Effect.Failed.class));
        // One whose process exits before arriving (Ctrl-C, SIGTERM: its client says so) cannot come: it breaks.
        h.open(4, "suman");
        h.declare(4, "game", 2);
        List<Effect.Failed> exited = only(h.apply(new Command.CloseSession(4, "its process is exiting", true)),
                Effect.Failed.class);
        assertEquals(1, exited.size());
        assertEquals("barrier 'game' generation 2 broken: party 'suman' was lost: its process is exiting, before it "
                + "arrived; 1 of 2 arrived: susan; not arrived: suman", exited.get(0).reason().message());
    }

    @Test
    void twoAwaitsOfOneClientInOneGenerationGetDistinctPartyNames() {
        h.open(1, "susan");
        h.declare(1, "game", 3);
        for (long r = 10; r <= 11; r++) {
            h.apply(new Command.Arrive(1, r, "game", -1, false, true, new byte[0]));
        }
        List<Effect.Released> rel = only(h.apply(new Command.Arrive(1, 12, "game", -1, false, true, new byte[0])),
                Effect.Released.class);
        assertEquals(List.of("susan", "susan#2", "susan#3"),
                rel.get(0).contributions().stream().map(c -> c.party()).toList());
    }

    @Test
    void contributionsReachEveryExchangingPartyInArrivalOrder() {
        players("x", 2, "a", "b");
        h.apply(new Command.Arrive(2, 10, "x", -1, false, true, new byte[]{2}));
        List<Effect.Released> rel = only(h.apply(new Command.Arrive(1, 11, "x", -1, false, true, new byte[]{1, 1})),
                Effect.Released.class);
        for (Effect.Released r : rel) {
            assertEquals("b", r.contributions().get(0).party());
            assertEquals(1, r.contributions().get(0).data().length);
            assertEquals(2, r.contributions().get(1).data().length);
        }
    }

    @Test
    void aPlainAwaitIsReleasedWithoutTheContributions() {
        players("x", 2, "a", "b");
        h.apply(new Command.Arrive(1, 10, "x", -1, false, true, new byte[]{7}));
        List<Effect.Released> rel = only(h.arrive(2, 11, "x"), Effect.Released.class);
        assertEquals(1, rel.stream().filter(r -> r.contributions().size() == 2).count(), "the exchange gets both");
        assertEquals(1, rel.stream().filter(r -> r.contributions().isEmpty()).count(), "the plain await none");
    }

    @Test
    void contributionsOverTheLimitsAreRejectedAndBreakNothing() {
        CoreHarness small = new CoreHarness(new BarrierCore.Limits(4, 6));
        small.open(1, "a");
        small.open(2, "b");
        small.declare(1, "x", 3);
        small.declare(2, "x", 3);
        Effect.Rejected tooBig = (Effect.Rejected) small.apply(
                new Command.Arrive(1, 10, "x", -1, false, true, new byte[5])).get(0);
        assertEquals(ErrorCode.INVALID_ARGUMENT, tooBig.code());
        assertEquals("a contribution of 5 bytes exceeds the limit of 4 bytes", tooBig.message());
        assertEquals(List.of(), small.apply(new Command.Arrive(1, 11, "x", -1, false, true, new byte[4])));
        Effect.Rejected full = (Effect.Rejected) small.apply(
                new Command.Arrive(2, 12, "x", -1, false, true, new byte[3])).get(0);
        assertTrue(full.message().contains("already holds 4 bytes"), full.message());
        assertNull(small.core.view("x", 0).broken(), "a rejected contribution breaks nothing");
        assertEquals(1, small.core.view("x", 0).waiting().size());
        // Once released, the barrier holds nothing again.
        small.apply(new Command.Arrive(2, 13, "x", -1, false, true, new byte[2]));
        assertEquals(3, only(small.apply(new Command.Arrive(2, 14, "x", -1, false, true, new byte[0])),
                Effect.Released.class).size());
        assertEquals(List.of(), small.apply(new Command.Arrive(1, 15, "x", -1, false, true, new byte[4])));
    }

    @Test
    void aBarrierIsForgottenWhenTheLastSessionThatDeclaredItCloses() {
        players("game", 2, "susan", "pratik");
        h.apply(new Command.CloseSession(1, "closed"));
        assertNotNull(h.core.view("game", 0));
        h.apply(new Command.CloseSession(2, "closed"));
        assertNull(h.core.view("game", 0));
        assertEquals(0, h.core.barrierCount());
    }

    @Test
    void shutdownBreaksEveryWaiterWithTheReason() {
        players("game", 3, "susan", "pratik", "suman");
        h.arrive(1, 10, "game");
        h.arrive(2, 11, "game");
        List<Effect.Failed> failed = only(h.apply(new Command.Shutdown("coordinator shutting down (SIGTERM)")),
                Effect.Failed.class);
        assertEquals(2, failed.size());
        assertEquals(BreakCause.SHUTDOWN, failed.get(0).reason().cause());
        assertTrue(failed.get(0).reason().message().contains("coordinator shutting down (SIGTERM)"));
    }

    @Test
    void queryShowsWhoWaitsAndForHowLong() {
        players("game", 3, "susan", "pratik", "suman");
        h.now = 1000;
        h.arrive(2, 10, "game");
        h.now = 1500;
        Effect.Status st = (Effect.Status) h.apply(new Command.Query(1, 11, "game")).get(0);
        assertEquals(3, st.view().parties());
        assertEquals(List.of(new BarrierView.WaitingParty("pratik", 500)), st.view().waiting());
        assertEquals(ErrorCode.UNKNOWN_BARRIER,
                ((Effect.Rejected) h.apply(new Command.Query(1, 12, "nope")).get(0)).code());
    }
}
