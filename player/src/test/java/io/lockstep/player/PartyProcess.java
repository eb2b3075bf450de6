package io.lockstep.player;

import io.lockstep.client.DistributedBarrier;
import io.lockstep.client.LockstepClient;
import io.lockstep.client.SessionLostException;

import java.time.Duration;
import java.util.concurrent.BrokenBarrierException;

/**
 * A party on its own host, for {@link FailureClusterIT}:
 * {@code PartyProcess COORDINATOR NAME BARRIER PARTIES ROUNDS LEASE_MS [rejoin]}. Prints {@code ready}, then
 * {@code round R index I} per round passed. When the barrier breaks it prints {@code broken: MESSAGE} (or
 * {@code lost: MESSAGE} when its own session was lost) and exits 3 — or, with {@code rejoin}, waits until the
 * barrier has been reset and plays the round again.
 */
public final class PartyProcess {
    public static void main(String[] args) throws Exception {
        String coordinator = args[0];
        String name = args[1];
        String barrierName = args[2];
        int parties = Integer.parseInt(args[3]);
        int rounds = Integer.parseInt(args[4]);
        Duration lease = Duration.ofMillis(Long.parseLong(args[5]));
        boolean rejoin = args.length > 6 && args[6].equals("rejoin");
        try (LockstepClient client = LockstepClient.builder().address(coordinator).clientName(name)
                .sessionLease(lease).connect()) {
            DistributedBarrier barrier = client.barrier(barrierName, parties);
            System.out.println("ready");
            for (int r = 1; r <= rounds; r++) {
                try {
                    System.out.println("round " + r + " index " + barrier.await());
                } catch (BrokenBarrierException e) {
                    System.out.println((e instanceof SessionLostException ? "lost: " : "broken: ") + e.getMessage());
                    if (!rejoin) {
                        System.exit(3);
                    }
                    while (true) { // wait for someone to reset the barrier, then play the round again
                        try {
                            if (!barrier.isBroken()) {
                                break;
                            }
                        } catch (RuntimeException notYet) {
                            // still reconnecting
                        }
                        Thread.sleep(50);
                    }
                    r--;
                }
            }
        }
    }
}
