package dev.gatehouse.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.registry.Json;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Bad input at the MCP edge gets a well-formed JSON-RPC error and the right status, never a 500. */
@Timeout(60)
class McpHygieneTest {
  static Gateway gateway;
  static URI mcp;
  static final String INIT = McpHttp.INIT;

  @BeforeAll
  static void start() throws Exception {
    ServerSettings s = ServerSettings.defaults().withPort(0);
    s = s.withMaxRequestBytes(4096);
    gateway = Gateway.start(TestUpstreams.noAudit().withServer(s), Optional.empty());
    mcp = gateway.baseUri().resolve("/mcp");
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  static HttpRequest.Builder post(String body) {
    return HttpRequest.newBuilder(mcp)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .POST(HttpRequest.BodyPublishers.ofString(body));
  }

  static JsonNode errorOf(HttpResponse<String> r) throws Exception {
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), r.headers().toString());
    JsonNode body = Json.MAPPER.readTree(r.body());
    assertEquals("2.0", body.path("jsonrpc").asText());
    assertNotNull(body.get("error"), r.body());
    assertFalse(r.body().contains("Exception"), "no Java exception in a body: " + r.body());
    assertFalse(r.body().contains("\tat "), "no stack trace in a body: " + r.body());
    return body.get("error");
  }

  static String session() {
    HttpResponse<String> r = TestUpstreams.send(post(INIT).build());
    assertEquals(200, r.statusCode(), r.body());
    return r.headers().firstValue("Mcp-Session-Id").orElseThrow();
  }

  @Test
  void malformedJsonIsParseError() throws Exception {
    HttpResponse<String> r = TestUpstreams.send(post("{\"jsonrpc\": \"2.0\", \"id\": 1, ").build());
    assertEquals(400, r.statusCode());
    assertEquals(-32700, errorOf(r).path("code").asInt());
  }

  @Test
  void wrongShapeIsInvalidRequest() throws Exception {
    for (String bad : List.of("42", "\"text\"", "{\"id\":1,\"method\":\"ping\"}", "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}")) {
      HttpResponse<String> r = TestUpstreams.send(post(bad).header("Mcp-Session-Id", session()).build());
      assertEquals(400, r.statusCode(), bad);
      assertEquals(-32600, errorOf(r).path("code").asInt(), bad);
    }
  }

  @Test
  void oversizedBodyIs413() throws Exception {
    String big = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"pad\":\"" + "x".repeat(10_000) + "\"}}";
    HttpResponse<String> r = TestUpstreams.send(post(big).build());
    assertEquals(413, r.statusCode());
    assertTrue(errorOf(r).path("message").asText().contains("4096"), r.body());
    // the body was left unread: the connection cannot carry another request, and the client is told so
    assertEquals(Optional.of("close"), r.headers().firstValue("Connection"));
  }

  @Test
  void unsupportedProtocolVersionHeaderIs400() throws Exception {
    HttpResponse<String> r = TestUpstreams.send(post("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}")
        .header("Mcp-Session-Id", session()).header("MCP-Protocol-Version", "1999-01-01").build());
    assertEquals(400, r.statusCode());
    assertTrue(errorOf(r).path("message").asText().contains("1999-01-01"), r.body());
  }

  @Test
  void foreignOriginIsRefused() throws Exception {
    HttpResponse<String> r = TestUpstreams.send(post(INIT).header("Origin", "https://evil.example").build());
    assertEquals(403, r.statusCode());
    assertTrue(errorOf(r).path("message").asText().contains("evil.example"));
    HttpResponse<String> ok = TestUpstreams.send(post(INIT).header("Origin", "http://localhost:6274").build());
    assertEquals(200, ok.statusCode(), ok.body());
  }

  @Test
  void missingAndUnknownSessionsAreDistinguished() throws Exception {
    HttpResponse<String> missing = TestUpstreams.send(post("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}").build());
    assertEquals(400, missing.statusCode());
    errorOf(missing);
    HttpResponse<String> unknown = TestUpstreams.send(post("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}")
        .header("Mcp-Session-Id", "not-a-session").build());
    assertEquals(404, unknown.statusCode());
    errorOf(unknown);
  }

  @Test
  void wrongContentTypeIs415() throws Exception {
    HttpResponse<String> r = TestUpstreams.send(HttpRequest.newBuilder(mcp).header("Content-Type", "text/plain")
        .POST(HttpRequest.BodyPublishers.ofString(INIT)).build());
    assertEquals(415, r.statusCode());
    errorOf(r);
  }

  @Test
  void unknownMethodIsMethodNotFound() throws Exception {
    HttpResponse<String> r = TestUpstreams.send(post("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/explode\"}")
        .header("Mcp-Session-Id", session()).build());
    assertEquals(200, r.statusCode());
    JsonNode body = Json.MAPPER.readTree(r.body());
    assertEquals(7, body.path("id").asInt());
    assertEquals(-32601, body.path("error").path("code").asInt());
  }

  @Test
  void deletedSessionIsGone() {
    String sid = session();
    HttpResponse<String> del = TestUpstreams.send(HttpRequest.newBuilder(mcp).header("Mcp-Session-Id", sid).DELETE().build());
    assertEquals(204, del.statusCode());
    HttpResponse<String> after = TestUpstreams.send(post("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}").header("Mcp-Session-Id", sid).build());
    assertEquals(404, after.statusCode());
  }

  @Test
  void batchesAreRefusedOutsideProtocol20250326() throws Exception {
    HttpResponse<String> r = TestUpstreams.send(post("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]")
        .header("Mcp-Session-Id", session()).build());
    assertEquals(400, r.statusCode());
    errorOf(r);
  }

  @Test
  void unknownServerPathIs404() throws Exception {
    HttpResponse<String> r = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/mcp/nope"))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(INIT)).build());
    assertEquals(404, r.statusCode());
    errorOf(r);
  }

  @Test
  void pingAnswersWithPlainJson() throws Exception {
    HttpResponse<String> r = TestUpstreams.send(post("{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"method\":\"ping\"}")
        .header("Mcp-Session-Id", session()).build());
    assertEquals(200, r.statusCode());
    assertEquals(Json.MAPPER.readTree("{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"result\":{}}"), Json.MAPPER.readTree(r.body()));
  }

  @Test
  void foreignHostHeaderIsRefused() throws Exception {
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its own name as Host.
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", gateway.port())) {
      String req = "POST /mcp HTTP/1.1\r\nHost: evil.example\r\nContent-Type: application/json\r\nContent-Length: "
          + INIT.length() + "\r\nConnection: close\r\n\r\n" + INIT;
      socket.getOutputStream().write(req.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      String resp = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      assertTrue(resp.startsWith("HTTP/1.1 403"), resp);
      assertTrue(resp.contains("evil.example"), resp);
    }
  }
}
