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
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code POST /v1/responses} with the official {@code openai} SDK, unmodified: {@code responses.create}
 * and {@code responses.stream}, each with a function round trip continued by {@code previous_response_id}
 * (or by sending the items again with {@code store: false}), to an OpenAI-compatible and an Anthropic
 * provider; stored responses are the owner's alone.
 */
@Timeout(180)
class ResponsesApiTest {
  static final String KEY = ApiKeys.generate();
  static final String OTHER = ApiKeys.generate();
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
        + "    - { id: app, hash: \"" + ApiKeys.hash(KEY) + "\", subject: app-1 }\n"
        + "    - { id: other, hash: \"" + ApiKeys.hash(OTHER) + "\", subject: app-2 }\n"
        + "    - { id: auditor, hash: \"" + ApiKeys.hash(AUDITOR) + "\", subject: carol, roles: [gatehouse-auditor] }\n"
        + "agent_mode:\n  - { rules: [none], auto_execute: [\"tools__calc\"], max_depth: 3 }\n"
        + "audit: { store: \"sqlite:" + dir.resolve("audit.db") + "\" }\n");
    gateway = Gateway.start(new ConfigLoader().load(file), Optional.of(file));
    await("tools", Duration.ofSeconds(60), () -> gateway.registry().catalog().tool("tools__calc").isPresent());
  }

  @AfterAll
  static void stop() throws Exception {
    TestUpstreams.closeAll(gateway, model);
  }

  private static JsonNode sdk(String modelName, String options) throws Exception {
    NodeTooling.Run r = NodeTooling.node(Duration.ofSeconds(60), "openai-responses-client.mjs",
        gateway.baseUri().resolve("/v1").toString(), KEY, modelName, options);
    assertEquals(0, r.exit(), r.stdout() + r.stderr());
    return Json.MAPPER.readTree(r.stdout());
  }

  @Test
  void textComesBackAsAResponseStreamedAndNot() throws Exception {
    for (String m : List.of("smart", "sonnet")) {
      JsonNode out = sdk(m, "{\"message\":\"hello gateway\",\"instructions\":\"be brief\"}");
      for (String way : List.of("create", "stream")) {
        assertEquals("You said: hello gateway", out.path(way).path("firstText").asText(), m + " " + way + ": " + out);
        JsonNode r = out.path(way).path("first");
        assertEquals("completed", r.path("status").asText(), out.toString());
        assertTrue(r.path("id").asText().startsWith("resp_"), out.toString());
        assertEquals("be brief", r.path("instructions").asText(), out.toString());
        assertTrue(r.path("usage").path("output_tokens").asInt() > 0, out.toString());
      }
      JsonNode events = out.path("stream").path("events");
      assertEquals("response.created", events.path(0).asText(), events.toString());
      assertTrue(events.toString().contains("response.output_text.delta"), events.toString());
      assertEquals("response.completed", events.path(events.size() - 1).asText(), events.toString());
    }
  }

  @Test
  void aFunctionRoundTripContinuesWithPreviousResponseIdOnBothProviderFamilies() throws Exception {
    for (String m : List.of("smart", "sonnet")) {
      JsonNode out = sdk(m, "{\"message\":\"what is 12*7\",\"tools\":[\"calc\"],\"results\":{\"calc\":\"84\"}}");
      for (String way : List.of("create", "stream")) {
        JsonNode call = out.path(way).path("first").path("output").path(0);
        assertEquals("function_call", call.path("type").asText(), m + " " + way + ": " + out);
        assertEquals("calc", call.path("name").asText());
        assertEquals("12*7", Json.MAPPER.readTree(call.path("arguments").asText()).path("expression").asText());
        assertEquals("calc: 84", out.path(way).path("finalText").asText(), m + " " + way + ": " + out);
        assertEquals(out.path(way).path("first").path("id"), out.path(way).path("final").path("previous_response_id"));
      }
    }
  }

  @Test
  void theOpenAiAgentsSdkRunsAOneToolAgentThroughTheGateway() throws Exception {
    for (String m : List.of("smart", "sonnet")) {
      NodeTooling.Run r = NodeTooling.node(Duration.ofSeconds(60), "openai-agents-client.mjs",
          gateway.baseUri().resolve("/v1").toString(), KEY, m, "what is 12*7");
      assertEquals(0, r.exit(), r.stdout() + r.stderr());
      JsonNode out = Json.MAPPER.readTree(r.stdout());
      assertEquals("12*7", out.path("calls").path(0).path("expression").asText(), "the SDK ran the tool the model proposed: " + out);
      assertEquals("calc: 84", out.path("finalOutput").asText(), m + ": " + out);
      assertTrue(out.path("items").toString().contains("tool_call_output_item"), out.toString());
    }
  }

  @Test
  void agentModeRunsTheGatewaysToolsBehindTheResponsesApiAndTheChainLinksEveryStep() throws Exception {
    HttpResponse<String> r = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve(ChatHandler.RESPONSES))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + KEY).header("X-Chain-Id", "resp-agent")
        .header(ChatHandler.TOOLS_HEADER, "tools__*")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"smart\",\"input\":\"what is 12*7\",\"stream\":true}")).build());
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.body().contains("event: response.completed"), r.body());
    assertTrue(r.body().contains("\"text\":\"calc: 84\""), "the gateway ran tools__calc, then the model answered: " + r.body());
    JsonNode steps = Json.MAPPER.readTree(TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/v1/audit/chains/resp-agent"))
        .header("Authorization", "Bearer " + AUDITOR).GET().build()).body()).path("steps");
    assertEquals(List.of("responses", "agent", "responses"), List.of(steps.get(0).path("source").asText(),
        steps.get(1).path("source").asText(), steps.get(2).path("source").asText()), steps.toString());
    assertEquals(steps.get(0).path("step_id").asText(), steps.get(1).path("parent_step_id").asText(), steps.toString());
    assertEquals(steps.get(1).path("step_id").asText(), steps.get(2).path("parent_step_id").asText(), steps.toString());
  }

  @Test
  void aConversationSentWholeWithoutStoreWorksToo() throws Exception {
    JsonNode out = sdk("smart", "{\"message\":\"what is 2+3\",\"tools\":[\"calc\"],\"results\":{\"calc\":\"5\"},\"continueWith\":\"items\"}");
    assertEquals("calc: 5", out.path("create").path("finalText").asText(), out.toString());
    assertEquals("calc: 5", out.path("stream").path("finalText").asText(), out.toString());
  }

  private static HttpResponse<String> post(String body, String key) {
    return TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve(ChatHandler.RESPONSES))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + key)
        .POST(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  private static HttpResponse<String> get(String id, String key, boolean delete) {
    HttpRequest.Builder b = HttpRequest.newBuilder(gateway.baseUri().resolve(ChatHandler.RESPONSES + "/" + id))
        .header("Authorization", "Bearer " + key);
    return TestUpstreams.send((delete ? b.DELETE() : b.GET()).build());
  }

  @Test
  void aStoredResponseIsItsOwnersAloneAnotherPrincipalGets404() throws Exception {
    HttpResponse<String> r = post("{\"model\":\"smart\",\"input\":\"remember me\"}", KEY);
    assertEquals(200, r.statusCode(), r.body());
    String id = Json.MAPPER.readTree(r.body()).path("id").asText();
    assertEquals(200, get(id, KEY, false).statusCode());
    assertEquals("You said: remember me", Json.MAPPER.readTree(get(id, KEY, false).body())
        .path("output").path(0).path("content").path(0).path("text").asText());
    HttpResponse<String> stolen = post("{\"model\":\"smart\",\"previous_response_id\":\"" + id + "\",\"input\":\"and now?\"}", OTHER);
    assertEquals(404, stolen.statusCode(), stolen.body());
    assertEquals("previous_response_not_found", Json.MAPPER.readTree(stolen.body()).path("error").path("code").asText());
    assertEquals(404, get(id, OTHER, false).statusCode());
    assertEquals(404, get(id, OTHER, true).statusCode(), "nor may it delete it");
    HttpResponse<String> continued = post("{\"model\":\"smart\",\"previous_response_id\":\"" + id + "\",\"input\":\"and now?\"}", KEY);
    assertEquals(200, continued.statusCode(), continued.body());
    assertEquals(200, get(id, KEY, true).statusCode());
    assertEquals(404, get(id, KEY, false).statusCode(), "deleted");
  }

  @Test
  void unsupportedToolsAndItemsAreRefusedPrecisely() throws Exception {
    HttpResponse<String> search = post("{\"model\":\"smart\",\"input\":\"x\",\"tools\":[{\"type\":\"web_search\"}]}", KEY);
    assertEquals(400, search.statusCode(), search.body());
    assertTrue(search.body().contains("tools[0].type: 'web_search'"), search.body());
    HttpResponse<String> noInput = post("{\"model\":\"smart\"}", KEY);
    assertEquals(400, noInput.statusCode(), noInput.body());
    HttpResponse<String> ref = post("{\"model\":\"smart\",\"input\":[{\"type\":\"item_reference\",\"id\":\"x\"}]}", KEY);
    assertEquals(400, ref.statusCode(), ref.body());
    assertTrue(ref.body().contains("item_reference"), ref.body());
  }
}
