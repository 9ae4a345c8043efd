package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.identity.ApiKeys;
import dev.gatehouse.registry.Json;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tasks extension of MCP 2026-07-28 (SEP-2663) through {@code /mcp}: a tool call the upstream turns
 * into a task comes back with a task id sealed for its caller; {@code tasks/get}, {@code tasks/update}
 * and {@code tasks/cancel} with it reach the upstream that runs the task, through the chain, and with
 * it only: another principal's, an altered or a made-up id is unknown.
 */
@Timeout(120)
class TasksExtensionTest {
  static final String ALICE = ApiKeys.generate();
  static final String BOB = ApiKeys.generate();
  static final String AUDITOR = ApiKeys.generate();
  static final String POLLER = ApiKeys.generate();
  static final String TASKS = "io.modelcontextprotocol/tasks";
  @TempDir
  static Path dir;
  static NodeTooling.Listening fixture;
  static Gateway gateway;
  static Path file;

  static String config(String bobDenied) {
    return "server: { port: 0 }\nupstreams:\n"
        + "  jobs: { transport: streamable-http, url: \"" + fixture.url() + "\" }\n"
        + "identity:\n  api_keys:\n"
        + "    - { id: alice, hash: \"" + ApiKeys.hash(ALICE) + "\", subject: alice, groups: [agents] }\n"
        + "    - { id: bob, hash: \"" + ApiKeys.hash(BOB) + "\", subject: bob, groups: [agents] }\n"
        + "    - { id: auditor, hash: \"" + ApiKeys.hash(AUDITOR) + "\", subject: carol, roles: [gatehouse-auditor] }\n"
        + "    - { id: poller, hash: \"" + ApiKeys.hash(POLLER) + "\", subject: poller, groups: [pollers] }\n"
        + "policies:\n"
        + "  - id: agents\n    when: { groups: [agents] }\n    allow: { servers: [jobs] }\n"
        + "  - id: pollers\n    when: { groups: [pollers] }\n    allow: { servers: [jobs] }\n    limits: { requests_per_minute: 4 }\n"
        + "  - id: no-jobs-for-alice\n    when: { subjects: [alice] }\n    deny: { tools: [" + bobDenied + "] }\n";
  }

  @BeforeAll
  static void start() throws Exception {
    NodeTooling.require();
    fixture = NodeTooling.listening("conformance-2026-fixture.mjs");
    file = dir.resolve("g.yaml");
    Files.writeString(file, config("\"jobs__nothing\""));
    gateway = Gateway.start(new ConfigLoader().load(file), Optional.of(file));
    await("upstream", Duration.ofSeconds(30), () -> gateway.registry().status().stream().allMatch(s -> s.connected()));
  }

  @AfterAll
  static void stop() throws Exception {
    TestUpstreams.closeAll(gateway, fixture);
  }

  /** A 2026-07-28 request as {@code key}, declaring the tasks extension when {@code tasks}. */
  static HttpResponse<String> post(String key, boolean tasks, String method, String name, String params, String... extra) {
    String body = "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"" + method + "\",\"params\":{\"_meta\":{"
        + "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\",\"io.modelcontextprotocol/clientCapabilities\":{"
        + (tasks ? "\"extensions\":{\"" + TASKS + "\":{}}" : "") + "}}," + params + "}}";
    List<String> headers = new ArrayList<>(List.of("Authorization", "Bearer " + key, "MCP-Protocol-Version", "2026-07-28",
        "Mcp-Method", method));
    if (name != null) {
      headers.addAll(List.of("Mcp-Name", name));
    }
    headers.addAll(List.of(extra));
    return McpHttp.post(gateway.baseUri().resolve("/mcp"), null, body, headers.toArray(String[]::new));
  }

  static JsonNode result(HttpResponse<String> r) throws Exception {
    assertEquals(200, r.statusCode(), r.body());
    JsonNode m = Json.MAPPER.readTree(r.body());
    assertTrue(m.has("result"), r.body());
    return m.get("result");
  }

  /** What the gateway sends, validated against the extension's vendored schema. */
  static JsonNode valid(String definition, JsonNode result) throws Exception {
    ModernMcpSchemaTest.assertValid(ModernMcpSchemaTest.vendored("ext-tasks/schema.json"), definition, result);
    return result;
  }

  static String call(String key, String tool, String arguments, String... extra) throws Exception {
    JsonNode created = result(post(key, true, "tools/call", tool, "\"name\":\"" + tool + "\",\"arguments\":" + arguments, extra));
    assertEquals("task", created.path("resultType").asText(), created.toString());
    valid("CreateTaskResult", created);
    return created.path("taskId").asText();
  }

