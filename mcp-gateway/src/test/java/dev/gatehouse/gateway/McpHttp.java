package dev.gatehouse.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** MCP over Streamable HTTP by hand, for tests that look at the wire: POSTs with headers, sessions. */
final class McpHttp {
  private McpHttp() {}

  static final String INIT = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\","
      + "\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";

  /** POSTs {@code body} to {@code endpoint}; {@code session} may be null; {@code headers} are name, value pairs. */
  static HttpResponse<String> post(URI endpoint, String session, String body, String... headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(endpoint).header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream").POST(HttpRequest.BodyPublishers.ofString(body));
    if (session != null) {
      b.header("Mcp-Session-Id", session);
    }
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    return TestUpstreams.send(b.build());
  }

  /** Initializes a session at {@code endpoint} and returns its id; fails the test unless it is 200. */
  static String session(URI endpoint, String... headers) {
    HttpResponse<String> r = post(endpoint, null, INIT, headers);
    assertEquals(200, r.statusCode(), r.body());
    return r.headers().firstValue("Mcp-Session-Id").orElseThrow();
  }

  /** The headers of a bearer credential, for {@link #post} and {@link #session}. */
  static String[] bearer(String key) {
    return new String[] {"Authorization", "Bearer " + key};
  }
}
