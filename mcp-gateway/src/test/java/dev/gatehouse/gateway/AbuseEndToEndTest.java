package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static dev.gatehouse.gateway.TestUpstreams.samplesYaml;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.identity.ApiKeys;
import dev.gatehouse.registry.Json;
import dev.gatehouse.samples.RunningServer;
import dev.gatehouse.samples.Samples;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a careless or hostile caller sends, through a running gateway with real keys: each gets a
 * precise error, is recorded, and cannot take what other callers share (a core, the session table).
 */
@Timeout(120)
class AbuseEndToEndTest {
  static final String USER = ApiKeys.generate();
  static final String AUDITOR = ApiKeys.generate();
  static final String SAM_ACME = ApiKeys.generate();
  static final String SAM_GLOBEX = ApiKeys.generate();
  static final String LONG_SERVER = "a".repeat(32);
  @TempDir
  static Path dir;
  static RunningServer model;
  static Gateway gateway;

  @BeforeAll
  static void start() throws Exception {
    model = Samples.startScriptedModel("127.0.0.1", 0);
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server: { port: 0 }\nupstreams:\n" + samplesYaml(LONG_SERVER, "stdio-tools")
        + "providers:\n  scripted:\n    kind: openai-compatible\n    base_url: \"" + model.url() + "\"\n"
        + "    keys: [{ id: k1, value: sk-scripted }]\n"
        + "identity:\n  api_keys:\n"
        + "    - { id: user, hash: \"" + ApiKeys.hash(USER) + "\", subject: user, groups: [users] }\n"
        + "    - { id: auditor, hash: \"" + ApiKeys.hash(AUDITOR) + "\", subject: carol, roles: [gatehouse-auditor] }\n"
        + "    - { id: sam-acme, hash: \"" + ApiKeys.hash(SAM_ACME) + "\", subject: sam, tenant: acme, groups: [users] }\n"
        + "    - { id: sam-globex, hash: \"" + ApiKeys.hash(SAM_GLOBEX) + "\", subject: sam, tenant: globex, groups: [users] }\n"
        + "policies:\n"
        + "  - { id: users, when: { groups: [users] }, allow: { servers: [\"*\"], models: [\"scripted/*\"] } }\n"
        + "audit: { store: \"sqlite:audit.db\" }\n");
    gateway = Gateway.start(new ConfigLoader().load(file), Optional.of(file));
    await("tools", Duration.ofSeconds(60), () -> gateway.registry().status().stream().allMatch(s -> s.connected()));
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
    if (model != null) {
      model.close();
    }
  }

  static HttpResponse<String> chat(String body, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(gateway.baseUri().resolve(ChatHandler.COMPLETIONS))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + USER)
        .POST(HttpRequest.BodyPublishers.ofString(body));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return TestUpstreams.send(b.build());
  }

  static JsonNode chain(String id) throws Exception {
    HttpResponse<String> r = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/v1/audit/chains/" + id))
        .header("Authorization", "Bearer " + AUDITOR).GET().build());
    assertEquals(200, r.statusCode(), r.body());
    return json(r).path("steps");
  }

  static JsonNode json(HttpResponse<String> r) throws Exception {
    return Json.MAPPER.readTree(r.body());
  }

  static final String HELLO = "{\"model\":\"scripted/scripted-1\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";

  @Test
  @Timeout(value = 20, unit = TimeUnit.SECONDS)
  void aPathologicalToolGlobInARequestHeaderCannotPinACore() throws Exception {
    // Against a backtracking regular expression this glob takes minutes on the 38-character tool name.
    HttpResponse<String> r = chat(HELLO, ChatHandler.TOOLS_HEADER, "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*z");
    assertEquals(200, r.statusCode(), r.body());
    r = chat(HELLO, ChatHandler.TOOLS_HEADER, "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c");
    assertEquals(200, r.statusCode(), r.body());
  }

  @Test
  void tooManyOrMalformedToolGlobsAreRefusedWith400() throws Exception {
    HttpResponse<String> r = chat(HELLO, ChatHandler.TOOLS_HEADER, "x,".repeat(ChatHandler.MAX_OFFER_PATTERNS + 1));
    assertEquals(400, r.statusCode(), r.body());
    assertEquals("invalid_tools_header", json(r).path("error").path("code").asText());
    r = chat(HELLO, ChatHandler.TOOLS_HEADER, "tools__\\x");
    assertEquals(400, r.statusCode(), r.body());
    assertTrue(json(r).path("error").path("message").asText().contains("unsupported escape"), r.body());
  }

  @Test
  void anOverlongModelNameIs400AndReachesNoProvider() throws Exception {
    HttpResponse<String> r = chat("{\"model\":\"scripted/" + "m".repeat(2000) + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
        "X-Chain-Id", "abuse-long-model");
    assertEquals(400, r.statusCode(), r.body());
    assertEquals("invalid_model", json(r).path("error").path("code").asText());
    for (JsonNode step : chain("abuse-long-model")) {
      assertTrue(!"ok".equals(step.path("outcome").asText()), "a provider was called: " + step);
    }
  }

  @Test
  void aBadCredentialOnAnOverlongPathIs401AndIsRecorded() throws Exception {
    String path = "/mcp/" + "a".repeat(1100);
    HttpResponse<String> r = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve(path))
        .header("Content-Type", "application/json").header("Authorization", "Bearer gk_not-a-real-key")
        .header("X-Chain-Id", "abuse-long-path").POST(HttpRequest.BodyPublishers.ofString("{}")).build());
    assertEquals(401, r.statusCode(), r.body());
    JsonNode steps = chain("abuse-long-path");
    assertEquals(1, steps.size(), steps.toString());
    assertEquals("auth", steps.get(0).path("kind").asText());
    String action = steps.get(0).path("action").asText();
    assertTrue(action.startsWith("/mcp/aaaa") && action.contains("clipped"), action);
  }

  static HttpResponse<String> mcp(String body, String session, String... headers) {
    return McpHttp.post(gateway.baseUri().resolve("/mcp"), session, body, headers);
  }

  static String session(String key) {
    return McpHttp.session(gateway.baseUri().resolve("/mcp"), McpHttp.bearer(key));
  }

  static final String LIST = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}";

  @Test
  void twoCredentialsAreRefusedWhicheverComesFirst() throws Exception {
    for (String[] pair : new String[][] {{USER, "gk_bogus"}, {"gk_bogus", USER}, {USER, AUDITOR}}) {
      HttpResponse<String> r = mcp(McpHttp.INIT, null, "Authorization", "Bearer " + pair[0], "Authorization", "Bearer " + pair[1]);
      assertEquals(401, r.statusCode(), r.body());
      assertTrue(r.body().contains("more than one Authorization header"), r.body());
      r = mcp(McpHttp.INIT, null, "X-API-Key", pair[0], "X-API-Key", pair[1]);
      assertEquals(401, r.statusCode(), r.body());
    }
    HttpResponse<String> r = mcp(McpHttp.INIT, null, "Authorization", "Bearer " + USER, "X-API-Key", USER);
    assertEquals(401, r.statusCode(), r.body());
  }

  @Test
  void aSessionBelongsToItsTenantToo() throws Exception {
    String sid = session(SAM_ACME);
    assertEquals(200, mcp(LIST, sid, "Authorization", "Bearer " + SAM_ACME).statusCode());
    HttpResponse<String> r = mcp(LIST, sid, "Authorization", "Bearer " + SAM_GLOBEX);
    assertEquals(403, r.statusCode(), r.body());
    assertTrue(r.body().contains("belongs to another principal"), r.body());
  }

  @Test
  void argumentsThatAreNotAnObjectAreRefusedAtTheGateway() throws Exception {
    String sid = session(USER);
    for (String args : java.util.List.of("1", "\"1+2\"", "[]", "true", "null")) {
      HttpResponse<String> r = mcp("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\""
          + LONG_SERVER + "__calc\",\"arguments\":" + args + "}}", sid, "Authorization", "Bearer " + USER);
      assertEquals(200, r.statusCode(), r.body());
      JsonNode error = json(r).path("error");
      assertEquals(-32602, error.path("code").asInt(), args + " -> " + r.body());
      assertTrue(error.path("message").asText().contains("'arguments' must be a JSON object"), r.body());
      assertTrue(!r.body().contains("java.") && !r.body().contains("deserialize"), "no Java internals: " + r.body());
    }
  }
}
