package dev.gatehouse.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Google's Gemini API ({@code generateContent}, {@code streamGenerateContent?alt=sse}). Gemini's
 * function calls carry no ids and its function responses are matched by name: the router mints an id
 * for every {@code functionCall} it returns, and when the conversation comes back it names each
 * {@code functionResponse} after the call its {@code tool_call_id} points to (a tool message whose id
 * matches no earlier call is refused, never sent with a made-up name). An answer with a function call
 * always finishes with {@code tool_calls}, whatever Gemini's {@code finishReason}.
 */
final class GeminiAdapter implements Adapter, Embeddings {
  /** The JSON Schema keywords Gemini's OpenAPI-subset {@code Schema} accepts; others are dropped. */
  private static final Set<String> SCHEMA_KEYS = Set.of("type", "format", "title", "description", "nullable", "enum",
      "maxItems", "minItems", "properties", "required", "minProperties", "maxProperties", "minLength", "maxLength",
      "pattern", "example", "anyOf", "propertyOrdering", "default", "items", "minimum", "maximum");

  @Override
  public byte[] body(Call call) {
    ObjectNode req = call.request();
    ObjectNode out = Json.object();
    Parts parts = new Parts();
    out.set("contents", Turns.of(req.path("messages"), "model", "parts", parts));
    if (!parts.system.isEmpty()) {
      out.putObject("systemInstruction").set("parts", parts.system);
    }
    ObjectNode gen = Json.object();
    copy(req, "temperature", gen, "temperature");
    copy(req, "top_p", gen, "topP");
    copy(req, "top_k", gen, "topK");
    copy(req, "n", gen, "candidateCount");
    copy(req, "presence_penalty", gen, "presencePenalty");
    copy(req, "frequency_penalty", gen, "frequencyPenalty");
    copy(req, "seed", gen, "seed");
    if (req.hasNonNull("max_completion_tokens")) {
      gen.set("maxOutputTokens", req.get("max_completion_tokens"));
    } else {
      copy(req, "max_tokens", gen, "maxOutputTokens");
    }
    Adapter.stopSequences(req, gen, "stopSequences");
    JsonNode format = req.path("response_format");
    switch (format.path("type").asText("")) {
      case "json_object" -> gen.put("responseMimeType", "application/json");
      case "json_schema" -> {
        gen.put("responseMimeType", "application/json");
        JsonNode schema = format.path("json_schema").get("schema");
        if (schema != null && schema.isObject()) {
          gen.set("responseSchema", schema(schema));
        }
      }
      default -> {
        // text, or none
      }
    }
    if (!gen.isEmpty()) {
      out.set("generationConfig", gen);
    }
    tools(req, out);
    Adapter.providerOptions(req, ProviderKind.GEMINI, out);
    return Json.bytes(out);
  }

  private static void copy(ObjectNode from, String field, ObjectNode to, String as) {
    if (from.hasNonNull(field)) {
      to.set(as, from.get(field));
    }
  }

  /** A tool's result: its JSON object when it is one, else {@code {"result": text}} (Gemini wants an object). */
  private static ObjectNode toolResponse(String text) {
    String t = text.strip();
    if (t.startsWith("{")) {
      try {
        return Json.parseObject(t);
      } catch (IOException notJson) {
        // plain text that happens to start with a brace
      }
    }
    ObjectNode r = Json.object();
    r.put("result", text);
    return r;
  }

  /**
   * Gemini parts: {@code text}, {@code inlineData} or {@code fileData}, and {@code functionCall} and
   * {@code functionResponse}, the latter named after the call it answers (Gemini matches them by name).
   */
  private static final class Parts extends Turns.PlainText {
    /** Function names by tool-call id, from the assistant messages so far. */
    final Map<String, String> names = new HashMap<>();

