package dev.gatehouse.router;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Why a call could not be answered, ready to be turned into OpenAI's error JSON by {@link #toJson()}:
 * a bad request (400), an unknown model (404 {@code model_not_found}), a target the caller may not use
 * (403), a provider's client error passed through with its status, or every route having failed (429,
 * 502, 503, 504). The message is safe to show: it never holds a provider key, and provider messages are
 * scrubbed of anything that looks like a credential. It carries no stack trace.
 */
public final class RouterException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final String type;
  private final String code;
  private final transient Optional<String> param;
  private final transient List<Attempt> attempts;
  private final transient Optional<Duration> retryAfter;

  RouterException(int status, String type, String code, String message, Optional<String> param, List<Attempt> attempts,
      Optional<Duration> retryAfter) {
    super(message, null, false, false);
    this.status = status;
    this.type = type;
    this.code = code;
    this.param = param;
    this.attempts = List.copyOf(attempts);
    this.retryAfter = retryAfter;
  }

  /** An error the gateway answers in the router's terms (status, OpenAI type and code), without attempts. */
  public RouterException(int status, String type, String code, String message) {
    this(status, type, code, message, Optional.empty(), List.of(), Optional.empty());
  }

  static RouterException badRequest(String param, String message) {
    return new RouterException(400, "invalid_request_error", "invalid_request", message,
        Optional.ofNullable(param), List.of(), Optional.empty());
  }

  static RouterException modelNotFound(String message) {
    return new RouterException(404, "invalid_request_error", "model_not_found", message, Optional.of("model"), List.of(),
        Optional.empty());
  }

  /** The HTTP status for the client, such as 400, 404, 429, 502. */
  public int status() {
    return status;
  }

  /** OpenAI's error {@code type}: {@code invalid_request_error}, {@code rate_limit_error}, {@code api_error}, … */
  public String type() {
    return type;
  }

  /** A machine-readable {@code code}, such as {@code model_not_found} or {@code upstream_timeout}. */
  public String code() {
    return code;
  }

  /** The request field at fault, if one is. */
  public Optional<String> param() {
    return param;
  }

  /** Every provider attempt made before giving up; empty when no provider was called. */
  public List<Attempt> attempts() {
    return attempts;
  }

  /** For a 429: how long the client should wait, for a {@code Retry-After} header. */
  public Optional<Duration> retryAfter() {
    return retryAfter;
  }

  /** OpenAI's error body: {@code {"error":{"message","type","param","code"}}}. */
  public ObjectNode toJson() {
    ObjectNode body = JsonNodeFactory.instance.objectNode();
    ObjectNode error = body.putObject("error");
    error.put("message", getMessage());
    error.put("type", type);
    if (param.isPresent()) {
      error.put("param", param.get());
    } else {
      error.putNull("param");
    }
    error.put("code", code);
    return body;
  }

  @Override
  public String toString() {
    return "RouterException[" + status + " " + type + " " + code + ": " + getMessage() + "]";
  }
}
