package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.registry.Json;
import dev.gatehouse.registry.McpException;

/** JSON-RPC 2.0 message builders. */
final class JsonRpc {
  /** MCP: the session is unknown or expired. */
  static final int SESSION_NOT_FOUND = -32001;
  /** Gateway: no or invalid credentials (HTTP 401). */
  static final int UNAUTHORIZED = -32030;

  private JsonRpc() {}

  static ObjectNode result(JsonNode id, JsonNode result) {
    ObjectNode m = Json.object();
    m.put("jsonrpc", "2.0");
    m.set("id", id);
    m.set("result", result == null || result.isNull() ? Json.object() : result);
    return m;
  }

  static ObjectNode error(JsonNode id, int code, String message) {
    return error(id, new McpException(code, message));
  }

  static ObjectNode error(JsonNode id, McpException e) {
    ObjectNode m = Json.object();
    m.put("jsonrpc", "2.0");
    m.set("id", id == null ? NullNode.getInstance() : id);
    ObjectNode err = m.putObject("error");
    err.put("code", e.code());
    err.put("message", e.getMessage() == null ? "error" : e.getMessage());
    e.data().ifPresent(d -> err.set("data", d));
    return m;
  }

  static ObjectNode request(JsonNode id, String method, ObjectNode params) {
    ObjectNode m = Json.object();
    m.put("jsonrpc", "2.0");
    m.set("id", id);
    m.put("method", method);
    m.set("params", params);
    return m;
  }

  static ObjectNode notification(String method, ObjectNode params) {
    ObjectNode m = Json.object();
    m.put("jsonrpc", "2.0");
    m.put("method", method);
    if (params != null) {
      m.set("params", params);
    }
    return m;
  }

  /** Unwraps CompletionException and friends down to an McpException for the client. */
  static McpException toMcp(Throwable t) {
    Throwable c = t;
    while ((c instanceof java.util.concurrent.CompletionException || c instanceof java.util.concurrent.ExecutionException)
        && c.getCause() != null) {
      c = c.getCause();
    }
    if (c instanceof McpException m) {
      return m;
    }
    if (c instanceof java.util.concurrent.CancellationException) {
      return new McpException(McpException.REQUEST_CANCELLED, "request cancelled");
    }
    if (c instanceof java.util.concurrent.TimeoutException) {
      return new McpException(McpException.UPSTREAM_TIMEOUT, "request timed out");
    }
    // Never a stack trace or class name to the client: the log has the details.
    return new McpException(McpException.INTERNAL_ERROR, "internal error while handling the request");
  }
}
