package io.lockstep.client;

import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Ends the session of every open client when the JVM exits — normally, or on SIGINT (Ctrl-C) or SIGTERM — so that
 * the barriers they waited on break for the other parties at once, naming them, as {@link LockstepClient#close()}
 * does. A process killed with SIGKILL runs no hook; the coordinator then learns of it from its closed connection
 * (within the reconnect grace). One hook for the JVM, installed with the first client; any thread may call.
 */
final class ExitHook {

    /** How long the exiting JVM waits for its GOODBYEs to be written. */
    private static final long GOODBYE_MILLIS = 2_000;

    private static final Set<LockstepClient> OPEN = ConcurrentHashMap.newKeySet();
    private static final AtomicBoolean INSTALLED = new AtomicBoolean();

    private ExitHook() {
    }

    static void register(LockstepClient client) {
        if (INSTALLED.compareAndSet(false, true)) {
            try {
                Runtime.getRuntime().addShutdownHook(new Thread(ExitHook::closeAll, "lockstep-client-exit"));
            } catch (IllegalStateException exiting) {
                return; // the JVM is already on its way out; nothing will run the hook
            }
        }
        OPEN.add(client);
    }

    static void unregister(LockstepClient client) {
        OPEN.remove(client);
    }

    private static void closeAll() {
        List<CompletableFuture<Void>> goodbyes = OPEN.stream().map(LockstepClient::closeOnExit).toList();
        try {
            CompletableFuture.allOf(goodbyes.toArray(CompletableFuture[]::new)).get(GOODBYE_MILLIS,
                    TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // what could be said was said; the connections close with the process
        }
    }
}
