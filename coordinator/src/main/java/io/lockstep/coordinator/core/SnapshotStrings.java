package io.lockstep.coordinator.core;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Strings in snapshots: a length and UTF-8 bytes, of any length (DataOutput's own UTF form stops at 64 KiB, and an
 * action's failure may be longer).
 */
final class SnapshotStrings {

    private SnapshotStrings() {
    }

    static void write(DataOutput out, String x) throws IOException {
        byte[] b = x.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    static String read(DataInput in) throws IOException {
        byte[] b = new byte[in.readInt()];
        in.readFully(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    static void writeAll(DataOutput out, Collection<String> strings) throws IOException {
        out.writeInt(strings.size());
        for (String x : strings) {
            write(out, x);
        }
    }

    static List<String> readAll(DataInput in) throws IOException {
        int n = in.readInt();
        List<String> xs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            xs.add(read(in));
        }
        return xs;
    }
}
