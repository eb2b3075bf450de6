package io.lockstep.client;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.SLF4JServiceProvider;

import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/**
 * Where the client's log lines go: to the application's SLF4J logger if it has bound one, else nowhere, silently.
 *
 * <p>SLF4J without a provider prints three "No SLF4J providers were found" warning lines on first use, and the
 * first use would be the client's or Netty's (Netty logs through SLF4J whenever slf4j-api is on the class path,
 * which the client puts there). So when no provider is on the class path, and the application has not chosen a
 * verbosity itself, the client sets {@code slf4j.internal.verbosity=ERROR} before anything touches SLF4J: that
 * quiets SLF4J's own reports and nothing else. With a provider, nothing is changed.
 */
final class Logging {

    private static final String VERBOSITY = "slf4j.internal.verbosity";

    static {
        if (!hasProvider() && System.getProperty(VERBOSITY) == null) {
            System.setProperty(VERBOSITY, "ERROR");
        }
    }

    private Logging() {
    }

    static Logger logger(Class<?> owner) {
        return LoggerFactory.getLogger(owner);
    }

    private static boolean hasProvider() {
        try {
            return ServiceLoader.load(SLF4JServiceProvider.class, Logging.class.getClassLoader()).iterator().hasNext();
        } catch (LinkageError | ServiceConfigurationError e) {
            return true; // an older slf4j-api (1.7) binds its own way, and a broken provider should be heard of
        }
    }
}
