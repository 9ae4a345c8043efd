package dev.gatehouse.router;

import static dev.gatehouse.router.FakeProvider.json;
import static dev.gatehouse.router.FakeProvider.ok;
import static dev.gatehouse.router.Fixtures.HELLO;
import static dev.gatehouse.router.Fixtures.SECRET;
import static dev.gatehouse.router.Fixtures.SECRET2;
import static dev.gatehouse.router.Fixtures.chunk;
import static dev.gatehouse.router.Fixtures.completion;
import static dev.gatehouse.router.Fixtures.openAi;
import static dev.gatehouse.router.Fixtures.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.router.Attempt.Outcome;
import dev.gatehouse.router.Fixtures.TestRouter;
import dev.gatehouse.router.ProviderConfig.Key;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Key rotation, retries and backoff, cooldowns, fallbacks, limits and timeouts, against fake providers. */
@Timeout(60)
class RoutingTest {
  final FakeProvider a = FakeProvider.start();
  final FakeProvider b = FakeProvider.start();

  @AfterEach
  void stop() {
    a.close();
    b.close();
  }

  static Key key(String id, String value, int weight) {
    return Key.of(id, value, weight);
  }

  TestRouter two(ProviderConfig first, ProviderConfig second) {
    Map<String, ProviderConfig> providers = new LinkedHashMap<>();
    providers.put("a", first);
    providers.put("b", second);
    return new TestRouter(RouterConfig.of(providers));
  }

  static final String MSG = "'messages':[{'role':'user','content':'hi'}]";

  static String call(String model) {
    return "{'model':'" + model + "'," + MSG + "}";
  }

  // ---- keys

  @Test
  void providersAreAskedForPlainAnswersSoBytesPassAsSent() {
    a.otherwise(ok(completion("ok", 1, 1)));
    try (TestRouter r = Fixtures.router("openai", openAi(a))) {
      r.complete(HELLO);
    }
    FakeProvider.Recorded q = a.requests().get(0);
    assertNull(q.header("Accept-Encoding"), "headers sent: " + q.headers().entrySet());
  }

  @Test
  void keysAreChosenByWeight() {
    a.otherwise(ok(completion("ok", 1, 1)));
    try (TestRouter r = Fixtures.router("openai", openAi(a, key("heavy", SECRET, 3), key("light", SECRET2, 1)))) {
      for (int i = 0; i < 200; i++) {
        r.complete(HELLO);
      }
      long heavy = a.requests().stream().filter(q -> q.header("Authorization").equals("Bearer " + SECRET)).count();
      assertTrue(heavy >= 125 && heavy <= 175, "weight 3:1 over 200 calls, heavy got " + heavy);
    }
  }

  @Test
  void aKeysModelAllowListDecidesWhichKeysMayCallAModel() {
    a.otherwise(ok(completion("ok", 1, 1)));
    Key minis = key("minis", SECRET, 1).withModels(List.of("gpt-4o-mini*"));
    Key big = key("big", SECRET2, 1).withModels(List.of("gpt-4o", "o3*"));
    try (TestRouter r = Fixtures.router("openai", openAi(a, minis, big))) {
      for (int i = 0; i < 10; i++) {
        assertEquals("big", r.complete(call("openai/gpt-4o")).route().keyId());
        assertEquals("minis", r.complete(call("openai/gpt-4o-mini")).route().keyId());
      }
      RouterException e = assertThrows(RouterException.class, () -> r.complete(call("openai/gpt-5")));
      assertEquals(404, e.status());
      assertEquals("model_not_found", e.code());
    }
  }

  @Test
  void aRejectedKeyIsCooledDownAndTheNextKeyUsedUntilTheCooldownEnds() {
    a.otherwise(FakeProvider.byHeader("Authorization", Map.of("Bearer " + SECRET,
        json(401, "{\"error\":{\"message\":\"Incorrect API key provided: " + SECRET + "\",\"code\":\"invalid_api_key\"}}")),
        ok(completion("ok", 1, 1))));
    try (TestRouter r = Fixtures.router("openai", openAi(a, key("bad", SECRET, 1), key("good", SECRET2, 1)))) {
      for (int i = 0; i < 10; i++) {
        ChatResult result = r.complete(HELLO);
        assertEquals("good", result.route().keyId());
      }
      assertEquals(1, rejected(a), "the rejected key is left out for its cooldown");
      assertTrue(r.sleeps.waits.isEmpty(), "a rejected key is replaced at once, without a backoff");
      r.clock.advance(Duration.ofSeconds(31));
      for (int i = 0; i < 10; i++) {
        r.complete(HELLO);
      }
      assertEquals(2, rejected(a), "after the cooldown the key is tried again, once");
    }
  }

