package dev.gatehouse.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.router.Attempt.Outcome;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
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
    int n = req.path("n").asInt(1);
    if (n != 1) {
      throw RouterException.badRequest("n", "n: " + n + " (expected: 1; Anthropic returns one choice)");
    }
    ObjectNode out = Json.object();
    out.put("model", call.model());
    ArrayNode system = Json.array();
    boolean systemBlocks = false;
    ArrayNode messages = Json.array();
    String lastRole = null;
    ArrayNode last = null;
    JsonNode msgs = req.path("messages");
    for (int i = 0; i < msgs.size(); i++) {
      JsonNode m = msgs.get(i);
      String role = m.path("role").asText("");
      String where = "messages[" + i + "]";
      ArrayNode blocks = Json.array();
      switch (role) {
        case "system", "developer" -> {
          systemBlocks |= textBlocks(m.get("content"), system, where + ".content");
          continue;
        }
        case "user" -> userBlocks(m.get("content"), blocks, where + ".content");
        case "assistant" -> {
          textBlocks(m.get("content"), blocks, where + ".content");
          JsonNode calls = m.path("tool_calls");
          for (int j = 0; j < calls.size(); j++) {
            JsonNode c = calls.get(j);
            ObjectNode use = blocks.addObject();
            use.put("type", "tool_use");
            use.put("id", c.path("id").asText(""));
            use.put("name", c.path("function").path("name").asText(""));
            use.set("input", Json.arguments(c.path("function").get("arguments"), where + ".tool_calls[" + j + "].function.arguments"));
          }
        }
        case "tool" -> {
          ObjectNode result = blocks.addObject();
          result.put("type", "tool_result");
          result.put("tool_use_id", m.path("tool_call_id").asText(""));
          result.put("content", Json.contentText(m.get("content")));
        }
        default -> throw RouterException.badRequest(where + ".role",
            where + ".role: '" + role + "' (expected: system, developer, user, assistant or tool)");
      }
      if (blocks.isEmpty()) {
        continue;
      }
      String turn = role.equals("assistant") ? "assistant" : "user";
      if (turn.equals(lastRole)) {
        last.addAll(blocks);
      } else {
        ObjectNode msg = messages.addObject();
        msg.put("role", turn);
        last = msg.putArray("content");
        last.addAll(blocks);
        lastRole = turn;
      }
    }
    if (!system.isEmpty()) {
      if (systemBlocks) {
        out.set("system", system);
      } else {
        StringBuilder sb = new StringBuilder();
        for (JsonNode b : system) {
          sb.append(sb.isEmpty() ? "" : "\n\n").append(b.path("text").asText());
        }
        out.put("system", sb.toString());
      }
    }
    out.set("messages", messages);
    JsonNode max = req.hasNonNull("max_completion_tokens") ? req.get("max_completion_tokens") : req.get("max_tokens");
    out.put("max_tokens", max != null && max.canConvertToInt() && max.asInt() > 0 ? max.asInt()
        : call.provider().config.defaultMaxTokens());
    for (String f : new String[] {"temperature", "top_p", "top_k"}) {
      if (req.hasNonNull(f)) {
        out.set(f, req.get(f));
      }
    }
    JsonNode stop = req.get("stop");
    if (stop != null && stop.isTextual()) {
      out.putArray("stop_sequences").add(stop.textValue());
    } else if (stop != null && stop.isArray() && !stop.isEmpty()) {
      out.set("stop_sequences", stop);
    }
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
      if (!t.path("type").asText("function").equals("function")) {
        throw RouterException.badRequest("tools[" + i + "].type",
            "tools[" + i + "].type: '" + t.path("type").asText() + "' (expected: function)");
      }
      JsonNode fn = t.path("function");
      ObjectNode tool = list.addObject();
      tool.put("name", fn.path("name").asText(""));
      if (fn.hasNonNull("description")) {
        tool.put("description", fn.get("description").asText());
      }
      JsonNode params = fn.get("parameters");
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

  /** Text parts as text blocks (keeping a part's {@code cache_control}); true if any part had one. */
  private static boolean textBlocks(JsonNode content, ArrayNode into, String where) {
    boolean cache = false;
    if (content == null || content.isNull()) {
      return false;
    }
    if (content.isTextual()) {
      if (!content.textValue().isEmpty()) {
        into.addObject().put("type", "text").put("text", content.textValue());
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
          ObjectNode b = into.addObject().put("type", "text").put("text", text);
          if (part.has("cache_control")) {
            b.set("cache_control", part.get("cache_control"));
            cache = true;
          }
        }
      }
    }
    return cache;
  }

  private static void userBlocks(JsonNode content, ArrayNode into, String where) {
    if (content == null || content.isNull() || content.isTextual()) {
      textBlocks(content, into, where);
      return;
    }
    if (!content.isArray()) {
      throw RouterException.badRequest(where, where + ": " + content.getNodeType() + " (expected: a string or an array of parts)");
    }
    for (int j = 0; j < content.size(); j++) {
      JsonNode part = content.get(j);
      String type = part.path("type").asText("text");
      switch (type) {
        case "text" -> {
          ArrayNode one = Json.array();
          one.add(part);
          textBlocks(one, into, where);
        }
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
            throw RouterException.badRequest(where + "[" + j + "]", where + "[" + j + "].file: no file_data (expected: a base64 data: URL)");
          }
          ObjectNode doc = into.addObject();
          doc.put("type", "document");
          doc.putObject("source").put("type", "base64").put("media_type", data[0]).put("data", data[1]);
        }
        default -> throw RouterException.badRequest(where + "[" + j + "].type",
            where + "[" + j + "].type: '" + type + "' is not supported by Anthropic (expected: text, image_url or file)");
      }
    }
  }

  @Override
  public HttpRequest.Builder request(Call call, KeyState key, byte[] body) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(key.baseUrl + "/v1/messages"))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body))
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
        case "tool_use" -> {
          ObjectNode c = calls.addObject();
          c.put("id", block.path("id").asText());
          c.put("type", "function");
          ObjectNode fn = c.putObject("function");
          fn.put("name", block.path("name").asText());
          fn.put("arguments", Json.text(block.path("input").isObject() ? block.get("input") : Json.object()));
        }
        default -> {
          // thinking and server-tool blocks have no OpenAI counterpart
        }
      }
    }
    Usage usage = usage(r.path("usage"), 0, 0, 0, 0);
    String finish = finishReason(r.path("stop_reason").asText(null));
    if (!calls.isEmpty() && finish.equals("stop")) {
      finish = "tool_calls";
    }
    ObjectNode out = Json.object();
    out.put("id", r.path("id").asText(Adapter.randomId("chatcmpl-")));
    out.put("object", "chat.completion");
    out.put("created", call.created());
    out.put("model", r.path("model").asText(call.model()));
    ObjectNode choice = out.putArray("choices").addObject();
    choice.put("index", 0);
    ObjectNode msg = choice.putObject("message");
    msg.put("role", "assistant");
    if (text.isEmpty() && !calls.isEmpty()) {
      msg.putNull("content");
    } else {
      msg.put("content", text.toString());
    }
    if (!calls.isEmpty()) {
      msg.set("tool_calls", calls);
    }
    msg.putNull("refusal");
    choice.putNull("logprobs");
    choice.put("finish_reason", finish);
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
