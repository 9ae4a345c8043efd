package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.identity.Principal;
import dev.gatehouse.router.RouterException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * {@code POST /v1/messages}, Anthropic's Messages API, so that the Anthropic SDKs and Claude Code work
 * with only a base-URL change. The request becomes a chat body (system, text, image and document
 * blocks, {@code tool_use} and {@code tool_result}, tools and tool choice, stop sequences, metadata;
 * {@code top_k} passes on, {@code thinking} reaches Anthropic providers only, as a provider option), routed to any provider — Anthropic's own
 * adapter turns it back into a Messages request, keeping {@code cache_control}. The answer and the
 * stream come back as a {@code message} and its typed events. Errors have Anthropic's shape.
 */
final class MessagesDoor implements ModelDoor {

  @Override
  public String name() {
    return "messages";
  }

  @Override
  public Exchange open(ObjectNode body, Principal caller) {
    ObjectNode chat = toChat(body);
    return new Exchange() {
      @Override
      public ObjectNode chat() {
        return chat;
      }

      @Override
      public JsonNode answer(ObjectNode completion) {
        return message(completion);
      }

      @Override
      public StreamWriter writer() {
        return new Events();
      }
    };
  }

  // ------------------------------------------------------------------ request

  /** A Messages request as a chat completions request. */
  static ObjectNode toChat(ObjectNode body) {
    ObjectNode chat = Json.object();
    chat.set("model", body.get("model"));
    JsonNode max = body.get("max_tokens");
    if (max == null || !max.canConvertToInt() || max.asInt() < 1) {
      throw ModelDoor.refused("max_tokens: required, a positive integer");
    }
    if (!(body.get("messages") instanceof ArrayNode messages) || messages.isEmpty()) {
      throw ModelDoor.refused("messages: required (a non-empty array)");
    }
    ArrayNode out = chat.putArray("messages");
    JsonNode system = body.get("system");
    if (system != null && !system.isNull()) {
      if (system.isTextual()) {
        if (!system.asText().isEmpty()) {
          out.addObject().put("role", "system").put("content", system.asText());
        }
      } else if (system.isArray()) {
        out.addObject().put("role", "system").set("content", textParts(system, "system"));
      } else {
        throw ModelDoor.refused("system: a string or an array of text blocks");
      }
    }
    for (int i = 0; i < messages.size(); i++) {
      message(messages.get(i), "messages[" + i + "]", out);
    }
    chat.put("max_tokens", max.asInt());
    for (String f : new String[] {"temperature", "top_p", "top_k", "provider_options"}) {
      if (body.hasNonNull(f)) {
        chat.set(f, body.get(f).deepCopy());
      }
    }
    if (body.hasNonNull("thinking")) {
      // Anthropic's own: sent to Anthropic providers only, never to a provider that would refuse the field.
      ObjectNode options = chat.get("provider_options") instanceof ObjectNode o ? o : chat.putObject("provider_options");
      ObjectNode anthropic = options.get("anthropic") instanceof ObjectNode a ? a : options.putObject("anthropic");
      anthropic.set("thinking", body.get("thinking"));
    }
    JsonNode stop = body.get("stop_sequences");
    if (stop != null && stop.isArray() && !stop.isEmpty()) {
      chat.set("stop", stop);
    }
    String user = body.path("metadata").path("user_id").asText(null);
    if (user != null) {
      chat.put("user", user);
    }
    tools(body, chat);
    ModelDoor.streamed(body, chat);
    return chat;
  }

