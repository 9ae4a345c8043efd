package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Optional;

/**
 * The registry's one exception family: a JSON-RPC error to hand to the downstream client. Upstream
 * errors keep the upstream's code, message and data; failures of our own carry gateway codes.
 */
public class McpException extends RuntimeException {
  public static final int PARSE_ERROR = -32700;
  public static final int INVALID_REQUEST = -32600;
  public static final int METHOD_NOT_FOUND = -32601;
  public static final int INVALID_PARAMS = -32602;
  public static final int INTERNAL_ERROR = -32603;
  /** MCP: resource not found. */
  public static final int RESOURCE_NOT_FOUND = -32002;
  /** Gateway: the upstream is not connected or its connection failed. */
  public static final int UPSTREAM_UNAVAILABLE = -32010;
  /** The user must open a URL first (MCP 2025-11-25 URLElicitationRequiredError), e.g. to consent. */
  public static final int URL_ELICITATION_REQUIRED = -32042;
  /** Gateway: the upstream did not answer in time. */
  public static final int UPSTREAM_TIMEOUT = -32011;
  /** Gateway: the request was cancelled. */
  public static final int REQUEST_CANCELLED = -32012;
  /** Gateway: the upstream's answer was larger than its {@code max_message_bytes}. */
  public static final int ANSWER_TOO_LARGE = -32013;

  private final int code;
  private final transient JsonNode data;

  public McpException(int code, String message) {
    this(code, message, null, null);
  }

  public McpException(int code, String message, JsonNode data, Throwable cause) {
    super(message, cause, false, false);
    this.code = code;
    this.data = data;
  }

  public int code() {
    return code;
  }

  public Optional<JsonNode> data() {
    return Optional.ofNullable(data);
  }

  /**
   * {@code failure} as a JSON-RPC error object: an {@link McpException}'s code, message and data as they
   * are; anything else an internal error whose message is {@code prefix} plus the failure's.
   */
  static com.fasterxml.jackson.databind.node.ObjectNode errorObject(Throwable failure, String prefix) {
    com.fasterxml.jackson.databind.node.ObjectNode e = Json.object();
    if (failure instanceof McpException m) {
      e.put("code", m.code());
      e.put("message", m.getMessage());
      m.data().ifPresent(d -> e.set("data", d));
    } else {
      e.put("code", INTERNAL_ERROR);
      e.put("message", prefix + failure.getMessage());
    }
    return e;
  }

  /** The upstream's HTTP session was forgotten (404): re-initialise and retry once. */
  static final class SessionExpired extends McpException {
    SessionExpired(String upstream) {
      super(UPSTREAM_UNAVAILABLE, "upstream '" + upstream + "' forgot our session (HTTP 404)");
    }
  }
}
