package dev.gatehouse.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.gatehouse.router.Attempt.Outcome;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * OpenAI's wire format, spoken by OpenAI, Azure OpenAI and the compatible family. The client's body is
 * forwarded as it came (unknown fields included) with only the model, the stream flags and each
 * kind's known quirks changed, written in one pass without copying the conversation.
 *
 * <p>Streams always ask for {@code stream_options.include_usage} (Mistral sends usage unasked and
 * rejects the option), so usage and cost are known even when the client did not ask; the usage chunk
 * reaches the client only if it did.
 */
final class OpenAiAdapter implements Adapter, Embeddings {
  private static final Pattern MISTRAL_ID = Pattern.compile("[A-Za-z0-9]{9}");
  private static final String BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

  private final ProviderKind kind;

  OpenAiAdapter(ProviderKind kind) {
    this.kind = kind;
  }

  @Override
  public byte[] body(Call call) {
    ObjectNode req = call.request();
    Map<String, JsonNode> overrides = new HashMap<>();
    Set<String> drop = new HashSet<>();
    drop.add("fallbacks");
    drop.add("provider_options");
    drop.add(RouteOptions.TRACE_FIELD);
    overrides.put("model", TextNode.valueOf(call.model()));
    if (call.stream()) {
      overrides.put("stream", BooleanNode.TRUE);
      if (kind == ProviderKind.MISTRAL) {
        drop.add("stream_options");
      } else {
        ObjectNode options = req.get("stream_options") instanceof ObjectNode so ? so.deepCopy() : Json.object();
        options.put("include_usage", true);
        overrides.put("stream_options", options);
      }
    } else {
      drop.add("stream");
      drop.add("stream_options");
    }
    if (kind != ProviderKind.OPENAI && kind != ProviderKind.AZURE && req.has("max_completion_tokens")) {
      // Most compatible servers know only the older name.
      drop.add("max_completion_tokens");
      if (!req.has("max_tokens")) {
        overrides.put("max_tokens", req.get("max_completion_tokens"));
      }
    }
    if (kind == ProviderKind.MISTRAL) {
      mistral(req, overrides, drop);
    }
    if (req.path("provider_options").get(kind.id()) instanceof ObjectNode o) {
      o.fields().forEachRemaining(e -> overrides.put(e.getKey(), e.getValue()));
    }
    return Json.bytesWith(req, overrides, drop);
  }

  /**
   * Mistral's dialect: {@code tool_choice: "required"} is {@code "any"}, {@code seed} is
   * {@code random_seed}, and tool-call ids must be nine letters or digits (ids minted by another
   * provider, after a fallback, are mapped to stable ones).
   */
  private static void mistral(ObjectNode req, Map<String, JsonNode> overrides, Set<String> drop) {
    JsonNode choice = req.get("tool_choice");
    if (choice != null && choice.isTextual() && choice.textValue().equals("required")) {
      overrides.put("tool_choice", TextNode.valueOf("any"));
    }
    if (req.has("seed")) {
      drop.add("seed");
      overrides.put("random_seed", req.get("seed"));
    }
    JsonNode messages = req.get("messages");
    if (messages != null && messages.isArray() && needsIdMapping(messages)) {
      ArrayNode mapped = ((ArrayNode) messages).deepCopy();
      for (JsonNode m : mapped) {
        if (m.get("tool_calls") instanceof ArrayNode calls) {
          for (JsonNode c : calls) {
            if (c instanceof ObjectNode o && o.hasNonNull("id")) {
              o.put("id", mistralId(o.get("id").asText()));
            }
          }
        }
        if (m instanceof ObjectNode o && o.hasNonNull("tool_call_id")) {
          o.put("tool_call_id", mistralId(o.get("tool_call_id").asText()));
        }
      }
      overrides.put("messages", mapped);
    }
  }

  private static boolean needsIdMapping(JsonNode messages) {
    for (JsonNode m : messages) {
      for (JsonNode c : m.path("tool_calls")) {
        if (!MISTRAL_ID.matcher(c.path("id").asText("")).matches()) {
          return true;
        }
      }
      if (m.hasNonNull("tool_call_id") && !MISTRAL_ID.matcher(m.get("tool_call_id").asText()).matches()) {
        return true;
      }
    }
    return false;
  }

