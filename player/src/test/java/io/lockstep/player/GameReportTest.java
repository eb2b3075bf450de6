package io.lockstep.player;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GameReportTest {

    private static final Instant T0 = Instant.parse("2026-11-26T10:00:00Z");

    private static GameLine at(long millis, String text) {
        return GameLine.parse(T0.plusMillis(millis) + " " + text, Instant.EPOCH);
    }

    @Test
    void parsesTheSeedsLines() {
        GameLine l = at(5, "susan finished playing and is waiting for others.");
        assertEquals(GameLine.Kind.FINISHED, l.kind());
        assertEquals("susan", l.player());
        assertEquals(T0.plusMillis(5), l.at());
        assertEquals(GameLine.Kind.PAID, GameLine.parse("sending winning amount to nijam", T0).kind());
        assertEquals(GameLine.Kind.ROUND, GameLine.parse("pratik is playing round 2", T0).kind());
        assertEquals(GameLine.Kind.OTHER, GameLine.parse("12:00:01.000 WARN something", T0).kind());
    }

    @Test
    void holdsOnlyWhenTheFirstPaymentComesAfterTheLastFinish() {
        GameReport good = new GameReport(List.of("a", "b"));
        good.add(at(10, "a finished playing and is waiting for others."));
        good.add(at(20, "b finished playing and is waiting for others."));
        good.add(at(21, "sending winning amount to a"));
        good.add(at(21, "sending winning amount to b"));
        assertTrue(good.everyoneFinishedBeforeAnyoneWasPaid());

        GameReport bad = new GameReport(List.of("a", "b"));
        bad.add(at(10, "a is playing round 3"));
        bad.add(at(11, "sending winning amount to a"));
        bad.add(at(20, "b is playing round 3"));
        bad.add(at(21, "sending winning amount to b"));
        assertFalse(bad.everyoneFinishedBeforeAnyoneWasPaid());
        assertEquals(Map.of("a", List.of("b")), bad.paidEarly());

        GameReport unpaid = new GameReport(List.of("a", "b"));
        unpaid.add(at(10, "a finished playing and is waiting for others."));
        unpaid.add(at(20, "b finished playing and is waiting for others."));
        unpaid.add(at(21, "sending winning amount to a"));
        assertFalse(unpaid.everyoneFinishedBeforeAnyoneWasPaid(), "b was never paid");
    }

    @Test
    void roundsVaryByPlayerAndRoundWithinHalfToOneAndAHalfTimesTheTypicalTime() {
        Duration typical = Duration.ofSeconds(3);
        Set<Long> totals = new HashSet<>();
        for (String p : List.of("susan", "pratik", "suman", "nijam")) {
            long total = 0;
            for (int r = 1; r <= 3; r++) {
                long ms = Player.roundDuration(p, r, typical).toMillis();
                assertTrue(ms >= 1500 && ms <= 4500, p + " round " + r + ": " + ms);
                assertEquals(ms, Player.roundDuration(p, r, typical).toMillis(), "the same on every run");
                total += ms;
            }
            totals.add(total);
        }
        assertEquals(4, totals.size(), "the four players finish at different moments");
    }
}