  /** One Messages turn as chat messages: tool results become tool messages, before the user's other blocks. */
  private static void message(JsonNode m, String where, ArrayNode out) {
    ArrayNode content = ModelDoor.blocks(m, where, List.of("user", "assistant"), out);
    if (content == null) {
      return;
    }
    String role = m.path("role").asText();
    ArrayNode parts = Json.MAPPER.createArrayNode();
    ArrayNode calls = Json.MAPPER.createArrayNode();
    for (int j = 0; j < content.size(); j++) {
      JsonNode b = content.get(j);
      String at = where + ".content[" + j + "]";
      String type = b.path("type").asText("");
      switch (type) {
        case "text" -> {
          ObjectNode p = parts.addObject().put("type", "text").put("text", b.path("text").asText(""));
          if (b.has("cache_control")) {
            p.set("cache_control", b.get("cache_control"));
          }
        }
        case "image" -> {
          userOnly(role, at, type);
          JsonNode src = b.path("source");
          String url = switch (src.path("type").asText("")) {
            case "base64" -> "data:" + src.path("media_type").asText("") + ";base64," + src.path("data").asText("");
            case "url" -> src.path("url").asText("");
            default -> throw ModelDoor.refused(at + ".source.type: '" + src.path("type").asText("")
                + "' (expected: base64 or url)");
          };
          ObjectNode p = parts.addObject().put("type", "image_url");
          p.putObject("image_url").put("url", url);
          if (b.has("cache_control")) {
            p.set("cache_control", b.get("cache_control"));
          }
        }
        case "document" -> {
          userOnly(role, at, type);
          JsonNode src = b.path("source");
          if (!src.path("type").asText("").equals("base64")) {
            throw ModelDoor.refused(at + ".source.type: '" + src.path("type").asText("")
                + "' (expected: base64; text and URL documents are not routed)");
          }
          ObjectNode file = parts.addObject().put("type", "file").putObject("file");
          file.put("file_data", "data:" + src.path("media_type").asText("application/pdf") + ";base64," + src.path("data").asText(""));
          if (b.hasNonNull("title")) {
            file.put("filename", b.get("title").asText());
          }
        }
        case "tool_use" -> {
          if (!role.equals("assistant")) {
            throw ModelDoor.refused(at + ".type: tool_use in a user turn (expected: in an assistant turn)");
          }
          ObjectNode c = calls.addObject();
          c.put("id", b.path("id").asText(""));
          c.put("type", "function");
          ObjectNode fn = c.putObject("function");
          fn.put("name", b.path("name").asText(""));
          fn.put("arguments", Json.write(b.path("input").isObject() ? b.get("input") : Json.object()));
        }
        case "tool_result" -> {
          userOnly(role, at, type);
          String text = b.get("content") == null || b.get("content").isNull() ? ""
              : b.get("content").isTextual() ? b.get("content").asText() : ModelDoor.joinedText(b.get("content"));
          ObjectNode t = out.addObject();
          t.put("role", "tool");
          t.put("tool_call_id", b.path("tool_use_id").asText(""));
          t.put("content", b.path("is_error").asBoolean(false) ? "Error: " + text : text);
        }
        case "thinking", "redacted_thinking" -> {
          // A provider's own reasoning: nothing to route on; Anthropic does not require it back.
        }
        default -> throw ModelDoor.refused(at + ".type: '" + type
            + "' (expected: text, image, document, tool_use, tool_result or thinking)");
      }
    }
    if (parts.isEmpty() && calls.isEmpty()) {
      return; // only tool results
    }
    ObjectNode msg = out.addObject().put("role", role);
    if (role.equals("assistant")) {
      String text = ModelDoor.joinedText(parts);
      if (text.isEmpty() && !calls.isEmpty()) {
        msg.putNull("content");
      } else {
        msg.put("content", text);
      }
      if (!calls.isEmpty()) {
        msg.set("tool_calls", calls);
      }
    } else {
      msg.set("content", parts);
    }
  }

  private static void userOnly(String role, String at, String type) {
    if (!role.equals("user")) {
      throw ModelDoor.refused(at + ".type: " + type + " in an assistant turn (expected: in a user turn)");
    }
  }

  /** Text blocks as chat text parts (keeping {@code cache_control}). */
  private static ArrayNode textParts(JsonNode blocks, String where) {
    ArrayNode parts = Json.MAPPER.createArrayNode();
    for (int i = 0; i < blocks.size(); i++) {
      JsonNode b = blocks.get(i);
      if (!b.path("type").asText("").equals("text")) {
        throw ModelDoor.refused(where + "[" + i + "].type: '" + b.path("type").asText("") + "' (expected: text)");
      }
      ObjectNode p = parts.addObject().put("type", "text").put("text", b.path("text").asText(""));
      if (b.has("cache_control")) {
        p.set("cache_control", b.get("cache_control"));
      }
    }
    return parts;
  }

