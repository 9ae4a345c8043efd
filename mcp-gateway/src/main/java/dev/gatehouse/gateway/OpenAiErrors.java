package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/** Errors on {@code /v1/…} in OpenAI's shape: {@code {"error":{"type","code","message"}}}. */
final class OpenAiErrors {
  private OpenAiErrors() {}

  /** One error as this shape carries it, with its HTTP status. */
  record Error(int status, String type, String code, String message) {
    void write(Response response, Callback callback) {
      OpenAiErrors.write(response, callback, status, type, code, message);
    }
  }

  static void write(Response response, Callback callback, int status, String type, String code, String message) {
    ObjectNode body = Json.object();
    ObjectNode err = body.putObject("error");
    err.put("type", type);
    err.put("code", code);
    err.put("message", message);
    err.putNull("param");
    McpHttpHandler.writeJson(response, callback, status, body, null);
  }

  /** For {@link EdgeAuth}: authentication refusals. */
  static void auth(Response response, Callback callback, int status, String code, String message) {
    String type = switch (status) {
      case 401 -> "authentication_error";
      case 403 -> "permission_error";
      default -> "service_unavailable";
    };
    write(response, callback, status, type, code, message);
  }
}
