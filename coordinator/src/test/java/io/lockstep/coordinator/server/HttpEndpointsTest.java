package io.lockstep.coordinator.server;

import io.lockstep.protocol.Message;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** /health, /metrics, /barriers and /barriers/{name}, over a real socket, after real barrier activity. */
class HttpEndpointsTest {

    private static final Pattern SAMPLE = Pattern.compile(
            "^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\"(,[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\")*})? "
                    + "(-?[0-9.]+(E-?[0-9]+)?|NaN|\\+Inf|-Inf)$");

    private final HttpClient http = HttpClient.newHttpClient();
    private CoordinatorServer server;
    private String base;
    private InetSocketAddress address;

    @BeforeEach
    void start() throws Exception {
        server = new CoordinatorServer(ServerConfig.ephemeralLoopback().withHttpPort(0));
        address = server.start();
        base = "http://127.0.0.1:" + server.httpAddress().getPort();
    }

    @AfterEach
    void stop() {
        server.stop("test finished");
    }

    private HttpResponse<String> get(String path) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(base + path)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void healthSaysOk() throws Exception {
        HttpResponse<String> r = get("/health");
        assertEquals(200, r.statusCode());
        assertEquals("ok\n", r.body());
    }

    @Test
    void aSingleCoordinatorIsLiveAndReadyUntilItStops() throws Exception {
        assertEquals(200, get("/livez").statusCode());
        assertEquals("ok\n", get("/livez").body());
        HttpResponse<String> ready = get("/readyz");
        assertEquals(200, ready.statusCode());
        assertEquals("ready\n", ready.body());
    }

    @Test
    void metricsAreValidPrometheusTextAndCountWhatHappened() throws Exception {
        try (RawPeer a = new RawPeer(address); RawPeer b = new RawPeer(address)) {
            a.handshake("a");
            b.handshake("b");
            a.send(new Message.Declare(1, "pair", 2));
            b.send(new Message.Declare(1, "pair", 2));
            a.read();
            b.read();
            for (int i = 0; i < 3; i++) { // three trips
                a.send(new Message.Await(10 + i, "pair", -1, false, new byte[0]));
                b.send(new Message.Await(10 + i, "pair", -1, false, new byte[0]));
                assertInstanceOf(Message.Released.class, a.read());
                assertInstanceOf(Message.Released.class, b.read());
            }
            a.send(new Message.Await(20, "pair", 50, false, new byte[0])); // one break, by timeout
            assertInstanceOf(Message.Failed.class, a.read());
            HttpResponse<String> r = get("/metrics");
            assertEquals(200, r.statusCode());
            assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/plain"));
            Map<String, Double> samples = new HashMap<>();
            for (String line : r.body().split("\n")) {
                if (line.isEmpty() || line.startsWith("#")) {
                    assertTrue(line.isEmpty() || line.startsWith("# HELP ") || line.startsWith("# TYPE "), line);
                    continue;
                }
                Matcher m = SAMPLE.matcher(line);
                assertTrue(m.matches(), "not a Prometheus sample line: " + line);
                samples.put(m.group(1) + (m.group(2) == null ? "" : m.group(2)), Double.parseDouble(m.group(4)));
            }
            assertEquals(7.0, samples.get("lockstep_awaits_total"));
            assertEquals(3.0, samples.get("lockstep_trips_total"));
            assertEquals(1.0, samples.get("lockstep_breaks_total{cause=\"timeout\"}"));
            assertEquals(0.0, samples.get("lockstep_breaks_total{cause=\"abort\"}"));
            assertEquals(2.0, samples.get("lockstep_sessions"));
            assertEquals(1.0, samples.get("lockstep_barriers"));
            assertEquals(2.0, samples.get("lockstep_connections"));
            assertEquals(3.0, samples.get("lockstep_round_seconds_count"));
            assertTrue(r.body().contains("# TYPE lockstep_round_seconds histogram"), r.body());
        }
        try (RawPeer bad = new RawPeer(address)) {
            bad.send(new Message.Hello(0x12345678, 1, "x"));
            bad.read();
        }
        assertTrue(get("/metrics").body().contains("lockstep_frames_rejected_total{reason=\"bad_magic\"} 1.0"));
    }

    @Test
    void barriersShowWhoIsWaitingAndForHowLong() throws Exception {
        try (RawPeer a = new RawPeer(address)) {
            a.handshake("susan");
            a.send(new Message.Declare(1, "game \"4\"", 4));
            a.read();
            a.send(new Message.Await(2, "game \"4\"", -1, false, new byte[0]));
            long end = System.nanoTime() + 5_000_000_000L;
            String body;
            do {
                body = get("/barriers").body();
            } while (!body.contains("susan") && System.nanoTime() < end);
            assertTrue(body.startsWith("{\"barriers\":[{\"name\":\"game \\\"4\\\"\",\"parties\":4,\"generation\":1,"
                    + "\"waitingCount\":1,\"broken\":false,\"brokenReason\":null,\"waiting\":[{\"party\":\"susan\","
                    + "\"waitedMillis\":"), body);
            HttpResponse<String> one = get("/barriers/game%20%224%22");
            assertEquals(200, one.statusCode());
            assertTrue(one.body().contains("\"party\":\"susan\""), one.body());
            HttpResponse<String> none = get("/barriers/nope");
            assertEquals(404, none.statusCode());
            assertEquals("{\"error\":\"no barrier named 'nope'\"}\n", none.body());
            assertEquals(404, get("/nothing-here").statusCode());
        }
    }
}
