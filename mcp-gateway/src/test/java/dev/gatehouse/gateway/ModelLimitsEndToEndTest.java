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
 * Model limits across scopes: two keys of one tenant share the tenant's {@code tokens_per_minute}
 * (reserved from the request's estimate, settled from usage) while another tenant is untouched; two keys
 * of one subject each have their own daily budget ({@code per: key}); refusals name the limit and the
 * scope, in the answer and in the chain's step, through every model door.
 */
@Timeout(60)
class ModelLimitsEndToEndTest {
  static final String ACME_1 = ApiKeys.generate();
  static final String ACME_2 = ApiKeys.generate();
  static final String BETA = ApiKeys.generate();
  static final String BOT_1 = ApiKeys.generate();
  static final String BOT_2 = ApiKeys.generate();
  static final String BOT_3 = ApiKeys.generate();
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
        + "prices: { \"scripted/scripted-1\": { input_per_mtok: 1000000, output_per_mtok: 0 } }\n"
        + "identity:\n  api_keys:\n"
        + "    - { id: acme-1, hash: \"" + ApiKeys.hash(ACME_1) + "\", subject: acme-app-1, tenant: acme }\n"
        + "    - { id: acme-2, hash: \"" + ApiKeys.hash(ACME_2) + "\", subject: acme-app-2, tenant: acme }\n"
        + "    - { id: beta-1, hash: \"" + ApiKeys.hash(BETA) + "\", subject: beta-app, tenant: beta }\n"
        + "    - { id: bot-1, hash: \"" + ApiKeys.hash(BOT_1) + "\", subject: bot, groups: [bots] }\n"
        + "    - { id: bot-2, hash: \"" + ApiKeys.hash(BOT_2) + "\", subject: bot, groups: [bots] }\n"
        + "    - { id: bot-3, hash: \"" + ApiKeys.hash(BOT_3) + "\", subject: bot, groups: [bots] }\n"
        + "    - { id: auditor, hash: \"" + ApiKeys.hash(AUDITOR) + "\", subject: carol, roles: [gatehouse-auditor, gatehouse-metrics] }\n"
        + "policies:\n"
        + "  - { id: tenant-tokens, when: { tenants: [acme, beta] }, allow: { models: [\"scripted/*\"] }, limits: { per: tenant, tokens_per_minute: 100 } }\n"
        + "  - { id: key-budget, when: { groups: [bots] }, allow: { models: [\"scripted/*\"] }, limits: { per: key, budget_usd_per_day: 2 } }\n"
        + "audit: { store: \"sqlite:" + dir.resolve("audit.db") + "\" }\n");
    gateway = Gateway.start(new ConfigLoader().load(file), Optional.of(file));
  }

  @AfterAll
  static void stop() throws Exception {
    TestUpstreams.closeAll(gateway, model);
  }

  /** Forty words: an estimate of about 60 input tokens, and about 80 used (40 in, 42 out). */
  static final String FORTY_WORDS = "word ".repeat(40).strip();

  static HttpResponse<String> chat(String key, String text, String chain) {
    return TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve(ChatHandler.COMPLETIONS))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + key).header("X-Chain-Id", chain)
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"scripted/scripted-1\",\"messages\":[{\"role\":\"user\",\"content\":\""
            + text + "\"}]}")).build());
  }

  static JsonNode steps(String chain) throws Exception {
    return Json.MAPPER.readTree(TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/v1/audit/chains/" + chain))
        .header("Authorization", "Bearer " + AUDITOR).GET().build()).body()).path("steps");
  }

  @Test
  void twoKeysOfOneTenantShareItsTokenLimitAndAnotherTenantHasItsOwn() throws Exception {
    HttpResponse<String> first = chat(ACME_1, FORTY_WORDS, "tpm-1");
    assertEquals(200, first.statusCode(), first.body());
    assertTrue(Json.MAPPER.readTree(first.body()).path("usage").path("total_tokens").asInt() > 60, first.body());
    HttpResponse<String> second = chat(ACME_2, FORTY_WORDS, "tpm-2");
    assertEquals(429, second.statusCode(), "the other key of the tenant finds the tenant's tokens used: " + second.body());
    String message = Json.MAPPER.readTree(second.body()).path("error").path("message").asText();
    assertTrue(message.contains("Token limit of rule 'tenant-tokens' reached for tenant 'acme': 100 tokens per minute"), message);
    assertTrue(second.headers().firstValue("Retry-After").isPresent());
    JsonNode refused = steps("tpm-2").path(0);
    assertEquals("rate_limited", refused.path("outcome").asText(), refused.toString());
    assertTrue(refused.path("reason").asText().contains("tenant 'acme'"), refused.toString());
    HttpResponse<String> beta = chat(BETA, FORTY_WORDS, "tpm-3");
    assertEquals(200, beta.statusCode(), "another tenant counts apart: " + beta.body());
    HttpResponse<String> tooBig = chat(BETA, "word ".repeat(500).strip(), "tpm-4");
    assertEquals(429, tooBig.statusCode(), tooBig.body());
    assertTrue(tooBig.body().contains("more than the 100 tokens per minute"), tooBig.body());
  }

  @Test
  void oneKeysBudgetDoesNotDrainAnothersOfTheSameSubject() throws Exception {
    // Three input tokens at $1M per million tokens: $3, over the $2 a day of each key.
    HttpResponse<String> spend = chat(BOT_1, "one two three", "budget-1");
    assertEquals(200, spend.statusCode(), spend.body());
    HttpResponse<String> over = chat(BOT_1, "again", "budget-2");
    assertEquals(402, over.statusCode(), over.body());
    String message = Json.MAPPER.readTree(over.body()).path("error").path("message").asText();
    assertTrue(message.startsWith("Budget exceeded: $3 spent today of $2 by API key 'bot-1' (rule 'key-budget')"), message);
    HttpResponse<String> other = chat(BOT_2, "hello", "budget-3");
    assertEquals(200, other.statusCode(), "the same subject's other key has its own budget: " + other.body());
    String metrics = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/metrics"))
        .header("Authorization", "Bearer " + AUDITOR).GET().build()).body();
    assertTrue(metrics.contains("gatehouse_model_limit_refusals_total{limit=\"budget_usd_per_day\",rule=\"key-budget\",scope=\"key\"}"), metrics);
  }

  @Test
  void theMessagesAndResponsesDoorsCountAgainstTheSameLimits() throws Exception {
    HttpResponse<String> spend = chat(BOT_3, "one two three", "budget-door-0");
    assertEquals(200, spend.statusCode(), spend.body());
    HttpResponse<String> messages = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve(ChatHandler.MESSAGES))
        .header("Content-Type", "application/json").header("x-api-key", BOT_3)
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"scripted/scripted-1\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"))
        .build());
    assertEquals(402, messages.statusCode(), messages.body());
    assertEquals("billing_error", Json.MAPPER.readTree(messages.body()).path("error").path("type").asText(), messages.body());
    HttpResponse<String> responses = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve(ChatHandler.RESPONSES))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + BOT_3)
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"scripted/scripted-1\",\"input\":\"x\"}")).build());
    assertEquals(402, responses.statusCode(), responses.body());
    assertEquals("budget_exceeded", Json.MAPPER.readTree(responses.body()).path("error").path("code").asText(), responses.body());
  }
}
