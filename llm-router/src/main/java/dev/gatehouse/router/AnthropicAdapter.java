package dev.gatehouse.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.router.Attempt.Outcome;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.HashMap;
import java.util.Map;

/**
 * Anthropic's Messages API. System and developer messages become the top-level {@code system};
 * assistant tool calls become {@code tool_use} blocks and tool messages {@code tool_result} blocks in a
 * user turn; consecutive turns of the same role are merged (Anthropic requires alternation, and the
 * results of parallel tool calls must share one user turn); {@code max_tokens}, which Anthropic
 * requires, defaults to the provider's {@code default_max_tokens}. Answers come back with
 * {@code stop_reason} mapped to {@code finish_reason} and cache reads and writes counted into the
 * prompt tokens, as OpenAI counts them.
 */
final class AnthropicAdapter implements Adapter {
  static final String VERSION = "2023-06-01";

  @Override
  public byte[] body(Call call) {
    ObjectNode req = call.request();
    Adapter.oneChoice(req, "Anthropic");
    ObjectNode out = Json.object();
    out.put("model", call.model());
    Blocks blocks = new Blocks();
    ArrayNode messages = Turns.of(req.path("messages"), "assistant", "content", blocks);
    if (!blocks.system.isEmpty()) {
      if (blocks.systemCached) {
        out.set("system", blocks.system);
      } else {
        StringBuilder sb = new StringBuilder();
        for (JsonNode b : blocks.system) {
          sb.append(sb.isEmpty() ? "" : "\n\n").append(b.path("text").asText());
        }
        out.put("system", sb.toString());
      }
    }
    out.set("messages", messages);
    out.put("max_tokens", Adapter.maxTokens(call));
    for (String f : new String[] {"temperature", "top_p", "top_k"}) {
      if (req.hasNonNull(f)) {
        out.set(f, req.get(f));
      }
    }
    Adapter.stopSequences(req, out, "stop_sequences");
    if (req.hasNonNull("user")) {
      out.putObject("metadata").put("user_id", req.get("user").asText());
    }
    if (req.hasNonNull("thinking")) {
      out.set("thinking", req.get("thinking"));
    }
    tools(req, out);
    if (call.stream()) {
      out.put("stream", true);
    }
    Adapter.providerOptions(req, ProviderKind.ANTHROPIC, out);
    return Json.bytes(out);
  }

  private static void tools(ObjectNode req, ObjectNode out) {
    JsonNode tools = req.path("tools");
    if (!tools.isArray() || tools.isEmpty()) {
      return;
    }
    ArrayNode list = out.putArray("tools");
    for (int i = 0; i < tools.size(); i++) {
      JsonNode t = tools.get(i);
      ObjectNode tool = Adapter.declaration(t, i);
      list.add(tool);
      JsonNode params = t.path("function").get("parameters");
      if (params instanceof ObjectNode p) {
        tool.set("input_schema", p);
      } else {
        tool.putObject("input_schema").put("type", "object").putObject("properties");
      }
      if (t.has("cache_control")) {
        tool.set("cache_control", t.get("cache_control"));
      }
    }
    JsonNode choice = req.get("tool_choice");
    ObjectNode tc = null;
    if (choice != null && choice.isTextual()) {
      tc = Json.object();
      switch (choice.textValue()) {
        case "none" -> tc.put("type", "none");
        case "required" -> tc.put("type", "any");
        default -> tc.put("type", "auto");
      }
    } else if (choice != null && choice.isObject()) {
      tc = Json.object();
      tc.put("type", "tool");
      tc.put("name", choice.path("function").path("name").asText(""));
    }
    if (req.path("parallel_tool_calls").isBoolean() && !req.get("parallel_tool_calls").booleanValue()) {
      if (tc == null) {
        tc = Json.object();
        tc.put("type", "auto");
      }
      if (!tc.path("type").asText().equals("none")) {
        tc.put("disable_parallel_tool_use", true);
      }
    }
    if (tc != null) {
      out.set("tool_choice", tc);
    }
  }

  /** Text and refusal parts as text blocks (keeping a part's {@code cache_control}); true if any part had one. */
  private static boolean textBlocks(JsonNode content, ArrayNode into, String where) {
    boolean cache = false;
    if (content == null || content.isNull()) {
      return false;
    }
    if (content.isTextual()) {
      if (!content.textValue().isEmpty()) {
        textBlock(content.textValue(), null, into);
      }
      return false;
    }
    if (!content.isArray()) {
      throw RouterException.badRequest(where, where + ": " + content.getNodeType() + " (expected: a string or an array of parts)");
    }
    for (JsonNode part : content) {
      String type = part.path("type").asText("text");
      if (type.equals("text") || type.equals("refusal")) {
        String text = part.path(type.equals("text") ? "text" : "refusal").asText("");
        if (!text.isEmpty()) {
          cache |= textBlock(text, part, into);
        }
      }
    }
    return cache;
  }

