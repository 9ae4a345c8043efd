package dev.gatehouse.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AuditSummaryTest {
  @TempDir Path dir;

  @Test
  void storeSummarisesStepsPerDayPrincipalModelAndToolWithExactCost() {
    try (SqliteAuditStore store = SqliteAuditStore.open(dir.resolve("audit.db"), AuditFixtures.settings())) {
      store.append(AuditFixtures.tool("c1", "t1", 0).build()).join();
      store.append(AuditFixtures.tool("c1", "t2", 1).decision("deny").outcome("denied").build()).join();
      store.append(AuditFixtures.tool("c1", "t3", 2).outcome("error").build()).join();
      store.append(AuditFixtures.llm("c2", "m1", 3).build()).join();
      store.append(AuditFixtures.llm("c2", "m2", 86_400).build()).join(); // the next day
      store.append(AuditFixtures.llm("c2", "m3", 10 * 86_400).build()).join(); // outside the window

      Instant since = AuditFixtures.T0.minusSeconds(3600);
      JsonNode s = store.summary(since, since.plus(Duration.ofDays(2))).toJson();

      assertEquals(5, s.at("/totals/steps").asLong());
      assertEquals(1, s.at("/totals/denied").asLong());
      assertEquals(1, s.at("/totals/errors").asLong());
      assertEquals("0.00246", s.at("/totals/cost_usd").asText());
      assertEquals(240, s.at("/totals/tokens_in").asLong());
      assertEquals(3, s.get("days").size(), "every day of the window, empty ones too");
      assertEquals("2025-06-01", s.at("/days/0/day").asText());
      assertEquals(4, s.at("/days/0/steps").asLong());
      assertEquals(1, s.at("/days/1/steps").asLong());
      assertEquals(0, s.at("/days/2/steps").asLong());
      assertTrue(s.at("/days/2/p50_ms").isNull());
      assertEquals("bob", s.at("/principals/0/principal").asText(), "the costliest first");
      assertEquals("0.00246", s.at("/principals/0/cost_usd").asText());
      assertEquals("alice", s.at("/principals/1/principal").asText());
      assertEquals("openai/gpt-4o", s.at("/models/0/model").asText());
      assertEquals(2, s.at("/models/0/steps").asLong());
      assertEquals("files/read_file", s.at("/tools/0/tool").asText());
      assertEquals(3, s.at("/tools/0/steps").asLong());
    }
  }

  @Test
  void percentilesAreTheUpperBoundOfTheirBucketWithinSixPercent() {
    AuditSummary s = new AuditSummary(AuditFixtures.T0, AuditFixtures.T0.plusSeconds(60));
    for (int i = 1; i <= 1000; i++) {
      s.add(AuditFixtures.T0, AuditKind.TOOL, "a", "x/y", "allow", "ok", i * 1000L, 0, 0, BigDecimal.ZERO); // 1..1000 ms
    }
    JsonNode totals = s.toJson().get("totals");
    double p50 = totals.get("p50_ms").asDouble();
    double p99 = totals.get("p99_ms").asDouble();
    assertTrue(p50 >= 500 && p50 <= 500 * 1.0625, "p50 " + p50);
    assertTrue(p99 >= 990 && p99 <= 990 * 1.0625, "p99 " + p99);
    for (long v : new long[] {1, 15, 16, 17, 1023, 1024, 1_000_000, Long.MAX_VALUE / 2}) {
      int b = AuditSummary.bucket(v);
      assertTrue(AuditSummary.upperBound(b) >= v, "bucket of " + v);
      assertTrue(b == 0 || AuditSummary.upperBound(b - 1) < v, "bucket of " + v + " is the first that holds it");
    }
  }

  @Test
  void breakdownsAreBoundedAndTheGatewaysOwnEventsAreNotTraffic() {
    AuditSummary s = new AuditSummary(AuditFixtures.T0, AuditFixtures.T0.plusSeconds(60));
    for (int i = 0; i < AuditSummary.MAX_KEYS + 50; i++) {
      s.add(AuditFixtures.T0, AuditKind.TOOL, "user-" + i, "x/y", "allow", "ok", 10, 0, 0, BigDecimal.ONE);
    }
    s.add(AuditFixtures.T0, AuditKind.INTEGRITY, "", "x/y", "allow", "ok", 10, 0, 0, BigDecimal.ZERO);
    s.add(AuditFixtures.T0, AuditKind.UPSTREAM_AUTH, "", "x/token", "allow", "ok", 10, 0, 0, BigDecimal.ZERO);
    assertEquals(AuditSummary.MAX_KEYS + 50, s.steps());
    JsonNode top = s.toJson().get("principals");
    assertEquals(AuditSummary.OTHERS, top.get(0).get("principal").asText(), "the 50 beyond the bound are counted together");
    assertEquals(50, top.get(0).get("steps").asLong());
  }

  @Test
  void aWindowTooLongOrBackwardsIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new AuditSummary(AuditFixtures.T0, AuditFixtures.T0));
    assertThrows(IllegalArgumentException.class, () -> new AuditSummary(AuditFixtures.T0, AuditFixtures.T0.plus(Duration.ofDays(93))));
    assertFalse(new AuditSummary(AuditFixtures.T0, AuditFixtures.T0.plus(Duration.ofDays(92))).toJson().get("days").isEmpty());
  }
}
