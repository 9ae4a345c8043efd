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
   * the providers published them in 2025 for standard (non-batch, short-context) use. Patterns match
   * whatever provider serves the model, so {@code azure/gpt-4o} and {@code bedrock/…claude-sonnet-4…}
   * are priced too. Override any of them under {@code prices:}; docs/router.md lists them.
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

  private static Map<String, Price> defaults() {
    Map<String, Price> m = new LinkedHashMap<>();
    // OpenAI (also served by Azure, OpenRouter and others under the same names)
    m.put("*/gpt-4o*", Price.of("2.50", "10.00", "1.25"));
    m.put("*/gpt-4o-mini*", Price.of("0.15", "0.60", "0.075"));
    m.put("*/gpt-4.1*", Price.of("2.00", "8.00", "0.50"));
    m.put("*/gpt-4.1-mini*", Price.of("0.40", "1.60", "0.10"));
    m.put("*/gpt-4.1-nano*", Price.of("0.10", "0.40", "0.025"));
    m.put("*/gpt-5*", Price.of("1.25", "10.00", "0.125"));
    m.put("*/gpt-5-mini*", Price.of("0.25", "2.00", "0.025"));
    m.put("*/gpt-5-nano*", Price.of("0.05", "0.40", "0.005"));
    m.put("*/o1*", Price.of("15.00", "60.00", "7.50"));
    m.put("*/o1-mini*", Price.of("1.10", "4.40", "0.55"));
    m.put("*/o3*", Price.of("2.00", "8.00", "0.50"));
    m.put("*/o3-mini*", Price.of("1.10", "4.40", "0.55"));
    m.put("*/o4-mini*", Price.of("1.10", "4.40", "0.275"));
    // OpenAI embeddings (input only)
    m.put("*/text-embedding-3-small*", Price.of("0.02", "0"));
    m.put("*/text-embedding-3-large*", Price.of("0.13", "0"));
    m.put("*/text-embedding-ada-002*", Price.of("0.10", "0"));
    // Anthropic (also on Bedrock and Vertex): cache reads 0.1x input, 5-minute cache writes 1.25x
    m.put("*claude-opus-4*", Price.of("15.00", "75.00", "1.50", "18.75"));
    m.put("*claude-opus-4-5*", Price.of("5.00", "25.00", "0.50", "6.25"));
    m.put("*claude-sonnet-4*", Price.of("3.00", "15.00", "0.30", "3.75"));
    m.put("*claude-3-7-sonnet*", Price.of("3.00", "15.00", "0.30", "3.75"));
    m.put("*claude-3-5-sonnet*", Price.of("3.00", "15.00", "0.30", "3.75"));
    m.put("*claude-haiku-4-5*", Price.of("1.00", "5.00", "0.10", "1.25"));
    m.put("*claude-3-5-haiku*", Price.of("0.80", "4.00", "0.08", "1.00"));
    m.put("*claude-3-haiku*", Price.of("0.25", "1.25", "0.03", "0.30"));
    // Google Gemini (prompts up to 200k tokens)
    m.put("*gemini-2.5-pro*", Price.of("1.25", "10.00", "0.31"));
    m.put("*gemini-2.5-flash*", Price.of("0.30", "2.50", "0.075"));
    m.put("*gemini-2.5-flash-lite*", Price.of("0.10", "0.40", "0.025"));
    m.put("*gemini-2.0-flash*", Price.of("0.10", "0.40", "0.025"));
    m.put("*gemini-2.0-flash-lite*", Price.of("0.075", "0.30"));
    // DeepSeek (cache hits priced as cached input)
    m.put("deepseek/deepseek-chat", Price.of("0.28", "0.42", "0.028"));
    m.put("deepseek/deepseek-reasoner", Price.of("0.28", "0.42", "0.028"));
    // Mistral
    m.put("mistral/mistral-large*", Price.of("2.00", "6.00"));
    m.put("mistral/mistral-medium*", Price.of("0.40", "2.00"));
    m.put("mistral/mistral-small*", Price.of("0.10", "0.30"));
    m.put("mistral/codestral*", Price.of("0.30", "0.90"));
    // Groq
    m.put("groq/llama-3.3-70b-versatile", Price.of("0.59", "0.79"));
    m.put("groq/llama-3.1-8b-instant", Price.of("0.05", "0.08"));
    return java.util.Collections.unmodifiableMap(m);
  }
}
