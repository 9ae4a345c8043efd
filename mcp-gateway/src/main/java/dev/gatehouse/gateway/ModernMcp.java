package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.registry.McpHeaders;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The stateless revision of MCP (2026-07-28) as the gateway serves it beside the session-based ones.
 * A modern request carries its protocol version, client capabilities and client info in
 * {@code params._meta}; there is no {@code initialize} and no session. Over HTTP the request mirrors
 * its version, method and target name (and tool arguments marked {@code x-mcp-header}) into headers,
 * which must agree with the body: a load balancer or a policy in front may have acted on them.
 */
final class ModernMcp {
  static final String REVISION = "2026-07-28";
  /** Every revision the gateway serves, the stateless one first: what {@code server/discover} and version errors list. */
  static final List<String> ALL_REVISIONS;

  static {
    List<String> all = new ArrayList<>();
    all.add(REVISION);
    all.addAll(McpDispatcher.PROTOCOL_VERSIONS);
    ALL_REVISIONS = List.copyOf(all);
  }

  static final String VERSION_KEY = "io.modelcontextprotocol/protocolVersion";
  static final String CAPABILITIES_KEY = "io.modelcontextprotocol/clientCapabilities";
  static final String CLIENT_INFO_KEY = "io.modelcontextprotocol/clientInfo";
  static final String LOG_LEVEL_KEY = "io.modelcontextprotocol/logLevel";
  static final String SERVER_INFO_KEY = "io.modelcontextprotocol/serverInfo";
  static final String SUBSCRIPTION_KEY = "io.modelcontextprotocol/subscriptionId";
  static final String METHOD_HEADER = McpHeaders.METHOD;
  static final String NAME_HEADER = McpHeaders.NAME;
  static final String PARAM_HEADER = McpHeaders.PARAM;
  /** How long a client may keep a list or discover result: the catalog changes on reconnects, reloads and policy changes. */
  static final long LIST_TTL_MS = 30_000;

  private ModernMcp() {}

  /**
   * Whether {@code msg} is a request of the stateless revision: its {@code _meta} names a version that
   * is not one of the session-based ones, or it names none and the header names the stateless one.
   * (A session-based client's {@code initialize} has neither; a modern client's is an unknown method.)
   */
  static boolean modern(String headerVersion, ObjectNode msg) {
    JsonNode v = msg.path("params").path("_meta").get(VERSION_KEY);
    if (v != null && !v.isNull()) {
      return !McpDispatcher.PROTOCOL_VERSIONS.contains(v.asText());
    }
    return REVISION.equals(headerVersion);
  }

  /** The methods whose target name the {@code Mcp-Name} header mirrors, and the field it mirrors. */
  static Optional<String> nameField(String method) {
    return McpHeaders.nameField(method);
  }

  /** Methods of the session-based revisions that 2026-07-28 removed: unknown methods for a modern client. */
  static boolean removed(String method) {
    return switch (method) {
      case "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe", "tasks/list", "tasks/result",
          "tasks/get", "tasks/cancel" -> true;
      default -> false;
    };
  }

  /**
   * What a modern request's HTTP headers said (names are case-insensitive; values as sent). Checked
   * against the body by {@link #check}; the {@code Mcp-Param-*} values once the tool is known
   * ({@link #checkArguments}).
   */
  record Mirror(String version, String method, String name, Map<String, String> params) {
    Mirror {
      TreeMap<String, String> p = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
      p.putAll(params);
      params = java.util.Collections.unmodifiableMap(p);
    }

