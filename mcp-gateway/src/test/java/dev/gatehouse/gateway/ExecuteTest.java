package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static dev.gatehouse.gateway.TestUpstreams.samplesYaml;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code POST /v1/mcp/tool/execute}: the Bifrost-compatible shape, the Responses shape, and every error. */
@Timeout(120)
class ExecuteTest {
  static final String KEY = ApiKeys.generate();
  static final String SCRAPER = ApiKeys.generate();
  @TempDir
  static Path dir;
  static RunningServer fixture;
  static Gateway gateway;
  static URI execute;

  @BeforeAll
  static void start() throws Exception {
    fixture = Samples.startConformance("127.0.0.1", 0);
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server: { port: 0 }\nupstreams:\n" + samplesYaml("local", "faulty")
        + "  conf:\n    transport: streamable-http\n    url: \"" + fixture.url() + "\"\n"
        + "  slow:\n    transport: stdio\n    command: \"" + TestUpstreams.java() + "\"\n    args: [\"-cp\", \""
        + System.getProperty("java.class.path") + "\", \"dev.gatehouse.samples.Samples\", \"faulty\"]\n"
        + "    timeouts: { call: 700ms, health: 0s }\n"
        + "identity:\n  api_keys:\n    - { id: k, hash: \"" + ApiKeys.hash(KEY) + "\", subject: agent, groups: [agents] }\n"
        + "    - { id: prometheus, hash: \"" + ApiKeys.hash(SCRAPER) + "\", subject: prometheus, roles: [gatehouse-metrics] }\n"
        + "policies:\n"
        + "  - id: agents\n    when: { groups: [agents] }\n    allow: { servers: [local, conf, slow] }\n"
        + "    deny: { tools: [\"local__crash\"] }\n    limits: { tools_per_minute: { \"local__pid\": 1 } }\n");
    gateway = Gateway.start(new ConfigLoader().load(file), Optional.of(file));
    await("upstreams", Duration.ofSeconds(60), () -> gateway.registry().status().stream().allMatch(s -> s.connected()));
    execute = gateway.baseUri().resolve(ExecuteHandler.PATH);
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
    if (fixture != null) {
      fixture.close();
    }
  }

  static HttpResponse<String> post(String path, String body, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(gateway.baseUri().resolve(path)).header("Content-Type", "application/json")
        .header("Authorization", "Bearer " + KEY).POST(HttpRequest.BodyPublishers.ofString(body));
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return TestUpstreams.send(b.build());
  }

  static String chatCall(String id, String name, String argumentsJson) {
    return "{\"id\":\"" + id + "\",\"type\":\"function\",\"function\":{\"name\":\"" + name + "\",\"arguments\":"
        + Json.MAPPER.getNodeFactory().textNode(argumentsJson) + "}}";
  }

  static JsonNode error(HttpResponse<String> r, int status, String code) throws Exception {
    assertEquals(status, r.statusCode(), r.body());
    JsonNode e = Json.MAPPER.readTree(r.body()).path("error");
    assertEquals(code, e.path("code").asText(), r.body());
    assertFalse(e.path("type").asText().isEmpty(), r.body());
    assertFalse(r.body().contains("Exception"), r.body());
    return e;
  }

  @Test
  void aModelsToolCallBecomesTheToolMessage() throws Exception {
    HttpResponse<String> r = post(ExecuteHandler.PATH, chatCall("call_1", "local__echo", "{\"text\":\"from the model\"}"),
        "X-Chain-Id", "task-42");
    assertEquals(200, r.statusCode(), r.body());
    JsonNode m = Json.MAPPER.readTree(r.body());
    assertEquals("tool", m.path("role").asText());
    assertEquals("call_1", m.path("tool_call_id").asText());
    assertEquals("from the model", m.path("content").asText());
    assertEquals("task-42", r.headers().firstValue("X-Chain-Id").orElseThrow());
  }

  @Test
  void responsesFormatIsSupported() throws Exception {
    HttpResponse<String> r = post(ExecuteHandler.PATH + "?format=responses",
        "{\"type\":\"function_call\",\"call_id\":\"fc_9\",\"name\":\"local__echo\",\"arguments\":\"{\\\"text\\\":\\\"hi\\\"}\"}");
    assertEquals(200, r.statusCode(), r.body());
    JsonNode m = Json.MAPPER.readTree(r.body());
    assertEquals("function_call_output", m.path("type").asText());
    assertEquals("fc_9", m.path("call_id").asText());
    assertEquals("hi", m.path("output").asText());
    assertTrue(r.headers().firstValue("X-Chain-Id").orElseThrow().startsWith("ch_"), "a chain id is generated");
  }

  @Test
  void traceparentTraceIdBecomesTheChainId() {
    HttpResponse<String> r = post(ExecuteHandler.PATH, chatCall("c", "local__echo", "{\"text\":\"x\"}"),
        "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    assertEquals("4bf92f3577b34da6a3ce929d0e0e4736", r.headers().firstValue("X-Chain-Id").orElseThrow());
  }

  @Test
  void mediaAndMixedContentAreRepresentedNotDropped() throws Exception {
    JsonNode img = Json.MAPPER.readTree(post(ExecuteHandler.PATH, chatCall("c", "conf__test_image_content", "{}")).body());
    assertTrue(img.path("content").asText().matches("(?s).*\\[image image/png, \\d+ bytes\\].*"), img.toString());
    JsonNode mixed = Json.MAPPER.readTree(post(ExecuteHandler.PATH, chatCall("c", "conf__test_multiple_content_types", "{}")).body());
    String content = mixed.path("content").asText();
    assertTrue(content.contains("[image") && content.contains("\n\n"), content);
    JsonNode res = Json.MAPPER.readTree(post(ExecuteHandler.PATH, chatCall("c", "conf__test_embedded_resource", "{}")).body());
    assertFalse(res.path("content").asText().isBlank(), res.toString());
  }

  @Test
  void toolErrorIsTheToolsAnswerNotAnHttpError() throws Exception {
    HttpResponse<String> r = post(ExecuteHandler.PATH, chatCall("c", "conf__test_error_handling", "{}"));
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("true", r.headers().firstValue("X-Gatehouse-Tool-Error").orElse(""));
    assertFalse(Json.MAPPER.readTree(r.body()).path("content").asText().isBlank());
  }

  @Test
  void errorsAreOpenAiShapedWithTheRightStatus() throws Exception {
    error(post(ExecuteHandler.PATH, "{not json"), 400, "invalid_json");
    error(post(ExecuteHandler.PATH, "{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"local__echo\",\"arguments\":\"{oops\"}}"), 400, "invalid_arguments");
    error(post(ExecuteHandler.PATH, "{\"id\":\"c\",\"type\":\"function\"}"), 400, "invalid_tool_call");
    error(post(ExecuteHandler.PATH, chatCall("c", "nope__missing", "{}")), 404, "tool_not_found");
    JsonNode denied = error(post(ExecuteHandler.PATH, chatCall("c", "local__crash", "{}")), 403, "tool_not_allowed");
    assertTrue(denied.path("message").asText().contains("agents"), denied.toString());
    error(post(ExecuteHandler.PATH, chatCall("c", "slow__sleep", "{\"ms\":5000}")), 504, "upstream_timeout");
    HttpResponse<String> unauth = TestUpstreams.send(HttpRequest.newBuilder(execute).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(chatCall("c", "local__echo", "{}"))).build());
    error(unauth, 401, "invalid_token");
    assertTrue(unauth.headers().firstValue("WWW-Authenticate").orElse("").contains("resource_metadata="));
  }

  @Test
  void metricsScrapeHoldsTheSeriesAfterTraffic() {
    post(ExecuteHandler.PATH, chatCall("c", "local__echo", "{\"text\":\"m\"}"));
    post(ExecuteHandler.PATH, chatCall("c", "local__crash", "{}"));
    TestUpstreams.send(HttpRequest.newBuilder(execute).header("Content-Type", "application/json")
        .header("Authorization", "Bearer gk_wrong").POST(HttpRequest.BodyPublishers.ofString("{}")).build());
    HttpResponse<String> anonymous = TestUpstreams.get(gateway.baseUri().resolve("/metrics"));
    assertEquals(401, anonymous.statusCode(), "with identity configured, /metrics needs a credential");
    assertTrue(anonymous.body().contains("access.metrics_roles"), anonymous.body());
    HttpResponse<String> plain = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/metrics"))
        .header("Authorization", "Bearer " + KEY).GET().build());
    assertEquals(403, plain.statusCode(), "a caller without the metrics role");
    String text = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/metrics"))
        .header("Authorization", "Bearer " + SCRAPER).GET().build()).body();
    for (String series : java.util.List.of(
        "gatehouse_calls_total{kind=\"tool\",name=\"echo\",outcome=\"ok\",revision=\"-\",server=\"local\",source=\"execute\"}",
        "outcome=\"denied\"",
        "gatehouse_call_duration_seconds_bucket",
        "gatehouse_upstream_duration_seconds_bucket",
        "gatehouse_overhead_duration_seconds_bucket",
        "gatehouse_policy_decisions_total{decision=\"deny\",rule=\"agents\"}",
        "gatehouse_policy_decisions_total{decision=\"allow\",rule=\"agents\"}",
        "gatehouse_auth_failures_total{reason=",
        "gatehouse_upstream_up{server=\"local\",transport=\"stdio\"} 1.0",
        "gatehouse_sessions",
        "jvm_memory_used_bytes",
        "process_cpu_usage")) {
      assertTrue(text.contains(series), "missing " + series);
    }
    assertFalse(text.contains("agent\""), "no subject in any label");
  }

  @Test
  void rateLimitIs429WithRetryAfter() throws Exception {
    post(ExecuteHandler.PATH, chatCall("c", "local__pid", "{}"));
    HttpResponse<String> r = post(ExecuteHandler.PATH, chatCall("c", "local__pid", "{}"));
    error(r, 429, "rate_limited");
    assertTrue(Long.parseLong(r.headers().firstValue("Retry-After").orElseThrow()) >= 1);
  }
}