    @Override
    public void userPart(JsonNode part, String type, ArrayNode into, String where) {
      if (!type.equals("image_url") && !type.equals("file")) {
        throw RouterException.badRequest(where + ".type",
            where + ".type: '" + type + "' is not supported by Gemini (expected: text, image_url or file)");
      }
      String url = type.equals("file") ? part.path("file").path("file_data").asText("")
          : part.get("image_url") != null && part.get("image_url").isTextual() ? part.get("image_url").asText()
          : part.path("image_url").path("url").asText("");
      String[] data = Adapter.dataUrl(url);
      if (data != null) {
        into.addObject().putObject("inlineData").put("mimeType", data[0]).put("data", data[1]);
      } else if (!url.isEmpty()) {
        into.addObject().putObject("fileData").put("mimeType", mimeOf(url)).put("fileUri", url);
      } else {
        throw RouterException.badRequest(where, where + ": no URL (expected: a data: or https URL)");
      }
    }

    @Override
    public void toolCall(String id, String name, ObjectNode arguments, ArrayNode into) {
      names.put(id, name);
      ObjectNode fc = into.addObject().putObject("functionCall");
      fc.put("name", name);
      fc.set("args", arguments);
    }

    @Override
    public void toolResult(String toolCallId, JsonNode message, ArrayNode into, String where) {
      String name = names.get(toolCallId);
      if (name == null && message.hasNonNull("name")) {
        name = message.get("name").asText();
      }
      if (name == null || name.isEmpty()) {
        throw RouterException.badRequest(where + ".tool_call_id", where + ".tool_call_id: '" + toolCallId
            + "' matches no tool call of an earlier assistant message (expected: the id of the call this result answers)");
      }
      ObjectNode fr = into.addObject().putObject("functionResponse");
      fr.put("name", name);
      fr.set("response", toolResponse(Json.contentText(message.get("content"))));
    }
  }

  private static String mimeOf(String url) {
    String u = url.toLowerCase(Locale.ROOT);
    if (u.endsWith(".png")) {
      return "image/png";
    }
    if (u.endsWith(".gif")) {
      return "image/gif";
    }
    if (u.endsWith(".webp")) {
      return "image/webp";
    }
    if (u.endsWith(".pdf")) {
      return "application/pdf";
    }
    return "image/jpeg";
  }

  private static void tools(ObjectNode req, ObjectNode out) {
    JsonNode tools = req.path("tools");
    if (!tools.isArray() || tools.isEmpty()) {
      return;
    }
    ArrayNode decls = out.putArray("tools").addObject().putArray("functionDeclarations");
    for (int i = 0; i < tools.size(); i++) {
      JsonNode t = tools.get(i);
      ObjectNode d = Adapter.declaration(t, i);
      decls.add(d);
      JsonNode params = t.path("function").get("parameters");
      if (params != null && params.isObject() && !params.path("properties").isEmpty()) {
        d.set("parameters", schema(params));
      }
    }
    JsonNode choice = req.get("tool_choice");
    ObjectNode cfg = null;
    if (choice != null && choice.isTextual()) {
      cfg = Json.object();
      cfg.put("mode", switch (choice.textValue()) {
        case "none" -> "NONE";
        case "required" -> "ANY";
        default -> "AUTO";
      });
    } else if (choice != null && choice.isObject()) {
      cfg = Json.object();
      cfg.put("mode", "ANY");
      cfg.putArray("allowedFunctionNames").add(choice.path("function").path("name").asText(""));
    }
    if (cfg != null) {
      out.putObject("toolConfig").set("functionCallingConfig", cfg);
    }
  }

