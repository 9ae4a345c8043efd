package dev.gatehouse.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatehouse.audit.LocalServers;
import dev.gatehouse.identity.Principal;
import dev.gatehouse.policy.RateCounters.Bucket;
import dev.gatehouse.policy.RateCounters.Taken;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Rate limits and budgets counted in a real, private Redis by two "replicas" (two clients). */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SharedLimitsTest {
  private static LocalServers.Redis redis;
  private static int principals;

  @BeforeAll
  static void startRedis() {
    redis = LocalServers.Redis.start();
  }

  @AfterAll
  static void stopRedis() {
    if (redis != null) {
      redis.close();
    }
  }

  private static SharedLimits connect(LimitsSettings.FailMode mode) {
    return SharedLimits.connect(LimitsSettings.defaults().withStore(redis.url()).withOnUnavailable(mode), null);
  }

  private static Bucket bucket(String limit, String subject, int perMinute) {
    return new Bucket(limit, "https://idp.example.com", subject, perMinute);
  }

  private static Principal principal(String subject) {
    return new Principal(subject, "https://idp.example.com", java.util.Optional.empty(), java.util.Set.of(), java.util.Set.of(),
        java.util.Set.of(), java.util.Map.of(), Principal.Kind.API_KEY, java.util.Optional.empty());
  }

  private static synchronized String principal() {
    return "p" + (++principals);
  }

  @Test
  void twoReplicasShareOneBucket() {
    String who = principal();
    try (SharedLimits a = connect(LimitsSettings.FailMode.FAIL_CLOSED); SharedLimits b = connect(LimitsSettings.FailMode.FAIL_CLOSED)) {
      int taken = 0;
      for (int i = 0; i < 30; i++) {
        Taken t = (i % 2 == 0 ? a : b).take(List.of(bucket("rule\u0000requests\u000010", who, 10))).join();
        if (t.ok()) {
          taken++;
        } else {
          assertEquals(0, t.refused());
          assertTrue(t.waitNanos() > 0 && t.waitNanos() <= 6_000_000_000L, "wait " + t.waitNanos());
        }
      }
      // A burst of 10, plus at most one refilled while the loop ran (one every 6 s).
      assertTrue(taken == 10 || taken == 11, "taken " + taken);
    }
  }

  @Test
  void tokenBucketsAreSharedByReplicasReservedThenSettled() {
    String who = principal();
    Bucket tenant = new Bucket("r\u0000tokens\u0000100", "gatehouse:tenant", who, 100);
    try (SharedLimits a = connect(LimitsSettings.FailMode.FAIL_CLOSED); SharedLimits b = connect(LimitsSettings.FailMode.FAIL_CLOSED)) {
      assertTrue(a.tokens(List.of(tenant), 60, true).join().ok(), "60 of 100 reserved on one replica");
      Taken refused = b.tokens(List.of(tenant), 60, true).join();
      assertEquals(0, refused.refused(), "the other replica finds 40 left");
      assertTrue(refused.waitNanos() > 10_000_000_000L, "about 12 s until 20 more tokens: " + refused.waitNanos());
      assertTrue(a.tokens(List.of(tenant), -50, false).join().ok(), "the call used 10: 50 given back");
      assertTrue(b.tokens(List.of(tenant), 60, true).join().ok(), "now 90 are left");
      assertTrue(a.tokens(List.of(tenant), 100, false).join().ok(), "settling charges past empty");
      assertEquals(0, b.tokens(List.of(tenant), 1, true).join().refused(), "in debt: refused");
    }
  }

  @Test
  void aCallTakesFromEveryBucketOrFromNone() {
    String who = principal();
    try (SharedLimits a = connect(LimitsSettings.FailMode.FAIL_CLOSED)) {
      Bucket one = bucket("r\u0000tools:files_*\u00001", who, 1);
      Bucket five = bucket("r\u0000requests\u00005", who, 5);
      assertTrue(a.take(List.of(one, five)).join().ok());
      Taken refused = a.take(List.of(five, one)).join();
      assertEquals(1, refused.refused(), "the tools bucket is empty");
      // The refused call took nothing from the requests bucket: 4 of 5 are left.
      for (int i = 0; i < 4; i++) {
        assertTrue(a.take(List.of(five)).join().ok(), "take " + i);
      }
      assertEquals(0, a.take(List.of(five)).join().refused());
    }
  }

  @Test
  void budgetsAreSeededOnceAndAddedToByEveryReplica() {
    Principal p = principal(principal());
    String day = LocalDate.of(2026, 12, 7).toString();
    try (SharedLimits a = connect(LimitsSettings.FailMode.FAIL_CLOSED); SharedLimits b = connect(LimitsSettings.FailMode.FAIL_CLOSED)) {
      assertTrue(a.spent(p.issuer(), p.subject(), day).join().isEmpty());
      b.add(p.issuer(), p.subject(), day, new BigDecimal("0.5")).join(); // not seeded yet: the audit store will have it
      assertEquals(new BigDecimal("1.25"), a.seed(p.issuer(), p.subject(), day, new BigDecimal("1.25")).join().stripTrailingZeros());
      assertEquals(new BigDecimal("1.25"), b.seed(p.issuer(), p.subject(), day, new BigDecimal("9")).join().stripTrailingZeros(), "the first seed wins");
      a.add(p.issuer(), p.subject(), day, new BigDecimal("0.000001")).join();
      b.add(p.issuer(), p.subject(), day, new BigDecimal("0.75")).join();
      assertEquals(new BigDecimal("2.000001"), b.spent(p.issuer(), p.subject(), day).join().orElseThrow().stripTrailingZeros());
      assertEquals(new BigDecimal("2.000001"), a.spent(p.issuer(), p.subject(), day).join().orElseThrow().stripTrailingZeros());
    }
  }

  @Test
  void anUnreachableRedisRefusesOrCountsLocallyAsConfiguredAndNeverHangs() {
    String who = principal();
    try (SharedLimits closed = connect(LimitsSettings.FailMode.FAIL_CLOSED); SharedLimits open = connect(LimitsSettings.FailMode.FAIL_OPEN)) {
      Bucket b = bucket("r\u0000requests\u000060", who, 60);
      assertTrue(closed.take(List.of(b)).join().ok());
      redis.kill();
      try {
        long start = System.nanoTime();
        Taken t = closed.take(List.of(b)).join();
        assertTrue(t.unavailable().isPresent(), String.valueOf(t));
        assertTrue(t.unavailable().get().contains("cannot be reached") && t.unavailable().get().contains("fail_closed"), t.unavailable().get());
        assertTrue(!closed.up());
        assertTrue(open.take(List.of(b)).join().local(), "fail_open counts in this process");
        Principal p = principal(who);
        CompletionException e = assertThrows(CompletionException.class, () -> closed.spent(p.issuer(), p.subject(), LocalDate.now().toString()).join());
        assertTrue(e.getCause() instanceof SharedLimits.Unavailable, String.valueOf(e.getCause()));
        assertTrue(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start) < 10, "answers come without waiting for Redis");
      } finally {
        redis.restart();
      }
      // The client reconnects by itself; the script is sent again (Redis forgot it).
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      Taken t;
      do {
        t = closed.take(List.of(b)).join();
      } while (!t.ok() && System.nanoTime() < deadline);
      assertTrue(t.ok(), String.valueOf(t));
      assertTrue(closed.up());
    }
  }
}
