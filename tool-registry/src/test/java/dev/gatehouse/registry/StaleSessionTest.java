package dev.gatehouse.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A Streamable HTTP upstream that forgets our session (as one does after a restart) answers 404; the
 * registry re-initialises and retries the call once, invisibly to the caller.
 */
@Timeout(30)
class StaleSessionTest {
  private final List<String> log = new CopyOnWriteArrayList<>();
  private final AtomicInteger sessions = new AtomicInteger();
  private volatile String liveSession;
  private volatile boolean forgetOnNextCall = true;
  private HttpServer server;
  private ToolRegistry registry;

  @AfterEach
  void stop() {
    if (registry != null) {
      registry.close();
    }
    if (server != null) {
      server.stop(0);
    }
  }

  /** A scripted MCP server: JSON answers only, no GET stream, sessions in memory. */
  private void handle(HttpExchange ex) throws IOException {
    if (!ex.getRequestMethod().equals("POST")) {
      ex.sendResponseHeaders(405, -1);
      ex.close();
      return;
    }
    ObjectNode msg = (ObjectNode) Json.MAPPER.readTree(ex.getRequestBody());
    String method = msg.path("method").asText();
    String sid = ex.getRequestHeaders().getFirst("Mcp-Session-Id");
    log.add(method + "@" + sid);
    if (method.equals("initialize")) {
      liveSession = "s" + sessions.incrementAndGet();
      ex.getResponseHeaders().add("Mcp-Session-Id", liveSession);
      reply(ex, msg, "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"scripted\",\"version\":\"1\"}}");
      return;
    }
    if (sid == null || !sid.equals(liveSession)) {
      ex.sendResponseHeaders(404, -1);
      ex.close();
      return;
    }
    if (!msg.has("id")) {
      ex.sendResponseHeaders(202, -1);
      ex.close();
      return;
    }
    switch (method) {
      case "tools/list" -> reply(ex, msg, "{\"tools\":[{\"name\":\"hello\",\"inputSchema\":{\"type\":\"object\"}}]}");
      case "tools/call" -> {
        if (forgetOnNextCall) {
          forgetOnNextCall = false;
          liveSession = "forgotten";
          ex.sendResponseHeaders(404, -1);
          ex.close();
          return;
        }
        reply(ex, msg, "{\"content\":[{\"type\":\"text\",\"text\":\"hello from " + sid + "\"}]}");
      }
      default -> reply(ex, msg, "{}");
    }
  }

  private static void reply(HttpExchange ex, ObjectNode req, String result) throws IOException {
    byte[] body = ("{\"jsonrpc\":\"2.0\",\"id\":" + req.get("id") + ",\"result\":" + result + "}").getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("Content-Type", "application/json");
    ex.sendResponseHeaders(200, body.length);
    ex.getResponseBody().write(body);
    ex.close();
  }

  @Test
  void forgottenSessionIsReinitialisedAndTheCallRetriedOnce() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/mcp", ex -> {
      try {
        handle(ex);
      } catch (IOException | RuntimeException e) {
        ex.close();
      }
    });
    server.start();
    registry = ToolRegistry.create("test", new ToolRegistry.Listener() {});
    URI url = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/mcp");
    UpstreamConfig.StreamableHttp cfg = new UpstreamConfig.StreamableHttp(url, Map.of(), true,
        new UpstreamConfig.Timeouts(Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ZERO));
    registry.apply(Map.of("scripted", cfg), "__");
    Fixtures.await("connected", Duration.ofSeconds(10), () -> registry.catalog().tool("scripted__hello").isPresent());

    ObjectNode params = Json.object();
    params.put("name", "hello");
    JsonNode result = registry.call("scripted", "tools/call", params, CallContext.none()).join();

    assertEquals("hello from s2", result.path("content").path(0).path("text").asText());
    assertEquals(2, sessions.get(), "exactly one re-initialisation: " + log);
    assertEquals(2, log.stream().filter(l -> l.startsWith("tools/call")).count(), "exactly one retry: " + log);
  }
}
