package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static dev.gatehouse.gateway.TestUpstreams.samplesYaml;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.identity.ApiKeys;
import dev.gatehouse.registry.Json;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.spec.McpSchema;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Identity and policies enforced on every door of /mcp, with API-key principals of two groups and a
 * config file that is edited live.
 */
@Timeout(120)
class PolicyEnforcementTest {
  static final String FINANCE_KEY = ApiKeys.generate();
  static final String ENGINEERING_KEY = ApiKeys.generate();
  static final String ADMIN_KEY = ApiKeys.generate();
  static final String EXPLAINED_KEY = ApiKeys.generate();

  @TempDir
  static Path dir;
  static Path file;
  static Gateway gateway;

  static String config(String policies) {
    return "server:\n  port: 0\n"
        + "upstreams:\n" + samplesYaml("fin", "faulty") + samplesYaml("eng", "faulty")
        + "identity:\n  api_keys:\n"
        + key("finance", FINANCE_KEY, "alice", "finance")
        + key("engineering", ENGINEERING_KEY, "bob", "engineering")
        + key("admin", ADMIN_KEY, "root", "ops", "gatehouse-admin")
        + key("explained", EXPLAINED_KEY, "erin", "explained")
        + "policies:\n" + policies;
  }

  static String key(String id, String key, String subject, String group, String... roles) {
    return "    - id: " + id + "\n      hash: \"" + ApiKeys.hash(key) + "\"\n      subject: " + subject
        + "\n      groups: [" + group + "]\n" + (roles.length == 0 ? "" : "      roles: [" + String.join(", ", roles) + "]\n");
  }

  static final String POLICIES = """
        - id: finance-tools
          when: { groups: [finance] }
          allow: { servers: [fin] }
          arguments:
            "fin__echo": { text: { prefix: "fin:" } }
        - id: engineering-tools
          when: { groups: [engineering] }
          allow: { tools: ["eng__*"] }
          deny: { tools: ["eng__crash"] }
          limits: { tools_per_minute: { "eng__pid": 2 } }
        - id: explained
          when: { groups: [explained] }
          allow: { tools: ["eng__echo"] }
          limits: { requests_per_minute: 5 }
      """;

  @BeforeAll
  static void start() throws Exception {
    file = dir.resolve("gatehouse.yaml");
    Files.writeString(file, config(POLICIES));
    gateway = Gateway.start(new ConfigLoader().load(file), Optional.of(file));
    await("upstreams", Duration.ofSeconds(60), () -> gateway.registry().status().stream().allMatch(s -> s.connected()));
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  static McpClient.SyncSpec client(String key) {
    return McpClient.sync(HttpClientStreamableHttpTransport.builder(gateway.baseUri().toString()).endpoint("/mcp")
            .httpRequestCustomizer((b, m, u, body, ctx) -> b.header("Authorization", "Bearer " + key)).build())
        .requestTimeout(Duration.ofSeconds(20));
  }

  static List<String> toolNames(McpSyncClient c) {
    return c.listTools().tools().stream().map(McpSchema.Tool::name).toList();
  }

  @Test
  void twoGroupsSeeDifferentToolsAndAreRefusedEachOthersWithTheRuleNamed() {
    try (McpSyncClient fin = client(FINANCE_KEY).build(); McpSyncClient eng = client(ENGINEERING_KEY).build()) {
      fin.initialize();
      eng.initialize();
      List<String> finTools = toolNames(fin);
      List<String> engTools = toolNames(eng);
      assertTrue(finTools.contains("fin__echo") && finTools.stream().noneMatch(t -> t.startsWith("eng__")), finTools.toString());
      assertTrue(engTools.contains("eng__echo") && engTools.stream().noneMatch(t -> t.startsWith("fin__")), engTools.toString());
      assertFalse(engTools.contains("eng__crash"), "denied tools are not listed");

      Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
          () -> eng.callTool(new McpSchema.CallToolRequest("fin__echo", Map.of("text", "fin:x"))));
      assertTrue(e.getMessage().contains("default-deny") || e.getMessage().contains("no policy"), e.getMessage());
      Exception e2 = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
          () -> eng.callTool(new McpSchema.CallToolRequest("eng__crash", Map.of())));
      assertTrue(e2.getMessage().contains("engineering-tools"), e2.getMessage());
      Exception e3 = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
          () -> fin.callTool(new McpSchema.CallToolRequest("eng__echo", Map.of("text", "hi"))));
      assertTrue(e3.getMessage().contains("Forbidden"), e3.getMessage());

