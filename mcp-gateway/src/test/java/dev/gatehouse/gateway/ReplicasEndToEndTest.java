package dev.gatehouse.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatehouse.audit.AuditSettings;
import dev.gatehouse.audit.LocalServers;
import dev.gatehouse.audit.PostgresAuditStore;
import dev.gatehouse.audit.AuditVerifyResult;
import dev.gatehouse.audit.PostgresUrl;
import dev.gatehouse.identity.ApiKeys;
import dev.gatehouse.samples.RunningServer;
import dev.gatehouse.samples.Samples;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two gateway processes sharing a real PostgreSQL (the audit chain) and a real Redis (rate limits),
 * as two replicas behind a load balancer would.
 */
@Timeout(240)
class ReplicasEndToEndTest {
  static final String KEY = ApiKeys.generate();
  static final String OTHER = ApiKeys.generate();
  static final String SPENDER = ApiKeys.generate();
  static final int PER_MINUTE = 6;
  private static LocalServers.Postgres pg;
  private static LocalServers.Redis redis;
  private static RunningServer conformance;
  private static RunningServer model;
  @TempDir
  Path dir;

  @BeforeAll
  static void servers() throws Exception {
    pg = LocalServers.Postgres.start();
    redis = LocalServers.Redis.start();
    conformance = Samples.startConformance("127.0.0.1", 0);
    model = Samples.startScriptedModel("127.0.0.1", 0);
  }

  @AfterAll
  static void stopServers() throws Exception {
    if (conformance != null) {
      conformance.close();
    }
    if (model != null) {
      model.close();
    }
    if (redis != null) {
      redis.close();
    }
    if (pg != null) {
      pg.close();
    }
  }

  private static int subjects;

  private Path config(String name, String audit, String extra) throws Exception {
    if (name.equals("a")) {
      subjects++; // every test starts its limited principal with a full bucket in the shared Redis
    }
    String yaml = "server: { port: 0, sessions: { store: \"" + redis.url() + "\" } }\n"
        + "upstreams:\n  conf: { transport: streamable-http, url: \"" + conformance.url() + "\" }\n"
        + "identity:\n  api_keys:\n"
        + "    - { id: limited, hash: \"" + ApiKeys.hash(KEY) + "\", subject: agent-" + subjects + ", groups: [limited] }\n"
        + "    - { id: free, hash: \"" + ApiKeys.hash(OTHER) + "\", subject: agent-2, groups: [free] }\n"
        + "    - { id: spender, hash: \"" + ApiKeys.hash(SPENDER) + "\", subject: spender-" + subjects + ", groups: [spenders] }\n"
        + "policies:\n"
        + "  - { id: limited, when: { groups: [limited] }, allow: { servers: [conf] }, limits: { requests_per_minute: " + PER_MINUTE + " } }\n"
        + "  - { id: free, when: { groups: [free] }, allow: { servers: [conf] } }\n"
        + "  - { id: spenders, when: { groups: [spenders] }, allow: { models: [\"scripted/*\"] }, limits: { budget_usd_per_day: 1 } }\n"
        + "providers:\n  scripted:\n    kind: openai-compatible\n    base_url: \"" + model.url() + "\"\n"
        + "    keys: [{ id: k1, value: sk-scripted }]\n    retry: { max_attempts: 1 }\n"
        + "prices: { \"scripted/scripted-1\": { input_per_mtok: 150000, output_per_mtok: 150000 } }\n"
        + "audit: { store: \"" + audit + "\" }\n"
        + "limits: { store: \"" + redis.url() + "\", timeout_ms: 500 }\n"
        + "access: { public_probes: true }\n" + extra;
    Path f = dir.resolve(name + ".yaml");
    Files.writeString(f, yaml);
    return f;
  }

  /** A gateway process on the shared stores, ready to serve. */
  private GatewayProcess replica(String name, String audit) throws Exception {
    GatewayProcess g = GatewayProcess.start(config(name, audit, ""), List.of());
    try {
      g.awaitReady();
      return g;
    } catch (Exception | AssertionError e) {
      g.close();
      throw e;
    }
  }

