package dev.gatehouse.gateway;

import dev.gatehouse.audit.AuditSettings;
import static dev.gatehouse.gateway.TestUpstreams.await;
import static dev.gatehouse.gateway.TestUpstreams.samplesYaml;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.identity.ApiKeys;
import dev.gatehouse.registry.Json;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Tool calls, denials and refused credentials of one agent task, read back as one chain. */
@Timeout(120)
class AuditEndToEndTest {
  static final String AGENT = ApiKeys.generate();
  static final String AUDITOR = ApiKeys.generate();
  @TempDir
  static Path dir;
  static Gateway gateway;

  @BeforeAll
  static void start() throws Exception {
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server: { port: 0 }\nupstreams:\n" + samplesYaml("local", "faulty")
        + "identity:\n  api_keys:\n"
        + "    - { id: agent, hash: \"" + ApiKeys.hash(AGENT) + "\", subject: agent-7, groups: [agents], tenant: acme }\n"
        + "    - { id: auditor, hash: \"" + ApiKeys.hash(AUDITOR) + "\", subject: carol, roles: [gatehouse-auditor] }\n"
        + "policies:\n  - { id: agents, when: { groups: [agents] }, allow: { servers: [local] }, deny: { tools: [\"local__crash\"] } }\n"
        + "audit: { store: \"sqlite:audit/steps.db\", capture: [\"none-of-these\"] }\n");
    gateway = Gateway.start(new ConfigLoader().load(file), Optional.of(file));
    await("upstream", Duration.ofSeconds(60), () -> gateway.registry().status().stream().allMatch(s -> s.connected()));
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  static HttpResponse<String> execute(String key, String chain, String tool, String args) {
    HttpRequest.Builder b = HttpRequest.newBuilder(gateway.baseUri().resolve(ExecuteHandler.PATH))
        .header("Content-Type", "application/json").header("X-Chain-Id", chain)
        .POST(HttpRequest.BodyPublishers.ofString(ExecuteTest.chatCall("call_" + tool, tool, args)));
    if (key != null) {
      b.header("Authorization", "Bearer " + key);
    }
    return TestUpstreams.send(b.build());
  }

  static HttpResponse<String> get(String key, String path) {
    return TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve(path)).header("Authorization", "Bearer " + key).GET().build());
  }

  @Test
  void anAgentTasksCallsDenialsAndAuthFailuresFormOneChain() throws Exception {
    assertEquals(200, execute(AGENT, "task-1", "local__echo", "{\"text\":\"s3cr3t-arg\",\"password\":\"hunter2\"}").statusCode());
    assertEquals(200, execute(AGENT, "task-1", "local__pid", "{}").statusCode());
    assertEquals(403, execute(AGENT, "task-1", "local__crash", "{}").statusCode());
    assertEquals(401, execute(null, "task-1", "local__echo", "{}").statusCode());

    HttpResponse<String> r = get(AUDITOR, "/v1/audit/chains/task-1");
    assertEquals(200, r.statusCode(), r.body());
    JsonNode steps = Json.MAPPER.readTree(r.body()).path("steps");
    assertEquals(4, steps.size(), r.body());
    assertEquals(List.of("allow", "allow", "deny", "unauthenticated"),
        List.of(steps.get(0).path("decision").asText(), steps.get(1).path("decision").asText(),
            steps.get(2).path("decision").asText(), steps.get(3).path("decision").asText()));
    JsonNode first = steps.get(0);
    assertEquals("agent-7", first.path("subject").asText());
    assertEquals("acme", first.path("tenant").asText());
    assertEquals("local/echo", first.path("action").asText());
    assertEquals("execute", first.path("source").asText());
    assertEquals("call_local__echo", first.path("tool_call_id").asText());
    assertTrue(first.path("args_digest").asText().startsWith("sha256:"), first.toString());
    assertTrue(first.path("result_digest").asText().startsWith("sha256:"), first.toString());
    assertFalse(r.body().contains("s3cr3t-arg") || r.body().contains("hunter2"), "payloads are digests unless captured");
    JsonNode denied = steps.get(2);
    assertEquals("agents", denied.path("rule").asText());
    assertEquals("denied", denied.path("outcome").asText());
    assertTrue(denied.path("reason").asText().contains("local__crash"), denied.toString());
    assertEquals("auth", steps.get(3).path("kind").asText());
    assertFalse(r.body().contains(AGENT) || r.body().contains(AUDITOR), "credentials are never stored");
  }

  @Test
  void stepsAreQueryableExportableAndOnlyForAuditors() throws Exception {
    execute(AGENT, "task-2", "local__crash", "{}");
    HttpResponse<String> denials = get(AUDITOR, "/v1/audit/steps?decision=deny&principal=agent-7&limit=10");
    assertEquals(200, denials.statusCode(), denials.body());
    JsonNode page = Json.MAPPER.readTree(denials.body());
    assertTrue(page.path("steps").size() >= 1);
    page.path("steps").forEach(s -> assertEquals("deny", s.path("decision").asText()));

    HttpResponse<String> export = get(AUDITOR, "/v1/audit/export?since=2000-01-01T00:00:00Z");
    assertEquals(200, export.statusCode());
    assertTrue(export.headers().firstValue("Content-Type").orElse("").startsWith("application/x-ndjson"));
    for (String line : export.body().strip().split("\n")) {
      assertTrue(Json.MAPPER.readTree(line).has("hash"), line);
    }
    assertEquals(403, get(AGENT, "/v1/audit/steps").statusCode(), "an agent may not read the audit trail");
    assertEquals(400, get(AUDITOR, "/v1/audit/steps?since=yesterday").statusCode());
    assertEquals(404, get(AUDITOR, "/v1/audit/chains/no-such-chain").statusCode());
  }

  @Test
  void auditVerifyCliChecksTheLiveStore() {
    execute(AGENT, "task-3", "local__echo", "{\"text\":\"x\"}");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int code = AuditCommand.run(List.of("verify", "--store", "sqlite:" + dir.resolve("audit/steps.db")), AuditSettings.defaults(),
        new PrintStream(out), new PrintStream(new ByteArrayOutputStream()));
    assertEquals(0, code, out.toString());
  }
}
