package dev.gatehouse.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

/** The config records: YAML binding as the gateway's loader does it, defaults, validation, secrets kept out of text. */
@Timeout(10)
class RouterConfigTest {
  static final String SECRET = "sk-live-VERYSECRET-abcdefghijklmnop";

  /** Like the gateway's loader: unknown keys fail, durations are written 500ms / 30s / 2m. */
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .registerModule(new SimpleModule().addDeserializer(Duration.class, new StdScalarDeserializer<>(Duration.class) {
        @Override
        public Duration deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
          String t = p.getText().strip();
          if (t.endsWith("ms")) {
            return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
          }
          long n = Long.parseLong(t.substring(0, t.length() - 1));
          return switch (t.charAt(t.length() - 1)) {
            case 's' -> Duration.ofSeconds(n);
            case 'm' -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
          };
        }
      }));

  static RouterConfig parse(String yaml) throws IOException {
    return YAML.readValue(yaml, RouterConfig.class);
  }

  static String message(Executable e) {
    Throwable t = assertThrows(Throwable.class, e);
    while (t.getCause() != null && !(t instanceof IllegalArgumentException)) {
      t = t.getCause();
    }
    return t.getMessage();
  }

  @Test
  void everyProviderKindBindsWithItsDefaults() throws IOException {
    RouterConfig c = parse("""
        providers:
          openai:
            kind: openai
            keys:
              - { id: primary, value: "%s", weight: 3, models: ["gpt-4o*"] }
              - { value: "sk-second-key-000000" }
            timeouts: { connect: 2s, first_byte: 500ms, total: 2m }
            retry: { max_attempts: 5, base_delay: 100ms, max_delay: 4s }
            cooldown: 10s
            max_concurrency: 16
            fallbacks: [anthropic/claude-sonnet-4-5]
            latency_aware: true
          azure:
            kind: azure
            base_url: https://my-resource.openai.azure.com/
            api_version: 2024-10-21
            deployments: { gpt-4o: prod-4o }
            keys: [{ value: "azure-key-000000000" }]
          anthropic: { kind: anthropic, keys: [{ value: "sk-ant-000000000" }], default_max_tokens: 8192 }
          gemini: { kind: gemini, keys: [{ value: "AIzaSy000000000000" }] }
          bedrock: { kind: bedrock, region: us-west-2, access_key_id: AKIA0000000000000000, secret_access_key: "abc/def+ghi" }
          local: { kind: vllm }
          ollama: { kind: ollama, models: [llama3.2] }
          groq: { kind: groq, keys: [{ value: gsk_0000000000 }] }
          mistral: { kind: mistral, keys: [{ value: m-000000000 }] }
          together: { kind: together, keys: [{ value: t-000000000 }] }
          openrouter: { kind: openrouter, keys: [{ value: sk-or-000000000 }], headers: { HTTP-Referer: "https://example.com" } }
          deepseek: { kind: deepseek, keys: [{ value: sk-ds-000000000 }] }
          other: { kind: openai-compatible, base_url: "http://127.0.0.1:9000/v1" }
        aliases:
          smart: anthropic/claude-sonnet-4-5
        prices:
          "local/*": { input_per_mtok: 0.01, output_per_mtok: 0.02 }
        """.formatted(SECRET));
    assertEquals(13, c.providers().size());
    ProviderConfig openai = c.providers().get("openai");
    assertEquals(ProviderKind.OPENAI, openai.kind());
    assertEquals(URI.create("https://api.openai.com/v1"), openai.effectiveBaseUrl());
    assertEquals(Optional.of("primary"), openai.keys().get(0).id());
    assertEquals(3, openai.keys().get(0).weight());
    assertEquals(1, openai.keys().get(1).weight());
    assertEquals(List.of("primary", "key-2"), openai.keyIds());
    assertEquals(new ProviderConfig.Timeouts(Duration.ofSeconds(2), Duration.ofMillis(500), Duration.ofMinutes(2)), openai.timeouts());
    assertEquals(new ProviderConfig.Retry(5, Duration.ofMillis(100), Duration.ofSeconds(4)), openai.retry());
    assertEquals(Duration.ofSeconds(10), openai.cooldown());
    assertEquals(16, openai.maxConcurrency());
    assertTrue(openai.latencyAware());
    assertEquals(URI.create("https://my-resource.openai.azure.com"), c.providers().get("azure").effectiveBaseUrl());
    assertEquals(Map.of("gpt-4o", "prod-4o"), c.providers().get("azure").deployments());
    assertEquals(8192, c.providers().get("anthropic").defaultMaxTokens());
    assertEquals(URI.create("https://bedrock-runtime.us-west-2.amazonaws.com"), c.providers().get("bedrock").effectiveBaseUrl());
    ProviderConfig local = c.providers().get("local");
    assertEquals(ProviderConfig.Timeouts.defaults(), local.timeouts());
    assertEquals(ProviderConfig.Retry.defaults(), local.retry());
    assertEquals(Duration.ofSeconds(30), local.cooldown());
    assertEquals(0, local.maxConcurrency());
    assertEquals(URI.create("http://127.0.0.1:8000/v1"), local.effectiveBaseUrl());
    assertEquals("anthropic/claude-sonnet-4-5", c.aliases().get("smart"));
    assertEquals(new BigDecimal("0.01"), c.prices().get("local/*").inputPerMtok());
    try (Router r = Router.create(c)) {
      assertTrue(r.models().contains(new ModelInfo("ollama/llama3.2", "ollama", Optional.empty())));
      assertTrue(r.models().contains(new ModelInfo("azure/gpt-4o", "azure", Optional.empty())));
    }
  }

  @Test
  void secretsNeverAppearInToStringOrMessages() throws IOException {
    RouterConfig c = parse("""
        providers:
          openai: { kind: openai, keys: [{ value: "%s" }] }
          bedrock: { kind: bedrock, region: us-east-1, access_key_id: AKIA0000000000000000, secret_access_key: "%s", session_token: "%s" }
        """.formatted(SECRET, SECRET + "-aws", SECRET + "-tok"));
    String text = c.toString();
    assertFalse(text.contains("VERYSECRET"), text);
    assertFalse(text.contains("AKIA0000000000000000"), text);
    String bad = message(() -> ProviderConfig.Key.of(" " + SECRET));
    assertFalse(bad.contains("VERYSECRET"), bad);
  }

  @Test
  void validationNamesTheFieldAndWhatWasExpected() {
    assertEquals("kind: 'openia' (expected: one of openai, azure, anthropic, gemini, bedrock, openai-compatible, vllm, ollama, groq, "
        + "mistral, together, openrouter, deepseek)", message(() -> parse("providers: { x: { kind: openia } }")));
    assertEquals("weight: 0 (expected: > 0)", message(() -> parse("providers: { x: { kind: openai, keys: [{ value: k-000000, weight: 0 }] } }")));
    assertEquals("keys: empty (expected: at least one key for kind anthropic)", message(() -> parse("providers: { x: { kind: anthropic } }")));
    assertTrue(message(() -> parse("providers: { x: { kind: azure, keys: [{ value: k-000000 }] } }")).startsWith("base_url: missing"));
    assertTrue(message(() -> parse("providers: { x: { kind: bedrock, access_key_id: A, secret_access_key: B } }")).startsWith("region: missing"));
    assertTrue(message(() -> parse("providers: { x: { kind: bedrock, region: us-east-1 } }")).startsWith("access_key_id, secret_access_key: missing"));
    assertTrue(message(() -> parse("providers: { x: { kind: openai-compatible } }")).startsWith("base_url: missing"));
    assertEquals("max_attempts: 0 (expected: 1 to 20)",
        message(() -> parse("providers: { x: { kind: vllm, retry: { max_attempts: 0 } } }")));
    assertEquals("total: PT0S (expected: > 0)", message(() -> parse("providers: { x: { kind: vllm, timeouts: { total: 0s } } }")));
    assertTrue(message(() -> parse("providers: { x: { kind: vllm, base_url: 'ftp://host' } }")).startsWith("base_url: 'ftp://host'"));
    assertTrue(message(() -> parse("providers: { x: { kind: vllm, keys: [{ id: a, value: k-1111 }, { id: a, value: k-2222 }] } }"))
        .startsWith("keys[1].id: 'a' is used twice"));
    assertTrue(message(() -> parse("providers: { x: { kind: vllm } }\naliases: { fast: y/model }"))
        .startsWith("aliases.fast: 'y/model' names provider 'y', which is not configured"));
    assertTrue(message(() -> parse("providers: { x: { kind: vllm, fallbacks: [gpt-4o] } }"))
        .startsWith("providers.x.fallbacks[0]: 'gpt-4o' (expected: provider/model)"));
    assertTrue(message(() -> parse("providers: { x: { kind: vllm, api_version: '2024' } }")).contains("only with kind azure"));
    assertTrue(message(() -> parse("prices: { 'a/b': { input_per_mtok: -1, output_per_mtok: 1 } }")).startsWith("input_per_mtok: -1"));
    assertThrows(Exception.class, () -> parse("providers: { x: { kind: vllm, colour: blue } }"), "unknown keys are refused");
  }

  @Test
  void kindsAreReadLeniently() {
    assertEquals(ProviderKind.OPENAI_COMPATIBLE, ProviderKind.of("OpenAI_Compatible"));
    assertEquals("openai-compatible", ProviderKind.OPENAI_COMPATIBLE.toString());
    assertTrue(ProviderKind.GROQ.openAiWire());
    assertFalse(ProviderKind.BEDROCK.openAiWire());
  }
}