  static HttpResponse<String> execute(URI base, String key, String chain) {
    return TestUpstreams.send(HttpRequest.newBuilder(base.resolve(ExecuteHandler.PATH))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + key).header("X-Chain-Id", chain)
        .POST(HttpRequest.BodyPublishers.ofString(ExecuteTest.chatCall("call_1", "conf__test_simple_text", "{}"))).build());
  }

  private static long steps(String url, String chainPrefix) throws Exception {
    return chains(url, chainPrefix).size();
  }

  /** The chain id of every stored step whose chain id starts with {@code chainPrefix}. */
  private static List<String> chains(String url, String chainPrefix) throws Exception {
    PostgresUrl u = AuditSettings.postgres(url).orElseThrow();
    List<String> out = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(u.jdbcUrl(), u.user().orElseThrow(), "");
        PreparedStatement p = c.prepareStatement("SELECT chain_id FROM steps WHERE chain_id LIKE ?")) {
      p.setString(1, chainPrefix + "%");
      try (ResultSet r = p.executeQuery()) {
        while (r.next()) {
          out.add(r.getString(1));
        }
      }
    }
    return out;
  }

  private static int verifyCommand(String url, StringBuilder said) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int rc = AuditCommand.run(List.of("verify", "--store", url), new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    said.append(out.toString(StandardCharsets.UTF_8)).append(err.toString(StandardCharsets.UTF_8));
    return rc;
  }

  @Test
  void aRateLimitHoldsAcrossReplicasAndBothWriteOneVerifiableChain() throws Exception {
    String audit = pg.database();
    try (GatewayProcess a = replica("a", audit); GatewayProcess b = replica("b", audit)) {
      int accepted = 0;
      int limited = 0;
      for (int i = 0; i < 4 * PER_MINUTE; i++) {
        HttpResponse<String> r = execute((i % 2 == 0 ? a : b).base, KEY, "rl-" + i);
        if (r.statusCode() == 200) {
          accepted++;
        } else {
          assertEquals(429, r.statusCode(), r.body());
          assertTrue(r.body().contains("rate limit of rule 'limited'"), r.body());
          assertTrue(r.headers().firstValue("Retry-After").isPresent());
          limited++;
        }
      }
      // The burst of PER_MINUTE, plus at most one refilled while the loop ran (one every 10 s).
      assertTrue(accepted >= PER_MINUTE && accepted <= PER_MINUTE + 1, "accepted " + accepted + " of " + (4 * PER_MINUTE));
      assertEquals(4 * PER_MINUTE, accepted + limited);
      // Every call, accepted or refused, on either replica, is one step of one chain in PostgreSQL.
      assertEquals(4 * PER_MINUTE, steps(audit, "rl-"));
      StringBuilder said = new StringBuilder();
      assertEquals(0, verifyCommand(audit, said), said.toString());
      assertTrue(said.toString().startsWith("audit chain OK: " + 4 * PER_MINUTE + " steps"), said.toString());
    }
  }

  @Test
  void aReplicaKilledUnderLoadLosesNoAcknowledgedStep() throws Exception {
    String audit = pg.database();
    try (GatewayProcess a = replica("a", audit); GatewayProcess b = replica("b", audit)) {
      Set<String> acknowledged = ConcurrentHashMap.newKeySet();
      java.util.concurrent.Semaphore answered = new java.util.concurrent.Semaphore(0);
      AtomicBoolean stop = new AtomicBoolean();
      java.util.concurrent.atomic.AtomicReference<String> other = new java.util.concurrent.atomic.AtomicReference<>();
      List<Thread> load = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        int thread = t;
        load.add(Thread.ofVirtual().start(() -> {
          for (int i = 0; !stop.get(); i++) {
            String chain = "kill-" + thread + "-" + i;
            GatewayProcess to = i % 2 == 0 ? a : b;
            try {
              HttpResponse<String> r = execute(to.base, OTHER, chain);
              if (r.statusCode() == 200) {
                acknowledged.add(chain);
                answered.release();
              } else {
                other.set(r.statusCode() + " " + r.body());
              }
            } catch (AssertionError | RuntimeException e) {
              // the killed replica's connections fail: those calls were never acknowledged
            }
          }
        }));
      }
      try {
        awaitAnswers(answered, 40, other);
        a.kill();
        awaitAnswers(answered, 20, other);
      } finally {
        stop.set(true);
      }
      for (Thread t : load) {
        t.join();
      }
      Set<String> stored = new java.util.HashSet<>(chains(audit, "kill-"));
      Set<String> lost = new java.util.HashSet<>(acknowledged);
      lost.removeAll(stored);
      assertTrue(lost.isEmpty(), "acknowledged but not stored: " + lost);
      AuditVerifyResult v = PostgresAuditStore.verify(AuditSettings.postgres(audit).orElseThrow());
      assertTrue(v.ok(), v.message());
    }
  }

  /** Waits for {@code n} more acknowledged calls. */
  private static void awaitAnswers(java.util.concurrent.Semaphore answered, int n, java.util.concurrent.atomic.AtomicReference<String> other)
      throws InterruptedException {
    if (!answered.tryAcquire(n, 60, java.util.concurrent.TimeUnit.SECONDS)) {
      throw new AssertionError("fewer than " + n + " more calls acknowledged within 60 s; last other answer: " + other.get());
    }
  }

  @Test
  void aSessionStartedOnOneReplicaContinuesOnTheOther() throws Exception {
    String audit = pg.database();
    try (GatewayProcess a = replica("a", audit); GatewayProcess b = replica("b", audit)) {
      URI onA = a.base.resolve("/mcp");
      URI onB = b.base.resolve("/mcp");
      String[] auth = McpHttp.bearer(OTHER);
      String sid = McpHttp.session(onA, auth);
      assertEquals(202, McpHttp.post(onB, sid, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", auth).statusCode());
      HttpResponse<String> list = McpHttp.post(onB, sid, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}", auth);
      assertEquals(200, list.statusCode(), list.body());
      assertTrue(list.body().contains("conf__test_simple_text"), list.body());
      for (URI at : List.of(onB, onA)) {
        HttpResponse<String> call = McpHttp.post(at, sid, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":"
            + "{\"name\":\"conf__test_simple_text\",\"arguments\":{}}}", auth);
        assertEquals(200, call.statusCode(), call.body());
        assertTrue(call.body().contains("\"result\""), call.body());
      }
      // The negotiated revision travels with the session: B answers in it (2025-06-18 allows no batches).
      HttpResponse<String> batch = McpHttp.post(onB, sid, "[{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ping\"}]", auth);
      assertEquals(400, batch.statusCode(), batch.body());
      assertTrue(batch.body().contains("2025-06-18"), batch.body());
      // The server-to-client stream opens on B as well.
      HttpResponse<java.io.InputStream> stream = TestUpstreams.HTTP.send(HttpRequest.newBuilder(onB).header("Accept", "text/event-stream")
          .header("Mcp-Session-Id", sid).header(auth[0], auth[1]).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
      assertEquals(200, stream.statusCode());
      assertTrue(stream.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
      stream.body().close();
      // Bound to its owner on every replica.
      HttpResponse<String> stranger = McpHttp.post(onB, sid, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/list\"}",
          McpHttp.bearer(KEY));
      assertEquals(403, stranger.statusCode(), stranger.body());
      // Deleted on B, gone on A too.
      HttpResponse<String> delete = TestUpstreams.send(HttpRequest.newBuilder(onB).header("Mcp-Session-Id", sid)
          .header(auth[0], auth[1]).DELETE().build());
      assertEquals(204, delete.statusCode(), delete.body());
      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
      int status;
      do {
        status = McpHttp.post(onA, sid, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/list\"}", auth).statusCode();
      } while (status != 404 && System.nanoTime() < deadline);
      assertEquals(404, status);
    }
  }

  /** One SSE event: its id and data. */
  record Sse(String id, String data) {}

  private static Sse nextEvent(java.io.BufferedReader in) throws java.io.IOException {
    String id = null;
    String line;
    while ((line = in.readLine()) != null) {
      if (line.startsWith("id: ")) {
        id = line.substring(4);
      } else if (line.startsWith("data: ")) {
        return new Sse(id, line.substring(6));
      }
    }
    throw new AssertionError("the stream ended");
  }

  private static java.io.BufferedReader stream(URI endpoint, String sid, String[] auth, String lastEventId) {
    HttpRequest.Builder b = HttpRequest.newBuilder(endpoint).header("Accept", "text/event-stream").header("Mcp-Session-Id", sid)
        .header(auth[0], auth[1]).GET();
    if (lastEventId != null) {
      b.header("Last-Event-ID", lastEventId);
    }
    try {
      HttpResponse<java.io.InputStream> r = TestUpstreams.HTTP.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
      assertEquals(200, r.statusCode());
      return new java.io.BufferedReader(new java.io.InputStreamReader(r.body(), StandardCharsets.UTF_8));
    } catch (java.io.IOException | InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void aBrokenStreamResumesOnTheOtherReplicaWithLastEventId() throws Exception {
    String audit = pg.database();
    try (GatewayProcess a = replica("a", audit); GatewayProcess b = replica("b", audit)) {
      URI onA = a.base.resolve("/mcp");
      String[] auth = McpHttp.bearer(OTHER);
      String sid = McpHttp.session(onA, auth);
      Path config = dir.resolve("a.yaml");
      String allowed = Files.readString(config);
      String denied = allowed.replace("allow: { servers: [conf] } }", "allow: { servers: [conf] }, deny: { tools: [conf__test_simple_text] } }");
      Sse first;
      Sse second;
      try (java.io.BufferedReader onAStream = stream(onA, sid, auth, null)) {
        // A policy edit on A changes what the session sees: A sends tools/list_changed on the stream, twice.
        Files.writeString(config, denied);
        first = nextEvent(onAStream);
        Files.writeString(config, allowed);
        second = nextEvent(onAStream);
      }
      assertTrue(first.data().contains("notifications/tools/list_changed"), first.data());
      assertTrue(first.id() != null && second.id() != null, first + " " + second);
      // The client got the first and lost the second with the connection: B replays it.
      try (java.io.BufferedReader onBStream = stream(b.base.resolve("/mcp"), sid, auth, first.id())) {
        Sse replayed = nextEvent(onBStream);
        assertEquals(second, replayed);
      }
    }
  }

  @Test
  void aDailyBudgetHoldsAcrossReplicas() throws Exception {
    String audit = pg.database();
    try (GatewayProcess a = replica("a", audit); GatewayProcess b = replica("b", audit)) {
      // $0.15 per token, 4 tokens a call ("hello" → "You said: hello"): $0.60 a call, against $1 a day.
      HttpResponse<String> first = chat(a.base, "budget-1", "hello");
      assertEquals(200, first.statusCode(), first.body());
      HttpResponse<String> second = chat(b.base, "budget-2", "hello");
      assertEquals(200, second.statusCode(), "$0.60 spent of $1: " + second.body());
      // $1.20 spent in all, half on each replica: A, which spent only $0.60 itself, refuses too.
      HttpResponse<String> third = chat(a.base, "budget-3", "hello");
      assertEquals(402, third.statusCode(), third.body());
      assertTrue(third.body().contains("Budget exceeded: $1.2 spent today of $1") && third.body().contains("rule 'spenders'"),
          third.body());
    }
  }

  static HttpResponse<String> chat(URI base, String chain, String text) {
    return TestUpstreams.send(HttpRequest.newBuilder(base.resolve(ChatHandler.COMPLETIONS))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + SPENDER).header("X-Chain-Id", chain)
        .POST(HttpRequest.BodyPublishers.ofString(ChatEndToEndTest.user("scripted/scripted-1", text, ""))).build());
  }

  @Test
  void aPostgresRestartHoldsCallsBackAndLosesNone() throws Exception {
    String audit = pg.database();
    try (GatewayProcess a = replica("a", audit); GatewayProcess b = replica("b", audit)) {
      assertEquals(200, execute(a.base, OTHER, "pg-0").statusCode());
      List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> waiting = new ArrayList<>();
      pg.kill();
      try {
        for (int i = 1; i <= 6; i++) {
          URI base = (i % 2 == 0 ? a : b).base;
          waiting.add(TestUpstreams.HTTP.sendAsync(HttpRequest.newBuilder(base.resolve(ExecuteHandler.PATH))
              .header("Content-Type", "application/json").header("Authorization", "Bearer " + OTHER).header("X-Chain-Id", "pg-" + i)
              .POST(HttpRequest.BodyPublishers.ofString(ExecuteTest.chatCall("call_1", "conf__test_simple_text", "{}"))).build(),
              HttpResponse.BodyHandlers.ofString()));
        }
      } finally {
        pg.restart();
      }
      // Answered once their steps are committed: back-pressure while PostgreSQL was away, then every one.
      for (var f : waiting) {
        HttpResponse<String> r = f.get(60, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(200, r.statusCode(), r.body());
      }
      assertEquals(7, steps(audit, "pg-"));
      AuditVerifyResult v = PostgresAuditStore.verify(AuditSettings.postgres(audit).orElseThrow());
      assertTrue(v.ok(), v.message());
    }
  }

  @Test
  void redisStoppedMidRunRefusesPreciselyAndRecovers() throws Exception {
    String audit = pg.database();
    try (GatewayProcess a = replica("a", audit)) {
      assertEquals(200, execute(a.base, KEY, "redis-0").statusCode());
      redis.kill();
      try {
        long start = System.nanoTime();
        HttpResponse<String> r = execute(a.base, KEY, "redis-1");
        assertEquals(429, r.statusCode(), r.body());
        assertTrue(r.body().contains("cannot be reached") && r.body().contains("fail_closed"), r.body());
        assertTrue(java.util.concurrent.TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start) < 10);
        // A principal without rate limits never needs Redis.
        assertEquals(200, execute(a.base, OTHER, "redis-2").statusCode());
        HttpResponse<String> metrics = TestUpstreams.get(a.base.resolve("/metrics"));
        assertTrue(metrics.body().contains("gatehouse_limits_store_up 0.0"), metrics.body());
      } finally {
        redis.restart();
      }
      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
      int status;
      do {
        status = execute(a.base, KEY, "redis-3").statusCode();
      } while (status != 200 && System.nanoTime() < deadline);
      assertEquals(200, status);
    }
  }
}
