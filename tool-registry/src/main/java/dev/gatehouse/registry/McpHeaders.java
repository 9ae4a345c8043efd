package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The HTTP headers MCP 2026-07-28 mirrors from a request's body ({@code Mcp-Method}, {@code Mcp-Name},
 * {@code Mcp-Param-<name>} for tool arguments marked {@code x-mcp-header}), and their value encoding
 * ({@code =?base64?…?=} for what is not a plain header value). Used on both sides: the gateway checks
 * them on what clients send, and sends them to upstreams of that revision.
 */
public final class McpHeaders {
  /** The tasks extension of 2026-07-28 (SEP-2663): task-creating tool calls, {@code tasks/get|update|cancel}. */
  public static final String TASKS_EXTENSION = "io.modelcontextprotocol/tasks";
  /** MCP Apps (interactive UI resources): passed through as resources and tool {@code _meta}. */
  public static final String UI_EXTENSION = "io.modelcontextprotocol/ui";
  /** The extensions a 2026-07-28 client may have passed on to upstreams through the gateway. */
  public static final java.util.List<String> RELAYED_EXTENSIONS = java.util.List.of(TASKS_EXTENSION, UI_EXTENSION);

  public static final String METHOD = "Mcp-Method";
  public static final String NAME = "Mcp-Name";
  public static final String PARAM = "Mcp-Param-";

  private McpHeaders() {}

  /** The field of {@code params} the {@code Mcp-Name} header mirrors for {@code method}, if it mirrors one. */
  public static Optional<String> nameField(String method) {
    return switch (method) {
      case "tools/call", "prompts/get" -> Optional.of("name");
      case "resources/read" -> Optional.of("uri");
      case "tasks/get", "tasks/update", "tasks/cancel" -> Optional.of("taskId"); // the tasks extension (SEP-2663)
      default -> Optional.empty();
    };
  }

  /**
   * The arguments a tool mirrors into headers: header name (case-insensitive) → property path, for
   * properties reachable through {@code properties} alone. Annotations elsewhere are not followed.
   */
  public static Map<String, List<String>> parameters(JsonNode inputSchema) {
    Map<String, List<String>> out = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    collect(inputSchema, new ArrayList<>(), out, 0);
    return out;
  }

  private static void collect(JsonNode schema, List<String> path, Map<String, List<String>> out, int depth) {
    if (schema == null || depth > 16 || !(schema.get("properties") instanceof ObjectNode props)) {
      return;
    }
    for (Map.Entry<String, JsonNode> p : props.properties()) {
      List<String> here = new ArrayList<>(path);
      here.add(p.getKey());
      JsonNode h = p.getValue().get("x-mcp-header");
      if (h != null && h.isTextual() && !h.asText().isEmpty()) {
        out.putIfAbsent(h.asText(), List.copyOf(here));
      }
      collect(p.getValue(), here, out, depth + 1);
    }
  }

  /** The value at {@code path} of {@code arguments}, or null when absent. */
  public static JsonNode at(JsonNode arguments, List<String> path) {
    JsonNode value = arguments;
    for (String step : path) {
      value = value == null ? null : value.get(step);
    }
    return value;
  }

  /**
   * The headers a request of {@code method} with {@code params} carries, given the input schema of the
   * tool it calls (null when unknown or not a tool call): method, name, and marked arguments that are set.
   */
  public static Map<String, String> of(String method, JsonNode params, JsonNode inputSchema) {
    Map<String, String> out = new LinkedHashMap<>();
    out.put(METHOD, method);
    nameField(method).map(params::get).filter(JsonNode::isTextual).ifPresent(n -> out.put(NAME, encode(n.asText())));
    if (inputSchema != null) {
      JsonNode arguments = params.get("arguments");
      parameters(inputSchema).forEach((header, path) -> {
        JsonNode v = at(arguments, path);
        if (v != null && (v.isTextual() || v.isBoolean() || v.isIntegralNumber())) {
          out.put(PARAM + header, encode(v.isTextual() ? v.asText() : v.asText()));
        }
      });
    }
    return out;
  }

  /** A header value: as it is when plain visible ASCII without leading or trailing space, else Base64 in the sentinel. */
  public static String encode(String value) {
    boolean plain = !value.isEmpty() && value.charAt(0) != ' ' && value.charAt(value.length() - 1) != ' '
        && !(value.startsWith("=?base64?") && value.endsWith("?="));
    for (int i = 0; plain && i < value.length(); i++) {
      char c = value.charAt(i);
      plain = c >= 0x20 && c <= 0x7e;
    }
    return plain ? value : "=?base64?" + Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.UTF_8)) + "?=";
  }

  /** A header value as sent, or decoded from the {@code =?base64?…?=} form; empty if that form is malformed. */
  public static Optional<String> decode(String header) {
    if (header.startsWith("=?base64?") && header.endsWith("?=") && header.length() >= 11) {
      String encoded = header.substring(9, header.length() - 2);
      if (encoded.length() % 4 != 0) {
        return Optional.empty(); // padding is required: "SGVsbG8" is malformed, "SGVsbG8=" is not
      }
      try {
        return Optional.of(new String(Base64.getDecoder().decode(encoded), StandardCharsets.UTF_8));
      } catch (IllegalArgumentException e) {
        return Optional.empty();
      }
    }
    return Optional.of(header);
  }
}
