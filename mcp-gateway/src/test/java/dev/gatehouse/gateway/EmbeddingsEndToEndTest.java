package dev.gatehouse.gateway;

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
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code POST /v1/embeddings}: a model call through the chain like a chat completion (identity, the
 * model's policy, the audit step with tokens and cost), answered with the provider's vectors; bad input
 * and providers without embeddings get OpenAI-style errors.
 */
@Timeout(60)
class EmbeddingsEndToEndTest {
  static final String KEY = ApiKeys.generate();
  static final String AUDITOR = ApiKeys.generate();
  @TempDir
  static Path dir;
  static RunningServer model;
  static Gateway gateway;

  @BeforeAll
  static void start() throws Exception {
    model = Samples.startScriptedModel("127.0.0.1", 0);
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server: { port: 0 }\n"
        + "providers:\n  scripted: { kind: openai-compatible, base_url: \"" + model.url() + "\", keys: [{ value: sk-x }] }\n"
        + "  claude: { kind: anthropic, base_url: \"" + model.url() + "\", keys: [{ value: sk-y }] }\n"
        + "prices: { \"scripted/scripted-1\": { input_per_mtok: 1000000, output_per_mtok: 0 } }\n"
        + "identity:\n  api_keys:\n"
        + "    - { id: app, hash: \"" + ApiKeys.hash(KEY) + "\", subject: app-1, groups: [apps] }\n"
        + "    - { id: auditor, hash: \"" + ApiKeys.hash(AUDITOR) + "\", subject: carol, roles: [gatehouse-auditor, gatehouse-admin, gatehouse-metrics] }\n"
        + "policies:\n  - { id: apps, when: { groups: [apps] }, allow: { models: [\"scripted/scripted-1\", \"scripted/scripted-slow\", \"claude/*\"] } }\n"
        + "audit: { store: \"sqlite:" + dir.resolve("audit.db") + "\" }\n");
    gateway = Gateway.start(new ConfigLoader().load(file), Optional.of(file));
  }

  @AfterAll
  static void stop() throws Exception {
    TestUpstreams.closeAll(gateway, model);
  }

  static HttpResponse<String> embed(String body, String chain) {
    return TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve(ChatHandler.EMBEDDINGS))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + KEY).header("X-Chain-Id", chain)
        .POST(HttpRequest.BodyPublishers.ofString(body)).build());
  }

  @Test
  void embeddingsAreAModelCallOfTheChainWithTokensAndCost() throws Exception {
    HttpResponse<String> r = embed("{\"model\":\"scripted/scripted-1\",\"input\":[\"one two\",\"three\"]}", "emb-1");
    assertEquals(200, r.statusCode(), r.body());
    JsonNode body = Json.MAPPER.readTree(r.body());
    assertEquals("list", body.path("object").asText());
    assertEquals(2, body.path("data").size());
    assertEquals(3, body.path("usage").path("prompt_tokens").asInt());
    assertEquals("scripted-1", r.headers().firstValue("X-Gatehouse-Model").orElse(""));
    HttpResponse<String> steps = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/v1/audit/chains/emb-1"))
        .header("Authorization", "Bearer " + AUDITOR).GET().build());
    JsonNode step = Json.MAPPER.readTree(steps.body()).path("steps").path(0);
    assertEquals("llm", step.path("kind").asText(), steps.body());
    assertEquals("embeddings", step.path("source").asText(), steps.body());
    assertEquals(3, step.path("tokens_in").asInt(), steps.body());
    assertEquals(0, new java.math.BigDecimal("3").compareTo(new java.math.BigDecimal(step.path("cost_usd").asText())), "3 tokens at $1M per million: " + steps.body());
  }

  @Test
  void aModelWithoutAPriceIsReportedAsUnpricedNotSilentlyFree() throws Exception {
    HttpResponse<String> r = embed("{\"model\":\"scripted/scripted-slow\",\"input\":\"x y\"}", "emb-5");
    assertEquals(200, r.statusCode(), r.body());
    JsonNode admin = Json.MAPPER.readTree(TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/admin/models/unpriced"))
        .header("Authorization", "Bearer " + AUDITOR).GET().build()).body());
    assertTrue(admin.path("unpriced").path("scripted/scripted-slow").asLong() >= 1, admin.toString());
    assertTrue(admin.path("unpriced").path("scripted/scripted-1").isMissingNode(), "a priced model is not listed: " + admin);
    String metrics = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/metrics"))
        .header("Authorization", "Bearer " + AUDITOR).GET().build()).body();
    assertTrue(metrics.contains("gatehouse_model_unpriced_calls_total{model=\"scripted/scripted-slow\"}"), metrics);
  }

  @Test
  void aModelThePolicyDoesNotAllowIsRefused() throws Exception {
    HttpResponse<String> r = embed("{\"model\":\"scripted/scripted-429\",\"input\":\"x\"}", "emb-2");
    assertEquals(403, r.statusCode(), r.body());
    assertEquals("model_not_allowed", Json.MAPPER.readTree(r.body()).path("error").path("code").asText());
  }

  @Test
  void badInputAndProvidersWithoutEmbeddingsGetPreciseErrors() throws Exception {
    HttpResponse<String> noInput = embed("{\"model\":\"scripted/scripted-1\"}", "emb-3");
    assertEquals(400, noInput.statusCode(), noInput.body());
    assertEquals("invalid_input", Json.MAPPER.readTree(noInput.body()).path("error").path("code").asText());
    HttpResponse<String> anthropic = embed("{\"model\":\"claude/claude-x\",\"input\":\"x\"}", "emb-4");
    assertEquals(400, anthropic.statusCode(), anthropic.body());
    assertEquals("embeddings_unsupported", Json.MAPPER.readTree(anthropic.body()).path("error").path("code").asText());
    assertTrue(Json.MAPPER.readTree(anthropic.body()).path("error").path("message").asText().contains("anthropic"), anthropic.body());
  }
}
