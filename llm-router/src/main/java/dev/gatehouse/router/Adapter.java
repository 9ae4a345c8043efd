package dev.gatehouse.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;

/**
 * One provider wire format: translates an OpenAI request into the provider's HTTP request and the
 * provider's answer (whole or streamed) back into OpenAI's shape. Adapters are stateless; everything
 * about one call travels in {@link Call}.
 */
sealed interface Adapter permits OpenAiAdapter, AnthropicAdapter, GeminiAdapter, BedrockAdapter {

  /**
   * One call on one route, as an adapter sees it.
   *
   * @param provider the provider called
   * @param model the provider's model name
   * @param request the client's OpenAI request (never modified by an adapter)
   * @param stream whether the provider is asked to stream
   * @param created epoch seconds, for the {@code created} field of translated answers
   */
  record Call(ProviderState provider, String model, ObjectNode request, boolean stream, long created) {}

  /** A translated non-streaming answer and its usage. */
  record Translated(ObjectNode response, Usage usage) {}

  /**
   * The provider's request body for {@code call}, computed once per route (retries reuse it).
   *
   * @throws RouterException 400 when the request cannot be expressed in this wire format
   */
  byte[] body(Call call);

  /** The request head of one attempt with {@code key}; the router adds the body and timeouts, and sends it. */
  Outbound request(Call call, KeyState key, byte[] body);

  /** Translates a 2xx non-streaming body. */
  Translated response(Call call, byte[] body) throws IOException;

  /**
   * Reads the provider's stream to its end, feeding {@code out}; returns when the provider has said it
   * is done (or the body ended, which {@link StreamState#end()} then judges).
   *
   * @throws Failure when the provider reports an error inside the stream
   */
  void stream(Call call, InputStream body, StreamState out) throws IOException, Failure;

  static Adapter of(ProviderKind kind, Clock clock) {
    return switch (kind) {
      case ANTHROPIC -> new AnthropicAdapter();
      case GEMINI -> new GeminiAdapter();
      case BEDROCK -> new BedrockAdapter(clock);
      case OPENAI, AZURE, OPENAI_COMPATIBLE, VLLM, OLLAMA, GROQ, MISTRAL, TOGETHER, OPENROUTER, DEEPSEEK -> new OpenAiAdapter(kind);
    };
  }

  /**
   * The request's {@code provider_options} for {@code kind}: fields set on the provider's request body
   * as they are (replacing what the translation wrote under the same name), for what a format has and
   * OpenAI's shape does not. Options for other kinds are not sent.
   */
  static void providerOptions(ObjectNode req, ProviderKind kind, ObjectNode out) {
    if (req.path("provider_options").get(kind.id()) instanceof ObjectNode o) {
      out.setAll(o);
    }
  }

  /** A URI path segment, percent-encoded (model names may hold {@code :} or {@code /}). */
  static String segment(String s) {
    StringBuilder sb = new StringBuilder();
    for (byte b : s.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~') {
        sb.append((char) c);
      } else {
        sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
      }
    }
    return sb.toString();
  }

  /** A random id such as {@code call_3kT9…}: 24 characters of base62 after the prefix. */
  static String randomId(String prefix) {
    java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
    String alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    StringBuilder sb = new StringBuilder(prefix);
    for (int i = 0; i < 24; i++) {
      sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
    }
    return sb.toString();
  }

  /** Refuses {@code n} other than 1, for a format that returns one choice. */
  static void oneChoice(ObjectNode req, String provider) {
    int n = req.path("n").asInt(1);
    if (n != 1) {
      throw RouterException.badRequest("n", "n: " + n + " (expected: 1; " + provider + " returns one choice)");
    }
  }

  /**
   * The request's {@code max_completion_tokens}, else its {@code max_tokens}, when a positive int; else the
   * provider's {@code default_max_tokens}, for a format that requires a limit.
   */
  static int maxTokens(Call call) {
    ObjectNode req = call.request();
    JsonNode max = req.hasNonNull("max_completion_tokens") ? req.get("max_completion_tokens") : req.get("max_tokens");
    return max != null && max.canConvertToInt() && max.asInt() > 0 ? max.asInt() : call.provider().config.defaultMaxTokens();
  }

  /** The request's {@code stop} (a string or a non-empty array) as the array {@code field} of {@code into}. */
  static void stopSequences(ObjectNode req, ObjectNode into, String field) {
    JsonNode stop = req.get("stop");
    if (stop != null && stop.isTextual()) {
      into.putArray(field).add(stop.textValue());
    } else if (stop != null && stop.isArray() && !stop.isEmpty()) {
      into.set(field, stop);
    }
  }

  /**
   * Tool {@code i} of the request's {@code tools} as a new object holding its {@code name} and
   * {@code description}, which every format's declaration starts with; the schema is the format's.
   *
   * @throws RouterException 400 when the tool is not a function
   */
  static ObjectNode declaration(JsonNode tool, int i) {
    if (!tool.path("type").asText("function").equals("function")) {
      throw RouterException.badRequest("tools[" + i + "].type",
          "tools[" + i + "].type: '" + tool.path("type").asText() + "' (expected: function)");
    }
    JsonNode fn = tool.path("function");
    ObjectNode d = Json.object();
    d.put("name", fn.path("name").asText(""));
    if (fn.hasNonNull("description")) {
      d.put("description", fn.get("description").asText());
    }
    return d;
  }

  /** A {@code data:} URL's media type and base64 payload; null when {@code url} is not one. */
  static String[] dataUrl(String url) {
    if (url == null || !url.startsWith("data:")) {
      return null;
    }
    int comma = url.indexOf(',');
    int semi = url.indexOf(";base64");
    if (comma < 0 || semi < 0 || semi > comma) {
      return null;
    }
    return new String[] {url.substring(5, semi), url.substring(comma + 1)};
  }
}
