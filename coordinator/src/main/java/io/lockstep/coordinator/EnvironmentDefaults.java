package io.lockstep.coordinator;

import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

/**
 * Where an option not given on the command line takes its value from: the environment variable
 * {@code LOCKSTEP_<OPTION>} ({@code --max-frame-bytes} is {@code LOCKSTEP_MAX_FRAME_BYTES}), else the config file
 * (a properties file, {@code max-frame-bytes=1048576}), else the option's built-in default. So the precedence is:
 * command line, environment, config file, default.
 */
final class EnvironmentDefaults implements CommandLine.IDefaultValueProvider {

    private final Map<String, String> env;
    private final Properties file = new Properties();

    EnvironmentDefaults(Map<String, String> env, Path configFile) throws IOException {
        this.env = env;
        if (configFile != null) {
            try (Reader r = Files.newBufferedReader(configFile, StandardCharsets.UTF_8)) {
                file.load(r);
            }
        }
    }

    static String variableFor(String longName) {
        return "LOCKSTEP_" + longName.replaceFirst("^--", "").replace('-', '_').toUpperCase();
    }

    @Override
    public String defaultValue(ArgSpec arg) {
        if (!(arg instanceof OptionSpec option) || option.longestName().equals("--config")) {
            return null;
        }
        String fromEnv = env.get(variableFor(option.longestName()));
        if (fromEnv != null && !fromEnv.isBlank()) {
            return fromEnv.trim();
        }
        String fromFile = file.getProperty(option.longestName().replaceFirst("^--", ""));
        return fromFile == null ? null : fromFile.trim();
    }
}