  private static long rejected(FakeProvider p) {
    return p.requests().stream().filter(q -> q.header("Authorization").equals("Bearer " + SECRET)).count();
  }

  @Test
  void whenEveryKeyIsRejectedTheErrorIsABadGatewayThatNeverShowsTheKey() {
    a.otherwise(json(401, "{\"error\":{\"message\":\"Incorrect API key provided: " + SECRET + ". Bearer " + SECRET2 + "\"}}"));
    try (TestRouter r = Fixtures.router("openai", openAi(a, key("k1", SECRET, 1), key("k2", SECRET2, 1)))) {
      RouterException e = assertThrows(RouterException.class, () -> r.complete(HELLO));
      assertEquals(502, e.status());
      assertEquals("provider_auth_failed", e.code(), e.getMessage());
      assertEquals(2, e.attempts().size());
      String everything = e.getMessage() + e.toJson() + e.attempts() + e;
      assertFalse(everything.contains(SECRET), everything);
      assertFalse(everything.contains(SECRET2), everything);
      assertFalse(everything.contains("SECRET-0123"), "not even a fragment: " + everything);
      RouterException again = assertThrows(RouterException.class, () -> r.complete(HELLO));
      assertEquals("provider_auth_failed", again.code());
      assertEquals(2, a.count(), "rejected keys are not asked again during their cooldown");
    }
  }

  // ---- retries

  @Test
  void serverErrorsAreRetriedWithExponentialBackoffAndJitter() {
    a.reply(json(500, "{\"error\":{\"message\":\"boom\"}}"), json(503, "{}"), ok(completion("third", 1, 1)));
    try (TestRouter r = Fixtures.router("openai", openAi(a))) {
      ChatResult result = r.complete(HELLO);
      assertEquals("third", result.message().path("content").asText());
      assertEquals(3, result.attempts());
      assertEquals(List.of(Outcome.SERVER_ERROR, Outcome.SERVER_ERROR, Outcome.OK), result.tried().stream().map(Attempt::outcome).toList());
      assertEquals(2, r.sleeps.waits.size());
      long first = r.sleeps.waits.get(0).toMillis();
      long second = r.sleeps.waits.get(1).toMillis();
      assertTrue(first >= 50 && first <= 100, "base 100ms, jittered in its upper half: " + first);
      assertTrue(second >= 100 && second <= 200, "doubled: " + second);
    }
  }

  @Test
  void aRateLimitHonoursRetryAfter() {
    a.reply(json(429, "{\"error\":{\"message\":\"Rate limit reached\"}}", "Retry-After", "2"), ok(completion("later", 1, 1)));
    try (TestRouter r = Fixtures.router("openai", openAi(a))) {
      ChatResult result = r.complete(HELLO);
      assertEquals("later", result.message().path("content").asText());
      assertEquals(List.of(Outcome.RATE_LIMITED, Outcome.OK), result.tried().stream().map(Attempt::outcome).toList());
      long waited = r.sleeps.waits.stream().mapToLong(Duration::toMillis).sum();
      assertTrue(waited >= 2000, "waited " + r.sleeps.waits);
    }
  }

  @Test
  void retryAfterMsIsReadToo() {
    a.reply(json(429, "{}", "retry-after-ms", "1500"), ok(completion("later", 1, 1)));
    try (TestRouter r = Fixtures.router("openai", openAi(a))) {
      r.complete(HELLO);
      assertEquals(1500, r.sleeps.waits.stream().mapToLong(Duration::toMillis).sum());
    }
  }

  @Test
  void aRateLimitedKeyIsReplacedByAnotherWithoutWaiting() {
    a.otherwise(FakeProvider.byHeader("Authorization", Map.of("Bearer " + SECRET, json(429, "{}", "Retry-After", "30")),
        ok(completion("ok", 1, 1))));
    try (TestRouter r = Fixtures.router("openai", openAi(a, key("k1", SECRET, 1), key("k2", SECRET2, 1)))) {
      for (int i = 0; i < 10; i++) {
        assertEquals("k2", r.complete(HELLO).route().keyId());
      }
      assertTrue(rejected(a) <= 1);
      assertTrue(r.sleeps.waits.isEmpty(), "another key was free: " + r.sleeps.waits);
    }
  }

