package io.lockstep.coordinator;

import org.slf4j.LoggerFactory;

/** Installs SIGTERM and SIGINT handlers through {@code sun.misc.Signal}, when the JVM offers it. */
final class Signals {

    private Signals() {
    }

    static void onTermination(Runnable action) {
        for (String name : new String[]{"TERM", "INT"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), s -> new Thread(action, "lockstep-sig" + name).start());
            } catch (IllegalArgumentException | LinkageError e) {
                LoggerFactory.getLogger(Signals.class).debug("cannot handle SIG{}: {}", name, e.toString());
            }
        }
    }
}
