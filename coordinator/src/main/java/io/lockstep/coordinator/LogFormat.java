package io.lockstep.coordinator;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import org.slf4j.LoggerFactory;

import java.net.URL;

/**
 * Chooses the log format after the options are read: logback.xml picks its appender from the property
 * {@code lockstep.log.format} (or the variable LOCKSTEP_LOG_FORMAT), and this re-reads it with the chosen value.
 */
final class LogFormat {

    private LogFormat() {
    }

    static void use(String format) {
        if (format.equals(System.getProperty("lockstep.log.format", System.getenv("LOCKSTEP_LOG_FORMAT")))) {
            return;
        }
        System.setProperty("lockstep.log.format", format);
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return; // another SLF4J binding: its own configuration applies
        }
        URL config = LogFormat.class.getResource("/logback.xml");
        if (config == null) {
            return;
        }
        try {
            JoranConfigurator configurator = new JoranConfigurator();
            configurator.setContext(context);
            context.reset();
            configurator.doConfigure(config);
        } catch (Exception e) {
            System.err.println("lockstep-coordinator: cannot set the log format: " + e.getMessage());
        }
    }
}