  /** One text block, with {@code part}'s {@code cache_control} if it has one (then true). */
  private static boolean textBlock(String text, JsonNode part, ArrayNode into) {
    ObjectNode b = into.addObject().put("type", "text").put("text", text);
    if (part != null && part.has("cache_control")) {
      b.set("cache_control", part.get("cache_control"));
      return true;
    }
    return false;
  }

  /**
   * Messages API blocks: typed text blocks that keep a part's {@code cache_control}, system text kept
   * apart for the top-level {@code system}, {@code tool_use} and {@code tool_result} blocks.
   */
  private static final class Blocks implements Turns.Format {
    final ArrayNode system = Json.array();
    /** Whether a system part carried {@code cache_control}: then {@code system} must stay blocks. */
    boolean systemCached;

    @Override
    public void system(JsonNode content, String where) {
      systemCached |= textBlocks(content, system, where);
    }

    @Override
    public void userText(String text, JsonNode part, ArrayNode into) {
      textBlock(text, part, into);
    }

    @Override
    public void userPart(JsonNode part, String type, ArrayNode into, String where) {
      switch (type) {
        case "image_url" -> {
          JsonNode iu = part.get("image_url");
          String url = iu != null && iu.isTextual() ? iu.asText() : part.path("image_url").path("url").asText("");
          ObjectNode img = into.addObject();
          img.put("type", "image");
          String[] data = Adapter.dataUrl(url);
          ObjectNode source = img.putObject("source");
          if (data != null) {
            source.put("type", "base64").put("media_type", data[0]).put("data", data[1]);
          } else {
            source.put("type", "url").put("url", url);
          }
          if (part.has("cache_control")) {
            img.set("cache_control", part.get("cache_control"));
          }
        }
        case "file" -> {
          String[] data = Adapter.dataUrl(part.path("file").path("file_data").asText(""));
          if (data == null) {
            throw RouterException.badRequest(where, where + ".file: no file_data (expected: a base64 data: URL)");
          }
          ObjectNode doc = into.addObject();
          doc.put("type", "document");
          doc.putObject("source").put("type", "base64").put("media_type", data[0]).put("data", data[1]);
        }
        default -> throw RouterException.badRequest(where + ".type",
            where + ".type: '" + type + "' is not supported by Anthropic (expected: text, image_url or file)");
      }
    }

    @Override
    public void assistantText(JsonNode content, ArrayNode into, String where) {
      textBlocks(content, into, where);
    }

    @Override
    public void toolCall(String id, String name, ObjectNode arguments, ArrayNode into) {
      ObjectNode use = into.addObject();
      use.put("type", "tool_use");
      use.put("id", id);
      use.put("name", name);
      use.set("input", arguments);
    }

    @Override
    public void toolResult(String toolCallId, JsonNode message, ArrayNode into, String where) {
      ObjectNode result = into.addObject();
      result.put("type", "tool_result");
      result.put("tool_use_id", toolCallId);
      result.put("content", Json.contentText(message.get("content")));
    }
  }

  @Override
  public Outbound request(Call call, KeyState key, byte[] body) {
    Outbound b = new Outbound(URI.create(key.baseUrl + "/v1/messages"))
        .header("Content-Type", "application/json")
        .header("Accept", call.stream() ? "text/event-stream" : "application/json")
        .header("anthropic-version", VERSION);
    key.secret().ifPresent(s -> b.header("x-api-key", s));
    return b;
  }

  @Override
  public Translated response(Call call, byte[] body) throws IOException {
    ObjectNode r = Json.parseObject(body);
    StringBuilder text = new StringBuilder();
    ArrayNode calls = Json.array();
    for (JsonNode block : r.path("content")) {
      switch (block.path("type").asText()) {
        case "text" -> text.append(block.path("text").asText(""));
        case "tool_use" -> ChatCompletion.toolCall(calls, block.path("id").asText(), block.path("name").asText(),
            Json.text(block.path("input").isObject() ? block.get("input") : Json.object()));
        default -> {
          // thinking and server-tool blocks have no OpenAI counterpart
        }
      }
    }
    Usage usage = usage(r.path("usage"), 0, 0, 0, 0);
    ObjectNode out = ChatCompletion.envelope("chat.completion", r.path("id").asText(Adapter.randomId("chatcmpl-")),
        call.created(), r.path("model").asText(call.model()));
    ChatCompletion.choice(out.putArray("choices"), 0, text, calls, "",
        ChatCompletion.finishReason(finishReason(r.path("stop_reason").asText(null)), !calls.isEmpty()));
    out.set("usage", usage.toOpenAi());
    return new Translated(out, usage);
  }

