package io.lockstep.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * A child process whose output goes to a file that {@link #expect} reads. (Reading the pipe instead loses
 * the last lines a process writes before it exits: the JDK drains the pipe under a blocked reader.)
 */
final class Proc {
    final Process process;
    final Path output;
    private int consumed;

    Proc(List<String> command) throws IOException {
        this(command, java.util.Map.of());
    }

    /** {@code command} with {@code env} added to this JVM's environment. */
    Proc(List<String> command, java.util.Map<String, String> env) throws IOException {
        output = Files.createTempFile("lockstep-it-", ".log");
        output.toFile().deleteOnExit();
        ProcessBuilder b = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile());
        b.environment().putAll(env);
        process = b.start();
    }

    /** This JVM's java, for children. */
    static String java() {
        return ProcessHandle.current().info().command().orElse("java");
    }

    /** Every line so far. */
    List<String> lines() throws IOException {
        return Files.readAllLines(output, StandardCharsets.UTF_8);
    }

    /** The next line matching {@code p} after the last one matched, waiting up to {@code seconds}. */
    Matcher expect(Pattern p, int seconds) throws InterruptedException, IOException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            boolean exited = !process.isAlive(); // before reading: what it wrote before exiting is in the file
            List<String> lines = Files.readAllLines(output, StandardCharsets.UTF_8);
            for (int i = consumed; i < lines.size(); i++) {
                Matcher m = p.matcher(lines.get(i));
                if (m.find()) {
                    consumed = i + 1;
                    return m;
                }
            }
            if (exited) {
                fail("no line matching " + p + " before the process exited (" + process.exitValue()
                        + "); output was " + lines);
            }
            if (System.nanoTime() > end) {
                fail("no line matching " + p + " within " + seconds + " s; output was " + lines);
            }
            Thread.sleep(20);
        }
    }
}
