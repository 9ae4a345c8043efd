package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/**
 * A JSON-RPC error as the gateway answers it: a value, carried by {@link Outcome.Failed} or written
 * by a door. Upstream failures arrive as the registry's exceptions and become one of these once, in
 * {@link #from}; a request the gateway cannot decode throws {@link RpcException} while decoding.
 */
record RpcError(int code, String message, Optional<JsonNode> data) {
  static final int PARSE_ERROR = -32700;
  static final int INVALID_REQUEST = -32600;
  static final int METHOD_NOT_FOUND = -32601;
  static final int INVALID_PARAMS = -32602;
  static final int INTERNAL_ERROR = -32603;
  /** MCP: the session is unknown or expired. */
  static final int SESSION_NOT_FOUND = -32001;
  /** MCP: no such resource. */
  static final int RESOURCE_NOT_FOUND = -32002;
  /** Gateway: the caller may not do this. */
  static final int FORBIDDEN = -32003;
  /** Gateway: the upstream cannot be reached. */
  static final int UPSTREAM_UNAVAILABLE = -32010;
  /** The user must open a URL first (MCP 2025-11-25 URLElicitationRequiredError): a consent to give. */
  static final int URL_ELICITATION_REQUIRED = -32042;
  /** Gateway: the upstream did not answer in time. */
  static final int UPSTREAM_TIMEOUT = -32011;
  /** Gateway: the request was cancelled. */
  static final int REQUEST_CANCELLED = -32012;
  /** Gateway: the upstream's answer is larger than allowed. */
  static final int ANSWER_TOO_LARGE = -32013;
  /** Gateway: the caller's rate limit is exhausted for now. */
  static final int RATE_LIMITED = -32014;
  /** Gateway: no or invalid credentials (HTTP 401). */
  static final int UNAUTHORIZED = -32015;
  /** MCP 2026-07-28: the HTTP headers disagree with the body, or a required one is missing (HTTP 400). */
  static final int HEADER_MISMATCH = -32020;
  /** MCP 2026-07-28: the request needs a client capability it did not declare (HTTP 400). */
  static final int MISSING_CLIENT_CAPABILITY = -32021;
  /** MCP 2026-07-28: the requested protocol version is not served (HTTP 400; data lists the supported ones). */
  static final int UNSUPPORTED_PROTOCOL_VERSION = -32022;

  RpcError {
    message = message == null || message.isEmpty() ? "error" : message;
    data = data == null ? Optional.empty() : data;
  }

  static RpcError of(int code, String message) {
    return new RpcError(code, message, Optional.empty());
  }

  /** What went wrong, for the client: never a stack trace or a class name (the log has those). */
  static RpcError from(Throwable t) {
    Throwable c = t;
    while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
      c = c.getCause();
    }
    return switch (c) {
      case RpcException r -> r.error();
      case dev.gatehouse.registry.McpException m -> new RpcError(m.code(), m.getMessage(), m.data());
      case CancellationException x -> of(REQUEST_CANCELLED, "request cancelled");
      case TimeoutException x -> of(UPSTREAM_TIMEOUT, "request timed out");
      default -> of(INTERNAL_ERROR, "internal error while handling the request");
    };
  }

  /** This error, to throw while a request is being decoded. */
  RpcException exception() {
    return new RpcException(this);
  }
}