  static JsonNode get(String key, String taskId) throws Exception {
    return valid("GetTaskResult", result(post(key, true, "tasks/get", taskId, "\"taskId\":\"" + taskId + "\"")));
  }

  static JsonNode settled(String key, String taskId, String status) throws Exception {
    JsonNode[] last = {null};
    await("task " + status, Duration.ofSeconds(20), () -> {
      try {
        last[0] = get(key, taskId);
        return last[0].path("status").asText().equals(status);
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    return last[0];
  }

  /** A session-based (2025-11-25) client of ALICE's that runs tasks and answers elicitation. */
  static String sessionClient() {
    HttpResponse<String> init = McpHttp.post(gateway.baseUri().resolve("/mcp"), null, "{\"jsonrpc\":\"2.0\",\"id\":1,"
        + "\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{\"elicitation\":{},"
        + "\"tasks\":{\"list\":{},\"cancel\":{}}},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}", "Authorization", "Bearer " + ALICE);
    assertEquals(200, init.statusCode(), init.body());
    assertTrue(init.body().contains("\"tasks\""), "a 2026 upstream's tasks extension is offered as 2025 tasks: " + init.body());
    return init.headers().firstValue("Mcp-Session-Id").orElseThrow();
  }

  /** A request in {@code session}; its answer (the event stream's last message when it streams). */
  static JsonNode inSession(String session, String method, String params) throws Exception {
    HttpResponse<String> r = McpHttp.post(gateway.baseUri().resolve("/mcp"), session, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\""
        + method + "\",\"params\":" + params + "}", "Authorization", "Bearer " + ALICE);
    assertEquals(200, r.statusCode(), r.body());
    String body = r.body();
    if (body.startsWith("event:") || body.startsWith("data:") || body.startsWith("id:")) {
      String[] data = body.lines().filter(l -> l.startsWith("data: ")).toArray(String[]::new);
      body = data[data.length - 1].substring(6);
    }
    return Json.MAPPER.readTree(body);
  }

  @Test
  void aSessionClientsTaskRunsOnTheStatelessUpstreamInItsOwnRevision() throws Exception {
    String session = sessionClient();
    JsonNode created = inSession(session, "tools/call",
        "{\"name\":\"jobs__slow_compute\",\"arguments\":{\"seconds\":1,\"label\":\"old\"},\"task\":{\"ttl\":60000}}");
    JsonNode task = created.path("result").path("task");
    assertTrue(task.path("taskId").isTextual() && task.has("ttl") && !task.has("ttlMs"), "a 2025-11-25 CreateTaskResult: " + created);
    String taskId = task.path("taskId").asText();
    JsonNode got = inSession(session, "tasks/get", "{\"taskId\":\"" + taskId + "\"}").path("result");
    assertEquals(taskId, got.path("taskId").asText(), got.toString());
    assertFalse(got.has("result") || got.has("resultType"), "2025-11-25 tasks/get carries the task only: " + got);
    JsonNode listed = inSession(session, "tasks/list", "{}").path("result");
    assertTrue(listed.path("tasks").toString().contains(taskId), listed.toString());
    JsonNode result = inSession(session, "tasks/result", "{\"taskId\":\"" + taskId + "\"}").path("result");
    assertEquals("computed old after 1s", result.path("content").path(0).path("text").asText(), result.toString());
    assertEquals(taskId, result.path("_meta").path("io.modelcontextprotocol/related-task").path("taskId").asText(), result.toString());

    String slow = inSession(session, "tools/call", "{\"name\":\"jobs__slow_compute\",\"arguments\":{\"seconds\":60},\"task\":{}}")
        .path("result").path("task").path("taskId").asText();
    assertEquals("cancelled", inSession(session, "tasks/cancel", "{\"taskId\":\"" + slow + "\"}").path("result").path("status").asText());
  }

  @Test
  @Timeout(30)
  void whatASessionClientsTaskWaitsForIsAskedOnItsTasksResultStream() throws Exception {
    String session = sessionClient();
    String taskId = inSession(session, "tools/call",
        "{\"name\":\"jobs__confirm_delete\",\"arguments\":{\"filename\":\"a.txt\"},\"task\":{}}").path("result").path("task")
        .path("taskId").asText();
    URI endpoint = gateway.baseUri().resolve("/mcp");
    HttpRequest result = HttpRequest.newBuilder(endpoint).header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream").header("Mcp-Session-Id", session).header("Authorization", "Bearer " + ALICE)
        .POST(HttpRequest.BodyPublishers.ofString("{\"jsonrpc\":\"2.0\",\"id\":31,\"method\":\"tasks/result\",\"params\":{\"taskId\":\""
            + taskId + "\"}}")).build();
    HttpResponse<java.util.stream.Stream<String>> stream = TestUpstreams.HTTP.send(result, HttpResponse.BodyHandlers.ofLines());
    boolean asked = false;
    try (java.util.stream.Stream<String> lines = stream.body()) {
      for (String line : (Iterable<String>) lines::iterator) {
        if (!line.startsWith("data: ")) {
          continue;
        }
        JsonNode m = Json.MAPPER.readTree(line.substring(6));
        if ("elicitation/create".equals(m.path("method").asText())) {
          asked = true;
          assertEquals("Delete a.txt?", m.path("params").path("message").asText(), m.toString());
          HttpResponse<String> answered = McpHttp.post(endpoint, session, "{\"jsonrpc\":\"2.0\",\"id\":" + m.get("id")
              + ",\"result\":{\"action\":\"accept\",\"content\":{\"confirm\":true}}}", "Authorization", "Bearer " + ALICE);
          assertEquals(202, answered.statusCode(), answered.body());
        } else if (m.path("id").asInt() == 31) {
          assertTrue(asked, "the task's question came first");
          assertEquals("deleted a.txt", m.path("result").path("content").path(0).path("text").asText(), m.toString());
          return;
        }
      }
    }
    throw new AssertionError("tasks/result ended without its answer");
  }

  @Test
  void discoverOffersTheExtensionOfAnUpstreamThatHasIt() throws Exception {
    JsonNode r = result(post(ALICE, false, "server/discover", null, "\"x\":0"));
    assertTrue(r.path("capabilities").path("extensions").has(TASKS), r.toString());
  }

  @Test
  void aTaskCreatedThroughTheGatewayIsPolledThroughItWithASealedId() throws Exception {
    String taskId = call(ALICE, "jobs__slow_compute", "{\"seconds\":0,\"label\":\"quick\"}", "X-Chain-Id", "task-chain");
    assertTrue(taskId.startsWith("gt1."), "the client sees the gateway's handle, not the upstream's id: " + taskId);
    JsonNode done = settled(ALICE, taskId, "completed");
    assertEquals(taskId, done.path("taskId").asText());
    assertEquals("complete", done.path("resultType").asText());
    assertEquals("computed quick after 0s", done.path("result").path("content").path(0).path("text").asText(), done.toString());
  }

  @Test
  void nobodyButItsOwnerCanUseATaskId() throws Exception {
    String taskId = call(ALICE, "jobs__slow_compute", "{\"seconds\":0}");
    HttpResponse<String> bob = post(BOB, true, "tasks/get", taskId, "\"taskId\":\"" + taskId + "\"");
    assertEquals(-32602, Json.MAPPER.readTree(bob.body()).path("error").path("code").asInt(), bob.body());
    String altered = taskId.substring(0, taskId.length() - 2) + (taskId.endsWith("AA") ? "BB" : "AA");
    HttpResponse<String> forged = post(ALICE, true, "tasks/get", altered, "\"taskId\":\"" + altered + "\"");
    assertEquals(-32602, Json.MAPPER.readTree(forged.body()).path("error").path("code").asInt(), forged.body());
    HttpResponse<String> invented = post(ALICE, true, "tasks/cancel", "123", "\"taskId\":\"123\"");
    assertEquals(-32602, Json.MAPPER.readTree(invented.body()).path("error").path("code").asInt(), invented.body());
    assertEquals("completed", settled(ALICE, taskId, "completed").path("status").asText(), "the owner still can");
  }

  @Test
  void inputATaskWaitsForIsGivenWithTasksUpdate() throws Exception {
    String taskId = call(ALICE, "jobs__confirm_delete", "{\"filename\":\"old.log\"}");
    JsonNode waiting = settled(ALICE, taskId, "input_required");
    String key = waiting.path("inputRequests").fieldNames().next();
    assertEquals("elicitation/create", waiting.path("inputRequests").path(key).path("method").asText());
    JsonNode ack = valid("UpdateTaskResult", result(post(ALICE, true, "tasks/update", taskId, "\"taskId\":\"" + taskId + "\",\"inputResponses\":{\"" + key
        + "\":{\"action\":\"accept\",\"content\":{\"confirm\":true}}}")));
    assertEquals("complete", ack.path("resultType").asText());
    assertEquals("deleted old.log", settled(ALICE, taskId, "completed").path("result").path("content").path(0).path("text").asText());
  }

  @Test
  void aCancelledTaskEndsCancelled() throws Exception {
    String taskId = call(ALICE, "jobs__slow_compute", "{\"seconds\":60}");
    assertEquals("complete", valid("CancelTaskResult", result(post(ALICE, true, "tasks/cancel", taskId,
        "\"taskId\":\"" + taskId + "\""))).path("resultType").asText());
    assertEquals("cancelled", get(ALICE, taskId).path("status").asText());
  }

  @Test
  void taskMethodsNeedTheExtensionAndHeadersThatMirrorTheBody() throws Exception {
    String taskId = call(ALICE, "jobs__slow_compute", "{\"seconds\":0}");
    HttpResponse<String> undeclared = post(ALICE, false, "tasks/get", taskId, "\"taskId\":\"" + taskId + "\"");
    assertEquals(400, undeclared.statusCode(), undeclared.body());
    JsonNode error = Json.MAPPER.readTree(undeclared.body()).path("error");
    assertEquals(-32021, error.path("code").asInt());
    assertTrue(error.path("data").path("requiredCapabilities").path("extensions").has(TASKS), error.toString());
    HttpResponse<String> mismatch = post(ALICE, true, "tasks/get", "someone-else", "\"taskId\":\"" + taskId + "\"");
    assertEquals(400, mismatch.statusCode(), mismatch.body());
    assertEquals(-32020, Json.MAPPER.readTree(mismatch.body()).path("error").path("code").asInt());
    HttpResponse<String> gone = post(ALICE, true, "tasks/list", null, "\"x\":0");
    assertEquals(404, gone.statusCode(), "tasks/list is not part of the extension: " + gone.body());
  }

  @Test
  void pollingATaskCountsAgainstTheCallersRequestLimit() throws Exception {
    String taskId = call(POLLER, "jobs__slow_compute", "{\"seconds\":0}");
    int limited = 0;
    for (int i = 0; i < 8; i++) {
      JsonNode m = Json.MAPPER.readTree(post(POLLER, true, "tasks/get", taskId, "\"taskId\":\"" + taskId + "\"").body());
      if (m.path("error").path("code").asInt() == RpcError.RATE_LIMITED) {
        limited++;
        assertTrue(m.path("error").path("data").has("retryAfterSeconds"), m.toString());
      }
    }
    assertTrue(limited >= 4, "4 requests a minute: the call and at most three polls pass, the rest wait (" + limited + " refused)");
  }

  @Test
  void aToolThatOnlyRunsAsATaskIsRefusedToAClientWithoutTheExtension() throws Exception {
    HttpResponse<String> r = post(ALICE, false, "tools/call", "jobs__failing_job", "\"name\":\"jobs__failing_job\",\"arguments\":{}");
    assertEquals(400, r.statusCode(), r.body());
    assertEquals(-32021, Json.MAPPER.readTree(r.body()).path("error").path("code").asInt(), r.body());
  }

  @Test
  void tasksOfAToolNoLongerAllowedAreRefusedAndEveryStepIsRecorded() throws Exception {
    String taskId = call(ALICE, "jobs__slow_compute", "{\"seconds\":0}", "X-Chain-Id", "task-revoked");
    Files.writeString(file, config("\"jobs__slow_compute\""));
    gateway.reload(new ConfigLoader().load(file));
    try {
      HttpResponse<String> r = post(ALICE, true, "tasks/get", taskId, "\"taskId\":\"" + taskId + "\"", "X-Chain-Id", "task-revoked");
      JsonNode error = Json.MAPPER.readTree(r.body()).path("error");
      assertEquals(RpcError.FORBIDDEN, error.path("code").asInt(), r.body());
      assertTrue(error.path("message").asText().contains("jobs__slow_compute") || error.path("data").toString().contains("slow_compute"),
          r.body());
    } finally {
      Files.writeString(file, config("\"jobs__nothing\""));
      gateway.reload(new ConfigLoader().load(file));
    }
    HttpResponse<String> audit = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/v1/audit/chains/task-revoked"))
        .header("Authorization", "Bearer " + AUDITOR).GET().build());
    assertEquals(200, audit.statusCode(), audit.body());
    List<String> kinds = new ArrayList<>();
    List<String> decisions = new ArrayList<>();
    Json.MAPPER.readTree(audit.body()).path("steps").forEach(s -> {
      kinds.add(s.path("kind").asText());
      decisions.add(s.path("decision").asText());
    });
    assertEquals(List.of("tool", "task"), kinds, audit.body());
    assertEquals(List.of("allow", "deny"), decisions, audit.body());
    assertFalse(audit.body().contains("\"gt1."), "the handle is the client's, the steps name the tool");
  }
}
