package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** JSON-RPC 2.0 message builders. */
final class JsonRpc {
  private JsonRpc() {}

  static ObjectNode result(JsonNode id, JsonNode result) {
    ObjectNode m = Json.object();
    m.put("jsonrpc", "2.0");
    m.set("id", id);
    m.set("result", result == null || result.isNull() ? Json.object() : result);
    return m;
  }

  static ObjectNode error(JsonNode id, int code, String message) {
    return error(id, RpcError.of(code, message));
  }

  static ObjectNode error(JsonNode id, RpcError e) {
    ObjectNode m = Json.object();
    m.put("jsonrpc", "2.0");
    m.set("id", id == null ? NullNode.getInstance() : id);
    ObjectNode err = m.putObject("error");
    err.put("code", e.code());
    err.put("message", e.message());
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

}