    /**
     * Null if the headers agree with the body and the version is served; otherwise the error the
     * revision prescribes: {@code HeaderMismatch} (-32020) or {@code UnsupportedProtocolVersion}
     * (-32022), both answered with HTTP 400.
     */
    RpcError check(String method, JsonNode params) {
      JsonNode metaVersion = params.path("_meta").get(VERSION_KEY);
      if (version == null) {
        return mismatch("the MCP-Protocol-Version header is required");
      }
      if (metaVersion == null || !version.equals(metaVersion.asText())) {
        return mismatch("MCP-Protocol-Version header value '" + clip(version) + "' does not match body value '"
            + clip(metaVersion == null ? "" : metaVersion.asText()) + "'");
      }
      if (!REVISION.equals(version)) {
        return unsupported(version);
      }
      if (this.method == null) {
        return mismatch("the Mcp-Method header is required");
      }
      if (!this.method.equals(method)) {
        return mismatch("Mcp-Method header value '" + clip(this.method) + "' does not match body value '" + clip(method) + "'");
      }
      Optional<String> field = nameField(method);
      if (field.isPresent()) {
        JsonNode body = params.get(field.get());
        if (name == null) {
          return mismatch("the Mcp-Name header is required for " + method);
        }
        Optional<String> decoded = decode(name);
        if (decoded.isEmpty()) {
          return mismatch("the Mcp-Name header is not valid Base64 inside =?base64?…?=");
        }
        if (body != null && body.isTextual() && !decoded.get().equals(body.asText())) {
          return mismatch("Mcp-Name header value '" + clip(decoded.get()) + "' does not match body value '" + clip(body.asText()) + "'");
        }
      }
      return null;
    }

    /**
     * Null if every argument the tool's input schema marks with {@code x-mcp-header} agrees with its
     * {@code Mcp-Param-<name>} header (present when the argument is set, absent or ignored otherwise).
     */
    RpcError checkArguments(JsonNode inputSchema, JsonNode arguments) {
      for (Map.Entry<String, List<String>> e : McpHeaders.parameters(inputSchema).entrySet()) {
        JsonNode value = McpHeaders.at(arguments, e.getValue());
        if (value == null || value.isNull()) {
          continue;
        }
        String header = params.get(e.getKey());
        String argument = String.join(".", e.getValue());
        if (header == null) {
          return mismatch("the " + PARAM_HEADER + e.getKey() + " header is required: argument '" + clip(argument) + "' is set");
        }
        Optional<String> decoded = decode(header);
        if (decoded.isEmpty() || !same(decoded.get(), value)) {
          return mismatch(PARAM_HEADER + e.getKey() + " header value does not match argument '" + clip(argument) + "'");
        }
      }
      return null;
    }
  }

  /**
   * Null if a modern request's {@code _meta} carries what every request must (its protocol version and
   * client capabilities); otherwise the invalid-params error (HTTP 400) naming what is missing.
   */
  static RpcError metaProblem(JsonNode params) {
    JsonNode meta = params.get("_meta");
    if (!(meta instanceof ObjectNode m)) {
      return RpcError.of(RpcError.INVALID_PARAMS, "Invalid params: params._meta is required in MCP " + REVISION
          + " (with \"" + VERSION_KEY + "\" and \"" + CAPABILITIES_KEY + "\")");
    }
    if (!m.path(VERSION_KEY).isTextual()) {
      return RpcError.of(RpcError.INVALID_PARAMS, "Invalid params: params._meta[\"" + VERSION_KEY + "\"] is required");
    }
    if (!m.path(CAPABILITIES_KEY).isObject()) {
      return RpcError.of(RpcError.INVALID_PARAMS, "Invalid params: params._meta[\"" + CAPABILITIES_KEY + "\"] is required (an object; {} declares none)");
    }
    return null;
  }

  /** The value of a header as sent, or decoded from the {@code =?base64?…?=} form; empty if that form is malformed. */
  static Optional<String> decode(String header) {
    return McpHeaders.decode(header);
  }

  /** Whether a header's text names the same primitive as the argument (integers compared as numbers). */
  private static boolean same(String header, JsonNode value) {
    if (value.isTextual()) {
      return header.equals(value.asText());
    }
    if (value.isBoolean()) {
      return header.equals(value.asBoolean() ? "true" : "false");
    }
    if (value.isNumber()) {
      try {
        return new BigDecimal(header.trim()).compareTo(value.decimalValue()) == 0;
      } catch (NumberFormatException e) {
        return false;
      }
    }
    return false;
  }

