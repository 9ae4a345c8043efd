package dev.gatehouse.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Optional;

/**
 * A model's tool call as a {@link Target.Tool}: its {@code arguments} as models send them (a JSON
 * string) or an object; absent or empty means {@code {}}. Arguments that are neither are kept as
 * sent and the target says why, so the chain refuses and records the call the same way on every
 * door ({@code /v1/mcp/tool/execute} and agent mode).
 */
final class ToolArguments {
  private ToolArguments() {}

  static Target.Tool target(String name, JsonNode raw) {
    ObjectNode params = Json.object();
    params.put("name", name);
    if (raw == null || raw.isNull() || raw.isTextual() && raw.asText().isBlank()) {
      params.putObject("arguments");
      return new Target.Tool(name, params);
    }
    if (raw instanceof ObjectNode o) {
      params.set("arguments", o);
      return new Target.Tool(name, params);
    }
    params.set("arguments", raw);
    if (raw.isTextual()) {
      try {
        JsonNode parsed = Json.MAPPER.readTree(raw.asText());
        if (parsed instanceof ObjectNode o) {
          params.set("arguments", o);
          return new Target.Tool(name, params);
        }
        return new Target.Tool(name, params, Optional.of("arguments: expected a JSON object, or a string holding one (got a string holding "
            + (parsed == null ? "nothing" : CallChain.kindOf(parsed)) + ")"));
      } catch (JsonProcessingException e) {
        return new Target.Tool(name, params, Optional.of("arguments: not valid JSON (" + e.getOriginalMessage() + ")"));
      }
    }
    return new Target.Tool(name, params, Optional.of("arguments: expected a JSON object, or a string holding one (got "
        + CallChain.kindOf(raw) + ")"));
  }
}
