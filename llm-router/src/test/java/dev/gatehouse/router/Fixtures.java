package dev.gatehouse.router;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/** Shared test fixtures: a settable clock, a sleeper that only advances it, routers wired to both. */
final class Fixtures {
  static final String SECRET = "sk-test-SECRET-0123456789abcdef";
  static final String SECRET2 = "sk-test-OTHER-9876543210fedcba";

  private Fixtures() {}

  /** A clock tests move by hand; sleeping through {@link Sleeps} moves it too. */
  static final class FakeClock extends Clock {
    private final AtomicLong millis = new AtomicLong(Instant.parse("2025-06-01T12:00:00Z").toEpochMilli());

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis.get());
    }

    @Override
    public long millis() {
      return millis.get();
    }

    void advance(Duration d) {
      millis.addAndGet(d.toMillis());
    }
  }

  /** Records every wait and advances the clock instead of sleeping. */
  static final class Sleeps implements Sleeper {
    final List<Duration> waits = new CopyOnWriteArrayList<>();
    final FakeClock clock;

    Sleeps(FakeClock clock) {
      this.clock = clock;
    }

    @Override
    public void sleep(Duration d) {
      waits.add(d);
      clock.advance(d);
    }
  }

  /** A router on a fake clock and sleeper with a seeded random source. */
  static final class TestRouter implements AutoCloseable {
    final FakeClock clock = new FakeClock();
    final Sleeps sleeps = new Sleeps(clock);
    final DefaultRouter router;

    TestRouter(RouterConfig config) {
      Random random = new Random(42);
      router = new DefaultRouter(config, new DefaultRouter.Env(clock, sleeps, random::nextDouble));
    }

    ChatResult complete(String json) {
      return router.complete(request(json), RouteOptions.defaults());
    }

    ChatResult embed(String json) {
      return router.embed(request(json), RouteOptions.defaults());
    }

    Streamed stream(String json) {
      Streamed s = new Streamed();
      s.result = router.stream(request(json), RouteOptions.defaults(), s.chunks::add);
      return s;
    }

    @Override
    public void close() {
      router.close();
    }
  }

  /** A stream's chunks and result. */
  static final class Streamed {
    final List<ObjectNode> chunks = new ArrayList<>();
    StreamResult result;

    String content() {
      StringBuilder sb = new StringBuilder();
      for (ObjectNode c : chunks) {
        sb.append(c.path("choices").path(0).path("delta").path("content").asText(""));
      }
      return sb.toString();
    }
  }

  static TestRouter router(String name, ProviderConfig provider) {
    return new TestRouter(RouterConfig.of(Map.of(name, provider)));
  }

  static ObjectNode request(String json) {
    try {
      return Json.parseObject(json.replace('\'', '"'));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static ObjectNode json(String json) {
    return request(json);
  }

  /** Fast retries and short timeouts for tests. */
  static ProviderConfig fast(ProviderConfig p) {
    return p.withRetry(new ProviderConfig.Retry(3, Duration.ofMillis(100), Duration.ofSeconds(5)))
        .withTimeouts(new ProviderConfig.Timeouts(Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(10)));
  }

  static ProviderConfig openAi(FakeProvider server, ProviderConfig.Key... keys) {
    return fast(ProviderConfig.of(ProviderKind.OPENAI, keys.length == 0 ? new ProviderConfig.Key[] {ProviderConfig.Key.of(SECRET)} : keys)
        .withBaseUrl(server.url() + "/v1"));
  }

  static final String HELLO = "{'model':'openai/gpt-4o-mini','messages':[{'role':'user','content':'hi'}]}";

  static String completion(String content, int prompt, int completion) {
    return ("{'id':'chatcmpl-1','object':'chat.completion','created':1,'model':'gpt-4o-mini','choices':[{'index':0,"
        + "'message':{'role':'assistant','content':'" + content + "'},'finish_reason':'stop'}],"
        + "'usage':{'prompt_tokens':" + prompt + ",'completion_tokens':" + completion + ",'total_tokens':" + (prompt + completion) + "}}")
        .replace('\'', '"');
  }

  static String chunk(String delta, String finish) {
    return ("data: {'id':'chatcmpl-9','object':'chat.completion.chunk','created':1,'model':'gpt-4o-mini','choices':[{'index':0,"
        + "'delta':" + delta + ",'finish_reason':" + (finish == null ? "null" : "'" + finish + "'") + "}]}").replace('\'', '"');
  }

  static String usageChunk(int prompt, int completion) {
    return ("data: {'id':'chatcmpl-9','object':'chat.completion.chunk','created':1,'model':'gpt-4o-mini','choices':[],"
        + "'usage':{'prompt_tokens':" + prompt + ",'completion_tokens':" + completion + ",'total_tokens':" + (prompt + completion) + "}}")
        .replace('\'', '"');
  }
}
