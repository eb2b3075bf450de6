package io.lockstep.coordinator.core;

import java.io.DataOutput;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Collection;

/**
 * Strings in snapshots: a length and UTF-8 bytes, of any length (DataOutput's own UTF form stops at 64 KiB, and an
 * action's failure may be longer); {@link BoundedReader#string} reads them.
 */
final class SnapshotStrings {

    private SnapshotStrings() {
    }

    static void write(DataOutput out, String x) throws IOException {
        byte[] b = x.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    static void writeAll(DataOutput out, Collection<String> strings) throws IOException {
        out.writeInt(strings.size());
        for (String x : strings) {
            write(out, x);
        }
    }
}
