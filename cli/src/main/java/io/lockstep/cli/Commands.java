package io.lockstep.cli;

import io.lockstep.protocol.Durations;
import picocli.CommandLine;

import java.time.Duration;

/** How every Lockstep command line is set up, so they read values and report mistakes alike. */
public final class Commands {

    /** The exit code of a bad command line. */
    public static final int BAD_COMMAND_LINE = 2;

    private Commands() {
    }

    /**
     * A picocli command line for {@code command}: durations in Lockstep's one syntax ({@code 10s}, {@code 500ms},
     * {@code 2m}, {@code PT10S}; a bare number is milliseconds), and a mistake answered with one line naming the
     * command, a pointer to {@code --help}, and exit code {@value #BAD_COMMAND_LINE} — never a stack trace.
     */
    public static CommandLine commandLine(Object command) {
        CommandLine cmd = new CommandLine(command);
        cmd.setParameterExceptionHandler((ex, args) -> {
            String name = ex.getCommandLine().getCommandSpec().root().name();
            ex.getCommandLine().getErr().println(name + ": " + ex.getMessage());
            ex.getCommandLine().getErr().println("Try '" + name + " --help'.");
            return BAD_COMMAND_LINE;
        });
        cmd.registerConverter(Duration.class, Commands::duration);
        return cmd;
    }

    /** {@link Durations#parse} for picocli: a value that is not a duration is a bad command line. */
    public static Duration duration(String text) {
        try {
            return Durations.parse(text);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
