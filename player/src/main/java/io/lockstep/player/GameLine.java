package io.lockstep.player;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One line of a player's {@code --timestamps} output, understood: who, what, when. Used by the demo's summary
 * and by the cluster test to check that nobody was paid before everyone had finished.
 */
public record GameLine(Instant at, String text, Kind kind, String player) {

    public enum Kind { STARTED, ROUND, FINISHED, TABLE, PAID, BROKEN, OTHER }

    private static final Pattern STARTED = Pattern.compile("^(\\S+) started playing\\.$");
    private static final Pattern ROUND = Pattern.compile("^(\\S+) is playing round \\d+$");
    private static final Pattern FINISHED = Pattern.compile("^(\\S+) finished playing and is waiting for others\\.$");
    private static final Pattern TABLE = Pattern.compile("^winnings table seen by (\\S+): .*$");
    private static final Pattern PAID = Pattern.compile("^sending winning amount to ([^\\s:]+)(?:: .*)?$");
    private static final Pattern BROKEN = Pattern.compile("^(\\S+) cannot be paid: .*$");

    /** For a TABLE line, the table itself (the same text for every player who saw the same scores). */
    public String table() {
        return kind == Kind.TABLE ? text.substring(text.indexOf(": ") + 2) : null;
    }

    /** Parses {@code <ISO instant> <text>}; a line without a timestamp gets {@code fallback} as its time. */
    public static GameLine parse(String line, Instant fallback) {
        Instant at = fallback;
        String text = line;
        int space = line.indexOf(' ');
        if (space > 0 && line.charAt(0) >= '0' && line.charAt(0) <= '9') {
            try {
                at = Instant.parse(line.substring(0, space));
                text = line.substring(space + 1);
            } catch (DateTimeParseException ignored) {
                // not a timestamped line
            }
        }
        for (Kind k : Kind.values()) {
            Pattern p = switch (k) {
                case STARTED -> STARTED;
                case ROUND -> ROUND;
                case FINISHED -> FINISHED;
                case TABLE -> TABLE;
                case PAID -> PAID;
                case BROKEN -> BROKEN;
                case OTHER -> null;
            };
            if (p != null) {
                Matcher m = p.matcher(text);
                if (m.matches()) {
                    return new GameLine(at, text, k, m.group(1));
                }
            }
        }
        return new GameLine(at, text, Kind.OTHER, null);
    }
}
