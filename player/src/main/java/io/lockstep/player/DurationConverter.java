package io.lockstep.player;

import picocli.CommandLine;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads durations as people write them: {@code 3s}, {@code 500ms}, {@code 1.5s}, {@code 2m}, or ISO {@code PT3S}. */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {

    private static final Pattern SIMPLE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m)");

    @Override
    public Duration convert(String value) {
        return parse(value);
    }

    static Duration parse(String value) {
        String v = value.trim().toLowerCase();
        Matcher m = SIMPLE.matcher(v);
        if (m.matches()) {
            double n = Double.parseDouble(m.group(1));
            double millis = switch (m.group(2)) {
                case "ms" -> n;
                case "s" -> n * 1000;
                default -> n * 60_000;
            };
            return Duration.ofMillis(Math.round(millis));
        }
        try {
            Duration d = Duration.parse(value.trim());
            if (!d.isNegative()) {
                return d;
            }
        } catch (DateTimeParseException ignored) {
            // fall through to the error
        }
        throw new CommandLine.TypeConversionException(
                "'" + value + "' is not a duration; write it like 3s, 500ms, 1.5s or 2m");
    }
}