  private static void tools(ObjectNode body, ObjectNode chat) {
    JsonNode tools = body.get("tools");
    if (tools != null && tools.isArray() && !tools.isEmpty()) {
      ArrayNode out = chat.putArray("tools");
      for (int i = 0; i < tools.size(); i++) {
        JsonNode t = tools.get(i);
        String type = t.path("type").asText("custom");
        if (!type.equals("custom")) {
          throw ModelDoor.refused("tools[" + i + "].type: '" + type
              + "' (expected: custom; Anthropic's server tools are not routed through the gateway)");
        }
        ObjectNode tool = ModelDoor.functionTool(out, t.get("name"), t.get("description"), t.get("input_schema"));
        if (t.has("cache_control")) {
          tool.set("cache_control", t.get("cache_control"));
        }
      }
    }
    JsonNode choice = body.get("tool_choice");
    if (choice != null && choice.isObject()) {
      switch (choice.path("type").asText("auto")) {
        case "any" -> chat.put("tool_choice", "required");
        case "none" -> chat.put("tool_choice", "none");
        case "tool" -> chat.putObject("tool_choice").put("type", "function").putObject("function")
            .put("name", choice.path("name").asText(""));
        default -> chat.put("tool_choice", "auto");
      }
      if (choice.path("disable_parallel_tool_use").asBoolean(false)) {
        chat.put("parallel_tool_calls", false);
      }
    }
  }

  // ------------------------------------------------------------------ answer

  /** A {@code chat.completion} as a Messages {@code message}. */
  static ObjectNode message(JsonNode completion) {
    ObjectNode m = Json.object();
    m.put("id", messageId(completion.path("id").asText("")));
    m.put("type", "message");
    m.put("role", "assistant");
    m.put("model", completion.path("model").asText(""));
    ArrayNode content = m.putArray("content");
    JsonNode msg = completion.path("choices").path(0).path("message");
    String text = msg.path("content").asText("");
    if (text.isEmpty() && msg.hasNonNull("refusal")) {
      text = msg.get("refusal").asText();
    }
    if (!text.isEmpty()) {
      content.addObject().put("type", "text").put("text", text);
    }
    for (JsonNode c : msg.path("tool_calls")) {
      ObjectNode use = content.addObject();
      use.put("type", "tool_use");
      use.put("id", c.path("id").asText(""));
      use.put("name", c.path("function").path("name").asText(""));
      use.set("input", input(c.path("function").path("arguments").asText("")));
    }
    m.put("stop_reason", stopReason(completion.path("choices").path(0).path("finish_reason").asText("stop")));
    m.putNull("stop_sequence");
    m.set("usage", usage(completion.path("usage")));
    return m;
  }

  /** A tool call's arguments as the object {@code tool_use.input} must be (malformed JSON: kept as {@code _raw}). */
  private static ObjectNode input(String arguments) {
    if (arguments.isBlank()) {
      return Json.object();
    }
    try {
      if (Json.MAPPER.readTree(arguments) instanceof ObjectNode o) {
        return o;
      }
    } catch (IOException e) {
      // fall through
    }
    return Json.object().put("_raw", arguments);
  }

  private static String messageId(String id) {
    return id.startsWith("msg_") ? id : "msg_" + UUID.randomUUID().toString().replace("-", "");
  }

  static String stopReason(String finishReason) {
    return switch (finishReason) {
      case "length" -> "max_tokens";
      case "tool_calls", "function_call" -> "tool_use";
      case "content_filter" -> "refusal";
      default -> "end_turn";
    };
  }

  /** OpenAI's usage as Anthropic counts it: input tokens without the cached ones, which are reported apart. */
  static ObjectNode usage(JsonNode u) {
    long prompt = u.path("prompt_tokens").asLong(0);
    long cached = u.path("prompt_tokens_details").path("cached_tokens").asLong(0);
    ObjectNode out = Json.object();
    out.put("input_tokens", Math.max(0, prompt - cached));
    out.put("output_tokens", u.path("completion_tokens").asLong(0));
    out.put("cache_read_input_tokens", cached);
    out.put("cache_creation_input_tokens", 0);
    return out;
  }

  // ------------------------------------------------------------------ stream

  /**
   * Chat chunks as Messages events: {@code message_start} at the first chunk; a text block, then a
   * {@code tool_use} block per tool call (each closed before the next starts); at the end
   * {@code message_delta} with the stop reason and usage, and {@code message_stop}.
   */
  static final class Events implements StreamWriter {
    private boolean started;
    private int blocks;
    /** The open block's index, or -1; -2 while the open one is the text block. */
    private int open = -1;
    private boolean textOpen;
    private final Map<Integer, Integer> blockOfTool = new HashMap<>();
    private String finish = "stop";
    private JsonNode usage = Json.object();

