package io.lockstep.launch;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A child process whose output (stdout and stderr together) goes to a file, read back line by line with
 * {@link #newLines()}. A file rather than a pipe: the JDK drains a pipe under a blocked reader when the child
 * exits, and the last lines a process writes before it exits can be lost that way.
 *
 * <p>Not thread-safe; one thread reads each child.
 */
public final class ChildProcess implements AutoCloseable {

    private final String label;
    private final Process process;
    private final Path output;
    private long offset;
    private final StringBuilder partial = new StringBuilder();

    public ChildProcess(String label, List<String> command, Path output, java.util.Map<String, String> env)
            throws IOException {
        this.label = label;
        this.output = output;
        Files.deleteIfExists(output);
        Files.createFile(output);
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile());
        pb.environment().putAll(env);
        this.process = pb.start();
    }

    public String label() {
        return label;
    }

    public Process process() {
        return process;
    }

    public Path output() {
        return output;
    }

    /** Complete lines written since the last call (a line still being written waits for the next call). */
    public List<String> newLines() throws IOException {
        List<String> lines = new ArrayList<>();
        try (RandomAccessFile f = new RandomAccessFile(output.toFile(), "r")) {
            long length = f.length();
            if (length > offset) {
                byte[] bytes = new byte[(int) (length - offset)];
                f.seek(offset);
                f.readFully(bytes);
                // Only whole lines are consumed; a UTF-8 sequence is never split across a newline byte.
                int end = lastNewline(bytes);
                if (end >= 0) {
                    partial.append(new String(bytes, 0, end + 1, StandardCharsets.UTF_8));
                    offset += end + 1;
                    String chunk = partial.toString();
                    partial.setLength(0);
                    for (String line : chunk.split("\n", -1)) {
                        if (!line.isEmpty()) {
                            lines.add(line.endsWith("\r") ? line.substring(0, line.length() - 1) : line);
                        }
                    }
                }
            }
        }
        return lines;
    }

    /** Every line written so far, from the start. */
    public List<String> allLines() throws IOException {
        return Files.readAllLines(output, StandardCharsets.UTF_8);
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Asks the process to stop (SIGTERM) and waits a little; then kills it. */
    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }

    private static int lastNewline(byte[] b) {
        for (int i = b.length - 1; i >= 0; i--) {
            if (b[i] == '\n') {
                return i;
            }
        }
        return -1;
    }

    /** The java executable running this JVM, so children run on the same Java. */
    public static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }
}
