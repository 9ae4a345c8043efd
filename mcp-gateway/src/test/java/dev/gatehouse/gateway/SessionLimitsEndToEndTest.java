package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.identity.ApiKeys;
import dev.gatehouse.registry.Json;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The MCP session table against one flooding caller, through a running gateway with real API keys:
 * per-caller quotas with eviction of the caller's own idle sessions, initialize counted by rate limits,
 * unused sessions expiring early, a full table refusing with Retry-After, and batches capped.
 */
@Timeout(120)
class SessionLimitsEndToEndTest {
  static final int KEYS = 6;
  static final String[] KEY = new String[KEYS];
  static final String LIMITED = ApiKeys.generate();
  @TempDir
  static Path dir;
  static Gateway gateway;

  @BeforeAll
  static void start() throws Exception {
    StringBuilder keys = new StringBuilder();
    for (int i = 0; i < KEYS; i++) {
      KEY[i] = ApiKeys.generate();
      keys.append("    - { id: k").append(i).append(", hash: \"").append(ApiKeys.hash(KEY[i])).append("\", subject: user").append(i)
          .append(", groups: [users], roles: [gatehouse-metrics] }\n");
    }
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server:\n  port: 0\n  max_batch_size: 5\n"
        + "  sessions: { max: 60, per_principal: 5, idle_timeout: 1m, unused_timeout: 2s }\n"
        + "identity:\n  api_keys:\n" + keys
        + "    - { id: limited, hash: \"" + ApiKeys.hash(LIMITED) + "\", subject: limited, groups: [limited] }\n"
        + "policies:\n"
        + "  - { id: users, when: { groups: [users] }, allow: { servers: [\"*\"] } }\n"
        + "  - { id: limited, when: { groups: [limited] }, allow: { servers: [\"*\"] }, limits: { requests_per_minute: 4 } }\n"
        + "audit: { enabled: false }\n");
    gateway = Gateway.start(new ConfigLoader().load(file), Optional.of(file));
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  static HttpResponse<String> post(String key, String session, String body) {
    return McpHttp.post(gateway.baseUri().resolve("/mcp"), session, body, McpHttp.bearer(key));
  }

  static HttpResponse<String> initialize(String key, String version) {
    return post(key, null, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"" + version
        + "\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}");
  }

  static String session(String key) {
    HttpResponse<String> r = initialize(key, "2025-11-25");
    assertEquals(200, r.statusCode(), r.body());
    return r.headers().firstValue("Mcp-Session-Id").orElseThrow();
  }