  @Test
  void aRetryAfterLongerThanMaxDelayMovesOnToTheFallback() {
    a.otherwise(json(429, "{}", "Retry-After", "3600"));
    b.otherwise(ok(completion("from b", 1, 1)));
    try (TestRouter r = two(openAi(a).withFallbacks(List.of("b/gpt-4o-mini")), openAi(b))) {
      ChatResult result = r.complete(call("a/gpt-4o-mini"));
      assertEquals("b", result.route().provider());
      assertEquals(1, a.count());
      assertTrue(r.sleeps.waits.isEmpty());
      // Once every route is rate limited, the client is told when to come back.
      b.otherwise(json(429, "{}", "Retry-After", "3600"));
      r.clock.advance(Duration.ofSeconds(1));
      RouterException e = assertThrows(RouterException.class, () -> r.complete(call("b/gpt-4o-mini")));
      assertEquals(429, e.status());
      assertEquals("rate_limit_error", e.type());
      assertTrue(e.retryAfter().orElseThrow().toSeconds() >= 3500, e.retryAfter().toString());
    }
  }

  @Test
  void clientErrorsAreNeverRetriedNorFallenBack() {
    b.otherwise(ok(completion("b", 1, 1)));
    for (int status : new int[] {400, 404, 422}) {
      a.reply(json(status, "{\"error\":{\"message\":\"bad thing " + status + "\"}}"));
      try (TestRouter r = two(openAi(a).withFallbacks(List.of("b/gpt-4o-mini")), openAi(b))) {
        int before = a.count();
        RouterException e = assertThrows(RouterException.class, () -> r.complete(call("a/gpt-4o-mini")));
        assertEquals(status, e.status());
        assertTrue(e.getMessage().contains("bad thing " + status), e.getMessage());
        assertEquals(before + 1, a.count());
        assertEquals(0, b.count());
        assertTrue(r.sleeps.waits.isEmpty());
      }
    }
  }

  @Test
  void aResetConnectionIsRetried() {
    a.reply(FakeProvider.reset(), ok(completion("again", 1, 1)));
    try (TestRouter r = Fixtures.router("openai", openAi(a))) {
      ChatResult result = r.complete(HELLO);
      assertEquals("again", result.message().path("content").asText());
      assertEquals(Outcome.CONNECTION_FAILED, result.tried().get(0).outcome());
      assertEquals(0, result.tried().get(0).status());
    }
  }

  @Test
  void aResetConnectionIsReportedWithoutInternals() {
    a.otherwise(FakeProvider.reset());
    try (TestRouter r = Fixtures.router("openai", openAi(a))) {
      RouterException e = assertThrows(RouterException.class, () -> r.complete(HELLO));
      assertEquals(502, e.status());
      assertFalse(e.getMessage().contains("Exception") || e.getMessage().contains("127.0.0.1"), e.getMessage());
      assertTrue(e.toJson().toString().indexOf("Exception") < 0, e.toJson().toString());
    }
  }

  // ---- fallbacks

  // ---- completeAsync: the first attempt without a waiting thread, the rest as complete() would

  @Test
  void completeAsyncAnswersAsCompleteDoes() {
    a.otherwise(ok(completion("async", 2, 3)));
    try (TestRouter r = Fixtures.router("openai", openAi(a))) {
      ChatResult result = r.router.completeAsync(request(HELLO), RouteOptions.defaults()).join();
      assertEquals("async", result.message().path("content").asText());
      assertEquals(1, result.attempts());
      assertEquals(List.of(Outcome.OK), result.tried().stream().map(Attempt::outcome).toList());
      assertEquals(5, result.usage().promptTokens() + result.usage().completionTokens());
    }
  }

  @Test
  void completeAsyncGoesOnFromItsFailedFirstAttemptWithTheSameRetryBudget() {
    a.reply(json(500, "{\"error\":{\"message\":\"boom\"}}"), json(503, "{}"), ok(completion("third", 1, 1)));
    try (TestRouter r = Fixtures.router("openai", openAi(a))) {
      ChatResult result = r.router.completeAsync(request(HELLO), RouteOptions.defaults()).join();
      assertEquals("third", result.message().path("content").asText());
      assertEquals(3, result.attempts(), "the failed first attempt counts: no attempt is added or lost");
      assertEquals(List.of(Outcome.SERVER_ERROR, Outcome.SERVER_ERROR, Outcome.OK), result.tried().stream().map(Attempt::outcome).toList());
      assertEquals(2, r.sleeps.waits.size(), "a backoff before each retry, the first one's too");
      assertEquals(3, a.count());
    }
  }

