package io.lockstep.bench;

import io.lockstep.client.DistributedBarrier;
import io.lockstep.client.LockstepClient;
import io.netty.util.ResourceLeakDetector;
import org.HdrHistogram.Histogram;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One client JVM of the benchmark: {@code Worker ADDRESS PARTIES BARRIERS PROCESSES INDEX ROUNDS WARMUP K}. Opens one
 * {@link LockstepClient} per connection it owns (connection c belongs to process c % PROCESSES and carries parties
 * c*K .. c*K+K-1; party i belongs to barrier i % BARRIERS), says {@code ready}, waits for {@code go} on stdin,
 * plays WARMUP then ROUNDS rounds with every party awaiting asynchronously, says {@code timed} when the warm-up is
 * over, and prints {@code result WALL_NANOS HISTOGRAM CPU_NANOS} (per-round latency, base64; the process's CPU time
 * during the timed rounds). It then waits for
 * {@code done} on stdin with its parties still connected, so the orchestrator can weigh the coordinator.
 */
public final class Worker {

    /**
     * Plays the rounds as a party does: every party awaits; when all of this process's parties are released, the
     * next round starts at once, from the thread that completed the last release (the client's I/O thread) — no
     * thread waits in between.
     */
    private static final class Rounds {
        final Histogram latency = new Histogram(TimeUnit.MINUTES.toNanos(10), 3);
        final CompletableFuture<Long> done = new CompletableFuture<>();
        /** This process's CPU time when the timed rounds began. */
        long cpuAtStart;
        private final List<DistributedBarrier> parties;
        private final int rounds;
        private final java.util.concurrent.atomic.AtomicInteger pending = new java.util.concurrent.atomic.AtomicInteger();
        private int round;
        private long roundStart;
        private long start;
        private long lastProgress = System.nanoTime();

        Rounds(List<DistributedBarrier> parties, int rounds, int warmup) {
            this.parties = parties;
            this.rounds = rounds;
            this.round = -warmup;
        }

        void next() {
            long now = System.nanoTime();
            if (round == 0) {
                start = now;
                cpuAtStart = processCpuNanos();
                System.out.println("timed"); // the orchestrator starts counting the coordinator's CPU
                System.out.flush();
            }
            roundStart = now;
            pending.set(parties.size());
            for (DistributedBarrier b : parties) {
                b.awaitAsync().whenComplete((index, failure) -> {
                    if (failure != null) {
                        done.completeExceptionally(failure);
                    } else if (pending.decrementAndGet() == 0) {
                        finished();
                    }
                });
            }
        }

        private void finished() {
            long now = System.nanoTime();
            if (round >= 0) {
                latency.recordValue(now - roundStart);
            }
            if (now - lastProgress > 1_000_000_000L) {
                System.err.println("progress rounds " + Math.max(0, round + 1));
                lastProgress = now;
            }
            if (++round == rounds) {
                done.complete(now - start);
            } else {
                next();
            }
        }
    }

    /** CPU time of this whole process (every thread: I/O, JIT, collector), in nanoseconds. */
    static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    public static void main(String[] args) throws Exception {
        // This process is the application here, and it chooses as a production Netty application does: Netty's
        // leak detector records two stack traces for one buffer in 128, on every await's path (7 % of a client's
        // Java time at 4 parties). -Dio.netty.leakDetection.level=simple turns it back on.
        if (System.getProperty("io.netty.leakDetection.level") == null) {
            ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.DISABLED);
        }
        String address = args[0];
        int parties = Integer.parseInt(args[1]);
        int barriers = Integer.parseInt(args[2]);
        int processes = Integer.parseInt(args[3]);
        int index = Integer.parseInt(args[4]);
        int rounds = Integer.parseInt(args[5]);
        int warmup = Integer.parseInt(args[6]);
        int perConnection = Integer.parseInt(args[7]);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));

        List<LockstepClient> clients = new ArrayList<>();
        List<DistributedBarrier> mine = new ArrayList<>();
        long lastProgress = System.nanoTime();
        // Connection c carries parties c*K .. c*K+K-1; party i belongs to barrier i % BARRIERS.
        int connections = parties / perConnection;
        for (int conn = index; conn < connections; conn += processes) {
            LockstepClient c = LockstepClient.builder().address(address).clientName("conn-" + conn)
                    .connectTimeout(Duration.ofSeconds(30)).requestTimeout(Duration.ofSeconds(120)).connect();
            clients.add(c);
            for (int k = 0; k < perConnection; k++) {
                int i = conn * perConnection + k;
                int barrier = i % barriers;
                int size = parties / barriers + (barrier < parties % barriers ? 1 : 0);
                mine.add(c.barrier("bench-" + barrier, size));
            }
            if (System.nanoTime() - lastProgress > 1_000_000_000L) {
                System.err.println("progress parties " + mine.size());
                lastProgress = System.nanoTime();
            }
        }
        System.out.println("ready " + mine.size());
        System.out.flush();
        if (!"go".equals(in.readLine())) {
            return;
        }
        Rounds run = new Rounds(mine, rounds, warmup);
        run.next();
        long wall = run.done.get(60, TimeUnit.MINUTES);
        long cpu = processCpuNanos() - run.cpuAtStart;
        Histogram latency = run.latency;
        ByteBuffer buf = ByteBuffer.allocate(latency.getNeededByteBufferCapacity());
        int n = latency.encodeIntoCompressedByteBuffer(buf);
        System.out.println("result " + wall + " " + Base64.getEncoder().encodeToString(
                java.util.Arrays.copyOf(buf.array(), n)) + " " + cpu);
        System.out.flush();
        in.readLine(); // "done": stay connected until the orchestrator has weighed the coordinator
        for (LockstepClient c : clients) {
            c.close();
        }
    }
}
