package io.lockstep.client;

import java.util.concurrent.BrokenBarrierException;

/**
 * A party in its own JVM, for {@link SeparateProcessesIT}:
 * {@code AwaitProcess ADDRESS NAME BARRIER PARTIES ROUNDS [exchange]}. Prints {@code ready}, then one line
 * {@code round R index I} per round; on a broken barrier prints {@code broken: MESSAGE} and exits 3. With
 * {@code exchange}, each round contributes {@code NAME@R} and prints {@code round R got P=TEXT,...} with every
 * party's contribution in arrival order. With {@code hold}, it declares the barrier, prints {@code ready}, and
 * then works for ever without arriving (until it is killed).
 */
public final class AwaitProcess {
    public static void main(String[] args) throws Exception {
        String address = args[0];
        String name = args[1];
        String barrier = args[2];
        int parties = Integer.parseInt(args[3]);
        int rounds = Integer.parseInt(args[4]);
        boolean exchange = args.length > 5 && args[5].equals("exchange");
        boolean hold = args.length > 5 && args[5].equals("hold");
        try (LockstepClient client = LockstepClient.builder().address(address).clientName(name).connect()) {
            DistributedBarrier b = client.barrier(barrier, parties);
            System.out.println("ready");
            if (hold) {
                Thread.sleep(Long.MAX_VALUE);
            }
            for (int r = 1; r <= rounds; r++) {
                if (exchange) {
                    Exchange e = b.exchange((name + "@" + r).getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    StringBuilder sb = new StringBuilder("round " + r + " got ");
                    e.byParty().forEach((p, d) -> sb.append(p).append('=')
                            .append(new String(d, java.nio.charset.StandardCharsets.UTF_8)).append(','));
                    System.out.println(sb);
                } else {
                    System.out.println("round " + r + " index " + b.await());
                }
            }
        } catch (BrokenBarrierException e) {
            System.out.println("broken: " + e.getMessage());
            System.exit(3);
        }
    }
}
