package dev.gatehouse.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * Embeddings in a provider's own wire format ({@code POST /v1/embeddings} for OpenAI-format providers,
 * Gemini's {@code batchEmbedContents}, Bedrock's {@code invoke} of an embedding model), and the OpenAI
 * {@code list} the router answers with whatever the provider.
 */
interface Embeddings {

  /**
   * The provider's request body for {@code call}'s OpenAI embeddings request.
   *
   * @throws RouterException 400 when the request cannot be expressed for this provider
   */
  byte[] embeddingsBody(Adapter.Call call);

  /** The request head of one attempt with {@code key} (signed over {@code body} where the format signs). */
  Outbound embeddingsRequest(Adapter.Call call, KeyState key, byte[] body);

  /** Translates a 2xx answer to OpenAI's {@code list}, with usage (input tokens only). */
  Adapter.Translated embeddingsResponse(Adapter.Call call, byte[] body) throws IOException;

  /**
   * The request's inputs as text: a string, or an array of strings.
   *
   * @throws RouterException 400 for token arrays, which only OpenAI-format providers take
   */
  static List<String> texts(ObjectNode request, String provider) {
    JsonNode input = request.get("input");
    List<String> out = new ArrayList<>();
    if (input != null && input.isTextual()) {
      out.add(input.textValue());
    } else if (input != null && input.isArray()) {
      for (JsonNode i : input) {
        if (!i.isTextual()) {
          throw RouterException.badRequest("input", "input: token arrays are not supported by " + provider + " (expected: strings)");
        }
        out.add(i.textValue());
      }
    }
    return out;
  }

  /**
   * OpenAI's {@code list} of {@code vectors}, each as floats, or as base64 of little-endian float32s when
   * the request asked for {@code encoding_format: base64} (as the official SDKs do by default).
   */
  static ObjectNode list(ObjectNode request, String model, List<JsonNode> vectors, Usage usage) {
    boolean base64 = "base64".equals(request.path("encoding_format").asText());
    ObjectNode out = Json.object();
    out.put("object", "list");
    ArrayNode data = out.putArray("data");
    for (int i = 0; i < vectors.size(); i++) {
      ObjectNode item = data.addObject();
      item.put("object", "embedding");
      item.put("index", i);
      JsonNode v = vectors.get(i);
      if (base64) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.size()).order(ByteOrder.LITTLE_ENDIAN);
        v.forEach(x -> b.putFloat((float) x.asDouble()));
        item.put("embedding", Base64.getEncoder().encodeToString(b.array()));
      } else {
        item.set("embedding", v);
      }
    }
    out.put("model", model);
    out.putObject("usage").put("prompt_tokens", usage.promptTokens()).put("total_tokens", usage.totalTokens());
    return out;
  }

  /** The provider's own token count when it sent one ({@code counted} > 0), else {@link #estimated}. */
  static Usage usage(long counted, ObjectNode request, String provider) {
    return counted > 0 ? new Usage(counted, 0, 0, 0, counted) : estimated(texts(request, provider));
  }

  /**
   * Input tokens estimated at four characters each, for providers whose embeddings answer counts none
   * (so that a call is never silently free).
   */
  static Usage estimated(List<String> texts) {
    long chars = 0;
    for (String t : texts) {
      chars += t.length();
    }
    long tokens = (chars + 3) / 4;
    return new Usage(tokens, 0, 0, 0, tokens);
  }
}
