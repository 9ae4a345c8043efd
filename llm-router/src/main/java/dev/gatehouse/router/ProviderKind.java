package dev.gatehouse.router;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The wire format a provider speaks, written in config as {@code kind: anthropic}. The OpenAI-compatible
 * family ({@code openai-compatible} and the named hosts after it) share one adapter; a named kind only
 * adds its default base URL and its known quirks.
 */
public enum ProviderKind {
  /** OpenAI's own API. */
  OPENAI("openai", "https://api.openai.com/v1"),
  /** Azure OpenAI: per-deployment URLs, {@code api-version}, the {@code api-key} header. */
  AZURE("azure", null),
  /** Anthropic's Messages API. */
  ANTHROPIC("anthropic", "https://api.anthropic.com"),
  /** Google's Gemini API ({@code generateContent}). */
  GEMINI("gemini", "https://generativelanguage.googleapis.com"),
  /** Amazon Bedrock's Converse API, SigV4-signed (or a Bedrock API key as a bearer token). */
  BEDROCK("bedrock", null),
  /** Any server that speaks OpenAI's chat completions; {@code base_url} is required. */
  OPENAI_COMPATIBLE("openai-compatible", null),
  /** vLLM's OpenAI-compatible server. */
  VLLM("vllm", "http://127.0.0.1:8000/v1"),
  /** Ollama's OpenAI-compatible endpoint. */
  OLLAMA("ollama", "http://127.0.0.1:11434/v1"),
  /** Groq. */
  GROQ("groq", "https://api.groq.com/openai/v1"),
  /** Mistral's La Plateforme. */
  MISTRAL("mistral", "https://api.mistral.ai/v1"),
  /** Together AI. */
  TOGETHER("together", "https://api.together.xyz/v1"),
  /** OpenRouter. */
  OPENROUTER("openrouter", "https://openrouter.ai/api/v1"),
  /** DeepSeek. */
  DEEPSEEK("deepseek", "https://api.deepseek.com/v1");

  private final String id;
  private final String defaultBaseUrl;

  ProviderKind(String id, String defaultBaseUrl) {
    this.id = id;
    this.defaultBaseUrl = defaultBaseUrl;
  }

  /** The name used in config, such as {@code openai-compatible}. */
  @JsonValue
  public String id() {
    return id;
  }

  /**
   * The base URL used when the config gives none. Empty for kinds whose URL is per account: Azure
   * (the resource's endpoint), Bedrock (derived from {@code region}) and plain {@code openai-compatible}.
   */
  public Optional<String> defaultBaseUrl() {
    return Optional.ofNullable(defaultBaseUrl);
  }

  /** Whether this kind speaks OpenAI's wire format (OpenAI, Azure and the compatible family). */
  public boolean openAiWire() {
    return this != ANTHROPIC && this != GEMINI && this != BEDROCK;
  }

  /** Whether a call without any key is allowed: local servers usually need none. */
  boolean keyOptional() {
    return this == OPENAI_COMPATIBLE || this == VLLM || this == OLLAMA || this == BEDROCK;
  }

  /** Whether {@code id} is exactly a kind's id, as {@code provider_options} keys must be. */
  static boolean known(String id) {
    return Arrays.stream(values()).anyMatch(k -> k.id.equals(id));
  }

  /** The kind named {@code name} (case-insensitive; {@code _} and {@code -} alike). */
  @JsonCreator
  public static ProviderKind of(String name) {
    if (name != null) {
      String wanted = name.strip().toLowerCase(Locale.ROOT).replace('_', '-');
      for (ProviderKind k : values()) {
        if (k.id.equals(wanted)) {
          return k;
        }
      }
    }
    throw new IllegalArgumentException("kind: '" + name + "' (expected: one of "
        + Arrays.stream(values()).map(ProviderKind::id).collect(Collectors.joining(", ")) + ")");
  }

  @Override
  public String toString() {
    return id;
  }
}
