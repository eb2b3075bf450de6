package io.lockstep.player;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

class WinningsTest {

    @Test
    void scoresSurviveTheirEncoding() {
        assertEquals(List.of(42, 0, 100), Winnings.decode(Winnings.encode(List.of(42, 0, 100))));
        assertEquals(List.of(), Winnings.decode(Winnings.encode(List.of())));
    }

    @Test
    void thePotIsSplitByScoreInWholeCoinsThatAddUpToThePot() {
        assertEquals(Map.of("a", 500, "b", 250, "c", 250), Winnings.split(Map.of("a", 2, "b", 1, "c", 1), 1000));
        assertEquals(Map.of("a", 334, "b", 333, "c", 333), Winnings.split(Map.of("a", 1, "b", 1, "c", 1), 1000),
                "the odd coin goes to the earlier name");
        assertEquals(Map.of("a", 500, "b", 500), Winnings.split(Map.of("a", 0, "b", 0), 1000), "nobody scored");
        Random rnd = new Random(3);
        for (int t = 0; t < 1000; t++) {
            Map<String, Integer> totals = new LinkedHashMap<>();
            for (int i = 0; i < 1 + rnd.nextInt(6); i++) {
                totals.put("p" + i, rnd.nextInt(300));
            }
            assertEquals(1000, Winnings.split(totals, 1000).values().stream().mapToInt(Integer::intValue).sum());
        }
    }

    @Test
    void theTableDoesNotDependOnTheOrderScoresArrivedIn() {
        Map<String, Integer> one = new LinkedHashMap<>();
        one.put("susan", 120);
        one.put("nijam", 80);
        Map<String, Integer> other = new LinkedHashMap<>();
        other.put("nijam", 80);
        other.put("susan", 120);
        assertEquals(Winnings.table(one), Winnings.table(other));
        assertEquals("nijam 400 (80 points), susan 600 (120 points)", Winnings.table(one));
    }
}
