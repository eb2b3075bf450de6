package io.lockstep.player;

import io.lockstep.launch.ChildProcess;

import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The services of {@code docker-compose.yml}, turned into the commands that would run in their containers:
 * each service's image target (its own {@code build}, or that of the service that builds its {@code image}) is
 * looked up in the {@code Dockerfile}, whose {@code ENTRYPOINT} for that stage gives the program, unless the
 * service names its own {@code entrypoint}; a jar under {@code /app/} is replaced by the jar Maven built here, and
 * another file there (a script the Dockerfile copies from {@code bin/}) by the checkout's {@code bin/} one.
 */
record ComposeFile(Map<String, Service> services) {

    /**
     * One service: the full command line, its environment, the services that must be healthy (or must have exited
     * 0) before it starts, its health check, and the named volumes it mounts (volume name to the path it is mounted
     * at).
     */
    record Service(String name, List<String> command, Map<String, String> environment, List<String> healthyBefore,
                   List<String> completedBefore, List<String> healthcheck, Map<String, String> volumes) {

        /** A service that waits for nothing and runs to its end first, as an init container does. */
        boolean waitsForNothing() {
            return healthyBefore.isEmpty() && completedBefore.isEmpty();
        }
    }

    private static final Pattern FROM = Pattern.compile("^FROM\\s+\\S+\\s+AS\\s+(\\S+)", Pattern.CASE_INSENSITIVE);
    private static final Pattern ENTRYPOINT = Pattern.compile("^ENTRYPOINT\\s+(\\[.*])");

    @SuppressWarnings("unchecked")
    static ComposeFile read(Path root, String file) throws IOException {
        Map<String, List<String>> entrypoints = entrypoints(root.resolve("Dockerfile"));
        Map<String, Object> yaml = new Yaml(new LoaderOptions())
                .load(Files.readString(root.resolve(file), StandardCharsets.UTF_8));
        Map<String, Object> declared = (Map<String, Object>) yaml.get("services");
        Map<String, String> targetOfImage = new LinkedHashMap<>();
        declared.values().forEach(v -> {
            Map<String, Object> s = (Map<String, Object>) v;
            if (s.get("build") instanceof Map<?, ?> build) {
                targetOfImage.put((String) s.get("image"), (String) build.get("target"));
            }
        });
        Map<String, Service> services = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : declared.entrySet()) {
            Map<String, Object> s = (Map<String, Object>) e.getValue();
            String target = targetOfImage.get((String) s.get("image"));
            List<String> entrypoint = s.get("entrypoint") instanceof List<?> own
                    ? own.stream().map(String::valueOf).toList() : entrypoints.get(target);
            if (entrypoint == null) {
                throw new IOException("service " + e.getKey() + " runs image " + s.get("image") + " (target '"
                        + target + "'), which no service builds or the Dockerfile has no ENTRYPOINT for");
            }
            List<String> command = new ArrayList<>();
            for (String part : entrypoint) {
                command.add(localJar(root, part));
            }
            for (Object arg : (List<Object>) s.getOrDefault("command", List.of())) {
                command.add(String.valueOf(arg));
            }
            Map<String, String> env = new LinkedHashMap<>();
            ((Map<String, Object>) s.getOrDefault("environment", Map.of()))
                    .forEach((k, v) -> env.put(k, String.valueOf(v)));
            List<String> healthyBefore = new ArrayList<>();
            List<String> completedBefore = new ArrayList<>();
            ((Map<String, Object>) s.getOrDefault("depends_on", Map.of())).forEach((dep, cond) -> {
                Object condition = ((Map<String, Object>) cond).get("condition");
                if ("service_healthy".equals(condition)) {
                    healthyBefore.add(dep);
                } else if ("service_completed_successfully".equals(condition)) {
                    completedBefore.add(dep);
                }
            });
            List<String> health = List.of();
            if (s.get("healthcheck") instanceof Map<?, ?> hc && hc.get("test") instanceof List<?> test) {
                List<String> t = test.stream().map(String::valueOf).toList();
                health = switch (t.get(0)) {
                    case "CMD-SHELL" -> List.of("sh", "-c", t.get(1));
                    case "CMD" -> t.subList(1, t.size());
                    default -> throw new IOException("unsupported healthcheck " + t);
                };
            }
            Map<String, String> volumes = new LinkedHashMap<>();
            for (Object v : (List<Object>) s.getOrDefault("volumes", List.of())) {
                String[] parts = String.valueOf(v).split(":");
                volumes.put(parts[0], parts[1]); // name:/path[:ro]
            }
            services.put(e.getKey(), new Service(e.getKey(), command, env, healthyBefore, completedBefore, health,
                    volumes));
        }
        return new ComposeFile(services);
    }

    /** ENTRYPOINT (exec form) of each named build stage. */
    private static Map<String, List<String>> entrypoints(Path dockerfile) throws IOException {
        Map<String, List<String>> result = new LinkedHashMap<>();
        String stage = null;
        for (String line : Files.readAllLines(dockerfile, StandardCharsets.UTF_8)) {
            Matcher from = FROM.matcher(line.trim());
            if (from.find()) {
                stage = from.group(1);
                continue;
            }
            Matcher ep = ENTRYPOINT.matcher(line.trim());
            if (ep.find() && stage != null) {
                List<String> parts = new ArrayList<>();
                for (Object o : (List<?>) new Yaml().load(ep.group(1))) {
                    parts.add(String.valueOf(o));
                }
                result.put(stage, parts);
            }
        }
        return result;
    }

    /**
     * {@code /app/lockstep-x.jar} becomes {@code ROOT/<module>/target/lockstep-x.jar}, {@code /app/x} becomes
     * {@code ROOT/bin/x}; {@code java} this JVM's.
     */
    private static String localJar(Path root, String part) throws IOException {
        if (part.equals("java")) {
            return ChildProcess.java();
        }
        if (part.startsWith("/app/") && part.endsWith(".jar")) {
            String jar = part.substring("/app/".length());
            try (var modules = Files.list(root)) {
                for (Path module : modules.toList()) {
                    Path candidate = module.resolve("target").resolve(jar);
                    if (Files.isRegularFile(candidate)) {
                        return candidate.toString();
                    }
                }
            }
            throw new IOException(jar + " is not built under " + root + "/*/target; run mvn package first");
        }
        if (part.startsWith("/app/")) {
            Path script = root.resolve("bin").resolve(part.substring("/app/".length()));
            if (!Files.isExecutable(script)) {
                throw new IOException(part + " has no counterpart " + script + " in this checkout");
            }
            return script.toString();
        }
        return part;
    }
}
