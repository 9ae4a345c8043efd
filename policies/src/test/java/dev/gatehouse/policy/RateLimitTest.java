package dev.gatehouse.policy;

import static dev.gatehouse.policy.Fixtures.rules;
import static dev.gatehouse.policy.Fixtures.tool;
import static dev.gatehouse.policy.Fixtures.user;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatehouse.identity.Principal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class RateLimitTest {

  private static final String SIXTY_A_MINUTE = """
      - id: eng
        when: { groups: [engineering] }
        allow: { servers: [files] }
        limits: { requests_per_minute: 60, budget_usd_per_day: 20 }
      """;

  private final Fixtures.ManualClock clock = new Fixtures.ManualClock();
  private final Principal alice = user("alice", "engineering");

  @Test
  void burstUpToCapacityThenLimitedWithRetryAfter() {
    PolicyEngine engine = PolicyEngine.create(rules(SIXTY_A_MINUTE), clock);
    for (int i = 0; i < 60; i++) {
      assertTrue(engine.decide(alice, tool("files__read_file")).allowed(), "request " + i);
    }
    Decision.Limited l = assertInstanceOf(Decision.Limited.class, engine.decide(alice, tool("files__read_file")));
    assertEquals("eng", l.ruleId());
    // 60 per minute refill one per second
    assertEquals(Duration.ofSeconds(1), l.retryAfter());
    assertEquals("rate limit of rule 'eng' reached for user 'alice' (groups: [engineering]): 60 requests per minute; retry after 1 s",
        l.reason());
  }

  @Test
  void aGroupScopedLimitIsSharedByTheGroupAndAKeyScopedOneIsEachKeysOwn() {
    PolicyEngine engine = PolicyEngine.create(rules("""
        - id: team
          when: { groups: [engineering] }
          allow: { servers: [files] }
          limits: { per: group, requests_per_minute: 2 }
        - id: keys
          when: { groups: [bots] }
          allow: { servers: [files] }
          limits: { per: key, requests_per_minute: 1 }
        """), clock);
    assertTrue(engine.decide(alice, tool("files__read_file")).allowed());
    assertTrue(engine.decide(user("bob", "engineering"), tool("files__read_file")).allowed());
    Decision.Limited l = assertInstanceOf(Decision.Limited.class, engine.decide(user("carol", "engineering"), tool("files__read_file")));
    assertEquals("rate limit of rule 'team' reached for group 'engineering': 2 requests per minute; retry after 30 s", l.reason());
    Principal key1 = new Principal("bot", Principal.API_KEY_ISSUER, java.util.Optional.empty(), java.util.Set.of("bots"), null, null,
        null, Principal.Kind.API_KEY, java.util.Optional.of("k1"));
    Principal key2 = new Principal("bot", Principal.API_KEY_ISSUER, java.util.Optional.empty(), java.util.Set.of("bots"), null, null,
        null, Principal.Kind.API_KEY, java.util.Optional.of("k2"));
    assertTrue(engine.decide(key1, tool("files__read_file")).allowed());
    assertTrue(engine.decide(key2, tool("files__read_file")).allowed(), "one subject, two keys: two buckets");
    l = assertInstanceOf(Decision.Limited.class, engine.decide(key1, tool("files__read_file")));
    assertTrue(l.reason().contains("for API key 'k1'"), l.reason());
  }

  @Test
  void newSessionsCountAgainstTheRequestLimitOfTheRulesThatApply() {
    PolicyEngine engine = PolicyEngine.create(rules(SIXTY_A_MINUTE), clock);
    for (int i = 0; i < 60; i++) {
      assertTrue(engine.admit(alice).allowed(), "session " + i);
    }
    Decision.Limited l = assertInstanceOf(Decision.Limited.class, engine.admit(alice));
    assertEquals("eng", l.ruleId());
    // the sessions used the same bucket as calls
    assertInstanceOf(Decision.Limited.class, engine.decide(alice, tool("files__read_file")));
    // a principal no limited rule applies to is admitted without limit
    Principal bob = user("bob", "finance");
    for (int i = 0; i < 100; i++) {
      assertTrue(engine.admit(bob).allowed());
    }
    assertTrue(PolicyEngine.create(List.of(), clock).admit(alice).allowed());
  }

  @Test
  void bucketRefillsContinuouslyOverTime() {
    PolicyEngine engine = PolicyEngine.create(rules(SIXTY_A_MINUTE), clock);
    drain(engine, alice, "files__read_file", 60);
    clock.advance(Duration.ofMillis(400));
    Decision.Limited l = assertInstanceOf(Decision.Limited.class, engine.decide(alice, tool("files__read_file")));
    assertEquals(Duration.ofMillis(600), l.retryAfter());

    clock.advance(Duration.ofMillis(600));
    assertTrue(engine.decide(alice, tool("files__read_file")).allowed());
    assertInstanceOf(Decision.Limited.class, engine.decide(alice, tool("files__read_file")));

    // ten seconds: ten more; a long pause refills to capacity, not beyond
    clock.advance(Duration.ofSeconds(10));
    assertEquals(10, drain(engine, alice, "files__read_file", 100));
    clock.advance(Duration.ofHours(1));
    assertEquals(60, drain(engine, alice, "files__read_file", 100));
  }

  @Test
  void limitsArePerPrincipal() {
    PolicyEngine engine = PolicyEngine.create(rules(SIXTY_A_MINUTE), clock);
    drain(engine, alice, "files__read_file", 60);
    assertInstanceOf(Decision.Limited.class, engine.decide(alice, tool("files__read_file")));
    assertTrue(engine.decide(user("bob", "engineering"), tool("files__read_file")).allowed());
  }

  @Test
  void perToolLimitCountsOnlyMatchingToolsAndRefusesWithoutSpendingOtherLimits() {
    PolicyEngine engine = PolicyEngine.create(rules("""
        - id: eng
          allow: { servers: [files] }
          limits:
            requests_per_minute: 100
            tools_per_minute: { "files__write_*": 2 }
        """), clock);
    assertTrue(engine.decide(alice, tool("files__write_file")).allowed());
    assertTrue(engine.decide(alice, tool("files__write_file")).allowed());
    Decision.Limited l = assertInstanceOf(Decision.Limited.class, engine.decide(alice, tool("files__write_file")));
    assertEquals(Duration.ofSeconds(30), l.retryAfter());
    assertEquals("rate limit of rule 'eng' reached for user 'alice' (groups: [engineering]): "
        + "2 calls per minute to tools 'files__write_*'; retry after 30 s", l.reason());
    // reads are still fine, and the refused writes did not use request tokens: 100 - 2 left
    assertEquals(98, drain(engine, alice, "files__read_file", 200));
  }

  @Test
  void ruleWithOnlyLimitsLimitsWhatOtherRulesAllow() {
    PolicyEngine engine = PolicyEngine.create(rules("""
        - id: files
          allow: { servers: [files] }
        - id: contractors-throttle
          when: { groups: [contractors] }
          limits: { requests_per_minute: 3 }
        """), clock);
    Principal carl = user("carl", "contractors");
    assertEquals(3, drain(engine, carl, "files__read_file", 10));
    assertEquals("contractors-throttle", engine.decide(carl, tool("files__read_file")).ruleId());
    assertEquals(10, drain(engine, alice, "files__read_file", 10));
  }

  @Test
  void limitsOfRulesThatDoNotAllowTheActionDoNotCount() {
    PolicyEngine engine = PolicyEngine.create(rules("""
        - id: models
          allow: { models: ["openai/*"] }
          limits: { requests_per_minute: 1 }
        - id: files
          allow: { servers: [files] }
        """), clock);
    assertEquals(10, drain(engine, alice, "files__read_file", 10));
    assertTrue(engine.decide(alice, new Action.Model("openai/gpt-4o")).allowed());
    assertInstanceOf(Decision.Limited.class, engine.decide(alice, new Action.Model("openai/gpt-4o")));
  }

  @Test
  void reconfigureKeepsBucketsOfUnchangedLimits() {
    PolicyEngine engine = PolicyEngine.create(rules(SIXTY_A_MINUTE), clock);
    drain(engine, alice, "files__read_file", 60);

    // same rule and limit, other text: still exhausted
    PolicyEngine reloaded = engine.reconfigure(rules(SIXTY_A_MINUTE.replace("allow: { servers: [files] }",
        "allow: { servers: [files, github] }")));
    assertInstanceOf(Decision.Limited.class, reloaded.decide(alice, tool("github__list_repos")));

    // the limit changed: fresh buckets
    PolicyEngine raised = reloaded.reconfigure(rules(SIXTY_A_MINUTE.replace("60", "120")));
    assertTrue(raised.decide(alice, tool("files__read_file")).allowed());

    // a renamed rule is another rule
    PolicyEngine renamed = reloaded.reconfigure(rules(SIXTY_A_MINUTE.replace("id: eng", "id: engineering")));
    assertTrue(renamed.decide(alice, tool("files__read_file")).allowed());
  }

  @Test
  void explainDoesNotConsumeTokens() {
    PolicyEngine engine = PolicyEngine.create(rules("""
        - id: eng
          allow: { servers: [files] }
          limits: { requests_per_minute: 2 }
        """), clock);
    for (int i = 0; i < 10; i++) {
      assertTrue(engine.explain(alice, tool("files__read_file")).decision().allowed());
    }
    Explanation e = engine.explain(alice, tool("files__read_file"));
    assertEquals(List.of("requests_per_minute 2: 2 of 2 left for this principal"), e.rules().get(0).limits());
    assertTrue(engine.decide(alice, tool("files__read_file")).allowed());
    assertTrue(engine.decide(alice, tool("files__read_file")).allowed());
    Explanation exhausted = engine.explain(alice, tool("files__read_file"));
    Decision.Limited l = assertInstanceOf(Decision.Limited.class, exhausted.decision());
    assertEquals(Duration.ofSeconds(30), l.retryAfter());
    assertEquals(List.of("requests_per_minute 2: none left for this principal; next in 30 s"), exhausted.rules().get(0).limits());
    // and decide agrees
    assertEquals(l, engine.decide(alice, tool("files__read_file")));
  }

  @Test
  void visibleDoesNotConsumeTokens() {
    PolicyEngine engine = PolicyEngine.create(rules("""
        - id: eng
          allow: { servers: [files] }
          limits: { requests_per_minute: 1 }
        """), clock);
    for (int i = 0; i < 5; i++) {
      assertTrue(engine.visible(alice, tool("files__read_file")));
    }
    assertTrue(engine.decide(alice, tool("files__read_file")).allowed());
  }

  @Test
  void idleBucketsAreEvicted() {
    DefaultPolicyEngine engine = (DefaultPolicyEngine) PolicyEngine.create(rules(SIXTY_A_MINUTE), clock);
    for (int i = 0; i < 50; i++) {
      engine.decide(user("user-" + i, "engineering"), tool("files__read_file"));
    }
    assertEquals(50, engine.bucketCount());
    clock.advance(Duration.ofSeconds(61));
    engine.decide(alice, tool("files__read_file"));
    clock.advance(Duration.ofSeconds(61));
    // the sweep on this request drops every bucket idle for a minute; alice's is recreated
    engine.decide(alice, tool("files__read_file"));
    assertEquals(1, engine.bucketCount());
  }

  @Test
  void concurrentRequestsNeverExceedCapacity() throws Exception {
    PolicyEngine engine = PolicyEngine.create(rules(SIXTY_A_MINUTE), clock);
    AtomicInteger allowed = new AtomicInteger();
    CountDownLatch start = new CountDownLatch(1);
    List<Future<?>> futures = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
      for (int t = 0; t < 8; t++) {
        futures.add(pool.submit(() -> {
          start.await();
          for (int i = 0; i < 50; i++) {
            if (engine.decide(alice, tool("files__read_file")).allowed()) {
              allowed.incrementAndGet();
            }
          }
          return null;
        }));
      }
      start.countDown();
      for (Future<?> f : futures) {
        f.get();
      }
    }
    assertEquals(60, allowed.get());
  }

  private static int drain(PolicyEngine engine, Principal p, String tool, int max) {
    int n = 0;
    while (n < max && engine.decide(p, tool(tool)).allowed()) {
      n++;
    }
    return n;
  }
}
