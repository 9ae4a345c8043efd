package dev.gatehouse.gateway;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Chain ids: one agent task. From {@code X-Chain-Id} when the client sends a well-formed one, else
 * the trace id of a W3C {@code traceparent}, else none (the caller generates or uses the session).
 */
final class Chains {
  static final String HEADER = "X-Chain-Id";
  private static final Pattern VALID = Pattern.compile("^[A-Za-z0-9._:-]{1,128}$");
  private static final Pattern TRACEPARENT = Pattern.compile("^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$");
  private static final SecureRandom RANDOM = new SecureRandom();

  private Chains() {}

  /** The chain id a request names, if any; malformed values are ignored, not trusted. */
  static Optional<String> fromHeaders(String chainHeader, String traceparent) {
    if (chainHeader != null && VALID.matcher(chainHeader.trim()).matches()) {
      return Optional.of(chainHeader.trim());
    }
    if (traceparent != null) {
      var m = TRACEPARENT.matcher(traceparent.trim().toLowerCase());
      if (m.matches() && !m.group(1).equals("0".repeat(32))) {
        return Optional.of(m.group(1));
      }
    }
    return Optional.empty();
  }

  /**
   * An MCP request's trace context from its {@code traceparent} header, carried into its
   * {@code _meta.traceparent} (where MCP keeps it) when the body names none: a caller that traces at the
   * HTTP layer is followed as one that traces in MCP. A malformed header is ignored.
   */
  static void headerIntoMeta(com.fasterxml.jackson.databind.node.ObjectNode params, String traceparent) {
    if (traceparent == null || params.path("_meta").has("traceparent")) {
      return;
    }
    String t = traceparent.trim().toLowerCase(java.util.Locale.ROOT);
    if (TRACEPARENT.matcher(t).matches() && (!params.has("_meta") || params.get("_meta").isObject())) {
      params.withObject("_meta").put("traceparent", t);
    }
  }

  /** A new random chain id. */
  static String generate() {
    byte[] b = new byte[12];
    RANDOM.nextBytes(b);
    return "ch_" + HexFormat.of().formatHex(b);
  }
}
