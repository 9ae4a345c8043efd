package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static dev.gatehouse.gateway.TestUpstreams.samplesYaml;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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

/** /v1/chat/completions against the samples' scripted model, with the gateway's governance around it. */
@Timeout(120)
class ChatEndToEndTest {
  static final String AGENT = ApiKeys.generate();
  static final String PLAIN = ApiKeys.generate();
  static final String SPENDER = ApiKeys.generate();
  static final String AUDITOR = ApiKeys.generate();
  static final String SHALLOW = ApiKeys.generate();
  static final String ADMIN = ApiKeys.generate();
  @TempDir
  static Path dir;
  static RunningServer model;
  static Gateway gateway;

  @BeforeAll
  static void start() throws Exception {
    model = Samples.startScriptedModel("127.0.0.1", 0);
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server: { port: 0 }\nupstreams:\n" + samplesYaml("tools", "stdio-tools")
        + "providers:\n  scripted:\n    kind: openai-compatible\n    base_url: \"" + model.url() + "\"\n"
        + "    keys: [{ id: k1, value: sk-scripted }]\n    retry: { max_attempts: 1 }\n"
        + "  cheapo:\n    kind: openai-compatible\n    base_url: \"" + model.url() + "\"\n    keys: [{ id: c1, value: sk-cheap }]\n"
        + "aliases: { smart: scripted/scripted-1, cheap: cheapo/scripted-1 }\n"
        + "prices: { \"scripted/scripted-1\": { input_per_mtok: 100000, output_per_mtok: 100000 } }\n"
        + "identity:\n  api_keys:\n"
        + "    - { id: agent, hash: \"" + ApiKeys.hash(AGENT) + "\", subject: agent, groups: [agents] }\n"
        + "    - { id: plain, hash: \"" + ApiKeys.hash(PLAIN) + "\", subject: plain, groups: [plain] }\n"
        + "    - { id: spender, hash: \"" + ApiKeys.hash(SPENDER) + "\", subject: spender, groups: [spenders] }\n"
        + "    - { id: auditor, hash: \"" + ApiKeys.hash(AUDITOR) + "\", subject: carol, roles: [gatehouse-auditor] }\n"
        + "    - { id: shallow, hash: \"" + ApiKeys.hash(SHALLOW) + "\", subject: shallow, groups: [shallow] }\n"
        + "    - { id: admin, hash: \"" + ApiKeys.hash(ADMIN) + "\", subject: root, roles: [gatehouse-admin] }\n"
        + "policies:\n"
        + "  - { id: agents, when: { groups: [agents] }, allow: { servers: [tools], models: [\"scripted/*\"] } }\n"
        + "  - { id: plain, when: { groups: [plain] }, allow: { servers: [tools], models: [\"scripted/scripted-1\"] } }\n"
        + "  - id: spenders\n    when: { groups: [spenders] }\n    allow: { models: [\"scripted/*\", \"cheapo/*\"] }\n"
        + "    limits: { budget_usd_per_day: 1, budget_fallback_model: cheapo/scripted-1 }\n"
        + "  - { id: shallow, when: { groups: [shallow] }, allow: { servers: [tools], models: [\"scripted/*\"] } }\n"
        + "agent_mode:\n  - { rules: [agents], offer_tools: [\"tools__*\"], auto_execute: [\"tools__calc\"], max_depth: 3 }\n"
        + "  - { rules: [shallow], offer_tools: [\"tools__*\"], auto_execute: [\"tools__calc\"], max_depth: 1 }\n");
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