  /** JSON Schema to Gemini's subset: unknown keywords dropped, {@code ["x","null"]} types made nullable. */
  static JsonNode schema(JsonNode s) {
    if (!s.isObject()) {
      return s;
    }
    ObjectNode out = Json.object();
    Iterator<Map.Entry<String, JsonNode>> it = s.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> f = it.next();
      String k = f.getKey();
      JsonNode v = f.getValue();
      if (k.equals("const")) {
        out.putArray("enum").add(v);
        continue;
      }
      if (!SCHEMA_KEYS.contains(k)) {
        continue;
      }
      switch (k) {
        case "type" -> {
          if (v.isArray()) {
            String type = "string";
            for (JsonNode t : v) {
              if (t.asText().equals("null")) {
                out.put("nullable", true);
              } else {
                type = t.asText();
              }
            }
            out.put("type", type);
          } else {
            out.set("type", v);
          }
        }
        case "properties" -> {
          ObjectNode props = out.putObject("properties");
          v.fields().forEachRemaining(p -> props.set(p.getKey(), schema(p.getValue())));
        }
        case "items" -> out.set("items", schema(v));
        case "anyOf" -> {
          ArrayNode any = out.putArray("anyOf");
          v.forEach(x -> any.add(schema(x)));
        }
        default -> out.set(k, v);
      }
    }
    return out;
  }

  @Override
  public Outbound request(Call call, KeyState key, byte[] body) {
    return outbound(call, key, call.stream() ? ":streamGenerateContent?alt=sse" : ":generateContent", call.stream());
  }

  private static String model(Call call) {
    return call.model().startsWith("models/") ? call.model().substring(7) : call.model();
  }

  private static Outbound outbound(Call call, KeyState key, String method, boolean stream) {
    Outbound b = new Outbound(URI.create(key.baseUrl + "/v1beta/models/" + Adapter.segment(model(call)) + method))
        .header("Content-Type", "application/json")
        .header("Accept", stream ? "text/event-stream" : "application/json");
    key.secret().ifPresent(s -> b.header("x-goog-api-key", s));
    return b;
  }

  /**
   * {@code batchEmbedContents}: one request per input, {@code dimensions} as
   * {@code outputDimensionality}; {@code provider_options.gemini} fields (e.g. {@code taskType}) are set
   * on each of them.
   */
  @Override
  public byte[] embeddingsBody(Call call) {
    ObjectNode out = Json.object();
    ArrayNode requests = out.putArray("requests");
    for (String text : Embeddings.texts(call.request(), "Gemini")) {
      ObjectNode r = requests.addObject();
      r.put("model", "models/" + model(call));
      r.putObject("content").putArray("parts").addObject().put("text", text);
      if (call.request().hasNonNull("dimensions")) {
        r.set("outputDimensionality", call.request().get("dimensions"));
      }
      Adapter.providerOptions(call.request(), ProviderKind.GEMINI, r);
    }
    return Json.bytes(out);
  }

  @Override
  public Outbound embeddingsRequest(Call call, KeyState key, byte[] body) {
    return outbound(call, key, ":batchEmbedContents", false);
  }

  /** Gemini's vectors; its token count when it sends one, else estimated (it usually sends none). */
  @Override
  public Translated embeddingsResponse(Call call, byte[] body) throws IOException {
    ObjectNode r = Json.parseObject(body);
    if (!r.path("embeddings").isArray()) {
      throw new IOException("the provider's answer has no embeddings");
    }
    List<JsonNode> vectors = new ArrayList<>();
    r.path("embeddings").forEach(e -> vectors.add(e.path("values")));
    Usage usage = Embeddings.usage(r.path("usageMetadata").path("promptTokenCount").asLong(0), call.request(), "Gemini");
    return new Translated(Embeddings.list(call.request(), model(call), vectors, usage), usage);
  }

  @Override
  public Translated response(Call call, byte[] body) throws IOException {
    ObjectNode r = Json.parseObject(body);
    ObjectNode out = ChatCompletion.envelope("chat.completion",
        r.hasNonNull("responseId") ? r.get("responseId").asText() : Adapter.randomId("chatcmpl-"),
        call.created(), r.path("modelVersion").asText(call.model()));
    ArrayNode choices = out.putArray("choices");
    JsonNode candidates = r.path("candidates");
    for (int i = 0; i < candidates.size(); i++) {
      JsonNode cand = candidates.get(i);
      StringBuilder text = new StringBuilder();
      ArrayNode calls = Json.array();
      for (JsonNode part : cand.path("content").path("parts")) {
        if (part.has("functionCall")) {
          JsonNode fc = part.get("functionCall");
          ChatCompletion.toolCall(calls, fc.hasNonNull("id") ? fc.get("id").asText() : Adapter.randomId("call_"),
              fc.path("name").asText(), Json.text(fc.path("args").isObject() ? fc.get("args") : Json.object()));
        } else if (part.has("text") && !part.path("thought").asBoolean(false)) {
          text.append(part.get("text").asText());
        }
      }
      ChatCompletion.choice(choices, cand.path("index").asInt(i), text, calls, "",
          finishReason(cand.path("finishReason").asText(null), !calls.isEmpty()));
    }
    if (choices.isEmpty()) {
      // The prompt itself was blocked (promptFeedback.blockReason): no candidate at all.
      ChatCompletion.choice(choices, 0, "", Json.array(), "",
          r.path("promptFeedback").has("blockReason") ? "content_filter" : "stop");
    }
    Usage usage = usage(r.path("usageMetadata"));
    out.set("usage", usage.toOpenAi());
    return new Translated(out, usage);
  }

  static String finishReason(String reason, boolean toolCalls) {
    if (toolCalls) {
      return "tool_calls";
    }
    if (reason == null) {
      return "stop";
    }
    return switch (reason) {
      case "MAX_TOKENS" -> "length";
      case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY" -> "content_filter";
      default -> "stop";
    };
  }

  /** Gemini's prompt count includes cached content; thoughts are billed as output. */
  private static Usage usage(JsonNode u) {
    long prompt = u.path("promptTokenCount").asLong(0) + u.path("toolUsePromptTokenCount").asLong(0);
    long completion = u.path("candidatesTokenCount").asLong(0) + u.path("thoughtsTokenCount").asLong(0);
    return Usage.of(prompt, completion, u.path("cachedContentTokenCount").asLong(0), 0);
  }

  @Override
  public void stream(Call call, InputStream body, StreamState out) throws IOException, Failure {
    Sse sse = new Sse(body);
    Map<Integer, Integer> toolCount = new HashMap<>();
    Map<Integer, String> finishes = new HashMap<>();
    boolean first = true;
    for (Sse.Event e = sse.next(); e != null; e = sse.next()) {
      if (e.data().isBlank()) {
        continue;
      }
      ObjectNode r;
      try {
        r = Json.parseObject(e.data());
      } catch (IOException bad) {
        throw new IOException("Gemini sent a malformed chunk");
      }
      if (r.has("error")) {
        JsonNode err = r.get("error");
        int code = err.path("code").asInt(500);
        throw Failure.inStream(Failure.classify(code), code, err.path("status").asText(""), err.path("message").asText("error in stream"));
      }
      if (first) {
        out.meta(r.path("responseId").asText(null), r.path("modelVersion").asText(null));
        first = false;
      }
      JsonNode candidates = r.path("candidates");
      for (int i = 0; i < candidates.size(); i++) {
        JsonNode cand = candidates.get(i);
        int index = cand.path("index").asInt(i);
        for (JsonNode part : cand.path("content").path("parts")) {
          if (part.has("functionCall")) {
            JsonNode fc = part.get("functionCall");
            int t = toolCount.merge(index, 1, Integer::sum) - 1;
            out.toolStart(index, t, fc.hasNonNull("id") ? fc.get("id").asText() : Adapter.randomId("call_"), fc.path("name").asText());
            out.toolArguments(index, t, Json.text(fc.path("args").isObject() ? fc.get("args") : Json.object()));
          } else if (part.has("text") && !part.path("thought").asBoolean(false)) {
            out.text(index, part.get("text").asText());
          }
        }
        if (cand.hasNonNull("finishReason")) {
          finishes.put(index, cand.get("finishReason").asText());
        }
      }
      if (candidates.isEmpty() && r.path("promptFeedback").has("blockReason")) {
        finishes.put(0, "SAFETY");
      }
      if (r.has("usageMetadata")) {
        out.usage(usage(r.get("usageMetadata")));
      }
    }
    // Gemini's stream has no terminator: it is complete when every candidate has finished.
    if (!finishes.isEmpty()) {
      finishes.forEach((index, reason) -> out.finish(index, finishReason(reason, toolCount.containsKey(index))));
      out.complete();
    }
  }
}
