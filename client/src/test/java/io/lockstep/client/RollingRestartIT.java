package io.lockstep.client;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A rolling restart of a group, as an operator does one (an upgrade, a new setting): each node in turn stopped with
 * SIGTERM and started again on its data, the followers first and the leader last — after it handed the lead to a
 * follower ({@code bin/lockstep group transfer-leader}) — each back and ready before the next goes, while four
 * parties cycle a barrier. Every await completes exactly once, with a permutation of the
 * indices in every generation, and no party sees an error; the pause each restart caused is printed.
 */
class RollingRestartIT {

    private static final Duration LIMIT = Duration.ofSeconds(60);

    @Test
    void restartingEveryNodeInTurnCostsThePartiesNothingButAPause() throws Exception {
        try (CoordinatorGroup group = new CoordinatorGroup(3);
             CyclingParties parties = new CyclingParties(group.addresses(), "rolling", 4)) {
            parties.awaitRounds(20);
            int leader = group.leader(30);
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                if (i != leader) {
                    order.add(i);
                }
            }
            order.add(leader);
            for (int node : order) {
                if (node == leader) {
                    int to = order.get(0);
                    parties.longestWaitMillis();
                    String said = transferLeadership(group, to);
                    await().atMost(LIMIT).until(() -> group.leader(30) == to);
                    parties.awaitRounds(10);
                    System.out.printf("rolling restart: the lead handed from n%d to n%d (%s); the longest the parties "
                            + "waited for a release meanwhile: %d ms%n", node + 1, to + 1, said,
                            parties.longestWaitMillis());
                }
                parties.longestWaitMillis();
                assertEquals(0, group.stop(node), "n" + (node + 1) + " exits 0 on SIGTERM");
                group.start(node);
                await().atMost(LIMIT).until(() -> group.httpStatus(node, "/readyz").equals("200 ready\n"));
                parties.awaitRounds(10); // the group goes on with the node back
                System.out.printf("rolling restart: n%d (%s) stopped with SIGTERM and started again; the longest "
                                + "the parties waited for a release meanwhile: %d ms%n", node + 1,
                        node == leader ? "the leader until it handed over" : "a follower", parties.longestWaitMillis());
            }
        }
    }

    /** What an operator's {@code bin/lockstep group transfer-leader} does: asks the leader to hand over to {@code to}. */
    static String transferLeadership(CoordinatorGroup group, int to) throws Exception {
        try (LockstepClient operator = LockstepClient.builder().address(group.addresses()).clientName("operator")
                .connect()) {
            return operator.transferLeadership("n" + (to + 1));
        } catch (LockstepException e) {
            // The old leader may step down before its answer leaves; who leads then says whether it worked.
            assertTrue(e.getMessage().contains("connection was lost"), e.getMessage());
            return "its answer was lost as it stepped down";
        }
    }
}
