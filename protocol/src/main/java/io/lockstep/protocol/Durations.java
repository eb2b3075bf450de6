package io.lockstep.protocol;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one way Lockstep reads a duration a person wrote, on every command line, in the environment and in config
 * files: {@code 500ms}, {@code 10s}, {@code 1.5s}, {@code 2m}, {@code 1h}, ISO-8601 {@code PT10S}, or a bare number
 * of milliseconds ({@code 10000}), which is what the options took before units were allowed.
 */
public final class Durations {

    private static final Pattern WITH_UNIT = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h)");
    private static final Pattern MILLIS = Pattern.compile("\\d+");

    private Durations() {
    }

    /**
     * The duration {@code text} says.
     *
     * @throws IllegalArgumentException if it is not one (negative, no unit Lockstep knows, not a number); the
     *                                  message quotes it and shows how to write one
     */
    public static Duration parse(String text) {
        String v = text.strip().toLowerCase(Locale.ROOT);
        try {
            if (MILLIS.matcher(v).matches()) {
                return Duration.ofMillis(Long.parseLong(v));
            }
            Matcher m = WITH_UNIT.matcher(v);
            if (m.matches()) {
                double n = Double.parseDouble(m.group(1));
                double millis = n * switch (m.group(2)) {
                    case "ms" -> 1;
                    case "s" -> 1_000;
                    case "m" -> 60_000;
                    default -> 3_600_000;
                };
                if (millis <= Long.MAX_VALUE) {
                    return Duration.ofMillis(Math.round(millis));
                }
            } else if (v.startsWith("pt") || v.startsWith("p")) {
                Duration d = Duration.parse(text.strip());
                if (!d.isNegative()) {
                    return d;
                }
            }
        } catch (NumberFormatException | DateTimeParseException | ArithmeticException ignored) {
            // the message below says what was expected
        }
        throw new IllegalArgumentException("'" + text + "' is not a duration; write it like 500ms, 10s, 1.5s, 2m "
                + "or PT10S (a bare number is milliseconds)");
    }

    /** {@link #parse} in whole milliseconds, at most {@code Integer.MAX_VALUE} (what the wire carries). */
    public static int parseMillis(String text) {
        long millis = parse(text).toMillis();
        if (millis > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("'" + text + "' is too long; the most is " + Integer.MAX_VALUE + " ms");
        }
        return (int) millis;
    }
}
