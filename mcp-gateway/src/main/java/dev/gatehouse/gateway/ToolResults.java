package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * An MCP {@code CallToolResult} as the text of an OpenAI {@code tool} message. Text parts are kept
 * verbatim and joined by blank lines; {@code structuredContent} becomes JSON when no text carries it;
 * images, audio and binary resources are represented by a marker with their type and size (a tool
 * message cannot carry media), text resources by their text. Nothing is silently dropped.
 */
final class ToolResults {
  private ToolResults() {}

  static String toText(JsonNode result) {
    List<String> parts = new ArrayList<>();
    for (JsonNode item : result.path("content")) {
      switch (item.path("type").asText()) {
        case "text" -> parts.add(item.path("text").asText());
        case "image", "audio" -> parts.add("[" + item.path("type").asText() + " " + item.path("mimeType").asText("application/octet-stream")
            + ", " + base64Bytes(item.path("data").asText()) + " bytes]");
        case "resource" -> {
          JsonNode r = item.path("resource");
          if (r.has("text")) {
            parts.add(r.path("text").asText());
          } else {
            parts.add("[resource " + r.path("uri").asText() + " " + r.path("mimeType").asText("application/octet-stream")
                + ", " + base64Bytes(r.path("blob").asText()) + " bytes]");
          }
        }
        case "resource_link" -> parts.add("[resource link " + item.path("uri").asText()
            + (item.hasNonNull("name") ? " (" + item.path("name").asText() + ")" : "") + "]");
        default -> parts.add(Json.write(item));
      }
    }
    JsonNode structured = result.get("structuredContent");
    if (structured != null && !structured.isNull() && !carried(result, structured)) {
      parts.add(Json.write(structured));
    }
    return String.join("\n\n", parts);
  }

  /** Whether a text part already is the structured content serialised (as the spec asks servers to do). */
  private static boolean carried(JsonNode result, JsonNode structured) {
    for (JsonNode item : result.path("content")) {
      if ("text".equals(item.path("type").asText())) {
        try {
          if (structured.equals(Json.MAPPER.readTree(item.path("text").asText()))) {
            return true;
          }
        } catch (java.io.IOException notJson) {
          // plain text: keep looking
        }
      }
    }
    return false;
  }

  private static long base64Bytes(String b64) {
    int len = b64.length();
    int pad = b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0;
    return Math.max(0, (long) len * 3 / 4 - pad);
  }
}
