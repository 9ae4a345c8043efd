package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpServer;
import dev.gatehouse.identity.ApiKeys;
import dev.gatehouse.registry.Json;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.spec.McpSchema;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The caller's credentials never reach an upstream: only the upstream's own configured headers do. */
@Timeout(60)
class TokenIsolationTest {
  @TempDir
  Path dir;

  @Test
  void callersTokenIsNeverForwardedUpstream() throws Exception {
    List<Map<String, List<String>>> seen = new CopyOnWriteArrayList<>();
    HttpServer upstream = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    upstream.createContext("/mcp", ex -> {
      seen.add(Map.copyOf(ex.getRequestHeaders()));
      if (!ex.getRequestMethod().equals("POST")) {
        ex.sendResponseHeaders(405, -1);
        ex.close();
        return;
      }
      ObjectNode msg = (ObjectNode) Json.MAPPER.readTree(ex.getRequestBody());
      if (!msg.has("id")) {
        ex.sendResponseHeaders(202, -1);
        ex.close();
        return;
      }
      String result = switch (msg.path("method").asText()) {
        case "initialize" -> "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"rec\",\"version\":\"1\"}}";
        case "tools/list" -> "{\"tools\":[{\"name\":\"whoami\",\"inputSchema\":{\"type\":\"object\"}}]}";
        case "tools/call" -> "{\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}";
        default -> "{}";
      };
      byte[] body = ("{\"jsonrpc\":\"2.0\",\"id\":" + msg.get("id") + ",\"result\":" + result + "}").getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("Content-Type", "application/json");
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
      ex.close();
    });
    upstream.start();
    String key = ApiKeys.generate();
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, """
        server: { port: 0 }
        upstreams:
          rec:
            transport: streamable-http
            url: "http://127.0.0.1:%d/mcp"
            headers: { Authorization: "Bearer upstream-own-secret" }
        identity:
          api_keys:
            - { id: k, hash: "%s", subject: alice }
        """.formatted(upstream.getAddress().getPort(), ApiKeys.hash(key)));
    try (Gateway g = Gateway.start(new ConfigLoader().load(file), Optional.of(file))) {
      await("connected", Duration.ofSeconds(20), () -> g.registry().catalog().tool("rec__whoami").isPresent());
      // the key once as a bearer token, once in X-API-Key
      for (String header : List.of("Authorization", "X-API-Key")) {
        String value = header.equals("Authorization") ? "Bearer " + key : key;
        try (McpSyncClient c = McpClient.sync(HttpClientStreamableHttpTransport.builder(g.baseUri().toString()).endpoint("/mcp")
                .httpRequestCustomizer((b, m, u, body, ctx) -> b.header(header, value)).build())
            .requestTimeout(Duration.ofSeconds(20)).build()) {
          c.initialize();
          McpSchema.CallToolResult r = c.callTool(new McpSchema.CallToolRequest("rec__whoami", Map.of()));
          assertEquals("ok", ((McpSchema.TextContent) r.content().get(0)).text());
        }
      }
    } finally {
      upstream.stop(0);
    }
    assertFalse(seen.isEmpty());
    for (Map<String, List<String>> headers : seen) {
      String all = headers.toString();
      assertFalse(all.contains(key), "the caller's key reached the upstream: " + all);
      assertFalse(headers.keySet().stream().anyMatch(h -> h.equalsIgnoreCase("X-API-Key")), all);
      assertTrue(headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase("Authorization"))
          .allMatch(e -> e.getValue().equals(List.of("Bearer upstream-own-secret"))), all);
    }
  }
}
