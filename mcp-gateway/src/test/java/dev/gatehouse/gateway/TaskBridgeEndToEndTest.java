package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.registry.Json;
import dev.gatehouse.registry.UpstreamStatus;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A 2026-07-28 client of the tasks extension and a 2025-11-25 upstream's tasks (the reference
 * server-everything's {@code simulate-research-query}, which runs as a task only): the call comes back
 * as a task of the extension, {@code tasks/get} inlines its result once it ended, and a question the
 * task asks mid-way (an ambiguous query) shows as the task's {@code inputRequests}, answered with
 * {@code tasks/update}.
 */
@Timeout(120)
class TaskBridgeEndToEndTest {
  static final String TASKS = "io.modelcontextprotocol/tasks";
  static Gateway gateway;

  @BeforeAll
  static void start() throws Exception {
    NodeTooling.require();
    gateway = Gateway.start(TestUpstreams.noAudit().withServer(ServerSettings.defaults().withPort(0))
        .withUpstreams(Map.of("everything", NodeTooling.server("@modelcontextprotocol/server-everything", "stdio"))), Optional.empty());
    await("upstream", Duration.ofSeconds(60), () -> gateway.registry().status().stream().allMatch(UpstreamStatus::connected));
  }

  @AfterAll
  static void stop() throws Exception {
    TestUpstreams.closeAll(gateway);
  }

  static JsonNode post(String method, String name, String params) throws Exception {
    String body = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"" + method + "\",\"params\":{\"_meta\":{"
        + "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\",\"io.modelcontextprotocol/clientCapabilities\":{"
        + "\"elicitation\":{},\"extensions\":{\"" + TASKS + "\":{}}}}" + (params.isEmpty() ? "" : "," + params) + "}}";
    HttpResponse<String> r = McpHttp.post(gateway.baseUri().resolve("/mcp"), null, body, "MCP-Protocol-Version", "2026-07-28",
        "Mcp-Method", method, "Mcp-Name", name == null ? "" : name);
    assertEquals(200, r.statusCode(), r.body());
    JsonNode m = Json.MAPPER.readTree(r.body());
    assertTrue(m.has("result"), r.body());
    return m.get("result");
  }

  static JsonNode until(String taskId, String status) {
    JsonNode[] last = {null};
    await("task " + status, Duration.ofSeconds(30), () -> {
      try {
        last[0] = post("tasks/get", taskId, "\"taskId\":\"" + taskId + "\"");
        return last[0].path("status").asText().equals(status);
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    return last[0];
  }

  static String research(boolean ambiguous) throws Exception {
    JsonNode created = post("tools/call", "everything__simulate-research-query",
        "\"name\":\"everything__simulate-research-query\",\"arguments\":{\"topic\":\"gateways\",\"ambiguous\":" + ambiguous + "}");
    assertEquals("task", created.path("resultType").asText(), created.toString());
    assertTrue(created.path("ttlMs").canConvertToLong() && created.has("pollIntervalMs") && !created.has("ttl"), created.toString());
    ModernMcpSchemaTest.assertValid(ModernMcpSchemaTest.vendored("ext-tasks/schema.json"), "CreateTaskResult", created);
    return created.path("taskId").asText();
  }

  @Test
  void discoverOffersTheUpstreamsTasksAsTheExtension() throws Exception {
    assertTrue(post("server/discover", null, "").path("capabilities").path("extensions").has(TASKS));
  }

  @Test
  void aTaskOfTheOlderRevisionIsPolledToItsInlinedResult() throws Exception {
    String taskId = research(false);
    JsonNode done = until(taskId, "completed");
    ModernMcpSchemaTest.assertValid(ModernMcpSchemaTest.vendored("ext-tasks/schema.json"), "GetTaskResult", done);
    assertTrue(done.path("result").path("content").path(0).path("text").asText().contains("Research Report: gateways"), done.toString());
  }

  @Test
  void aQuestionTheTaskAsksIsItsInputRequestAndTasksUpdateAnswersIt() throws Exception {
    String taskId = research(true);
    JsonNode waiting = until(taskId, "input_required");
    ModernMcpSchemaTest.assertValid(ModernMcpSchemaTest.vendored("ext-tasks/schema.json"), "GetTaskResult", waiting);
    String key = waiting.path("inputRequests").fieldNames().next();
    JsonNode question = waiting.path("inputRequests").path(key);
    assertEquals("elicitation/create", question.path("method").asText(), waiting.toString());
    String choice = question.path("params").path("requestedSchema").path("properties").path("interpretation").path("oneOf").path(0)
        .path("const").asText();
    assertTrue(!choice.isEmpty(), question.toString());
    post("tasks/update", taskId, "\"taskId\":\"" + taskId + "\",\"inputResponses\":{\"" + key
        + "\":{\"action\":\"accept\",\"content\":{\"interpretation\":\"" + choice + "\"}}}");
    JsonNode done = until(taskId, "completed");
    assertTrue(done.path("result").path("content").path(0).path("text").asText().contains("Clarification**: " + choice), done.toString());
  }
}
