package dev.gatehouse.router;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.math.BigDecimal;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The router's configuration: the {@code providers:}, {@code aliases:} and {@code prices:} sections.
 * Bindable from YAML with snake_case keys; the gateway nests it in its own config and resolves
 * {@code ${env:…}} before binding.
 *
 * @param providers provider name (the first half of {@code provider/model}) to its settings; order kept
 * @param aliases a model name clients may use to the {@code provider/model} it stands for
 * @param prices {@code provider/model}, or a glob over it ({@code *} any run of characters), to its
 *     price; consulted before the built-in defaults (listed in docs/router.md)
 */
public record RouterConfig(Map<String, ProviderConfig> providers, Map<String, String> aliases, Map<String, Price> prices) {

  static final Pattern PROVIDER_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

  public RouterConfig {
    providers = providers == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(providers));
    aliases = aliases == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(aliases));
    prices = prices == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(prices));
    for (String name : providers.keySet()) {
      if (!PROVIDER_NAME.matcher(name).matches()) {
        throw new IllegalArgumentException("providers." + name + ": not a provider name (expected: 1 to 64 letters, digits, "
            + "'.', '_' or '-', starting with a letter or digit; no '/')");
      }
      if (providers.get(name) == null) {
        throw new IllegalArgumentException("providers." + name + ": empty (expected: a provider with at least a kind)");
      }
    }
    for (Map.Entry<String, String> a : aliases.entrySet()) {
      if (a.getKey().isBlank() || a.getKey().chars().anyMatch(Character::isWhitespace)) {
        throw new IllegalArgumentException("aliases: '" + a.getKey() + "' (expected: a model name without spaces)");
      }
      if (providers.containsKey(a.getKey())) {
        throw new IllegalArgumentException("aliases." + a.getKey() + ": also a provider's name (expected: distinct names)");
      }
      checkRoute("aliases." + a.getKey(), a.getValue(), providers, Map.of());
    }
    for (Map.Entry<String, ProviderConfig> p : providers.entrySet()) {
      var fallbacks = p.getValue().fallbacks();
      for (int i = 0; i < fallbacks.size(); i++) {
        checkRoute("providers." + p.getKey() + ".fallbacks[" + i + "]", fallbacks.get(i), providers, aliases);
      }
    }
    for (Map.Entry<String, Price> e : prices.entrySet()) {
      if (e.getKey().isBlank()) {
        throw new IllegalArgumentException("prices: empty model pattern (expected: provider/model or a glob such as openai/gpt-4o*)");
      }
      if (e.getValue() == null) {
        throw new IllegalArgumentException("prices." + e.getKey() + ": empty (expected: input_per_mtok and output_per_mtok)");
      }
      try {
        dev.gatehouse.policy.Glob.compile(e.getKey());
      } catch (IllegalArgumentException bad) {
        throw new IllegalArgumentException("prices: " + bad.getMessage(), bad);
      }
    }
  }

  /** No providers: every call fails with {@code model_not_found}. */
  public static RouterConfig empty() {
    return new RouterConfig(Map.of(), Map.of(), Map.of());
  }

  /** Just these providers, no aliases, default prices. */
  public static RouterConfig of(Map<String, ProviderConfig> providers) {
    return new RouterConfig(providers, Map.of(), Map.of());
  }

  @JsonCreator
  static RouterConfig fromConfig(
      @JsonProperty("providers") Map<String, ProviderConfig> providers,
      @JsonProperty("aliases") Map<String, String> aliases,
      @JsonProperty("prices") Map<String, Price> prices) {
    return new RouterConfig(providers, aliases, prices);
  }

  /** This config with other {@code aliases}. */
  public RouterConfig withAliases(Map<String, String> aliases) {
    return new RouterConfig(providers, aliases, prices);
  }

  /** This config with other {@code prices}. */
  public RouterConfig withPrices(Map<String, Price> prices) {
    return new RouterConfig(providers, aliases, prices);
  }

  private static void checkRoute(String field, String route, Map<String, ProviderConfig> providers, Map<String, String> aliases) {
    if (route == null || route.isBlank()) {
      throw new IllegalArgumentException(field + ": empty (expected: provider/model)");
    }
    if (aliases.containsKey(route)) {
      return;
    }
    int slash = route.indexOf('/');
    if (slash <= 0 || slash == route.length() - 1) {
      throw new IllegalArgumentException(field + ": '" + route + "' (expected: provider/model"
          + (aliases.isEmpty() ? "" : " or an alias") + ")");
    }
    String provider = route.substring(0, slash);
    if (!providers.containsKey(provider)) {
      throw new IllegalArgumentException(field + ": '" + route + "' names provider '" + provider
          + "', which is not configured (expected: one of " + providers.keySet() + ")");
    }
  }

  /**
   * A model's price in US dollars per million tokens.
   *
   * @param inputPerMtok prompt tokens not served from a cache
   * @param outputPerMtok completion tokens (reasoning tokens included)
   * @param cachedInputPerMtok prompt tokens read from the provider's cache (default: the input price)
   * @param cacheWritePerMtok prompt tokens written to the provider's cache, Anthropic and Bedrock (default:
   *     the input price)
   */
  public record Price(BigDecimal inputPerMtok, BigDecimal outputPerMtok, Optional<BigDecimal> cachedInputPerMtok,
      Optional<BigDecimal> cacheWritePerMtok) {
    public Price {
      inputPerMtok = nonNegative("input_per_mtok", inputPerMtok);
      outputPerMtok = nonNegative("output_per_mtok", outputPerMtok);
      cachedInputPerMtok = cachedInputPerMtok == null ? Optional.empty() : cachedInputPerMtok;
      cachedInputPerMtok.ifPresent(p -> nonNegative("cached_input_per_mtok", p));
      cacheWritePerMtok = cacheWritePerMtok == null ? Optional.empty() : cacheWritePerMtok;
      cacheWritePerMtok.ifPresent(p -> nonNegative("cache_write_per_mtok", p));
    }

    /** A price with input and output only; cached input costs as much as input. */
    public static Price of(String inputPerMtok, String outputPerMtok) {
      return new Price(new BigDecimal(inputPerMtok), new BigDecimal(outputPerMtok), Optional.empty(), Optional.empty());
    }

    /** A price with a cheaper cached input. */
    public static Price of(String inputPerMtok, String outputPerMtok, String cachedInputPerMtok) {
      return new Price(new BigDecimal(inputPerMtok), new BigDecimal(outputPerMtok),
          Optional.of(new BigDecimal(cachedInputPerMtok)), Optional.empty());
    }

    /** A price with cache reads and cache writes priced apart, as Anthropic's are. */
    public static Price of(String inputPerMtok, String outputPerMtok, String cachedInputPerMtok, String cacheWritePerMtok) {
      return new Price(new BigDecimal(inputPerMtok), new BigDecimal(outputPerMtok),
          Optional.of(new BigDecimal(cachedInputPerMtok)), Optional.of(new BigDecimal(cacheWritePerMtok)));
    }

    @JsonCreator
    static Price fromConfig(
        @JsonProperty("input_per_mtok") BigDecimal inputPerMtok,
        @JsonProperty("output_per_mtok") BigDecimal outputPerMtok,
        @JsonProperty("cached_input_per_mtok") BigDecimal cachedInputPerMtok,
        @JsonProperty("cache_write_per_mtok") BigDecimal cacheWritePerMtok) {
      return new Price(inputPerMtok, outputPerMtok, Optional.ofNullable(cachedInputPerMtok), Optional.ofNullable(cacheWritePerMtok));
    }

    /** What {@code usage} costs at this price, in US dollars. */
    public BigDecimal cost(Usage usage) {
      long cached = Math.min(usage.cachedTokens(), usage.promptTokens());
      long written = Math.min(usage.cacheWriteTokens(), usage.promptTokens() - cached);
      long fresh = usage.promptTokens() - cached - written;
      BigDecimal micro = inputPerMtok.multiply(BigDecimal.valueOf(fresh))
          .add(cachedInputPerMtok.orElse(inputPerMtok).multiply(BigDecimal.valueOf(cached)))
          .add(cacheWritePerMtok.orElse(inputPerMtok).multiply(BigDecimal.valueOf(written)))
          .add(outputPerMtok.multiply(BigDecimal.valueOf(usage.completionTokens())));
      BigDecimal usd = micro.movePointLeft(6).stripTrailingZeros();
      return usd.scale() < 0 ? usd.setScale(0) : usd;
    }

    private static BigDecimal nonNegative(String field, BigDecimal v) {
      if (v == null) {
        throw new IllegalArgumentException(field + ": missing (expected: US dollars per million tokens, >= 0)");
      }
      if (v.signum() < 0) {
        throw new IllegalArgumentException(field + ": " + v.toPlainString() + " (expected: >= 0)");
      }
      return v;
    }
  }
}
