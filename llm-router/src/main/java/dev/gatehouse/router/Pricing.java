package dev.gatehouse.router;

import dev.gatehouse.policy.Glob;
import dev.gatehouse.router.RouterConfig.Price;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Prices of {@code provider/model} targets: the configured table first, then {@link #DEFAULTS}. Within
 * each, an exact name wins, then the matching pattern with the most literal characters.
 */
final class Pricing {
  /**
   * Built-in list prices in US dollars per million tokens (input, output, cached input, cache write), as
   * the providers published them in 2025 for standard (non-batch, short-context) use, read from
   * {@value #PRICES_RESOURCE} (each with its provider, source page and date). Patterns match whatever
   * provider serves the model, so {@code azure/gpt-4o} and {@code bedrock/…claude-sonnet-4…} are priced
   * too. Override any of them under {@code prices:}; docs/router.md lists them.
   */
  static final Map<String, Price> DEFAULTS = defaults();

  private record Entry(Glob glob, Price price) {}

  private final List<Entry> configured;
  private final List<Entry> builtIn;

  Pricing(Map<String, Price> prices) {
    this.configured = sorted(prices);
    this.builtIn = sorted(DEFAULTS);
  }

  private static List<Entry> sorted(Map<String, Price> prices) {
    List<Entry> list = new ArrayList<>();
    prices.forEach((k, v) -> list.add(new Entry(Glob.compile(k), v)));
    // An exact name outranks every pattern; among patterns, the one with the most literal characters wins.
    list.sort(Comparator.comparingInt((Entry e) -> e.glob().literal() ? Integer.MAX_VALUE : e.glob().literalChars()).reversed());
    return List.copyOf(list);
  }

  Optional<Price> price(Route route) {
    String target = route.target();
    for (List<Entry> table : List.of(configured, builtIn)) {
      for (Entry e : table) {
        if (e.glob().matches(target)) {
          return Optional.of(e.price());
        }
      }
    }
    return Optional.empty();
  }

  BigDecimal cost(Route route, Usage usage) {
    return price(route).map(p -> p.cost(usage)).orElse(BigDecimal.ZERO);
  }

  /** Where the built-in prices live: a data file with each price's provider, source page and date. */
  static final String PRICES_RESOURCE = "prices.json";

  private static Map<String, Price> defaults() {
    Map<String, Price> m = new LinkedHashMap<>();
    try (java.io.InputStream in = Pricing.class.getResourceAsStream(PRICES_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(PRICES_RESOURCE + " is missing from the router's jar");
      }
      for (com.fasterxml.jackson.databind.JsonNode e : Json.MAPPER.readTree(in).path("prices")) {
        String cached = e.path("cached_input").asText(null);
        String write = e.path("cache_write").asText(null);
        Price price = write != null ? Price.of(e.path("input").asText(), e.path("output").asText(), cached, write)
            : cached != null ? Price.of(e.path("input").asText(), e.path("output").asText(), cached)
            : Price.of(e.path("input").asText(), e.path("output").asText());
        m.put(e.path("pattern").asText(), price);
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("reading " + PRICES_RESOURCE, e);
    }
    return java.util.Collections.unmodifiableMap(m);
  }
}
