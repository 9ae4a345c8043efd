package dev.gatehouse.router;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

/** The one mapper of the module and the small JSON chores every adapter shares. */
final class Json {
  /** Buffers from one pool shared by all threads (the default is per thread: fresh on every virtual thread). */
  static final ObjectMapper MAPPER = JsonMapper.builder(
      com.fasterxml.jackson.core.JsonFactory.builder()
          .recyclerPool(com.fasterxml.jackson.core.util.JsonRecyclerPools.sharedConcurrentDequePool()).build()).build();
  static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private Json() {}

  static ObjectNode object() {
    return NODES.objectNode();
  }

  static ArrayNode array() {
    return NODES.arrayNode();
  }

  /** Parses a JSON object; anything else is an {@link IOException}. */
  static ObjectNode parseObject(byte[] bytes) throws IOException {
    JsonNode node = MAPPER.readTree(bytes);
    if (node instanceof ObjectNode o) {
      return o;
    }
    throw new IOException("expected a JSON object, got " + (node == null ? "nothing" : node.getNodeType()));
  }

  static ObjectNode parseObject(String text) throws IOException {
    JsonNode node = MAPPER.readTree(text);
    if (node instanceof ObjectNode o) {
      return o;
    }
    throw new IOException("expected a JSON object, got " + (node == null ? "nothing" : node.getNodeType()));
  }

  static byte[] bytes(JsonNode node) {
    try {
      return MAPPER.writeValueAsBytes(node);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String text(JsonNode node) {
    try {
      return MAPPER.writeValueAsString(node);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Serialises {@code base} with some top-level fields replaced, added or dropped, without copying the
   * tree: a conversation is written once, straight from the client's nodes.
   */
  static byte[] bytesWith(ObjectNode base, Map<String, JsonNode> overrides, Set<String> drop) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
    try (JsonGenerator g = MAPPER.getFactory().createGenerator(out)) {
      g.writeStartObject();
      Iterator<Map.Entry<String, JsonNode>> it = base.fields();
      while (it.hasNext()) {
        Map.Entry<String, JsonNode> f = it.next();
        String name = f.getKey();
        if (drop.contains(name)) {
          continue;
        }
        g.writeFieldName(name);
        JsonNode replaced = overrides.get(name);
        MAPPER.writeTree(g, replaced != null ? replaced : f.getValue());
      }
      for (Map.Entry<String, JsonNode> o : overrides.entrySet()) {
        if (!base.has(o.getKey()) && !drop.contains(o.getKey())) {
          g.writeFieldName(o.getKey());
          MAPPER.writeTree(g, o.getValue());
        }
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /**
   * The text of an OpenAI message {@code content}: a string as is; an array of parts as its text parts
   * joined; null or missing as "".
   */
  static String contentText(JsonNode content) {
    if (content == null || content.isNull() || content.isMissingNode()) {
      return "";
    }
    if (content.isTextual()) {
      return content.textValue();
    }
    if (content.isArray()) {
      StringBuilder sb = new StringBuilder();
      for (JsonNode part : content) {
        if (part.isTextual()) {
          sb.append(part.textValue());
        } else if (part.path("type").asText("text").equals("text")) {
          sb.append(part.path("text").asText(""));
        }
      }
      return sb.toString();
    }
    return content.toString();
  }

  /** Parses tool-call arguments (a JSON string) into an object; empty means {@code {}}. */
  static ObjectNode arguments(JsonNode arguments, String param) {
    if (arguments == null || arguments.isNull() || arguments.isMissingNode()) {
      return object();
    }
    if (arguments.isObject()) {
      return (ObjectNode) arguments;
    }
    String text = arguments.asText("");
    if (text.isBlank()) {
      return object();
    }
    try {
      return parseObject(text);
    } catch (IOException e) {
      throw RouterException.badRequest(param, param + ": not a JSON object (expected: the tool call's arguments as a JSON object string)");
    }
  }
}