  static RpcError mismatch(String why) {
    return RpcError.of(RpcError.HEADER_MISMATCH, "Header mismatch: " + why);
  }

  static RpcError unsupported(String requested) {
    ObjectNode data = Json.object();
    ALL_REVISIONS.forEach(data.putArray("supported")::add);
    data.put("requested", clip(requested));
    return new RpcError(RpcError.UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version: '" + clip(requested)
        + "' (supported: " + String.join(", ", ALL_REVISIONS) + ")", Optional.of(data));
  }

  /**
   * {@code MissingRequiredClientCapability} (-32021, HTTP 400): the upstream asked for {@code method}
   * during the call, which needs the capability at {@code path}, and the request did not declare it.
   */
  static RpcError missingCapability(String method, String[] path) {
    ObjectNode data = Json.object();
    ObjectNode at = data.putObject("requiredCapabilities");
    for (String p : path) {
      at = at.putObject(p);
    }
    return new RpcError(RpcError.MISSING_CLIENT_CAPABILITY, "Missing required client capability: the upstream asked for '"
        + method + "', which needs '" + String.join(".", path) + "' in _meta[\"" + CAPABILITIES_KEY + "\"]", Optional.of(data));
  }

  /**
   * Completes a result for a modern client: {@code resultType}, the server's identity in {@code _meta},
   * and for cacheable results a freshness hint and scope. Lists are filtered per caller, so they are
   * private; what an upstream said about caching on {@code /mcp/<server>} is kept when it is stricter.
   */
  static void complete(String method, ObjectNode result, ObjectNode serverInfo) {
    if (!result.has("resultType")) {
      result.put("resultType", "complete");
    }
    ObjectNode meta = result.get("_meta") instanceof ObjectNode m ? m : result.putObject("_meta");
    if (!meta.has(SERVER_INFO_KEY)) {
      meta.set(SERVER_INFO_KEY, serverInfo);
    }
    if (!"complete".equals(result.path("resultType").asText())) {
      return;
    }
    long ttl = switch (method) {
      case "server/discover", "tools/list", "prompts/list", "resources/list", "resources/templates/list" -> LIST_TTL_MS;
      case "resources/read" -> 0;
      default -> -1;
    };
    if (ttl < 0) {
      return;
    }
    long upstream = result.path("ttlMs").canConvertToLong() ? result.path("ttlMs").asLong() : -1;
    if (upstream >= 0) {
      ttl = method.equals("resources/read") ? upstream : Math.min(upstream, ttl); // a read is as fresh as its upstream says
    }
    result.put("ttlMs", ttl);
    result.put("cacheScope", "private");
  }

  /**
   * The HTTP status of a modern answer: 400 for the errors the revision answers so (header mismatch,
   * missing client capability, unsupported version), 404 for an unknown method, else 200.
   */
  static int status(ObjectNode message) {
    if (!(message.get("error") instanceof ObjectNode e)) {
      return 200;
    }
    return switch (e.path("code").asInt()) {
      case RpcError.HEADER_MISMATCH, RpcError.MISSING_CLIENT_CAPABILITY, RpcError.UNSUPPORTED_PROTOCOL_VERSION -> 400;
      case RpcError.METHOD_NOT_FOUND -> 404;
      default -> 200;
    };
  }

  /** Removes the per-request protocol fields from {@code _meta} before the request is forwarded upstream. */
  static void strip(ObjectNode params) {
    if (params.get("_meta") instanceof ObjectNode meta) {
      meta.remove(List.of(VERSION_KEY, CAPABILITIES_KEY, CLIENT_INFO_KEY, LOG_LEVEL_KEY));
      if (meta.isEmpty()) {
        params.remove("_meta");
      }
    }
  }

  private static String clip(String s) {
    String t = s.length() > 200 ? s.substring(0, 200) + "…" : s;
    StringBuilder b = new StringBuilder(t.length());
    for (int i = 0; i < t.length(); i++) {
      char c = t.charAt(i);
      b.append(c < 0x20 || c == 0x7f ? '?' : c);
    }
    return b.toString();
  }
}
