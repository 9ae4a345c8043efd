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
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The official OpenAI node SDK (npm `openai`), unmodified, against the gateway's /v1: stream and non-stream, with tool calls. */
@Timeout(120)
class OpenAiSdkTest {
  static final String KEY = ApiKeys.generate();
  @TempDir
  static Path dir;
  static RunningServer model;
  static Gateway gateway;

  @BeforeAll
  static void start() throws Exception {
    NodeTooling.require();
    model = Samples.startScriptedModel("127.0.0.1", 0);
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server: { port: 0 }\nupstreams:\n" + samplesYaml("tools", "stdio-tools")
        + "providers:\n  scripted: { kind: openai-compatible, base_url: \"" + model.url() + "\", keys: [{ value: sk-x }] }\n"
        + "aliases: { smart: scripted/scripted-1 }\n"
        + "identity:\n  api_keys: [ { id: sdk, hash: \"" + ApiKeys.hash(KEY) + "\", subject: sdk-user } ]\n");
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

  private static JsonNode run(String options) throws Exception {
    NodeTooling.Run r = NodeTooling.node(Duration.ofSeconds(60), "openai-sdk-client.mjs",
        gateway.baseUri().resolve("/v1").toString(), KEY, "smart", options);
    assertEquals(0, r.exit(), r.stdout() + r.stderr());
    return Json.MAPPER.readTree(r.stdout());
  }

  @Test
  void textCompletionStreamedAndNot() throws Exception {
    JsonNode out = run("{\"message\":\"hello gateway\"}");
    assertEquals("You said: hello gateway", out.path("nonStream").path("choices").path(0).path("message").path("content").asText());
    assertEquals("You said: hello gateway", out.path("stream").path("content").asText());
    assertEquals("stop", out.path("stream").path("finishReason").asText());
    assertEquals(1, out.path("stream").path("ids").size(), "one id for every chunk");
    assertEquals(out.path("nonStream").path("usage").path("total_tokens").asLong(),
        out.path("stream").path("usage").path("total_tokens").asLong(), "stream and non-stream usage agree");
  }

  @Test
  void gatewayToolsAreOfferedAndToolCallsComeBackBothWays() throws Exception {
    JsonNode out = run("{\"message\":\"what is 12*7\",\"headers\":{\"x-gatehouse-tools\":\"tools__*\"}}");
    JsonNode call = out.path("nonStream").path("choices").path(0).path("message").path("tool_calls").path(0);
    assertEquals("tools__calc", call.path("function").path("name").asText(), out.toString());
    assertEquals("tool_calls", out.path("nonStream").path("choices").path(0).path("finish_reason").asText());
    JsonNode streamed = out.path("stream").path("toolCalls").path(0);
    assertEquals("tools__calc", streamed.path("function").path("name").asText(), out.toString());
    assertEquals(Json.MAPPER.readTree(call.path("function").path("arguments").asText()),
        Json.MAPPER.readTree(streamed.path("function").path("arguments").asText()));
    assertEquals("tool_calls", out.path("stream").path("finishReason").asText());
    assertTrue(out.path("stream").path("chunkCount").asInt() > 2);
  }
  @Test
  void theOfficialSdksEmbeddingsCreateWorksThroughTheGatewayInBothEncodings() throws Exception {
    JsonNode asBase64 = run("{\"mode\":\"embeddings\",\"input\":[\"first text\",\"second\"]}").path("embeddings");
    assertEquals(2, asBase64.path("data").size(), asBase64.toString());
    assertEquals(8, asBase64.path("data").path(0).path("embedding").size(), "the SDK asked for base64 and decoded it: " + asBase64);
    assertEquals(3, asBase64.path("usage").path("prompt_tokens").asInt(), asBase64.toString());
    JsonNode asFloats = run("{\"mode\":\"embeddings\",\"input\":\"first text\",\"params\":{\"encoding_format\":\"float\"}}").path("embeddings");
    for (int d = 0; d < 8; d++) {
      assertEquals(asFloats.path("data").path(0).path("embedding").path(d).asDouble(),
          asBase64.path("data").path(0).path("embedding").path(d).asDouble(), 1e-6, "the same vector either way");
    }
  }
}
