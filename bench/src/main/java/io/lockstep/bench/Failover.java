package io.lockstep.bench;

import io.lockstep.launch.LocalGroup;

import io.lockstep.client.DistributedBarrier;
import io.lockstep.client.LockstepClient;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code java -cp lockstep-bench.jar io.lockstep.bench.Failover [TRIES]}: a local group of three, two parties passing
 * rounds without pause, and TRIES times: SIGKILL of the leader, the time from the kill to the first release after the
 * pause it causes (what the parties feel), then the killed node back and caught up. Default settings everywhere.
 * Prints each pause, then the worst, the median and the last line for scripts.
 */
public final class Failover {

    public static void main(String[] args) throws Exception {
        int tries = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        boolean peerTls = args.length > 1 && args[1].equals("tls"); // else plaintext on loopback
        Path self = Path.of(Failover.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path jar = self.getParent().resolve("../../coordinator/target/lockstep-coordinator.jar").normalize();
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> base = List.of(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar", jar.toString());
        ExecutorService threads = Executors.newFixedThreadPool(2);
        AtomicLong lastRelease = new AtomicLong(System.nanoTime());
        AtomicLong rounds = new AtomicLong();
        AtomicReference<Pause> pause = new AtomicReference<>();
        try (LocalGroup group = LocalGroups.start(base, List.of(), 3, "disk", peerTls);
             LockstepClient a = LockstepClient.builder().address(group.addresses()).clientName("a").connect();
             LockstepClient b = LockstepClient.builder().address(group.addresses()).clientName("b").connect()) {
            DistributedBarrier ba = a.barrier("failover", 2);
            DistributedBarrier bb = b.barrier("failover", 2);
            Future<?> fa = threads.submit(() -> loop(ba, lastRelease, rounds, pause));
            Future<?> fb = threads.submit(() -> loop(bb, null, null, null));
            List<Long> pauses = new ArrayList<>();
            for (int t = 1; t <= tries; t++) {
                Thread.sleep(1000); // rounds under the current leader
                int leader = -1;
                for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); leader < 0; Thread.sleep(20)) {
                    leader = group.leader();
                    if (System.nanoTime() > end) {
                        throw new IllegalStateException("no node says it leads, 30 s after the last restart");
                    }
                }
                long killedAt = System.nanoTime();
                Pause p = new Pause(killedAt, new CompletableFuture<>());
                pause.set(p);
                group.kill(leader);
                long ms = TimeUnit.NANOSECONDS.toMillis(p.ended().get(60, TimeUnit.SECONDS) - killedAt);
                pauses.add(ms);
                System.out.printf(Locale.ROOT, "try %2d: leader n%d killed; next release after %d ms%n", t, leader + 1,
                        ms);
                group.start(leader);
                Thread.sleep(1000); // it catches up before the next kill
            }
            List<Long> sorted = new ArrayList<>(pauses);
            sorted.sort(null);
            System.out.printf(Locale.ROOT, "failover tries=%d max_ms=%d median_ms=%d rounds=%d%n", tries,
                    sorted.get(sorted.size() - 1), sorted.get(sorted.size() / 2), rounds.get());
            fa.cancel(true);
            fb.cancel(true);
        } finally {
            threads.shutdownNow();
        }
    }

    /** Releases further apart than this are a stall: rounds here take about a millisecond, elections 150 ms or more. */
    private static final long STALL_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    /**
     * The pause a kill at {@code killedAt} causes: it ends with the first release after it that ends a stall. A release
     * the dead leader sent just before it died, read just after the kill, does not end it.
     */
    private record Pause(long killedAt, CompletableFuture<Long> ended) {
    }

    private static void loop(DistributedBarrier b, AtomicLong lastRelease, AtomicLong rounds,
                             AtomicReference<Pause> pause) {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                b.await(60, TimeUnit.SECONDS);
                if (lastRelease != null) {
                    long now = System.nanoTime();
                    long previous = lastRelease.getAndSet(now);
                    rounds.incrementAndGet();
                    Pause p = pause.get();
                    if (p != null && now - p.killedAt() > 0 && now - previous > STALL_NANOS) {
                        p.ended().complete(now); // only the first completes it
                    }
                }
            }
        } catch (Exception e) {
            if (!Thread.currentThread().isInterrupted()) {
                System.err.println("a party failed: " + e);
            }
        }
    }
}
