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
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One chain behind every door: the same call through {@code /mcp}, {@code /mcp/<server>}, the legacy
 * {@code /sse} + {@code /message}, {@code /v1/mcp/tool/execute} and agent mode gets the same decision,
 * rule and reason, and the same recorded step; what used to go unrecorded (unknown tools, subscriptions,
 * a model's malformed arguments) is refused the same way and recorded on every door.
 */
@Timeout(120)
class ChainEndToEndTest {
  static final String AGENT = ApiKeys.generate();
  static final String AUDITOR = ApiKeys.generate();
  @TempDir
  static Path dir;
  static RunningServer model;
  static RunningServer conformance;
  static Gateway gateway;

  @BeforeAll
  static void start() throws Exception {
    model = Samples.startScriptedModel("127.0.0.1", 0);
    conformance = Samples.startConformance("127.0.0.1", 0);
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server: { port: 0 }\nupstreams:\n" + samplesYaml("tools", "stdio-tools") + samplesYaml("local", "faulty")
        + "  conf: { transport: streamable-http, url: \"" + conformance.url() + "\" }\n"
        + "providers:\n  scripted:\n    kind: openai-compatible\n    base_url: \"" + model.url() + "\"\n"
        + "    keys: [{ id: k1, value: sk-scripted }]\n    retry: { max_attempts: 1 }\n"
        + "identity:\n  api_keys:\n"
        + "    - { id: agent, hash: \"" + ApiKeys.hash(AGENT) + "\", subject: agent-9, groups: [agents] }\n"
        + "    - { id: auditor, hash: \"" + ApiKeys.hash(AUDITOR) + "\", subject: carol, roles: [gatehouse-auditor] }\n"
        + "policies:\n"
        + "  - id: agents\n    when: { groups: [agents] }\n"
        + "    allow: { servers: [tools, local, conf], models: [\"scripted/*\"] }\n"
        + "    deny: { tools: [\"tools__hash\"], resources: [\"conf+test://static-text*\"] }\n"
        + "agent_mode:\n  - { rules: [agents], offer_tools: [\"tools__*\", \"local__echo\"], auto_execute: [\"*\"], max_depth: 3 }\n");
    gateway = Gateway.start(new ConfigLoader().load(file), Optional.of(file));
    await("upstreams", Duration.ofSeconds(60), () -> gateway.registry().status().stream().allMatch(s -> s.connected()));
  }

  @AfterAll
  static void stop() throws Exception {
    TestUpstreams.closeAll(gateway, model, conformance);
  }

  static URI uri(String path) {
    return gateway.baseUri().resolve(path);
  }

  static JsonNode json(String s) throws Exception {
    return Json.MAPPER.readTree(s);
  }

  /** One JSON-RPC request on a fresh Streamable HTTP session at {@code path}, in chain {@code chain}. */
  static JsonNode mcp(String path, String chain, String method, String params) throws Exception {
    String session = McpHttp.session(uri(path), McpHttp.bearer(AGENT));
    HttpResponse<String> r = McpHttp.post(uri(path), session, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"" + method + "\",\"params\":"
        + params + "}", "Authorization", "Bearer " + AGENT, "X-Chain-Id", chain);
    assertEquals(200, r.statusCode(), r.body());
    return json(r.body());
  }

  /** The same over the legacy HTTP+SSE transport: the answer arrives on the GET stream. */
  static JsonNode legacy(String chain, String method, String params) throws Exception {
    HttpResponse<Stream<String>> stream = TestUpstreams.HTTP.send(HttpRequest.newBuilder(uri("/sse"))
        .header("Accept", "text/event-stream").header("Authorization", "Bearer " + AGENT).GET().build(),
        HttpResponse.BodyHandlers.ofLines());
    try (Stream<String> lines = stream.body()) {
      Iterator<String> it = lines.iterator();
      String endpoint = null;
      while (endpoint == null && it.hasNext()) {
        String line = it.next();
        if (line.startsWith("data: ")) {
          endpoint = line.substring(6).strip();
        }
      }
      for (String body : List.of(McpHttp.INIT, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
          "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"" + method + "\",\"params\":" + params + "}")) {
        HttpResponse<String> r = TestUpstreams.send(HttpRequest.newBuilder(uri(endpoint)).header("Content-Type", "application/json")
            .header("Authorization", "Bearer " + AGENT).header("X-Chain-Id", chain).POST(HttpRequest.BodyPublishers.ofString(body)).build());
        assertEquals(202, r.statusCode(), r.body());
      }
      while (it.hasNext()) {
        String line = it.next();
        if (line.startsWith("data: ")) {
          JsonNode m = json(line.substring(6));
          if (m.path("id").asInt() == 2) {
            return m;
          }
        }
      }
    }
    throw new AssertionError("the stream ended without the answer");
  }

  static HttpResponse<String> execute(String chain, String tool, String arguments) throws Exception {
    String call = "{\"id\":\"call_x\",\"type\":\"function\",\"function\":{\"name\":\"" + tool + "\",\"arguments\":"
        + Json.MAPPER.writeValueAsString(arguments) + "}}";
    return TestUpstreams.send(HttpRequest.newBuilder(uri(ExecuteHandler.PATH)).header("Content-Type", "application/json")
        .header("Authorization", "Bearer " + AGENT).header("X-Chain-Id", chain).POST(HttpRequest.BodyPublishers.ofString(call)).build());
  }

  static HttpResponse<String> chat(String chain, String body) {
    return TestUpstreams.send(HttpRequest.newBuilder(uri(ChatHandler.COMPLETIONS)).header("Content-Type", "application/json")
        .header("Authorization", "Bearer " + AGENT).header("X-Chain-Id", chain).POST(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  static String user(String text, String extra) {
    return "{\"model\":\"scripted/scripted-1\",\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\"}]" + extra + "}";
  }

  /** The recorded steps of {@code chain} of the given kind. */
  static List<JsonNode> steps(String chain, String kind) throws Exception {
    HttpResponse<String> r = TestUpstreams.send(HttpRequest.newBuilder(uri("/v1/audit/chains/" + chain))
        .header("Authorization", "Bearer " + AUDITOR).GET().build());
    assertEquals(200, r.statusCode(), chain + ": " + r.body());
    List<JsonNode> out = new ArrayList<>();
    json(r.body()).path("steps").forEach(s -> {
      if (s.path("kind").asText().equals(kind)) {
        out.add(s);
      }
    });
    return out;
  }

  @Test
  void theSameDeniedCallGetsTheSameDecisionRuleAndStepThroughEveryDoor() throws Exception {
    String args = "{\"text\":\"x\"}";
    JsonNode federated = mcp("/mcp", "deny-mcp", "tools/call", "{\"name\":\"tools__hash\",\"arguments\":" + args + "}");
    JsonNode single = mcp("/mcp/tools", "deny-single", "tools/call", "{\"name\":\"hash\",\"arguments\":" + args + "}");
    JsonNode sse = legacy("deny-sse", "tools/call", "{\"name\":\"tools__hash\",\"arguments\":" + args + "}");
    for (JsonNode answer : List.of(federated, single, sse)) {
      assertEquals(-32003, answer.path("error").path("code").asInt(), answer.toString());
      assertEquals("agents", answer.path("error").path("data").path("rule").asText(), answer.toString());
    }
    String reason = federated.path("error").path("data").path("reason").asText();
    assertTrue(reason.contains("tools__hash"), reason);
    assertEquals(reason, single.path("error").path("data").path("reason").asText());
    assertEquals(reason, sse.path("error").path("data").path("reason").asText());

    HttpResponse<String> executed = execute("deny-execute", "tools__hash", args);
    assertEquals(403, executed.statusCode(), executed.body());
    assertEquals("Forbidden: " + reason, json(executed.body()).path("error").path("message").asText());

    // A denied tool is not offered to the model; the client offers it itself, and agent mode runs what the
    // model asks for through the chain, which denies it.
    HttpResponse<String> agent = chat("deny-agent", user("hash x",
        ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"tools__hash\",\"parameters\":{\"type\":\"object\"}}}]"));
    assertEquals(200, agent.statusCode(), agent.body());
    assertEquals("hash: Error: Forbidden: " + reason, json(agent.body()).path("choices").path(0).path("message").path("content").asText(),
        agent.body());

    List<String> doors = new ArrayList<>();
    for (String chain : List.of("deny-mcp", "deny-single", "deny-sse", "deny-execute", "deny-agent")) {
      List<JsonNode> tools = steps(chain, "tool");
      assertEquals(1, tools.size(), chain + ": " + tools);
      JsonNode step = tools.get(0);
      assertEquals("deny", step.path("decision").asText(), chain);
      assertEquals("agents", step.path("rule").asText(), chain);
      assertEquals(reason, step.path("reason").asText(), chain);
      assertEquals("denied", step.path("outcome").asText(), chain);
      assertEquals("tools/hash", step.path("action").asText(), chain);
      assertEquals(-32003, step.path("status").asInt(), chain);
      assertEquals("agent-9", step.path("subject").asText(), chain);
      doors.add(step.path("source").asText());
    }
    assertEquals(List.of("mcp", "mcp", "mcp-sse", "execute", "agent"), doors);
  }

  @Test
  void anUnknownToolIsRefusedAndRecordedThroughEveryDoor() throws Exception {
    JsonNode federated = mcp("/mcp", "ghost-mcp", "tools/call", "{\"name\":\"tools__nope\",\"arguments\":{}}");
    assertEquals(-32602, federated.path("error").path("code").asInt(), federated.toString());
    JsonNode single = mcp("/mcp/tools", "ghost-single", "tools/call", "{\"name\":\"nope\",\"arguments\":{}}");
    assertEquals(-32602, single.path("error").path("code").asInt(), single.toString());
    HttpResponse<String> executed = execute("ghost-execute", "tools__nope", "{}");
    assertEquals(404, executed.statusCode(), executed.body());
    assertEquals("tool_not_found", json(executed.body()).path("error").path("code").asText());

    // The client offers a function of its own that the gateway does not have; agent mode auto-executes
    // everything, so the model's call of it reaches the chain and is refused there.
    HttpResponse<String> agent = chat("ghost-agent", user("echo hi",
        ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"ghost__echo\",\"parameters\":{\"type\":\"object\"}}}]"));
    assertEquals(200, agent.statusCode(), agent.body());
    String content = json(agent.body()).path("choices").path(0).path("message").path("content").asText();
    assertEquals("echo: Error: " + json(execute("ghost-execute-2", "ghost__echo", "{}").body()).path("error").path("message").asText(),
        content, agent.body());

    for (String chain : List.of("ghost-mcp", "ghost-single", "ghost-execute", "ghost-agent")) {
      List<JsonNode> tools = steps(chain, "tool");
      assertEquals(1, tools.size(), chain + ": " + tools);
      assertEquals("unknown", tools.get(0).path("outcome").asText(), chain);
      assertEquals("none", tools.get(0).path("decision").asText(), chain);
      assertTrue(tools.get(0).path("reason").asText().startsWith("Unknown tool: "), tools.get(0).toString());
    }
  }

  @Test
  void aDeniedSubscriptionAndAnUnknownResourceAreRecorded() throws Exception {
    JsonNode denied = mcp("/mcp", "sub-denied", "resources/subscribe", "{\"uri\":\"conf+test://static-text\"}");
    assertEquals(-32003, denied.path("error").path("code").asInt(), denied.toString());
    assertEquals("agents", denied.path("error").path("data").path("rule").asText());
    List<JsonNode> steps = steps("sub-denied", "resource");
    assertEquals(1, steps.size(), steps.toString());
    assertEquals("deny", steps.get(0).path("decision").asText());
    assertEquals("conf/test://static-text", steps.get(0).path("action").asText());

    JsonNode unknown = mcp("/mcp", "read-unknown", "resources/read", "{\"uri\":\"nosuchserver+test://x\"}");
    assertEquals(-32002, unknown.path("error").path("code").asInt(), unknown.toString());
    assertEquals("unknown", steps("read-unknown", "resource").get(0).path("outcome").asText());
  }

  @Test
  void aModelsMalformedArgumentsAreAnsweredAsExecuteAnswersThemAndRecorded() throws Exception {
    HttpResponse<String> agent = chat("garbled-agent", user("garbled echo hi", ""));
    assertEquals(200, agent.statusCode(), agent.body());
    String content = json(agent.body()).path("choices").path(0).path("message").path("content").asText();

    HttpResponse<String> executed = execute("garbled-execute", "local__echo", "{\"text\":\"hi\"");
    assertEquals(400, executed.statusCode(), executed.body());
    JsonNode error = json(executed.body()).path("error");
    assertEquals("invalid_arguments", error.path("code").asText());
    assertTrue(error.path("message").asText().startsWith("arguments: not valid JSON"), error.toString());
    assertEquals("echo: Error: " + error.path("message").asText(), content, "the model is told what a client would be told");

    for (String chain : List.of("garbled-agent", "garbled-execute")) {
      JsonNode step = steps(chain, "tool").get(0);
      assertEquals("invalid", step.path("outcome").asText(), chain);
      assertEquals("local/echo", step.path("action").asText(), chain);
      assertEquals(-32602, step.path("status").asInt(), chain);
    }
  }
}
