package dev.gatehouse.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Token counts of one call, normalised to OpenAI's meaning whatever the provider: prompt tokens include
 * the cached ones (Anthropic and Bedrock count cache reads and writes apart; they are added back here).
 * A stream and a non-stream call with the same provider numbers give the same {@code Usage}.
 *
 * @param promptTokens every input token, cached or not
 * @param completionTokens every output token, reasoning included
 * @param cachedTokens prompt tokens read from the provider's prompt cache
 * @param cacheWriteTokens prompt tokens written to the provider's prompt cache (Anthropic, Bedrock)
 * @param totalTokens as the provider reports it, else prompt plus completion
 */
public record Usage(long promptTokens, long completionTokens, long cachedTokens, long cacheWriteTokens, long totalTokens) {
  /** No tokens at all: the provider reported no usage. */
  public static final Usage NONE = new Usage(0, 0, 0, 0, 0);

  public Usage {
    if (promptTokens < 0 || completionTokens < 0 || cachedTokens < 0 || cacheWriteTokens < 0 || totalTokens < 0) {
      throw new IllegalArgumentException("usage: " + promptTokens + "/" + completionTokens + "/" + cachedTokens + "/"
          + cacheWriteTokens + "/" + totalTokens + " (expected: token counts >= 0)");
    }
  }

  /** Usage with the total computed as prompt plus completion. */
  public static Usage of(long promptTokens, long completionTokens, long cachedTokens, long cacheWriteTokens) {
    return new Usage(promptTokens, completionTokens, cachedTokens, cacheWriteTokens, promptTokens + completionTokens);
  }

  /** Reads OpenAI's {@code usage} object (DeepSeek's {@code prompt_cache_hit_tokens} too); {@link #NONE} if absent. */
  static Usage fromOpenAi(JsonNode usage) {
    if (usage == null || !usage.isObject()) {
      return NONE;
    }
    long prompt = usage.path("prompt_tokens").asLong(0);
    long completion = usage.path("completion_tokens").asLong(0);
    long cached = usage.path("prompt_tokens_details").path("cached_tokens").asLong(
        usage.path("prompt_cache_hit_tokens").asLong(0));
    long total = usage.path("total_tokens").asLong(prompt + completion);
    return new Usage(prompt, completion, cached, 0, total);
  }

  /** OpenAI's {@code usage} object for these counts. */
  ObjectNode toOpenAi() {
    ObjectNode u = JsonNodeFactory.instance.objectNode();
    u.put("prompt_tokens", promptTokens);
    u.put("completion_tokens", completionTokens);
    u.put("total_tokens", totalTokens);
    u.putObject("prompt_tokens_details").put("cached_tokens", cachedTokens);
    return u;
  }
}
