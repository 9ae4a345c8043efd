package dev.gatehouse.router;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One provider under {@code providers:}: which wire format it speaks, where, with which keys, and how
 * calls to it are bounded and retried. The map key it sits under is the provider's name, the first
 * half of a {@code provider/model} route.
 *
 * <p>Secrets ({@link Key#value()}, {@code secret_access_key}, {@code session_token}) never appear in
 * {@link #toString()} nor in a validation message.
 *
 * @param kind the wire format
 * @param baseUrl where the API lives; defaults per kind ({@link ProviderKind#defaultBaseUrl()}); for
 *     Bedrock, {@code https://bedrock-runtime.<region>.amazonaws.com}
 * @param keys the API keys, tried by weight; optional for local servers and for Bedrock with credentials
 * @param apiVersion Azure's {@code api-version} query parameter (default {@value #AZURE_API_VERSION})
 * @param deployments Azure: model name to deployment name; a model not listed is its own deployment
 * @param region Bedrock: the AWS region to call and sign for
 * @param accessKeyId Bedrock SigV4 credentials: access key id
 * @param secretAccessKey Bedrock SigV4 credentials: secret access key
 * @param sessionToken Bedrock SigV4 credentials: session token of temporary credentials
 * @param timeouts connect, first-byte and total time limits of one attempt
 * @param maxConcurrency the most calls in flight to this provider at once; 0 for no limit
 * @param retry how often and how patiently a failed call is tried again on this provider
 * @param cooldown how long a failing or rejected key is left out
 * @param fallbacks {@code provider/model} routes (or aliases) tried, in order, when this provider fails
 * @param latencyAware whether keys are chosen by weight divided by their recent latency
 * @param models model names to list in {@code GET /v1/models}; Azure deployments and literal key
 *     allow-list entries are listed too
 * @param headers extra headers sent with every call (for example OpenRouter's {@code HTTP-Referer})
 * @param defaultMaxTokens Anthropic and Bedrock: {@code max_tokens} when the request sets none
 */
public record ProviderConfig(
    ProviderKind kind,
    Optional<URI> baseUrl,
    List<Key> keys,
    Optional<String> apiVersion,
    Map<String, String> deployments,
    Optional<String> region,
    Optional<String> accessKeyId,
    Optional<String> secretAccessKey,
    Optional<String> sessionToken,
    Timeouts timeouts,
    int maxConcurrency,
    Retry retry,
    Duration cooldown,
    List<String> fallbacks,
    boolean latencyAware,
    List<String> models,
    Map<String, String> headers,
    int defaultMaxTokens) {

  /** Azure's {@code api-version} when none is configured: the GA version with {@code stream_options}. */
  public static final String AZURE_API_VERSION = "2024-10-21";
  /** Anthropic and Bedrock need {@code max_tokens}; this is used when neither request nor config sets it. */
  public static final int DEFAULT_MAX_TOKENS = 4096;

  static final Pattern KEY_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  private static final Pattern REGION = Pattern.compile("[a-z]{2}(-[a-z]+)+-\\d");
  private static final Pattern HEADER = Pattern.compile("[A-Za-z0-9!#$%&'*+.^_`|~-]+");
  private static final Set<String> RESERVED_HEADERS = Set.of("host", "content-length", "connection", "expect", "upgrade");

  public ProviderConfig {
    if (kind == null) {
      throw new IllegalArgumentException("kind: missing (expected: one of openai, azure, anthropic, gemini, bedrock, "
          + "openai-compatible, vllm, ollama, groq, mistral, together, openrouter, deepseek)");
    }
    baseUrl = baseUrl == null ? Optional.empty() : baseUrl;
    baseUrl.ifPresent(u -> checkUrl("base_url", u));
    keys = keys == null ? List.of() : List.copyOf(keys);
    apiVersion = blankToEmpty(apiVersion);
    deployments = deployments == null ? Map.of() : Map.copyOf(deployments);
    region = blankToEmpty(region);
    accessKeyId = blankToEmpty(accessKeyId);
    secretAccessKey = blankToEmpty(secretAccessKey);
    sessionToken = blankToEmpty(sessionToken);
    timeouts = timeouts == null ? Timeouts.defaults() : timeouts;
    retry = retry == null ? Retry.defaults() : retry;
    cooldown = cooldown == null ? Duration.ofSeconds(30) : cooldown;
    fallbacks = fallbacks == null ? List.of() : List.copyOf(fallbacks);
    models = models == null ? List.of() : List.copyOf(models);
    headers = headers == null ? Map.of() : Map.copyOf(headers);

    if (maxConcurrency < 0) {
      throw new IllegalArgumentException("max_concurrency: " + maxConcurrency + " (expected: >= 0, 0 for no limit)");
    }
    if (cooldown.isNegative()) {
      throw new IllegalArgumentException("cooldown: " + cooldown + " (expected: >= 0)");
    }
    if (defaultMaxTokens <= 0) {
      throw new IllegalArgumentException("default_max_tokens: " + defaultMaxTokens + " (expected: > 0)");
    }
    for (int i = 0; i < fallbacks.size(); i++) {
      if (fallbacks.get(i).isBlank()) {
        throw new IllegalArgumentException("fallbacks[" + i + "]: empty (expected: provider/model or an alias)");
      }
    }
    for (int i = 0; i < models.size(); i++) {
      if (models.get(i).isBlank()) {
        throw new IllegalArgumentException("models[" + i + "]: empty (expected: a model name)");
      }
    }
    for (Map.Entry<String, String> d : deployments.entrySet()) {
      if (d.getKey().isBlank() || d.getValue().isBlank()) {
        throw new IllegalArgumentException("deployments." + d.getKey() + ": empty (expected: model: deployment-name)");
      }
    }
    for (String h : headers.keySet()) {
      if (!HEADER.matcher(h).matches() || RESERVED_HEADERS.contains(h.toLowerCase(Locale.ROOT))) {
        throw new IllegalArgumentException("headers." + h + ": not a header the router may set (expected: a header name other than "
            + String.join(", ", RESERVED_HEADERS) + ")");
      }
    }
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < keys.size(); i++) {
      String id = keys.get(i).id().orElse("key-" + (i + 1));
      if (!ids.add(id)) {
        throw new IllegalArgumentException("keys[" + i + "].id: '" + id + "' is used twice (expected: unique key ids)");
      }
    }
    boolean credentials = accessKeyId.isPresent() || secretAccessKey.isPresent();
    if (accessKeyId.isPresent() != secretAccessKey.isPresent()) {
      throw new IllegalArgumentException("access_key_id, secret_access_key: only one is set (expected: both, or neither)");
    }
    if (kind != ProviderKind.BEDROCK && (credentials || sessionToken.isPresent() || region.isPresent())) {
      throw new IllegalArgumentException("region, access_key_id, secret_access_key, session_token: set for kind " + kind
          + " (expected: only with kind bedrock)");
    }
    if (kind != ProviderKind.AZURE && (apiVersion.isPresent() || !deployments.isEmpty())) {
      throw new IllegalArgumentException("api_version, deployments: set for kind " + kind + " (expected: only with kind azure)");
    }
    switch (kind) {
      case AZURE -> {
        if (baseUrl.isEmpty() && (keys.isEmpty() || keys.stream().anyMatch(k -> k.baseUrl().isEmpty()))) {
          throw new IllegalArgumentException(
              "base_url: missing (expected: the resource's endpoint, such as https://my-resource.openai.azure.com, here or on every key)");
        }
      }
      case BEDROCK -> {
        if (region.isEmpty() || !REGION.matcher(region.get()).matches()) {
          throw new IllegalArgumentException("region: " + region.map(r -> "'" + r + "'").orElse("missing")
              + " (expected: an AWS region such as us-east-1)");
        }
        if (!credentials && keys.isEmpty()) {
          throw new IllegalArgumentException(
              "access_key_id, secret_access_key: missing (expected: SigV4 credentials, or keys holding Bedrock API keys)");
        }
        if (credentials && !keys.isEmpty()) {
          throw new IllegalArgumentException(
              "keys: set together with access_key_id (expected: either SigV4 credentials or Bedrock API keys, not both)");
        }
      }
      case OPENAI_COMPATIBLE -> {
        if (baseUrl.isEmpty()) {
          throw new IllegalArgumentException("base_url: missing (expected: the server's OpenAI API root, such as http://127.0.0.1:8000/v1)");
        }
      }
      default -> {
        if (keys.isEmpty() && !kind.keyOptional()) {
          throw new IllegalArgumentException("keys: empty (expected: at least one key for kind " + kind + ")");
        }
      }
    }
  }

  /** A provider of {@code kind} with these keys and every other setting at its default. */
  public static ProviderConfig of(ProviderKind kind, Key... keys) {
    return new ProviderConfig(kind, Optional.empty(), List.of(keys), Optional.empty(), Map.of(), Optional.empty(),
        Optional.empty(), Optional.empty(), Optional.empty(), Timeouts.defaults(), 0, Retry.defaults(),
        Duration.ofSeconds(30), List.of(), false, List.of(), Map.of(), DEFAULT_MAX_TOKENS);
  }

  /** A provider of {@code kind} at {@code baseUrl} (required for Azure and openai-compatible) with these keys. */
  public static ProviderConfig of(ProviderKind kind, String baseUrl, Key... keys) {
    return new ProviderConfig(kind, url("base_url", baseUrl), List.of(keys), Optional.empty(), Map.of(), Optional.empty(),
        Optional.empty(), Optional.empty(), Optional.empty(), Timeouts.defaults(), 0, Retry.defaults(),
        Duration.ofSeconds(30), List.of(), false, List.of(), Map.of(), DEFAULT_MAX_TOKENS);
  }

  /** A Bedrock provider signing with SigV4 credentials ({@code sessionToken} for temporary credentials). */
  public static ProviderConfig bedrock(String region, String accessKeyId, String secretAccessKey, Optional<String> sessionToken) {
    return new ProviderConfig(ProviderKind.BEDROCK, Optional.empty(), List.of(), Optional.empty(), Map.of(), Optional.of(region),
        Optional.of(accessKeyId), Optional.of(secretAccessKey), sessionToken, Timeouts.defaults(), 0, Retry.defaults(),
        Duration.ofSeconds(30), List.of(), false, List.of(), Map.of(), DEFAULT_MAX_TOKENS);
  }

  /** The YAML form; absent values take their documented defaults. */
  @JsonCreator
  static ProviderConfig fromConfig(
      @JsonProperty("kind") ProviderKind kind,
      @JsonProperty("base_url") String baseUrl,
      @JsonProperty("keys") List<Key> keys,
      @JsonProperty("api_version") String apiVersion,
      @JsonProperty("deployments") Map<String, String> deployments,
      @JsonProperty("region") String region,
      @JsonProperty("access_key_id") String accessKeyId,
      @JsonProperty("secret_access_key") String secretAccessKey,
      @JsonProperty("session_token") String sessionToken,
      @JsonProperty("timeouts") Timeouts timeouts,
      @JsonProperty("max_concurrency") Integer maxConcurrency,
      @JsonProperty("retry") Retry retry,
      @JsonProperty("cooldown") Duration cooldown,
      @JsonProperty("fallbacks") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> fallbacks,
      @JsonProperty("latency_aware") Boolean latencyAware,
      @JsonProperty("models") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> models,
      @JsonProperty("headers") Map<String, String> headers,
      @JsonProperty("default_max_tokens") Integer defaultMaxTokens) {
    return new ProviderConfig(kind, url("base_url", baseUrl), keys, Optional.ofNullable(apiVersion),
        deployments == null ? null : new LinkedHashMap<>(deployments), Optional.ofNullable(region),
        Optional.ofNullable(accessKeyId), Optional.ofNullable(secretAccessKey), Optional.ofNullable(sessionToken),
        timeouts, maxConcurrency == null ? 0 : maxConcurrency, retry, cooldown, fallbacks,
        latencyAware != null && latencyAware, models, headers, defaultMaxTokens == null ? DEFAULT_MAX_TOKENS : defaultMaxTokens);
  }

  /** The base URL in effect: the configured one, else the kind's default, else Bedrock's regional endpoint. */
  public URI effectiveBaseUrl() {
    return baseUrl.orElseGet(() -> kind == ProviderKind.BEDROCK
        ? URI.create("https://bedrock-runtime." + region.orElseThrow() + ".amazonaws.com")
        : URI.create(kind.defaultBaseUrl().orElse("http://invalid.invalid")));
  }

  /** This provider with another {@code base_url}. */
  public ProviderConfig withBaseUrl(String url) {
    return copy(b -> b.baseUrl = url("base_url", url));
  }

  /** This provider with other {@code keys}. */
  public ProviderConfig withKeys(List<Key> keys) {
    return copy(b -> b.keys = keys);
  }

  /** This provider with Azure's {@code api_version} and {@code deployments}. */
  public ProviderConfig withAzure(String apiVersion, Map<String, String> deployments) {
    return copy(b -> {
      b.apiVersion = Optional.of(apiVersion);
      b.deployments = deployments;
    });
  }

  /** This provider with another {@code timeouts}. */
  public ProviderConfig withTimeouts(Timeouts timeouts) {
    return copy(b -> b.timeouts = timeouts);
  }

  /** This provider with another {@code max_concurrency}. */
  public ProviderConfig withMaxConcurrency(int maxConcurrency) {
    return copy(b -> b.maxConcurrency = maxConcurrency);
  }

  /** This provider with another {@code retry}. */
  public ProviderConfig withRetry(Retry retry) {
    return copy(b -> b.retry = retry);
  }

  /** This provider with another {@code cooldown}. */
  public ProviderConfig withCooldown(Duration cooldown) {
    return copy(b -> b.cooldown = cooldown);
  }

  /** This provider with other {@code fallbacks}. */
  public ProviderConfig withFallbacks(List<String> fallbacks) {
    return copy(b -> b.fallbacks = fallbacks);
  }

  /** This provider with another {@code latency_aware}. */
  public ProviderConfig withLatencyAware(boolean latencyAware) {
    return copy(b -> b.latencyAware = latencyAware);
  }

  /** This provider with other advertised {@code models}. */
  public ProviderConfig withModels(List<String> models) {
    return copy(b -> b.models = models);
  }

  /** This provider with other extra {@code headers}. */
  public ProviderConfig withHeaders(Map<String, String> headers) {
    return copy(b -> b.headers = headers);
  }

  @Override
  public String toString() {
    return "ProviderConfig[kind=" + kind + ", baseUrl=" + baseUrl.map(URI::toString).orElse("(default)")
        + ", keys=" + keys + ", apiVersion=" + apiVersion.orElse("") + ", deployments=" + deployments
        + ", region=" + region.orElse("") + ", credentials=" + (accessKeyId.isPresent() ? "***" : "none")
        + ", timeouts=" + timeouts + ", maxConcurrency=" + maxConcurrency + ", retry=" + retry + ", cooldown=" + cooldown
        + ", fallbacks=" + fallbacks + ", latencyAware=" + latencyAware + ", models=" + models
        + ", headers=" + headers.keySet() + ", defaultMaxTokens=" + defaultMaxTokens + "]";
  }

  private interface Edit {
    void apply(Builder b);
  }

  private static final class Builder {
    ProviderKind kind;
    Optional<URI> baseUrl;
    List<Key> keys;
    Optional<String> apiVersion;
    Map<String, String> deployments;
    Optional<String> region;
    Optional<String> accessKeyId;
    Optional<String> secretAccessKey;
    Optional<String> sessionToken;
    Timeouts timeouts;
    int maxConcurrency;
    Retry retry;
    Duration cooldown;
    List<String> fallbacks;
    boolean latencyAware;
    List<String> models;
    Map<String, String> headers;
    int defaultMaxTokens;
  }

  private ProviderConfig copy(Edit edit) {
    Builder b = new Builder();
    b.kind = kind;
    b.baseUrl = baseUrl;
    b.keys = keys;
    b.apiVersion = apiVersion;
    b.deployments = deployments;
    b.region = region;
    b.accessKeyId = accessKeyId;
    b.secretAccessKey = secretAccessKey;
    b.sessionToken = sessionToken;
    b.timeouts = timeouts;
    b.maxConcurrency = maxConcurrency;
    b.retry = retry;
    b.cooldown = cooldown;
    b.fallbacks = fallbacks;
    b.latencyAware = latencyAware;
    b.models = models;
    b.headers = headers;
    b.defaultMaxTokens = defaultMaxTokens;
    edit.apply(b);
    return new ProviderConfig(b.kind, b.baseUrl, b.keys, b.apiVersion, b.deployments, b.region, b.accessKeyId,
        b.secretAccessKey, b.sessionToken, b.timeouts, b.maxConcurrency, b.retry, b.cooldown, b.fallbacks,
        b.latencyAware, b.models, b.headers, b.defaultMaxTokens);
  }

  private static Optional<String> blankToEmpty(Optional<String> s) {
    return s == null ? Optional.empty() : s.map(String::strip).filter(v -> !v.isEmpty());
  }

  static Optional<URI> url(String field, String text) {
    if (text == null || text.isBlank()) {
      return Optional.empty();
    }
    String t = text.strip();
    try {
      URI u = new URI(t.endsWith("/") ? t.substring(0, t.length() - 1) : t);
      checkUrl(field, u);
      return Optional.of(u);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(field + ": '" + t + "' is not a URL (expected: an http or https URL)");
    }
  }

  private static void checkUrl(String field, URI u) {
    String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
    if (!(scheme.equals("http") || scheme.equals("https")) || u.getHost() == null || u.getRawQuery() != null
        || u.getRawUserInfo() != null) {
      throw new IllegalArgumentException(field + ": '" + u + "' (expected: an http or https URL with a host, "
          + "no query and no user info)");
    }
  }

  /**
   * One API key of a provider.
   *
   * @param id a short name for headers, logs and audit; defaults to {@code key-<n>} (its position, from 1)
   * @param value the secret; write {@code ${env:VAR}} in config. Never shown by {@link #toString()}
   * @param weight the key's share of traffic relative to the other keys (default 1)
   * @param models glob patterns ({@code *} any run of characters) of the models this key may call;
   *     empty for every model
   * @param baseUrl a base URL for this key only, such as another Azure resource's endpoint
   */
  public record Key(Optional<String> id, String value, int weight, List<String> models, Optional<URI> baseUrl) {
    public Key {
      id = id == null ? Optional.empty() : id;
      id.ifPresent(i -> {
        if (!KEY_ID.matcher(i).matches()) {
          throw new IllegalArgumentException(
              "id: '" + i + "' (expected: 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit)");
        }
      });
      if (value == null || value.isBlank()) {
        throw new IllegalArgumentException("value: missing (expected: the API key, written ${env:VAR} in config)");
      }
      if (value.strip().length() != value.length() || value.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
        // The value itself is never echoed: only what is wrong with it.
        throw new IllegalArgumentException("value: contains whitespace or a non-ASCII character (expected: the key alone)");
      }
      if (weight <= 0) {
        throw new IllegalArgumentException("weight: " + weight + " (expected: > 0)");
      }
      models = models == null ? List.of() : List.copyOf(models);
      for (int i = 0; i < models.size(); i++) {
        if (models.get(i).isBlank()) {
          throw new IllegalArgumentException("models[" + i + "]: empty (expected: a model name or glob such as gpt-4o*)");
        }
        try {
          dev.gatehouse.policy.Glob.compile(models.get(i));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException("models[" + i + "]: " + e.getMessage(), e);
        }
      }
      baseUrl = baseUrl == null ? Optional.empty() : baseUrl;
      baseUrl.ifPresent(u -> checkUrl("base_url", u));
    }

    /** A key with weight 1, no id and no model restriction. */
    public static Key of(String value) {
      return new Key(Optional.empty(), value, 1, List.of(), Optional.empty());
    }

    /** A named key with this weight and no model restriction. */
    public static Key of(String id, String value, int weight) {
      return new Key(Optional.of(id), value, weight, List.of(), Optional.empty());
    }

    /** The YAML form: {@code weight} defaults to 1, {@code models} to every model. */
    @JsonCreator
    static Key fromConfig(
        @JsonProperty("id") String id,
        @JsonProperty("value") String value,
        @JsonProperty("weight") Integer weight,
        @JsonProperty("models") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> models,
        @JsonProperty("base_url") String baseUrl) {
      return new Key(Optional.ofNullable(id), value, weight == null ? 1 : weight, models, url("base_url", baseUrl));
    }

    /** This key with another model allow-list. */
    public Key withModels(List<String> models) {
      return new Key(id, value, weight, models, baseUrl);
    }

    /** This key with its own base URL. */
    public Key withBaseUrl(String url) {
      return new Key(id, value, weight, models, url("base_url", url));
    }

    @Override
    public String toString() {
      return "Key[id=" + id.orElse("(position)") + ", value=***, weight=" + weight + ", models=" + models
          + ", baseUrl=" + baseUrl.map(URI::toString).orElse("(provider's)") + "]";
    }
  }

  /**
   * Time limits of one attempt (each retry gets them afresh).
   *
   * @param connect to open the connection (TCP and TLS); also the longest wait for a free slot under
   *     {@code max_concurrency}
   * @param firstByte streams only: from sending the request to the first byte of the event stream
   * @param total the whole attempt, from sending the request to the last byte of the answer
   */
  public record Timeouts(Duration connect, Duration firstByte, Duration total) {
    public Timeouts {
      connect = positive("connect", connect, Duration.ofSeconds(10));
      firstByte = positive("first_byte", firstByte, Duration.ofSeconds(60));
      total = positive("total", total, Duration.ofMinutes(10));
    }

    /** connect 10s, first_byte 60s, total 10m. */
    public static Timeouts defaults() {
      return new Timeouts(null, null, null);
    }

    @JsonCreator
    static Timeouts fromConfig(
        @JsonProperty("connect") Duration connect,
        @JsonProperty("first_byte") Duration firstByte,
        @JsonProperty("total") Duration total) {
      return new Timeouts(connect, firstByte, total);
    }
  }

  /**
   * Retries on one provider: after a 429, a 5xx, a connection error or a timeout, with exponential
   * backoff ({@code base_delay * 2^(n-1)}, capped at {@code max_delay}) and jitter; a {@code Retry-After}
   * from the provider is honoured when it is within {@code max_delay}, else the next fallback is tried.
   *
   * @param maxAttempts attempts on this provider per call, the first included (default 3)
   * @param baseDelay the first backoff (default 250ms)
   * @param maxDelay the longest single wait (default 8s)
   */
  public record Retry(int maxAttempts, Duration baseDelay, Duration maxDelay) {
    public Retry {
      if (maxAttempts < 1 || maxAttempts > 20) {
        throw new IllegalArgumentException("max_attempts: " + maxAttempts + " (expected: 1 to 20)");
      }
      baseDelay = positive("base_delay", baseDelay, Duration.ofMillis(250));
      maxDelay = positive("max_delay", maxDelay, Duration.ofSeconds(8));
      if (maxDelay.compareTo(baseDelay) < 0) {
        throw new IllegalArgumentException("max_delay: " + maxDelay + " (expected: >= base_delay " + baseDelay + ")");
      }
    }

    /** 3 attempts, 250ms base delay, 8s max delay. */
    public static Retry defaults() {
      return new Retry(3, null, null);
    }

    @JsonCreator
    static Retry fromConfig(
        @JsonProperty("max_attempts") Integer maxAttempts,
        @JsonProperty("base_delay") Duration baseDelay,
        @JsonProperty("max_delay") Duration maxDelay) {
      return new Retry(maxAttempts == null ? 3 : maxAttempts, baseDelay, maxDelay);
    }
  }

  private static Duration positive(String field, Duration d, Duration fallback) {
    if (d == null) {
      return fallback;
    }
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(field + ": " + d + " (expected: > 0)");
    }
    return d;
  }

  /** The keys' ids in effect: configured ones, else {@code key-<position>}. */
  List<String> keyIds() {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < keys.size(); i++) {
      ids.add(keys.get(i).id().orElse("key-" + (i + 1)));
    }
    return ids;
  }
}
