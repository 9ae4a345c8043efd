package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.registry.Json;
import dev.gatehouse.registry.UpstreamConfig;
import dev.gatehouse.registry.UpstreamStatus;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * How the gateway speaks to an upstream on the official TypeScript SDK (node-tests/ts-sdk-upstream.mjs):
 * a request stream the server closes before answering is resumed with Last-Event-ID (SEP-1699), what
 * the server logs while handling logging/setLevel reaches the client, and /mcp/<server> passes on what a
 * list result carries besides its items.
 */
@Timeout(120)
class UpstreamProtocolTest {
  static Process server;
  static Gateway gateway;

  @BeforeAll
  static void start() throws Exception {
    NodeTooling.require();
    ProcessBuilder pb = new ProcessBuilder(NodeTooling.NODE.toString(), "ts-sdk-upstream.mjs")
        .directory(NodeTooling.ROOT.resolve("node-tests").toFile()).redirectError(ProcessBuilder.Redirect.INHERIT);
    server = pb.start();
    String line = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8)).readLine();
    URI url = URI.create(Json.MAPPER.readTree(line).path("url").asText());
    UpstreamConfig up = new UpstreamConfig.StreamableHttp(url, Map.of(), true,
        new UpstreamConfig.Timeouts(Duration.ofSeconds(20), Duration.ofSeconds(30), Duration.ZERO));
    gateway = Gateway.start(TestUpstreams.noAudit().withServer(ServerSettings.defaults().withPort(0))
        .withUpstreams(Map.of("resumable", up)), Optional.empty());
    await("upstream connected", Duration.ofSeconds(30), () -> gateway.registry().status().stream().allMatch(UpstreamStatus::connected));
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
    if (server != null) {
      server.destroyForcibly();
    }
  }

  static HttpResponse<String> post(String session, String body) {
    return McpHttp.post(gateway.baseUri().resolve("/mcp"), session, body);
  }

  static String session() {
    return McpHttp.session(gateway.baseUri().resolve("/mcp"));
  }

  @Test
  @Timeout(value = 15, unit = TimeUnit.SECONDS) // the upstream call timeout is 30 s: only a resumed stream answers in time
  void aRequestStreamClosedBeforeItsAnswerIsResumedWithLastEventId() throws Exception {
    HttpResponse<String> r = post(session(),
        "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"resumable__test_reconnection\",\"arguments\":{}}}");
    assertEquals(200, r.statusCode(), r.body());
    JsonNode answer = Json.MAPPER.readTree(r.body());
    assertEquals("answered after the stream was closed", answer.path("result").path("content").path(0).path("text").asText(), r.body());
  }

  @Test
  void whatTheUpstreamLogsWhileSettingTheLevelReachesTheClient() {
    HttpResponse<String> r = post(session(), "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"info\"}}");
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.body().contains("level set to info"), r.body());
  }

  @Test
  void theTransparentEndpointPassesListResultFieldsOn() throws Exception {
    URI single = gateway.baseUri().resolve("/mcp/resumable");
    HttpResponse<String> r = McpHttp.post(single, McpHttp.session(single), "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
    JsonNode result = Json.MAPPER.readTree(r.body()).path("result");
    assertEquals(60000, result.path("ttlMs").asInt(), r.body());
    assertEquals("public", result.path("cacheScope").asText(), r.body());
    assertEquals("test_reconnection", result.path("tools").path(0).path("name").asText());
  }
}
