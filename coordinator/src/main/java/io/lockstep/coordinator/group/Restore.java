package io.lockstep.coordinator.group;

import io.lockstep.coordinator.core.BarrierCore;
import io.lockstep.coordinator.core.BoundedReader;
import io.lockstep.coordinator.core.CoordinatorState;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * {@code --restore FILE}: a new group started from a snapshot {@code bin/lockstep snapshot save} wrote. Every node
 * of the new group starts from the same file on an empty data directory: the file is checked, then kept in the data
 * directory as the state the node starts from until its first Raft snapshot, so a restart does not need it again.
 */
public final class Restore {

    /** The restored state, in a node's data directory. */
    static final String BASE = "restored.snapshot";

    private Restore() {
    }

    /**
     * Checks that {@code file} is a Lockstep snapshot and that {@code node}'s data directory holds no state yet, and
     * puts the file there. IllegalArgumentException, in one line, if either is not so.
     */
    public static void prepare(Path file, GroupConfig node, BarrierCore.Limits limits) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("--restore: cannot read " + file + ": " + e.getMessage());
        }
        try {
            CoordinatorState.readSnapshot(new BoundedReader(bytes), limits, "");
        } catch (BoundedReader.Malformed | RuntimeException e) {
            throw new IllegalArgumentException("--restore: " + file + " is not a Lockstep snapshot (" + e.getMessage()
                    + "); it is what `bin/lockstep snapshot save FILE` writes");
        }
        Path dir = node.dataDir();
        try {
            if (Files.isDirectory(dir)) {
                try (Stream<Path> held = Files.list(dir)) {
                    if (held.findAny().isPresent()) {
                        throw new IllegalArgumentException("--restore: the data directory " + dir + " already holds "
                                + "a node's state; a restore starts a new group: give every node an empty --data-dir");
                    }
                }
            }
            Files.createDirectories(dir);
            Files.write(dir.resolve(BASE), bytes);
        } catch (IOException e) {
            throw new IllegalArgumentException("--restore: cannot write to " + dir + ": " + e.getMessage());
        }
    }

    /** The restored state kept in {@code dataDir}, or null if there is none. */
    static byte[] base(Path dataDir) throws IOException {
        Path base = dataDir.resolve(BASE);
        return Files.isRegularFile(base) ? Files.readAllBytes(base) : null;
    }
}