  static final String PING = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}";

  static JsonNode json(HttpResponse<String> r) throws Exception {
    return Json.MAPPER.readTree(r.body());
  }

  /** Opens the session's GET stream and returns once its headers are in; the stream stays open. */
  static HttpResponse<InputStream> openStream(String key, String session) throws Exception {
    HttpResponse<InputStream> r = TestUpstreams.HTTP.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/mcp"))
        .header("Accept", "text/event-stream").header("Authorization", "Bearer " + key).header("Mcp-Session-Id", session)
        .GET().build(), HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, r.statusCode());
    return r;
  }

  @Test
  void aCallerOverItsQuotaLosesItsOwnIdleSessionsNotOtherCallers() throws Exception {
    String other = session(KEY[1]);
    List<String> mine = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      mine.add(session(KEY[0]));
    }
    // The caller holds five at most: its oldest idle ones made room for the newer ones.
    for (int i = 0; i < 7; i++) {
      assertEquals(404, post(KEY[0], mine.get(i), PING).statusCode(), "session " + i + " was evicted");
    }
    for (int i = 7; i < 12; i++) {
      assertEquals(200, post(KEY[0], mine.get(i), PING).statusCode(), "session " + i + " is kept");
    }
    assertEquals(200, post(KEY[1], other, PING).statusCode(), "another caller's session is untouched");
  }

  @Test
  void aCallerWhoseSessionsAreAllBusyIsRefusedWithRetryAfter() throws Exception {
    List<HttpResponse<InputStream>> streams = new ArrayList<>();
    try {
      for (int i = 0; i < 5; i++) {
        streams.add(openStream(KEY[2], session(KEY[2])));
      }
      HttpResponse<String> r = initialize(KEY[2], "2025-11-25");
      assertEquals(429, r.statusCode(), r.body());
      assertTrue(r.headers().firstValue("Retry-After").isPresent(), r.headers().toString());
      assertTrue(json(r).path("error").path("message").asText().contains("server.sessions.per_principal"), r.body());
      assertEquals(200, initialize(KEY[3], "2025-11-25").statusCode(), "other callers still get sessions");
    } finally {
      for (HttpResponse<InputStream> s : streams) {
        s.body().close();
      }
    }
  }

  @Test
  void initializeCountsAgainstTheCallersRateLimit() throws Exception {
    for (int i = 0; i < 4; i++) {
      assertEquals(200, initialize(LIMITED, "2025-11-25").statusCode());
    }
    HttpResponse<String> r = initialize(LIMITED, "2025-11-25");
    assertEquals(429, r.statusCode(), r.body());
    assertEquals(-32014, json(r).path("error").path("code").asInt(), r.body());
    assertTrue(r.headers().firstValue("Retry-After").isPresent());
    String metrics = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/metrics"))
        .header("Authorization", "Bearer " + KEY[0]).GET().build()).body();
    assertTrue(metrics.contains("gatehouse_sessions_refused_total{reason=\"rate_limited\"}"), "refusals are counted");
  }

  @Test
  void sessionsNeverUsedAfterInitializeExpireEarly() throws Exception {
    String unused = session(KEY[4]);
    String used = session(KEY[4]);
    assertEquals(200, post(KEY[4], used, PING).statusCode());
    // Watched from inside: a request would count as using it.
    await("the unused session to expire", Duration.ofSeconds(20), () -> gateway.dispatcher().session(unused).isEmpty());
    assertEquals(404, post(KEY[4], unused, PING).statusCode());
    assertEquals(200, post(KEY[4], used, PING).statusCode(), "a used session lives on (idle_timeout 1m)");
  }

  @Test
  void aNewGetStreamReplacesTheOpenOneAtOnce() throws Exception {
    String sid = session(KEY[5]);
    HttpResponse<InputStream> first = openStream(KEY[5], sid);
    HttpResponse<InputStream> second = openStream(KEY[5], sid); // was 409 for as long as the first lived
    CompletableFuture<Integer> firstEnds = CompletableFuture.supplyAsync(() -> {
      try (InputStream in = first.body()) {
        return in.readAllBytes().length;
      } catch (java.io.IOException e) {
        return -1;
      }
    });
    firstEnds.get(20, java.util.concurrent.TimeUnit.SECONDS); // the replaced stream ends
    second.body().close();
  }

  @Test
  void batchesAreCapped() throws Exception {
    HttpResponse<String> init = initialize(KEY[3], "2025-03-26");
    String sid = init.headers().firstValue("Mcp-Session-Id").orElseThrow();
    String six = "[" + String.join(",", java.util.Collections.nCopies(6, PING)) + "]";
    HttpResponse<String> r = post(KEY[3], sid, six);
    assertEquals(400, r.statusCode(), r.body());
    assertTrue(json(r).path("error").path("message").asText().contains("at most 5, server.max_batch_size"), r.body());
    String five = "[" + String.join(",", java.util.Collections.nCopies(5, PING)) + "]";
    assertEquals(200, post(KEY[3], sid, five).statusCode());
  }

  @Test
  void aFullTableMakesRoomFromUnusedSessionsThenRefusesWith503(@TempDir Path own) throws Exception {
    Path file = own.resolve("g.yaml");
    Files.writeString(file, "server:\n  port: 0\n  sessions: { max: 4, per_principal: 2 }\n"
        + "identity:\n  api_keys:\n"
        + "    - { id: a, hash: \"" + ApiKeys.hash(KEY[0]) + "\", subject: a }\n"
        + "    - { id: b, hash: \"" + ApiKeys.hash(KEY[1]) + "\", subject: b }\n"
        + "    - { id: c, hash: \"" + ApiKeys.hash(KEY[2]) + "\", subject: c }\n"
        + "audit: { enabled: false }\n");
    try (Gateway small = Gateway.start(new ConfigLoader().load(file), Optional.of(file))) {
      Gateway saved = gateway;
      gateway = small;
      try {
        String unusedA = session(KEY[0]);
        String usedA = session(KEY[0]);
        String usedB1 = session(KEY[1]);
        String usedB2 = session(KEY[1]);
        for (String[] s : new String[][] {{KEY[0], usedA}, {KEY[1], usedB1}, {KEY[1], usedB2}}) {
          assertEquals(200, post(s[0], s[1], PING).statusCode());
        }
        // Full: the one session never used after initialize makes room.
        String c1 = session(KEY[2]);
        assertEquals(404, post(KEY[0], unusedA, PING).statusCode());
        assertEquals(200, post(KEY[2], c1, PING).statusCode());
        // Full again, every session in use: refused, with Retry-After.
        HttpResponse<String> r = initialize(KEY[2], "2025-11-25");
        assertEquals(503, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Retry-After").isPresent());
        assertTrue(json(r).path("error").path("message").asText().contains("server.sessions.max"), r.body());
        assertEquals(200, post(KEY[0], usedA, PING).statusCode(), "used sessions are kept");
      } finally {
        gateway = saved;
      }
    }
  }
}