  static String finishReason(String stopReason) {
    if (stopReason == null) {
      return "stop";
    }
    return switch (stopReason) {
      case "max_tokens", "model_context_window_exceeded" -> "length";
      case "tool_use" -> "tool_calls";
      case "refusal" -> "content_filter";
      default -> "stop";
    };
  }

  /** Anthropic counts cache reads and writes apart from {@code input_tokens}; OpenAI's prompt includes them. */
  private static Usage usage(JsonNode u, long input, long read, long write, long output) {
    long in = u.path("input_tokens").asLong(input);
    long cacheRead = u.path("cache_read_input_tokens").asLong(read);
    long cacheWrite = u.path("cache_creation_input_tokens").asLong(write);
    long out = u.path("output_tokens").asLong(output);
    return Usage.of(in + cacheRead + cacheWrite, out, cacheRead, cacheWrite);
  }

  @Override
  public void stream(Call call, InputStream body, StreamState out) throws IOException, Failure {
    Sse sse = new Sse(body);
    Map<Integer, Integer> toolByBlock = new HashMap<>();
    int nextTool = 0;
    long input = 0;
    long read = 0;
    long write = 0;
    long output = 0;
    for (Sse.Event e = sse.next(); e != null; e = sse.next()) {
      if (e.data().isBlank()) {
        continue;
      }
      ObjectNode d;
      try {
        d = Json.parseObject(e.data());
      } catch (IOException bad) {
        throw new IOException("Anthropic sent a malformed event");
      }
      String type = d.path("type").asText(e.event());
      switch (type) {
        case "message_start" -> {
          JsonNode m = d.path("message");
          out.meta(m.path("id").asText(null), m.path("model").asText(null));
          JsonNode u = m.path("usage");
          input = u.path("input_tokens").asLong(0);
          read = u.path("cache_read_input_tokens").asLong(0);
          write = u.path("cache_creation_input_tokens").asLong(0);
          output = u.path("output_tokens").asLong(0);
        }
        case "content_block_start" -> {
          JsonNode block = d.path("content_block");
          int index = d.path("index").asInt();
          if (block.path("type").asText().equals("tool_use")) {
            int t = nextTool++;
            toolByBlock.put(index, t);
            out.toolStart(0, t, block.path("id").asText(), block.path("name").asText());
            JsonNode input0 = block.get("input");
            if (input0 != null && input0.isObject() && !input0.isEmpty()) {
              out.toolArguments(0, t, Json.text(input0));
            }
          } else if (block.path("type").asText().equals("text")) {
            out.text(0, block.path("text").asText(""));
          }
        }
        case "content_block_delta" -> {
          JsonNode delta = d.path("delta");
          switch (delta.path("type").asText()) {
            case "text_delta" -> out.text(0, delta.path("text").asText(""));
            case "input_json_delta" -> {
              Integer t = toolByBlock.get(d.path("index").asInt());
              if (t != null) {
                out.toolArguments(0, t, delta.path("partial_json").asText(""));
              }
            }
            default -> {
              // thinking and signature deltas have no OpenAI counterpart
            }
          }
        }
        case "content_block_stop" -> {
          Integer t = toolByBlock.get(d.path("index").asInt());
          if (t != null && !out.hasArguments(0, t)) {
            out.toolArguments(0, t, "{}");
          }
        }
        case "message_delta" -> {
          JsonNode stop = d.path("delta").get("stop_reason");
          if (stop != null && stop.isTextual()) {
            out.finish(0, finishReason(stop.textValue()));
          }
          JsonNode u = d.path("usage");
          input = u.path("input_tokens").asLong(input);
          read = u.path("cache_read_input_tokens").asLong(read);
          write = u.path("cache_creation_input_tokens").asLong(write);
          output = u.path("output_tokens").asLong(output);
          out.usage(usage(Json.object(), input, read, write, output));
        }
        case "message_stop" -> {
          out.usage(usage(Json.object(), input, read, write, output));
          out.complete();
          return;
        }
        case "error" -> {
          JsonNode err = d.path("error");
          String errType = err.path("type").asText("api_error");
          String message = err.path("message").asText("error in stream");
          throw switch (errType) {
            case "rate_limit_error" -> Failure.inStream(Outcome.RATE_LIMITED, 429, errType, message);
            case "invalid_request_error" -> Failure.inStream(Outcome.CLIENT_ERROR, 400, errType, message);
            case "overloaded_error" -> Failure.inStream(Outcome.SERVER_ERROR, 529, errType, message);
            default -> Failure.inStream(Outcome.SERVER_ERROR, 500, errType, message);
          };
        }
        default -> {
          // ping and future event types
        }
      }
    }
  }
}