  static HttpResponse<String> chat(String key, String chain, String body, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(gateway.baseUri().resolve(ChatHandler.COMPLETIONS))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + key).header("X-Chain-Id", chain)
        .POST(HttpRequest.BodyPublishers.ofString(body));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return TestUpstreams.send(b.build());
  }

  static String user(String model, String text, String extra) {
    return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + text + "\"}]" + extra + "}";
  }

  static JsonNode json(HttpResponse<String> r) throws Exception {
    return Json.MAPPER.readTree(r.body());
  }

  @Test
  void plainCompletionGoesThroughWithRouteHeaders() throws Exception {
    HttpResponse<String> r = chat(PLAIN, "c1", user("smart", "hello there", ""));
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("chat.completion", json(r).path("object").asText());
    assertEquals("You said: hello there", json(r).path("choices").path(0).path("message").path("content").asText());
    assertEquals("scripted", r.headers().firstValue("X-Gatehouse-Provider").orElse(""));
    assertEquals("scripted-1", r.headers().firstValue("X-Gatehouse-Model").orElse(""));
    assertTrue(r.headers().firstValue("X-Gatehouse-Key").isEmpty(), "the provider key id is shown to admins only");
    assertFalse(r.body().contains("sk-scripted"));
  }

  @Test
  void streamingIsOpenAiShaped() {
    HttpResponse<String> r = chat(PLAIN, "c2", user("smart", "stream me", ",\"stream\":true,\"stream_options\":{\"include_usage\":true}"));
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
    List<String> data = new ArrayList<>(r.body().lines().filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList());
    assertEquals("[DONE]", data.get(data.size() - 1));
    assertTrue(data.get(0).contains("\"role\":\"assistant\""), data.get(0));
    assertTrue(data.get(data.size() - 2).contains("\"choices\":[]") && data.get(data.size() - 2).contains("usage"), data.toString());
  }

  @Test
  void callersToolsAreOfferedAndProposedCallsReturnedForExplicitExecution() throws Exception {
    HttpResponse<String> r = chat(PLAIN, "c3", user("smart", "what is 12*7", ""), ChatHandler.TOOLS_HEADER, "all");
    assertEquals(200, r.statusCode(), r.body());
    JsonNode call = json(r).path("choices").path(0).path("message").path("tool_calls").path(0);
    assertEquals("tools__calc", call.path("function").path("name").asText(), r.body());
    assertEquals("tool_calls", json(r).path("choices").path(0).path("finish_reason").asText());
    // the agent executes it through the gateway: the tool step's parent is the model step that proposed it
    HttpResponse<String> exec = ExecuteTestSupport.execute(gateway, PLAIN, "c3", call.toString());
    assertEquals(200, exec.statusCode(), exec.body());
    assertEquals("84", json(exec).path("content").asText());
    JsonNode chain = json(TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/v1/audit/chains/c3"))
        .header("Authorization", "Bearer " + AUDITOR).GET().build())).path("steps");
    assertEquals("llm", chain.get(0).path("kind").asText());
    assertEquals("tool", chain.get(1).path("kind").asText());
    assertEquals(chain.get(0).path("step_id").asText(), chain.get(1).path("parent_step_id").asText(), chain.toString());
  }

  @Test
  void agentModeRunsAutoExecuteToolsAndLinksModelToolModel() throws Exception {
    HttpResponse<String> r = chat(AGENT, "c4", user("smart", "what is 12*7", ""));
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("calc: 84", json(r).path("choices").path(0).path("message").path("content").asText(), r.body());
    JsonNode steps = json(TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/v1/audit/chains/c4"))
        .header("Authorization", "Bearer " + AUDITOR).GET().build())).path("steps");
    assertEquals(3, steps.size(), steps.toString());
    assertEquals(List.of("llm", "tool", "llm"), List.of(steps.get(0).path("kind").asText(), steps.get(1).path("kind").asText(), steps.get(2).path("kind").asText()));
    assertEquals(steps.get(0).path("step_id").asText(), steps.get(1).path("parent_step_id").asText());
    assertEquals(steps.get(1).path("step_id").asText(), steps.get(2).path("parent_step_id").asText());
    assertEquals("agent", steps.get(1).path("source").asText());
    assertTrue(steps.get(0).path("tokens_in").asLong() > 0, steps.get(0).toString());
  }

  @Test
  void agentModeStopsAtItsDepthLimit() throws Exception {
    HttpResponse<String> r = chat(SHALLOW, "c5", user("smart", "what is 1+1", ""));
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("max-depth", r.headers().firstValue("X-Gatehouse-Agent").orElse(""), r.headers().map().toString());
    assertEquals("tools__calc", json(r).path("choices").path(0).path("message").path("tool_calls").path(0)
        .path("function").path("name").asText(), "the call the gateway did not run is returned to the client");
  }

  @Test
  void mixedResponseReturnsOnlyPendingCallsAndRestoresTheExecutedOnes() throws Exception {
    HttpResponse<String> first = chat(AGENT, "c6", user("smart", "what is 12*7 and sha256 of hi", ""));
    assertEquals(200, first.statusCode(), first.body());
    JsonNode calls = json(first).path("choices").path(0).path("message").path("tool_calls");
    assertEquals(1, calls.size(), first.body());
    assertEquals("tools__hash", calls.get(0).path("function").path("name").asText(), first.body());
    ObjectNode assistant = (ObjectNode) json(first).path("choices").path(0).path("message");
    String next = "{\"model\":\"smart\",\"messages\":[{\"role\":\"user\",\"content\":\"what is 12*7 and sha256 of hi\"}," + assistant
        + ",{\"role\":\"tool\",\"tool_call_id\":\"" + calls.get(0).path("id").asText() + "\",\"content\":\"deadbeef\"}]}";
    HttpResponse<String> second = chat(AGENT, "c6", next);
    String text = json(second).path("choices").path(0).path("message").path("content").asText();
    assertTrue(text.contains("calc: 84") && text.contains("hash: deadbeef"), second.body());
  }

  @Test
  void modelPolicyAndUnknownModelsAreRefusedOpenAiStyle() throws Exception {
    HttpResponse<String> denied = chat(PLAIN, "c7", user("cheap", "hi", ""));
    assertEquals(403, denied.statusCode(), denied.body());
    assertEquals("model_not_allowed", json(denied).path("error").path("code").asText());
    HttpResponse<String> unknown = chat(AGENT, "c7", user("nowhere/model", "hi", ""));
    assertEquals(true, unknown.statusCode() == 404 || unknown.statusCode() == 403, unknown.body());
    HttpResponse<String> bad = chat(AGENT, "c7", "{\"messages\":[]}");
    assertEquals(400, bad.statusCode());
  }

  @Test
  void modelDenialsAreCountedAsDecisionsAndGaugesReadNumbers() throws Exception {
    HttpResponse<String> denied = chat(PLAIN, "c7m", user("cheap", "hi", ""));
    assertEquals(403, denied.statusCode(), denied.body());
    System.gc(); // gauges whose state was only weakly held read NaN after a collection
    String metrics = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/metrics"))
        .header("Authorization", "Bearer " + ADMIN).GET().build()).body();
    assertTrue(metrics.lines().anyMatch(l -> l.startsWith("gatehouse_policy_decisions_total{decision=\"deny\",rule=\"default-deny\"}")),
        "a model denial is a counted decision");
    for (String gauge : List.of("gatehouse_sessions", "gatehouse_audit_queue_depth")) {
      String line = metrics.lines().filter(l -> l.startsWith(gauge + " ") || l.startsWith(gauge + "{")).findFirst()
          .orElseThrow(() -> new AssertionError(gauge + " missing"));
      assertFalse(line.endsWith("NaN"), line);
    }
  }

  @Test
  void budgetTriggersTheConfiguredFallbackModel() throws Exception {
    // $0.1 per token: the first call spends well over the $1 daily budget
    HttpResponse<String> first = chat(SPENDER, "c8", user("smart", "spend some money now please", ""));
    assertEquals(200, first.statusCode(), first.body());
    HttpResponse<String> second = chat(SPENDER, "c8", user("smart", "and more", ""));
    assertEquals(200, second.statusCode(), second.body());
    assertEquals("cheapo/scripted-1", second.headers().firstValue("X-Gatehouse-Budget-Fallback").orElse(""));
    assertEquals("cheapo", second.headers().firstValue("X-Gatehouse-Provider").orElse(""));
  }

  @Test
  void modelsListShowsWhatTheCallerMayUse() throws Exception {
    JsonNode plain = json(TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve(ChatHandler.MODELS))
        .header("Authorization", "Bearer " + PLAIN).GET().build()));
    List<String> ids = new ArrayList<>();
    plain.path("data").forEach(m -> ids.add(m.path("id").asText()));
    assertTrue(ids.contains("smart"), ids.toString());
    assertFalse(ids.contains("cheap"), ids.toString());
  }
}