    @Override
    public byte[] chunk(ObjectNode chunk) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      if (!started) {
        started = true;
        ObjectNode start = Json.object().put("type", "message_start");
        ObjectNode m = start.putObject("message");
        m.put("id", messageId(chunk.path("id").asText("")));
        m.put("type", "message");
        m.put("role", "assistant");
        m.put("model", chunk.path("model").asText(""));
        m.putArray("content");
        m.putNull("stop_reason");
        m.putNull("stop_sequence");
        m.putObject("usage").put("input_tokens", 0).put("output_tokens", 0);
        out.writeBytes(ModelDoor.event("message_start", start));
      }
      if (chunk.get("usage") instanceof ObjectNode u) {
        usage = u;
      }
      JsonNode choice = chunk.path("choices").path(0);
      JsonNode delta = choice.path("delta");
      String text = delta.path("content").asText("");
      if (!text.isEmpty()) {
        if (!textOpen) {
          close(out);
          textOpen = true;
          open = blocks++;
          ObjectNode s = Json.object().put("type", "content_block_start").put("index", open);
          s.putObject("content_block").put("type", "text").put("text", "");
          out.writeBytes(ModelDoor.event("content_block_start", s));
        }
        ObjectNode d = Json.object().put("type", "content_block_delta").put("index", open);
        d.putObject("delta").put("type", "text_delta").put("text", text);
        out.writeBytes(ModelDoor.event("content_block_delta", d));
      }
      for (JsonNode tc : delta.path("tool_calls")) {
        int tool = tc.path("index").asInt(0);
        Integer block = blockOfTool.get(tool);
        if (block == null) {
          close(out);
          textOpen = false;
          block = blocks++;
          open = block;
          blockOfTool.put(tool, block);
          ObjectNode s = Json.object().put("type", "content_block_start").put("index", block);
          ObjectNode use = s.putObject("content_block");
          use.put("type", "tool_use");
          use.put("id", tc.path("id").asText(""));
          use.put("name", tc.path("function").path("name").asText(""));
          use.putObject("input");
          out.writeBytes(ModelDoor.event("content_block_start", s));
        }
        String args = tc.path("function").path("arguments").asText("");
        if (!args.isEmpty()) {
          ObjectNode d = Json.object().put("type", "content_block_delta").put("index", block);
          d.putObject("delta").put("type", "input_json_delta").put("partial_json", args);
          out.writeBytes(ModelDoor.event("content_block_delta", d));
        }
      }
      if (choice.hasNonNull("finish_reason")) {
        finish = choice.get("finish_reason").asText();
      }
      return out.toByteArray();
    }

    private void close(ByteArrayOutputStream out) {
      if (open >= 0) {
        out.writeBytes(ModelDoor.event("content_block_stop", Json.object().put("type", "content_block_stop").put("index", open)));
        open = -1;
      }
    }

    @Override
    public byte[] done() {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      close(out);
      ObjectNode d = Json.object().put("type", "message_delta");
      d.putObject("delta").put("stop_reason", stopReason(finish)).putNull("stop_sequence");
      d.set("usage", usage(usage));
      out.writeBytes(ModelDoor.event("message_delta", d));
      out.writeBytes(ModelDoor.event("message_stop", Json.object().put("type", "message_stop")));
      return out.toByteArray();
    }

    @Override
    public byte[] failed(RouterException e) {
      ObjectNode err = Json.object().put("type", "error");
      err.putObject("error").put("type", errorType(e.status(), e.type())).put("message", e.getMessage());
      return ModelDoor.event("error", err);
    }
  }

  // ------------------------------------------------------------------ errors

  @Override
  public void error(Response response, Callback callback, int status, String type, String code, String message) {
    ObjectNode body = Json.object().put("type", "error");
    body.putObject("error").put("type", errorType(status, type)).put("message", message);
    McpHttpHandler.writeJson(response, callback, status, body, null);
  }

  /** Anthropic's error type for a status (OpenAI's type where the status says less). */
  static String errorType(int status, String openAiType) {
    return switch (status) {
      case 400, 405, 413, 415 -> status == 413 ? "request_too_large" : "invalid_request_error";
      case 401 -> "authentication_error";
      case 402 -> "billing_error";
      case 403 -> "permission_error";
      case 404 -> "not_found_error";
      case 429 -> "rate_limit_error";
      case 503, 529 -> "overloaded_error";
      default -> status >= 500 ? "api_error" : openAiType;
    };
  }
}