  @Test
  void completeAsyncWalksTheFallbacksOfTheRequestOnce() {
    FakeProvider c = FakeProvider.start();
    try {
      a.otherwise(json(502, "{}"));
      b.otherwise(ok(completion("b", 1, 1)));
      c.otherwise(ok(completion("c", 1, 1)));
      Map<String, ProviderConfig> providers = new LinkedHashMap<>();
      providers.put("a", openAi(a));
      providers.put("b", openAi(b));
      providers.put("c", openAi(c));
      try (TestRouter r = new TestRouter(RouterConfig.of(providers))) {
        ChatResult result = r.router.completeAsync(request("{'model':'a/m','fallbacks':['c/m','b/m']," + MSG + "}"),
            RouteOptions.defaults()).join();
        assertEquals("c", result.route().provider());
        assertEquals(0, b.count());
      }
    } finally {
      c.close();
    }
  }

  @Test
  void completeAsyncEndsAtAClientErrorWithoutRetrying() {
    a.otherwise(json(400, "{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\"}}"));
    try (TestRouter r = Fixtures.router("openai", openAi(a))) {
      java.util.concurrent.CompletionException e = org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.CompletionException.class,
          () -> r.router.completeAsync(request(HELLO), RouteOptions.defaults()).join());
      RouterException re = org.junit.jupiter.api.Assertions.assertInstanceOf(RouterException.class, e.getCause());
      assertEquals(400, re.status());
      assertEquals(1, a.count());
    }
  }

  @Test
  void theConfiguredFallbackChainIsWalkedAfterRetries() {
    a.otherwise(json(500, "{}"));
    b.otherwise(ok(completion("b answers", 1, 1)));
    try (TestRouter r = two(openAi(a).withFallbacks(List.of("b/gpt-4o")), openAi(b))) {
      ChatResult result = r.complete(call("a/gpt-4o-mini"));
      assertEquals(new Route("b", "gpt-4o", "key-1"), result.route());
      assertEquals(4, result.attempts(), "3 on a, 1 on b");
      assertEquals("gpt-4o", b.last().json().path("model").asText());
    }
  }

  @Test
  void requestFallbacksComeFirstAndAreNotForwarded() {
    FakeProvider c = FakeProvider.start();
    try {
      a.otherwise(json(502, "{}"));
      b.otherwise(ok(completion("b", 1, 1)));
      c.otherwise(ok(completion("c", 1, 1)));
      Map<String, ProviderConfig> providers = new LinkedHashMap<>();
      providers.put("a", openAi(a).withFallbacks(List.of("b/m")));
      providers.put("b", openAi(b));
      providers.put("c", openAi(c));
      try (TestRouter r = new TestRouter(RouterConfig.of(providers).withAliases(Map.of("cheap", "c/gpt-4o-mini")))) {
        ObjectNode req = request("{'model':'a/m','fallbacks':['cheap','b/m']," + MSG + "}");
        assertEquals(List.of("a/m", "c/gpt-4o-mini", "b/m"), r.router.targets(req.deepCopy(), RouteOptions.defaults()));
        ChatResult result = r.router.complete(req, RouteOptions.defaults());
        assertEquals("c", result.route().provider());
        assertFalse(req.has("fallbacks"), "consumed from the caller's request");
        assertFalse(c.last().json().has("fallbacks"));
        assertEquals(0, b.count());
      }
    } finally {
      c.close();
    }
  }

  @Test
  void policyFallbacksAForcedModelAndTheAllowFilterComeFromTheGateway() {
    a.otherwise(ok(completion("a", 1, 1)));
    b.otherwise(ok(completion("b", 1, 1)));
    try (TestRouter r = two(openAi(a), openAi(b))) {
      ChatResult forced = r.router.complete(request(call("a/gpt-4o")), RouteOptions.defaults().withForcedModel("b/gpt-4o-mini"));
      assertEquals("b/gpt-4o-mini", forced.route().target());
      assertEquals(List.of("a/x", "b/y"),
          r.router.targets(request(call("a/x")), RouteOptions.defaults().withFallbacks(List.of("b/y"))));
      ChatResult filtered = r.router.complete(request(call("a/x")),
          RouteOptions.defaults().withFallbacks(List.of("b/y")).withAllowed(t -> t.startsWith("b/")));
      assertEquals("b/y", filtered.route().target());
      RouterException e = assertThrows(RouterException.class,
          () -> r.router.complete(request(call("a/x")), RouteOptions.defaults().withAllowed(t -> false)));
      assertEquals(403, e.status());
      assertEquals("model_not_allowed", e.code());
    }
  }

  @Test
  void unknownModelsAreNotFoundAndAliasesResolve() {
    a.otherwise(ok(completion("a", 1, 1)));
    Map<String, ProviderConfig> providers = Map.of("a", openAi(a).withModels(List.of("gpt-4o-mini")));
    try (TestRouter r = new TestRouter(RouterConfig.of(providers).withAliases(Map.of("fast", "a/gpt-4o-mini")))) {
      assertEquals("a/gpt-4o-mini", r.complete(call("fast")).route().target());
      assertEquals("a/gpt-4o-mini", r.complete(call("gpt-4o-mini")).route().target(), "a bare name one provider lists");
      for (String unknown : new String[] {"nope/gpt-4o", "gpt-9", "slow"}) {
        RouterException e = assertThrows(RouterException.class, () -> r.complete(call(unknown)));
        assertEquals(404, e.status());
        assertEquals("model_not_found", e.code());
        assertEquals("invalid_request_error", e.type());
      }
      List<ModelInfo> models = r.router.models();
      assertEquals(new ModelInfo("fast", "a", Optional.of("a/gpt-4o-mini")), models.get(0));
      assertTrue(models.contains(new ModelInfo("a/gpt-4o-mini", "a", Optional.empty())));
    }
  }

  @Test
  void malformedRequestsAreRefusedWithTheFieldAtFault() {
    try (TestRouter r = Fixtures.router("openai", openAi(a))) {
      RouterException noMessages = assertThrows(RouterException.class, () -> r.complete("{'model':'openai/gpt-4o'}"));
      assertEquals(400, noMessages.status());
      assertEquals("messages", noMessages.param().orElseThrow());
      RouterException noModel = assertThrows(RouterException.class, () -> r.complete("{" + MSG + "}"));
      assertEquals("model", noModel.param().orElseThrow());
      RouterException badFallbacks = assertThrows(RouterException.class,
          () -> r.complete("{'model':'openai/gpt-4o','fallbacks':[1]," + MSG + "}"));
      assertEquals("fallbacks", badFallbacks.param().orElseThrow());
      ObjectNode body = noMessages.toJson();
      assertEquals("invalid_request_error", body.path("error").path("type").asText());
      assertEquals("messages", body.path("error").path("param").asText());
      assertEquals(0, a.count());
    }
  }

  // ---- cooldown

  @Test
  void aKeyFailingRepeatedlyIsCooledDownThenTriedAgainAfterTheCooldown() {
    a.otherwise(json(500, "{}"));
    b.otherwise(ok(completion("b", 1, 1)));
    try (TestRouter r = two(openAi(a).withFallbacks(List.of("b/m")).withCooldown(Duration.ofSeconds(30)), openAi(b))) {
      r.complete(call("a/m"));
      assertEquals(3, a.count(), "three failures in a row cool the key");
      r.complete(call("a/m"));
      assertEquals(3, a.count(), "while cooling, a is skipped and b answers at once");
      r.clock.advance(Duration.ofSeconds(31));
      a.reply(ok(completion("a is back", 1, 1)));
      ChatResult back = r.complete(call("a/m"));
      assertEquals("a", back.route().provider());
      assertEquals(4, a.count());
    }
  }

  @Test
  void aCoolingKeyIsStillProbedWhenNothingElseCouldAnswer() {
    a.reply(json(500, "{}"), json(500, "{}"), json(500, "{}"), ok(completion("recovered", 1, 1)));
    try (TestRouter r = Fixtures.router("a", openAi(a))) {
      RouterException e = assertThrows(RouterException.class, () -> r.complete(call("a/m")));
      assertEquals(502, e.status());
      assertEquals("upstream_error", e.code());
      ChatResult probe = r.complete(call("a/m"));
      assertEquals("recovered", probe.message().path("content").asText());
      assertEquals(1, probe.attempts());
    }
  }

  // ---- limits and timeouts

  @Test
  void theConcurrencyLimitTurnsExcessCallsAwayAfterTheConnectTimeout() throws Exception {
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch gate = new CountDownLatch(1);
    a.reply(FakeProvider.await(entered, gate, ok(completion("slow", 1, 1))));
    ProviderConfig limited = openAi(a).withMaxConcurrency(1)
        .withTimeouts(new ProviderConfig.Timeouts(Duration.ofMillis(150), Duration.ofSeconds(5), Duration.ofSeconds(10)));
    try (TestRouter r = Fixtures.router("a", limited); ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      Future<ChatResult> first = pool.submit(() -> r.complete(call("a/m")));
      entered.await();
      RouterException e = assertThrows(RouterException.class, () -> r.complete(call("a/m")));
      assertEquals(503, e.status());
      assertEquals("provider_busy", e.code());
      assertEquals(3, e.attempts().size());
      assertTrue(e.attempts().stream().allMatch(t -> t.outcome() == Outcome.BUSY));
      assertEquals(1, a.count(), "the busy calls never reached the provider");
      gate.countDown();
      assertEquals("slow", first.get().message().path("content").asText());
    }
  }

  @Test
  void aStreamWithNoFirstByteInTimeIsRetried() {
    a.reply(FakeProvider.sseThenStall(Duration.ofSeconds(5)),
        FakeProvider.sse(chunk("{'role':'assistant','content':'fresh'}", null), chunk("{}", "stop"), "data: [DONE]"));
    ProviderConfig p = openAi(a).withTimeouts(new ProviderConfig.Timeouts(Duration.ofSeconds(2), Duration.ofMillis(300), Duration.ofSeconds(10)));
    try (TestRouter r = Fixtures.router("a", p)) {
      Fixtures.Streamed s = r.stream("{'model':'a/m','stream':true," + MSG + "}");
      assertEquals("fresh", s.content());
      assertEquals(Outcome.TIMEOUT, s.result.tried().get(0).outcome());
      assertTrue(s.result.tried().get(0).error().orElseThrow().contains("first-byte"), s.result.tried().get(0).toString());
    }
  }

  @Test
  void aCallStalledPastTheTotalTimeoutIsRetried() {
    a.reply(FakeProvider.stall(Duration.ofSeconds(5)), ok(completion("fresh", 1, 1)));
    ProviderConfig p = openAi(a).withTimeouts(new ProviderConfig.Timeouts(Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofMillis(400)));
    try (TestRouter r = Fixtures.router("a", p)) {
      ChatResult result = r.complete(call("a/m"));
      assertEquals("fresh", result.message().path("content").asText());
      assertEquals(Outcome.TIMEOUT, result.tried().get(0).outcome());
      a.reply(FakeProvider.stall(Duration.ofSeconds(5)), FakeProvider.stall(Duration.ofSeconds(5)), FakeProvider.stall(Duration.ofSeconds(5)));
      RouterException e = assertThrows(RouterException.class, () -> r.complete(call("a/m")));
      assertEquals(504, e.status());
      assertEquals("upstream_timeout", e.code());
    }
  }

  // ---- streams commit to their route

  @Test
  void aStreamThatBreaksAfterItsFirstChunkIsNeverMovedToAnotherProvider() {
    a.reply(FakeProvider.sseThenDrop(chunk("{'role':'assistant','content':'partial'}", null)));
    b.otherwise(FakeProvider.sse(chunk("{'role':'assistant','content':'b'}", null), chunk("{}", "stop"), "data: [DONE]"));
    try (TestRouter r = two(openAi(a).withFallbacks(List.of("b/m")), openAi(b))) {
      List<ObjectNode> seen = new ArrayList<>();
      RouterException e = assertThrows(RouterException.class,
          () -> r.router.stream(request("{'model':'a/m','stream':true," + MSG + "}"), RouteOptions.defaults(), seen::add));
      assertEquals(502, e.status());
      assertEquals("stream_interrupted", e.code());
      assertFalse(e.getMessage().contains("Exception") || e.getMessage().contains("127.0.0.1") || e.getMessage().contains("oejc"),
          "the error names the provider by its config name only: " + e.getMessage());
      assertTrue(e.getMessage().startsWith("a/m: "), e.getMessage());
      assertEquals(Outcome.STREAM_BROKEN, e.attempts().get(0).outcome());
      assertEquals(1, e.attempts().size());
      assertEquals("partial", seen.get(0).path("choices").path(0).path("delta").path("content").asText());
      assertEquals(1, a.count());
      assertEquals(0, b.count(), "no provider switch after the first streamed byte");
    }
  }

  @Test
  void aStreamThatBreaksBeforeSayingAnythingFallsBackUnseen() {
    a.otherwise(FakeProvider.sseThenDrop(chunk("{'role':'assistant','content':''}", null)));
    b.otherwise(FakeProvider.sse(chunk("{'role':'assistant','content':'from b'}", null), chunk("{}", "stop"), "data: [DONE]"));
    try (TestRouter r = two(openAi(a).withFallbacks(List.of("b/m")), openAi(b))) {
      Fixtures.Streamed s = r.stream("{'model':'a/m','stream':true," + MSG + "}");
      assertEquals("from b", s.content());
      assertEquals("b", s.result.route().provider());
      assertEquals(2, s.chunks.size(), "a's bare role chunk was held back, never delivered");
    }
  }

  @Test
  void theSinkLearnsTheFixedRouteOnceBeforeTheFirstChunk() {
    a.otherwise(FakeProvider.sseThenDrop(chunk("{'role':'assistant','content':''}", null)));
    b.otherwise(FakeProvider.sse(chunk("{'role':'assistant','content':'from b'}", null), chunk("{}", "stop"), "data: [DONE]"));
    try (TestRouter r = two(openAi(a).withFallbacks(List.of("b/m")), openAi(b))) {
      List<String> events = new ArrayList<>();
      r.router.stream(request("{'model':'a/m','stream':true," + MSG + "}"), RouteOptions.defaults(), new ChunkSink() {
        @Override
        public void onStart(Route route, int attempts) {
          events.add("start " + route + " after " + attempts);
        }

        @Override
        public void onChunk(ObjectNode chunk) {
          events.add("chunk");
        }
      });
      assertEquals(List.of("start b/m (key key-1) after 4", "chunk", "chunk"), events);
    }
  }

  @Test
  void anExceptionFromTheSinkPropagatesUnchangedAndIsNotRetried() {
    a.otherwise(FakeProvider.sse(chunk("{'role':'assistant','content':'x'}", null), chunk("{}", "stop"), "data: [DONE]"));
    try (TestRouter r = Fixtures.router("a", openAi(a))) {
      IllegalStateException gone = new IllegalStateException("client went away");
      IllegalStateException thrown = assertThrows(IllegalStateException.class,
          () -> r.router.stream(request("{'model':'a/m','stream':true," + MSG + "}"), RouteOptions.defaults(), c -> {
            throw gone;
          }));
      assertSame(gone, thrown);
      assertEquals(1, a.count());
    }
  }

  @Test
  void providerMessagesEchoingAKeyAreScrubbed() {
    a.otherwise(json(500, "{\"error\":{\"message\":\"upstream saw key " + SECRET + " and api_key=abc123\"}}"));
    try (TestRouter r = Fixtures.router("a", openAi(a))) {
      RouterException e = assertThrows(RouterException.class, () -> r.complete(call("a/m")));
      String everything = e.getMessage() + e.toJson() + e.attempts();
      assertFalse(everything.contains(SECRET), everything);
      assertFalse(everything.contains("abc123"), everything);
      assertTrue(everything.contains("[redacted]"), everything);
    }
  }

  // ---- latency

  @Test
  void latencyAwareChoiceFavoursTheFasterKey() {
    a.otherwise(FakeProvider.byHeader("Authorization", Map.of("Bearer " + SECRET2, ex -> {
      Thread.sleep(150);
      ok(completion("slow", 1, 1)).write(ex);
    }), ok(completion("fast", 1, 1))));
    try (TestRouter r = Fixtures.router("a", openAi(a, key("fast", SECRET, 1), key("slow", SECRET2, 1)).withLatencyAware(true))) {
      for (int i = 0; i < 10; i++) {
        r.complete(call("a/m"));
      }
      int slow = 0;
      for (int i = 0; i < 30; i++) {
        if (r.complete(call("a/m")).route().keyId().equals("slow")) {
          slow++;
        }
      }
      assertTrue(slow <= 8, "equal weights, but the slow key got " + slow + " of 30");
    }
  }
}
