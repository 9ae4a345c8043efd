package dev.gatehouse.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatehouse.router.RouterConfig.Price;
import java.math.BigDecimal;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The price table: the most specific match wins, configured prices before defaults, cache tokens priced apart. */
@Timeout(10)
class PricingTest {
  final Pricing defaults = new Pricing(Map.of());

  static Route route(String target) {
    int slash = target.indexOf('/');
    return new Route(target.substring(0, slash), target.substring(slash + 1), "k");
  }

  @Test
  void theMostSpecificDefaultWins() {
    assertEquals(Price.of("0.15", "0.60", "0.075"), defaults.price(route("openai/gpt-4o-mini-2024-07-18")).orElseThrow());
    assertEquals(Price.of("2.50", "10.00", "1.25"), defaults.price(route("azure/gpt-4o")).orElseThrow());
    assertEquals(Price.of("3.00", "15.00", "0.30", "3.75"),
        defaults.price(route("bedrock/us.anthropic.claude-sonnet-4-20250514-v1:0")).orElseThrow());
    assertEquals(Price.of("5.00", "25.00", "0.50", "6.25"), defaults.price(route("anthropic/claude-opus-4-5")).orElseThrow());
    assertTrue(defaults.price(route("local/my-finetune")).isEmpty());
    assertEquals(Price.of("0.02", "0"), defaults.price(route("openai/text-embedding-3-small")).orElseThrow(), "embeddings are priced too");
    assertEquals(Price.of("0.13", "0"), defaults.price(route("azure/text-embedding-3-large")).orElseThrow());
  }

  @Test
  void configuredPricesComeFirst() {
    Pricing p = new Pricing(Map.of("openai/*", Price.of("1", "1"), "openai/gpt-4o", Price.of("9", "9")));
    assertEquals(Price.of("9", "9"), p.price(route("openai/gpt-4o")).orElseThrow());
    assertEquals(Price.of("1", "1"), p.price(route("openai/gpt-4o-mini")).orElseThrow(), "a configured glob beats a default");
    assertEquals(Price.of("0.30", "2.50", "0.075"), p.price(route("gemini/gemini-2.5-flash")).orElseThrow());
  }

  @Test
  void costPricesFreshCachedWrittenAndOutputTokensApart() {
    Price price = Price.of("3", "15", "0.30", "3.75");
    // 1,000,000 prompt tokens of which 600,000 cached and 100,000 written, 100,000 out
    Usage u = Usage.of(1_000_000, 100_000, 600_000, 100_000);
    // 300k * 3 + 600k * 0.30 + 100k * 3.75 + 100k * 15 = 0.9 + 0.18 + 0.375 + 1.5
    assertEquals(new BigDecimal("2.955"), price.cost(u));
    assertEquals(BigDecimal.ZERO, defaults.cost(route("local/x"), u));
    assertEquals(new BigDecimal("10"), Price.of("5", "5").cost(Usage.of(1_000_000, 1_000_000, 0, 0)));
  }
  @Test
  void everyBuiltInPriceNamesItsSourceAndDateAndDocsListThemAll() throws Exception {
    com.fasterxml.jackson.databind.JsonNode file;
    try (java.io.InputStream in = Pricing.class.getResourceAsStream(Pricing.PRICES_RESOURCE)) {
      file = Json.MAPPER.readTree(in);
    }
    java.util.Map<String, String> fromFile = new java.util.LinkedHashMap<>();
    for (com.fasterxml.jackson.databind.JsonNode e : file.path("prices")) {
      assertTrue(e.path("source").asText().startsWith("https://"), "a source page: " + e);
      assertTrue(e.path("as_of").asText().matches("\\d{4}(-\\d{2}(-\\d{2})?)?"), "a date: " + e);
      assertTrue(!e.path("provider").asText().isBlank(), e.toString());
      fromFile.put(e.path("pattern").asText(), String.join("|", e.path("input").asText(), e.path("output").asText(),
          e.path("cached_input").asText(""), e.path("cache_write").asText("")));
    }
    assertEquals(Pricing.DEFAULTS.keySet(), fromFile.keySet(), "the table in use is the file");
    java.nio.file.Path docs = java.nio.file.Path.of("").toAbsolutePath().getParent().resolve("docs/router.md");
    java.util.Map<String, String> fromDocs = new java.util.LinkedHashMap<>();
    for (String line : java.nio.file.Files.readAllLines(docs)) {
      java.util.regex.Matcher m = java.util.regex.Pattern.compile(
          "^\\|\\s*`([^`]+)`\\s*\\|\\s*([0-9.]+)\\s*\\|\\s*([0-9.]+)\\s*\\|\\s*([0-9.]*)\\s*\\|\\s*([0-9.]*)\\s*\\|$")
          .matcher(line);
      if (m.matches()) {
        fromDocs.put(m.group(1), String.join("|", m.group(2), m.group(3), m.group(4), m.group(5)));
      }
    }
    assertEquals(fromFile, fromDocs, "docs/router.md lists exactly the built-in prices");
  }
}
