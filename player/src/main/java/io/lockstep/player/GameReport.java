package io.lockstep.player;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What the players' output says happened: when each finished its rounds and when each was paid. Answers the
 * one question the game is about — was anybody paid before everybody had finished? — and writes the summary.
 */
public final class GameReport {

    private final List<String> players;
    private final Map<String, Instant> finished = new LinkedHashMap<>();
    private final Map<String, Instant> paid = new LinkedHashMap<>();
    private final Map<String, String> broken = new LinkedHashMap<>();
    private final Map<String, String> tables = new LinkedHashMap<>();
    /** Players who said they wait at the barrier and have not seen it release (or break) yet. */
    private final Set<String> waiting = new LinkedHashSet<>();

    public GameReport(List<String> players) {
        this.players = List.copyOf(players);
    }

    /** Takes one parsed line into account. */
    public void add(GameLine line) {
        if (line.player() == null) {
            return;
        }
        if (line.kind() == GameLine.Kind.FINISHED) {
            waiting.add(line.player());
        } else if (line.kind() == GameLine.Kind.TABLE || line.kind() == GameLine.Kind.BROKEN) {
            waiting.remove(line.player());
        }
        switch (line.kind()) {
            // Without a barrier nobody says "finished playing": the last round is when a player is done.
            case ROUND -> finished.merge(line.player(), line.at(), (a, b) -> a.isAfter(b) ? a : b);
            case FINISHED -> finished.put(line.player(), line.at());
            case PAID -> paid.put(line.player(), line.at());
            case TABLE -> tables.put(line.player(), line.table());
            case BROKEN -> broken.put(line.player(), line.text());
            default -> {
            }
        }
    }

    /** True when every player finished and was paid, and the first payment came after the last finish. */
    public boolean everyoneFinishedBeforeAnyoneWasPaid() {
        if (!finished.keySet().containsAll(players) || !paid.keySet().containsAll(players)) {
            return false;
        }
        Instant lastFinish = finished.values().stream().max(Comparator.naturalOrder()).orElseThrow();
        Instant firstPaid = paid.values().stream().min(Comparator.naturalOrder()).orElseThrow();
        return firstPaid.isAfter(lastFinish);
    }

    /** True when every player printed a winnings table and all the tables are the same. */
    public boolean everyoneComputedTheSameTable() {
        return tables.keySet().containsAll(players) && tables.values().stream().distinct().count() == 1;
    }

    /** Players paid while at least one other was still playing, each with who was still playing. */
    public Map<String, List<String>> paidEarly() {
        Map<String, List<String>> early = new LinkedHashMap<>();
        paid.entrySet().stream().sorted(Map.Entry.comparingByValue()).forEach(e -> {
            List<String> stillPlaying = new ArrayList<>();
            for (String p : players) {
                Instant f = finished.get(p);
                if (!p.equals(e.getKey()) && (f == null || f.isAfter(e.getValue()))) {
                    stillPlaying.add(p);
                }
            }
            if (!stillPlaying.isEmpty()) {
                early.put(e.getKey(), stillPlaying);
            }
        });
        return early;
    }

    /** The players waiting at the barrier now, as their lines so far say, in the order they began to wait. */
    public List<String> waiting() {
        return List.copyOf(waiting);
    }

    public Map<String, String> broken() {
        return broken;
    }

    /** The summary a person reads at the end of the demo, times relative to {@code start}. */
    public List<String> summary(Instant start, boolean withBarrier) {
        List<String> out = new ArrayList<>();
        out.add(String.format("  %-8s %18s %14s", "player", "finished playing", "paid"));
        for (String p : players) {
            out.add(String.format("  %-8s %18s %14s", p, at(start, finished.get(p)), at(start, paid.get(p))));
        }
        out.add("");
        Optional<Map.Entry<String, Instant>> last = finished.entrySet().stream().max(Map.Entry.comparingByValue());
        Optional<Instant> firstPaid = paid.values().stream().min(Comparator.naturalOrder());
        if (!broken.isEmpty()) {
            broken.values().forEach(b -> out.add("  " + b));
        }
        if (withBarrier) {
            if (last.isPresent() && firstPaid.isPresent()) {
                out.add(String.format("  The last player to finish was %s, at %s; the barrier released everyone at %s.",
                        last.get().getKey(), at(start, last.get().getValue()), at(start, firstPaid.get())));
            }
            out.add(everyoneFinishedBeforeAnyoneWasPaid()
                    ? "  No winnings were sent before the last player finished: the barrier held."
                    : "  NOT everyone finished before winnings were sent, or someone was never paid.");
            if (everyoneComputedTheSameTable()) {
                out.add("  All " + players.size() + " players computed the same winnings table from the scores "
                        + "exchanged at the barrier:");
                out.add("    " + tables.values().iterator().next());
            } else if (!tables.isEmpty()) {
                out.add("  The players' winnings tables DIFFER:");
                tables.forEach((p, t) -> out.add("    " + p + ": " + t));
            }
        } else {
            Map<String, List<String>> early = paidEarly();
            early.forEach((p, others) -> out.add(String.format("  %s was paid at %s while %s %s still playing.",
                    p, at(start, paid.get(p)), String.join(", ", others), others.size() == 1 ? "was" : "were")));
            out.add(early.isEmpty()
                    ? "  This time nobody happened to be paid early, but nothing made them wait."
                    : "  Without a barrier, winnings go out before everyone has finished. Run without --no-barrier.");
        }
        return out;
    }

    static String at(Instant start, Instant t) {
        if (t == null) {
            return "-";
        }
        return String.format("%.3f s", Duration.between(start, t).toNanos() / 1e9);
    }
}