      McpSchema.CallToolResult ok = fin.callTool(new McpSchema.CallToolRequest("fin__echo", Map.of("text", "fin:ok")));
      assertEquals("fin:ok", ((McpSchema.TextContent) ok.content().get(0)).text());
    }
  }

  @Test
  void argumentConstraintDenialNamesTheArgument() {
    try (McpSyncClient fin = client(FINANCE_KEY).build()) {
      fin.initialize();
      Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
          () -> fin.callTool(new McpSchema.CallToolRequest("fin__echo", Map.of("text", "not finance"))));
      assertTrue(e.getMessage().contains("text") && e.getMessage().contains("fin:"), e.getMessage());
    }
  }

  @Test
  void perToolRateLimitAnswersRateLimited() {
    try (McpSyncClient eng = client(ENGINEERING_KEY).build()) {
      eng.initialize();
      eng.callTool(new McpSchema.CallToolRequest("eng__pid", Map.of()));
      eng.callTool(new McpSchema.CallToolRequest("eng__pid", Map.of()));
      Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
          () -> eng.callTool(new McpSchema.CallToolRequest("eng__pid", Map.of())));
      assertTrue(e.getMessage().contains("Rate limited"), e.getMessage());
    }
  }

  @Test
  void missingOrBadCredentialsAre401WithResourceMetadata() throws Exception {
    URI mcp = gateway.baseUri().resolve("/mcp");
    HttpResponse<String> none = TestUpstreams.send(HttpRequest.newBuilder(mcp).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(McpHttp.INIT)).build());
    assertEquals(401, none.statusCode());
    String challenge = none.headers().firstValue("WWW-Authenticate").orElseThrow();
    assertTrue(challenge.startsWith("Bearer ") && challenge.contains("resource_metadata=\"" + gateway.baseUri() + "/.well-known/oauth-protected-resource/mcp\""), challenge);

    HttpResponse<String> bad = TestUpstreams.send(HttpRequest.newBuilder(mcp).header("Content-Type", "application/json")
        .header("Authorization", "Bearer gk_notarealkeyatall000000000000000000")
        .POST(HttpRequest.BodyPublishers.ofString(McpHttp.INIT)).build());
    assertEquals(401, bad.statusCode());
    assertTrue(bad.headers().firstValue("WWW-Authenticate").orElseThrow().contains("error=\"invalid_token\""));
    JsonNode body = Json.MAPPER.readTree(bad.body());
    assertEquals(RpcError.UNAUTHORIZED, body.path("error").path("code").asInt(), bad.body());

    HttpResponse<String> meta = TestUpstreams.get(gateway.baseUri().resolve("/.well-known/oauth-protected-resource/mcp"));
    assertEquals(200, meta.statusCode());
    JsonNode m = Json.MAPPER.readTree(meta.body());
    assertEquals(gateway.baseUri() + "/mcp", m.path("resource").asText());
    assertTrue(m.has("authorization_servers"));
  }

  @Test
  void aSessionCannotBeUsedByAnotherPrincipal() {
    URI mcp = gateway.baseUri().resolve("/mcp");
    HttpResponse<String> init = TestUpstreams.send(HttpRequest.newBuilder(mcp).header("Content-Type", "application/json")
        .header("Authorization", "Bearer " + FINANCE_KEY).POST(HttpRequest.BodyPublishers.ofString(McpHttp.INIT)).build());
    String sid = init.headers().firstValue("Mcp-Session-Id").orElseThrow();
    HttpResponse<String> hijack = TestUpstreams.send(HttpRequest.newBuilder(mcp).header("Content-Type", "application/json")
        .header("Authorization", "Bearer " + ENGINEERING_KEY).header("Mcp-Session-Id", sid)
        .POST(HttpRequest.BodyPublishers.ofString("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}")).build());
    assertEquals(403, hijack.statusCode(), hijack.body());
  }

  @Test
  void explainShowsTheDecisionAndTheRulesConsulted() throws Exception {
    URI explain = gateway.baseUri().resolve("/admin/policy/explain");
    String body = "{\"principal\":{\"subject\":\"carol\",\"groups\":[\"engineering\"]},\"action\":{\"tool\":\"eng__crash\"}}";
    HttpResponse<String> r = TestUpstreams.send(HttpRequest.newBuilder(explain).header("Content-Type", "application/json")
        .header("Authorization", "Bearer " + ADMIN_KEY).POST(HttpRequest.BodyPublishers.ofString(body)).build());
    assertEquals(200, r.statusCode(), r.body());
    JsonNode out = Json.MAPPER.readTree(r.body());
    assertEquals("deny", out.path("decision").asText(), r.body());
    assertEquals("engineering-tools", out.path("rule").asText(), r.body());
    assertEquals(3, out.path("rules").size(), r.body());

    HttpResponse<String> notAdmin = TestUpstreams.send(HttpRequest.newBuilder(explain).header("Content-Type", "application/json")
        .header("Authorization", "Bearer " + FINANCE_KEY).POST(HttpRequest.BodyPublishers.ofString(body)).build());
    assertEquals(403, notAdmin.statusCode());
  }

  @Test
  void explainForAConfiguredKeyShowsThatCallersLiveCounters() throws Exception {
    try (McpSyncClient erin = client(EXPLAINED_KEY).build()) {
      erin.initialize(); // a new session takes one request
      erin.callTool(new McpSchema.CallToolRequest("eng__echo", Map.of("text", "x"))); // and the call another
    }
    URI explain = gateway.baseUri().resolve("/admin/policy/explain");
    HttpResponse<String> r = TestUpstreams.send(HttpRequest.newBuilder(explain).header("Content-Type", "application/json")
        .header("Authorization", "Bearer " + ADMIN_KEY)
        .POST(HttpRequest.BodyPublishers.ofString("{\"key_id\":\"explained\",\"action\":{\"tool\":\"eng__echo\"}}")).build());
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.body().contains("api_key:erin@gatehouse:api-key"), r.body());
    assertTrue(r.body().contains("requests_per_minute 5: 3 of 5 left for this principal"),
        "the explanation counts what erin used: " + r.body());
    HttpResponse<String> unknown = TestUpstreams.send(HttpRequest.newBuilder(explain).header("Content-Type", "application/json")
        .header("Authorization", "Bearer " + ADMIN_KEY)
        .POST(HttpRequest.BodyPublishers.ofString("{\"key_id\":\"nobody\",\"action\":{\"tool\":\"eng__echo\"}}")).build());
    assertEquals(400, unknown.statusCode(), unknown.body());
  }

  @Test
  void policyReloadChangesWhatALiveSessionSees() throws Exception {
    List<List<McpSchema.Tool>> changes = new CopyOnWriteArrayList<>();
    try (McpSyncClient fin = client(FINANCE_KEY).toolsChangeConsumer(changes::add).build()) {
      fin.initialize();
      assertTrue(toolNames(fin).contains("fin__pid"));
      String narrowed = POLICIES.replace("allow: { servers: [fin] }", "allow: { tools: [\"fin__echo\"] }");
      Path tmp = Files.createTempFile(dir, "edit", ".yaml");
      Files.writeString(tmp, config(narrowed));
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      try {
        await("list_changed after the policy reload", Duration.ofSeconds(15),
            () -> changes.stream().anyMatch(l -> l.stream().noneMatch(t -> t.name().equals("fin__pid"))));
        assertEquals(List.of("fin__echo"), toolNames(fin));
      } finally {
        Path back = Files.createTempFile(dir, "edit", ".yaml");
        Files.writeString(back, config(POLICIES));
        Files.move(back, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        await("restored", Duration.ofSeconds(15), () -> gateway.config().policies().size() == 3
            && gateway.dispatcher().access().engine().active() && toolNames(fin).contains("fin__pid"));
      }
    }
  }
}
