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

  /**
   * A 2026-07-28 request as a conforming client sends it: {@code _meta} with the version, capabilities
   * and client info, the version, method and (when {@code name} is not null) name mirrored into headers.
   * {@code params} is the rest of the params object's members (may be empty); {@code headers} come last.
   */
  static HttpResponse<String> modern(URI endpoint, Object id, String method, String name, String params, String... headers) {
    return modernAt(ModernMcp.REVISION, endpoint, id, method, name, params, headers);
  }

  /** The same, claiming protocol version {@code v} in the header and in {@code _meta}. */
  static HttpResponse<String> modernAt(String v, URI endpoint, Object id, String method, String name, String params, String... headers) {
    String body = "{\"jsonrpc\":\"2.0\",\"id\":" + (id instanceof String t ? "\"" + t + "\"" : id) + ",\"method\":\"" + method
        + "\",\"params\":{\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"" + v + "\","
        + "\"io.modelcontextprotocol/clientCapabilities\":{},\"io.modelcontextprotocol/clientInfo\":{\"name\":\"test\",\"version\":\"1\"}}"
        + (params.isEmpty() ? "" : "," + params) + "}}";
    String[] all = new String[headers.length + (name == null ? 4 : 6)];
    all[0] = "MCP-Protocol-Version";
    all[1] = v;
    all[2] = "Mcp-Method";
    all[3] = method;
    if (name != null) {
      all[4] = "Mcp-Name";
      all[5] = name;
    }
    System.arraycopy(headers, 0, all, name == null ? 4 : 6, headers.length);
    return post(endpoint, null, body, all);
  }

  /** The headers of a bearer credential, for {@link #post} and {@link #session}. */
  static String[] bearer(String key) {
    return new String[] {"Authorization", "Bearer " + key};
  }
}
