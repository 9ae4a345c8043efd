package dev.gatehouse.registry;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** An HTTP upstream's refusal reaches the operator as the upstream said it, status and text. */
@Timeout(30)
class UpstreamRefusalTest {
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

  @Test
  void aBare401IsReportedAsTheUpstreamsAnswerNotAsAnAuthenticationChallenge() {
    server = startServer();
    registry = ToolRegistry.create("test", new ToolRegistry.Listener() {});
    URI url = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/mcp");
    registry.apply(Map.of("locked", new UpstreamConfig.StreamableHttp(url, Map.of(), true,
        new UpstreamConfig.Timeouts(Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ZERO))), "__");
    Fixtures.await("a connection error", Duration.ofSeconds(10), () -> lastError().isPresent());
    String error = lastError().orElseThrow();
    assertTrue(error.contains("HTTP 401") && error.contains("token expired"), error);
  }

  private Optional<String> lastError() {
    return registry.status().stream().filter(s -> s.name().equals("locked")).findFirst().flatMap(UpstreamStatus::lastError);
  }

  private static HttpServer startServer() {
    try {
      HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      s.createContext("/mcp", ex -> {
        byte[] body = "{\"error\":\"token expired\"}".getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(401, body.length);
        ex.getResponseBody().write(body);
        ex.close();
      });
      s.start();
      return s;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
