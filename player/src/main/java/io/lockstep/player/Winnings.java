package io.lockstep.player;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The game's payout: a pot split among the players in proportion to their total scores, in whole coins (largest
 * remainder, ties to the earlier name). A pure function of the scores, so every player that holds the same scores
 * — which the barrier's exchange guarantees — computes the same table.
 */
final class Winnings {

    static final int POT = 1000;

    private Winnings() {
    }

    /** A player's round scores as its contribution to the exchange: {@code 42,17,88}. */
    static byte[] encode(List<Integer> scores) {
        return scores.stream().map(String::valueOf).collect(Collectors.joining(",")).getBytes(StandardCharsets.UTF_8);
    }

    static List<Integer> decode(byte[] contribution) {
        String s = new String(contribution, StandardCharsets.UTF_8);
        List<Integer> scores = new ArrayList<>();
        if (!s.isEmpty()) {
            for (String part : s.split(",")) {
                scores.add(Integer.parseInt(part.trim()));
            }
        }
        return scores;
    }

    /** Each player's share of {@code pot}, by name in name order; the shares add up to {@code pot}. */
    static Map<String, Integer> split(Map<String, Integer> totals, int pot) {
        Map<String, Integer> shares = new TreeMap<>();
        long sum = totals.values().stream().mapToLong(Integer::longValue).sum();
        if (totals.isEmpty()) {
            return shares;
        }
        List<String> names = new ArrayList<>(new TreeMap<>(totals).keySet());
        long[] remainders = new long[names.size()];
        int given = 0;
        for (int i = 0; i < names.size(); i++) {
            long weight = sum == 0 ? 1 : totals.get(names.get(i));
            long denominator = sum == 0 ? names.size() : sum;
            int share = (int) (pot * weight / denominator);
            remainders[i] = pot * weight % denominator;
            shares.put(names.get(i), share);
            given += share;
        }
        List<Integer> order = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            order.add(i);
        }
        order.sort(Comparator.comparingLong((Integer i) -> -remainders[i]).thenComparing(i -> names.get(i)));
        for (int k = 0; given < pot; k++, given++) {
            shares.merge(names.get(order.get(k % order.size())), 1, Integer::sum);
        }
        return shares;
    }

    /** {@code nijam 288 (122 points), pratik 203 (86 points), ...}: the table a player prints. */
    static String table(Map<String, Integer> totals) {
        Map<String, Integer> shares = split(totals, POT);
        return shares.entrySet().stream()
                .map(e -> e.getKey() + " " + e.getValue() + " (" + totals.get(e.getKey()) + " points)")
                .collect(Collectors.joining(", "));
    }
}