  static String mistralId(String id) {
    if (MISTRAL_ID.matcher(id).matches()) {
      return id;
    }
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8));
      StringBuilder sb = new StringBuilder(9);
      for (int i = 0; i < 9; i++) {
        sb.append(BASE62.charAt((h[i] & 0xff) % BASE62.length()));
      }
      return sb.toString();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }

  @Override
  public Outbound request(Call call, KeyState key, byte[] body) {
    return request(call, key, "chat/completions");
  }

  /**
   * The body of an embeddings request: the client's, with the provider's model name, without the
   * router's {@code fallbacks} and {@code provider_options} (whose fields for this kind are set).
   */
  @Override
  public byte[] embeddingsBody(Call call) {
    ObjectNode req = call.request().deepCopy();
    req.remove("fallbacks");
    req.remove("provider_options");
    req.remove(RouteOptions.TRACE_FIELD);
    req.put("model", call.model());
    Adapter.providerOptions(call.request(), kind, req);
    return Json.bytes(req);
  }

  /** The request head of an embeddings attempt ({@code /embeddings}, or the Azure deployment's). */
  @Override
  public Outbound embeddingsRequest(Call call, KeyState key, byte[] body) {
    return request(call, key, "embeddings");
  }

  /** A 2xx embeddings answer: the provider's {@code list} of vectors, with its usage (input tokens only). */
  @Override
  public Translated embeddingsResponse(Call call, byte[] body) throws IOException {
    ObjectNode response = Json.parseObject(body);
    if (!response.path("data").isArray()) {
      throw new IOException("the provider's answer has no data");
    }
    long prompt = response.path("usage").path("prompt_tokens").asLong(0);
    long total = response.path("usage").path("total_tokens").asLong(prompt);
    return new Translated(response, new Usage(prompt, 0, 0, 0, Math.max(total, prompt)));
  }

  private Outbound request(Call call, KeyState key, String operation) {
    URI uri;
    if (kind == ProviderKind.AZURE) {
      ProviderConfig cfg = call.provider().config;
      String deployment = cfg.deployments().getOrDefault(call.model(), call.model());
      String base = key.baseUrl.toString();
      if (!base.endsWith("/openai")) {
        base = base + "/openai";
      }
      uri = URI.create(base + "/deployments/" + Adapter.segment(deployment) + "/" + operation + "?api-version="
          + Adapter.segment(cfg.apiVersion().orElse(ProviderConfig.AZURE_API_VERSION)));
    } else {
      uri = URI.create(key.baseUrl + "/" + operation);
    }
    Outbound b = new Outbound(uri)
        .header("Content-Type", "application/json")
        .header("Accept", call.stream() ? "text/event-stream" : "application/json");
    if (key.secret().isPresent()) {
      if (kind == ProviderKind.AZURE) {
        b.header("api-key", key.secret().get());
      } else {
        b.header("Authorization", "Bearer " + key.secret().get());
      }
    }
    return b;
  }

  @Override
  public Translated response(Call call, byte[] body) throws IOException {
    ObjectNode response = Json.parseObject(body);
    if (!response.path("choices").isArray()) {
      throw new IOException("the provider's answer has no choices");
    }
    for (JsonNode choice : response.get("choices")) {
      if (choice.get("message") instanceof ObjectNode msg && !msg.has("role")) {
        msg.put("role", "assistant");
      }
    }
    if (!response.has("object")) {
      response.put("object", "chat.completion");
    }
    return new Translated(response, Usage.fromOpenAi(response.get("usage")));
  }

  @Override
  public void stream(Call call, InputStream body, StreamState out) throws IOException, Failure {
    Sse sse = new Sse(body);
    for (Sse.Event e = sse.next(); e != null; e = sse.next()) {
      String data = e.data().strip();
      if (data.isEmpty()) {
        continue;
      }
      if (data.equals("[DONE]")) {
        out.complete();
        return;
      }
      ObjectNode chunk;
      try {
        chunk = Json.parseObject(data);
      } catch (IOException bad) {
        throw new IOException("the provider sent a malformed chunk");
      }
      JsonNode error = chunk.get("error");
      if (error != null && !error.isNull()) {
        String code = error.path("code").asText(error.path("type").asText(""));
        Outcome outcome = code.contains("rate_limit") ? Outcome.RATE_LIMITED : Outcome.SERVER_ERROR;
        throw Failure.inStream(outcome, 0, code, error.isTextual() ? error.asText() : error.path("message").asText("error in stream"));
      }
      out.openAiChunk(chunk);
    }
  }
}
