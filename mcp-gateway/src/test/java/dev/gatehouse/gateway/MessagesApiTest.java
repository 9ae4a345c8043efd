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
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code POST /v1/messages} with the official {@code @anthropic-ai/sdk}, unmodified (only its base URL
 * points at the gateway): {@code messages.create} and {@code messages.stream}, each with a tool round
 * trip, to an Anthropic provider (the scripted model's Anthropic face) and to an OpenAI-compatible one;
 * the gateway's MCP tools offered; each model call a step of its chain (source {@code messages}); bad
 * requests and refusals in Anthropic's error shape.
 */
@Timeout(180)
class MessagesApiTest {
  static final String KEY = ApiKeys.generate();
  static final String AUDITOR = ApiKeys.generate();
  @TempDir
  static Path dir;
  static RunningServer model;
  static Gateway gateway;

  @BeforeAll
  static void start() throws Exception {
    NodeTooling.require();
    model = Samples.startScriptedModel("127.0.0.1", 0);
    String root = model.url().toString().replaceFirst("/v1$", "");
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server: { port: 0 }\nupstreams:\n" + samplesYaml("tools", "stdio-tools")
        + "providers:\n  scripted: { kind: openai-compatible, base_url: \"" + model.url() + "\", keys: [{ value: sk-x }] }\n"
        + "  claude: { kind: anthropic, base_url: \"" + root + "\", keys: [{ value: sk-ant-x }] }\n"
        + "aliases: { smart: scripted/scripted-1, sonnet: claude/claude-sonnet-4-5 }\n"
        + "identity:\n  api_keys:\n"
        + "    - { id: app, hash: \"" + ApiKeys.hash(KEY) + "\", subject: app-1, groups: [apps] }\n"
        + "    - { id: auditor, hash: \"" + ApiKeys.hash(AUDITOR) + "\", subject: carol, roles: [gatehouse-auditor] }\n"
        + "policies:\n  - { id: apps, when: { groups: [apps] }, allow: { models: [\"scripted/scripted-1\", \"claude/*\"], tools: [\"tools__*\"] } }\n"
        + "audit: { store: \"sqlite:" + dir.resolve("audit.db") + "\" }\n");
    gateway = Gateway.start(new ConfigLoader().load(file), Optional.of(file));
    await("tools", Duration.ofSeconds(60), () -> gateway.registry().catalog().tool("tools__calc").isPresent());
  }

  @AfterAll
  static void stop() throws Exception {
    TestUpstreams.closeAll(gateway, model);
  }

  private static JsonNode sdk(String modelName, String options) throws Exception {
    NodeTooling.Run r = NodeTooling.node(Duration.ofSeconds(60), "anthropic-sdk-client.mjs",
        gateway.baseUri().toString().replaceFirst("/$", ""), KEY, modelName, options);
    assertEquals(0, r.exit(), r.stdout() + r.stderr());
    return Json.MAPPER.readTree(r.stdout());
  }

  private static String text(JsonNode message) {
    StringBuilder sb = new StringBuilder();
    message.path("content").forEach(b -> sb.append(b.path("type").asText().equals("text") ? b.path("text").asText() : ""));
    return sb.toString();
  }

  @Test
  void theAnthropicSdkGetsTextStreamedAndNotFromEitherProviderFamily() throws Exception {
    for (String m : List.of("sonnet", "smart")) {
      JsonNode out = sdk(m, "{\"message\":\"hello gateway\"}");
      for (String way : List.of("create", "stream")) {
        JsonNode msg = out.path(way).path("first");
        assertEquals("You said: hello gateway", text(msg), m + " " + way + ": " + out);
        assertEquals("end_turn", msg.path("stop_reason").asText(), out.toString());
        assertEquals("message", msg.path("type").asText());
        assertTrue(msg.path("usage").path("output_tokens").asInt() > 0, out.toString());
      }
      JsonNode events = out.path("stream").path("events");
      assertEquals("message_start", events.path(0).asText(), events.toString());
      assertEquals("message_stop", events.path(events.size() - 1).asText(), events.toString());
      assertEquals(out.path("create").path("first").path("usage").path("output_tokens"),
          out.path("stream").path("first").path("usage").path("output_tokens"), "the same usage streamed or not: " + out);
    }
  }

  @Test
  void aToolRoundTripWorksStreamedAndNotOnBothProviderFamilies() throws Exception {
    for (String m : List.of("sonnet", "smart")) {
      JsonNode out = sdk(m, "{\"message\":\"what is 12*7\",\"tools\":[\"calc\"],\"results\":{\"calc\":\"84\"}}");
      for (String way : List.of("create", "stream")) {
        JsonNode first = out.path(way).path("first");
        assertEquals("tool_use", first.path("stop_reason").asText(), m + " " + way + ": " + out);
        JsonNode use = first.path("content").path(0);
        assertEquals("tool_use", use.path("type").asText(), out.toString());
        assertEquals("calc", use.path("name").asText());
        assertEquals("12*7", use.path("input").path("expression").asText(), out.toString());
        assertEquals("calc: 84", text(out.path(way).path("final")), m + " " + way + ": " + out);
      }
    }
  }

  @Test
  void theGatewaysMcpToolsAreOfferedAsMessagesTools() throws Exception {
    JsonNode out = sdk("sonnet", "{\"message\":\"what is 6*7\",\"headers\":{\"x-gatehouse-tools\":\"tools__*\"}}");
    JsonNode use = out.path("create").path("first").path("content").path(0);
    assertEquals("tools__calc", use.path("name").asText(), out.toString());
    assertEquals("tools__calc", out.path("stream").path("first").path("content").path(0).path("name").asText(), out.toString());
  }

  static HttpResponse<String> post(String body, String chain, String key) {
    HttpRequest.Builder b = HttpRequest.newBuilder(gateway.baseUri().resolve(ChatHandler.MESSAGES))
        .header("Content-Type", "application/json").header("anthropic-version", "2023-06-01").header("X-Chain-Id", chain)
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      b.header("x-api-key", key);
    }
    return TestUpstreams.send(b.build());
  }

  @Test
  void eachCallIsAStepOfItsChainWithTheMessagesDoorTokensAndModel() throws Exception {
    HttpResponse<String> r = post("{\"model\":\"sonnet\",\"max_tokens\":50,\"system\":\"be brief\","
        + "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"one two three\"}]}]}", "msg-chain-1", KEY);
    assertEquals(200, r.statusCode(), r.body());
    JsonNode steps = Json.MAPPER.readTree(TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/v1/audit/chains/msg-chain-1"))
        .header("Authorization", "Bearer " + AUDITOR).GET().build()).body()).path("steps");
    JsonNode step = steps.path(0);
    assertEquals("llm", step.path("kind").asText(), steps.toString());
    assertEquals("messages", step.path("source").asText(), steps.toString());
    assertEquals("claude/claude-sonnet-4-5", step.path("action").asText(), steps.toString());
    assertTrue(step.path("tokens_in").asInt() > 0 && step.path("tokens_out").asInt() > 0, steps.toString());
  }

  @Test
  void aToolUseProposedThroughMessagesIsTheParentOfItsExecutionWhichIsTheParentOfTheNextModelStep() throws Exception {
    HttpResponse<String> first = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve(ChatHandler.MESSAGES))
        .header("Content-Type", "application/json").header("x-api-key", KEY).header("X-Chain-Id", "msg-link")
        .header(ChatHandler.TOOLS_HEADER, "tools__calc")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"sonnet\",\"max_tokens\":50,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"what is 12*7\"}]}")).build());
    assertEquals(200, first.statusCode(), first.body());
    JsonNode use = Json.MAPPER.readTree(first.body()).path("content").path(0);
    assertEquals("tools__calc", use.path("name").asText(), first.body());
    HttpResponse<String> exec = ExecuteTestSupport.execute(gateway, KEY, "msg-link", "{\"id\":\"" + use.path("id").asText()
        + "\",\"type\":\"function\",\"function\":{\"name\":\"tools__calc\",\"arguments\":" + Json.MAPPER.writeValueAsString(
        use.path("input").toString()) + "}}");
    assertEquals(200, exec.statusCode(), exec.body());
    HttpResponse<String> second = post("{\"model\":\"sonnet\",\"max_tokens\":50,\"messages\":["
        + "{\"role\":\"user\",\"content\":\"what is 12*7\"},{\"role\":\"assistant\",\"content\":["
        + use + "]},{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"" + use.path("id").asText()
        + "\",\"content\":" + Json.MAPPER.writeValueAsString(Json.MAPPER.readTree(exec.body()).path("content").asText()) + "}]}]}",
        "msg-link", KEY);
    assertEquals(200, second.statusCode(), second.body());
    assertEquals("calc: 84", text(Json.MAPPER.readTree(second.body())), second.body());
    JsonNode steps = Json.MAPPER.readTree(TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/v1/audit/chains/msg-link"))
        .header("Authorization", "Bearer " + AUDITOR).GET().build()).body()).path("steps");
    assertEquals(List.of("llm", "tool", "llm"), List.of(steps.get(0).path("kind").asText(), steps.get(1).path("kind").asText(),
        steps.get(2).path("kind").asText()), steps.toString());
    assertEquals(steps.get(0).path("step_id").asText(), steps.get(1).path("parent_step_id").asText(), "model → tool: " + steps);
    assertEquals(steps.get(1).path("step_id").asText(), steps.get(2).path("parent_step_id").asText(), "tool → model: " + steps);
    assertEquals("messages", steps.get(2).path("source").asText());
  }

  @Test
  void badRequestsAndRefusalsComeInAnthropicsErrorShape() throws Exception {
    List<String[]> cases = new ArrayList<>();
    cases.add(new String[] {"{\"model\":\"sonnet\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "400", "invalid_request_error", "max_tokens"});
    cases.add(new String[] {"{\"model\":\"sonnet\",\"max_tokens\":5,\"messages\":[]}", "400", "invalid_request_error", "messages"});
    cases.add(new String[] {"{\"model\":\"sonnet\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"video\"}]}]}",
        "400", "invalid_request_error", "video"});
    cases.add(new String[] {"{\"model\":\"sonnet\",\"max_tokens\":5,\"tools\":[{\"type\":\"web_search_20250305\",\"name\":\"w\"}],"
        + "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "400", "invalid_request_error", "web_search"});
    cases.add(new String[] {"{\"model\":\"scripted/scripted-500\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
        "403", "permission_error", "scripted/scripted-500"});
    cases.add(new String[] {"not json", "400", "invalid_request_error", "JSON"});
    for (String[] c : cases) {
      HttpResponse<String> r = post(c[0], "msg-bad", KEY);
      assertEquals(Integer.parseInt(c[1]), r.statusCode(), c[0] + " → " + r.body());
      JsonNode body = Json.MAPPER.readTree(r.body());
      assertEquals("error", body.path("type").asText(), r.body());
      assertEquals(c[2], body.path("error").path("type").asText(), r.body());
      assertTrue(body.path("error").path("message").asText().contains(c[3]), c[0] + " → " + r.body());
    }
    HttpResponse<String> anonymous = post("{\"model\":\"sonnet\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "msg-bad", null);
    assertEquals(401, anonymous.statusCode(), anonymous.body());
    assertEquals("authentication_error", Json.MAPPER.readTree(anonymous.body()).path("error").path("type").asText(), anonymous.body());
  }
}
