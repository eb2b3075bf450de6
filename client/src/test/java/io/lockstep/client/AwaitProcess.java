package io.lockstep.client;

import java.util.concurrent.BrokenBarrierException;

/**
 * A party in its own JVM, for {@link SeparateProcessesIT}:
 * {@code AwaitProcess ADDRESS NAME BARRIER PARTIES ROUNDS}. Prints {@code ready}, then one line
 * {@code round R index I} per round; on a broken barrier prints {@code broken: MESSAGE} and exits 3.
 */
public final class AwaitProcess {
    public static void main(String[] args) throws Exception {
        String address = args[0];
        String name = args[1];
        String barrier = args[2];
        int parties = Integer.parseInt(args[3]);
        int rounds = Integer.parseInt(args[4]);
        try (LockstepClient client = LockstepClient.builder().address(address).clientName(name).connect()) {
            DistributedBarrier b = client.barrier(barrier, parties);
            System.out.println("ready");
            for (int r = 1; r <= rounds; r++) {
                System.out.println("round " + r + " index " + b.await());
            }
        } catch (BrokenBarrierException e) {
            System.out.println("broken: " + e.getMessage());
            System.exit(3);
        }
    }
}
