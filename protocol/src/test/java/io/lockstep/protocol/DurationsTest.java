package io.lockstep.protocol;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DurationsTest {

    @Test
    void readsEveryWayADurationIsWritten() {
        assertEquals(Duration.ofSeconds(10), Durations.parse("10s"));
        assertEquals(Duration.ofMillis(500), Durations.parse("500ms"));
        assertEquals(Duration.ofMillis(1500), Durations.parse("1.5s"));
        assertEquals(Duration.ofMinutes(2), Durations.parse("2m"));
        assertEquals(Duration.ofHours(1), Durations.parse("1h"));
        assertEquals(Duration.ofSeconds(10), Durations.parse("PT10S"));
        assertEquals(Duration.ofSeconds(10), Durations.parse(" 10 S "));
        assertEquals(Duration.ofMillis(10_000), Durations.parse("10000"), "a bare number is milliseconds, as before");
        assertEquals(0, Durations.parseMillis("0"));
    }

    @Test
    void refusesWhatIsNotADurationAndSaysHowToWriteOne() {
        for (String bad : new String[]{"", "10x", "-5s", "PT-1S", "s", "1e3", "ten seconds", "99999999999999999999"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Durations.parse(bad), bad);
            assertEquals("'" + bad + "' is not a duration; write it like 500ms, 10s, 1.5s, 2m or PT10S (a bare number"
                    + " is milliseconds)", e.getMessage());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Durations.parseMillis("1000h"))
                .getMessage().contains("too long"));
    }
}
