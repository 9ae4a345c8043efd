package dev.gatehouse.gateway;

import dev.gatehouse.identity.Principal;
import dev.gatehouse.policy.RateCounters;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.LocalDate;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rate limits and daily budgets counted in Redis ({@code limits.store: redis://…}), so every replica
 * pointed at the same Redis shares them.
 *
 * <p><b>Rate limits</b> are GCRA (the generic cell rate algorithm: a token bucket kept as one
 * "theoretical arrival time" per bucket), in one Lua script that checks every bucket a call needs and
 * takes from all or none, atomically, on Redis's clock (so replicas' clocks do not matter). A bucket of
 * N per minute admits a burst of N, then one every 60/N seconds, as the in-process limiter does. Keys
 * expire once their bucket is full again, so Redis holds only the principals active in the last minute.
 *
 * <p><b>Budgets</b>: a principal's spend for a UTC day is one integer key (nano-USD), seeded from the
 * audit store the first time any replica needs it that day, added to when a model call finishes, and
 * expiring after two days.
 *
 * <p><b>When Redis cannot be reached</b> (refused, dropped, or slower than {@code timeout_ms}), a
 * command fails at once (commands are not queued while disconnected; the client reconnects in the
 * background) and {@code on_unavailable} decides: {@code fail_closed} refuses the call saying why,
 * {@code fail_open} counts it in this process alone. Either way the failure is counted in
 * {@code gatehouse_limits_store_errors_total}, {@code gatehouse_limits_store_up} drops to 0, and one
 * log line marks the outage and one its end.
 */
final class SharedLimits implements RateCounters, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger("gatehouse.limits");
  private static final long MINUTE_MICROS = 60_000_000L;
  /** How long a day's spend is kept; a month's is kept {@link #MONTH_TTL}. */
  private static final Duration SPEND_TTL = Duration.ofDays(2);
  private static final Duration MONTH_TTL = Duration.ofDays(33);

  // KEYS: the buckets; ARGV: per bucket its emission interval and burst tolerance (microseconds).
  // Returns {0, 0} when every bucket gave a token, else {index (1-based), microseconds to wait}.
  private static final String GCRA = """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
      local tats = {}
      for i = 1, #KEYS do
        local interval = tonumber(ARGV[2 * i - 1])
        local tolerance = tonumber(ARGV[2 * i])
        local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
        if tat < now then tat = now end
        local wait = tat - tolerance - now
        if wait > 0 then return {i, math.ceil(wait)} end
        tats[i] = tat + interval
      end
      for i = 1, #KEYS do
        redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX', math.ceil((tats[i] - now) / 1000) + 1000)
      end
      return {0, 0}
      """;

  // Token buckets (tokens_per_minute) as GCRA with a cost: KEYS are the buckets; ARGV[1] the tokens
  // (negative gives back), ARGV[2] '1' to take (refusing when a bucket is short) or '0' to settle
  // (charging past empty, giving back no further than full); then per bucket its microseconds per
  // token and its burst (a minute) in microseconds. Returns {0, 0}, or {index (1-based), microseconds to wait}.
  private static final String TOKENS = """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
      local cost = tonumber(ARGV[1])
      local take = ARGV[2] == '1'
      local tats = {}
      for i = 1, #KEYS do
        local interval = tonumber(ARGV[1 + 2 * i])
        local burst = tonumber(ARGV[2 + 2 * i])
        local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
        if tat < now then tat = now end
        local nxt = tat + cost * interval
        if take and nxt - now > burst then return {i, math.ceil(nxt - now - burst)} end
        if nxt < now then nxt = now end
        tats[i] = nxt
      end
      for i = 1, #KEYS do
        redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX', math.ceil((tats[i] - now) / 1000) + 1000)
      end
      return {0, 0}
      """;

  // Adds to a day's spend only once it has been seeded (from the audit store) by a read.
  private static final String ADD_SPEND = """
      if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCRBY', KEYS[1], ARGV[1]) end
      return -1
      """;

  /** Why a shared count could not be made: Redis unreachable or too slow. */
  static final class Unavailable extends RuntimeException {
    Unavailable(String message, Throwable cause) {
      super(message, cause, false, false);
    }
  }

  private final LimitsSettings settings;
  private final String location;
  private final RedisClients.Connected redisConnection;
  private final StatefulRedisConnection<String, String> connection;
  private final RedisAsyncCommands<String, String> redis;
  private final String gcraSha;
  private final AtomicBoolean up = new AtomicBoolean(true);
  private final AtomicLong errors = new AtomicLong();

  private SharedLimits(LimitsSettings settings, GatewayMetrics metrics) {
    this.settings = settings;
    this.location = settings.location();
    redisConnection = RedisClients.connect(settings.store().orElseThrow(), settings.timeout(), "limits.store");
    connection = redisConnection.connection();
    redis = connection.async();
    try {
      gcraSha = connection.sync().scriptLoad(GCRA);
    } catch (RuntimeException e) {
      redisConnection.close();
      throw new IllegalStateException("limits.store: " + location + " refused the rate-limit script: " + e.getMessage());
    }
    if (metrics != null) {
      metrics.gauge("gatehouse.limits.store.up", "1 while the shared limits store (Redis) answers, 0 during an outage",
          () -> up.get() ? 1 : 0);
      metrics.gauge("gatehouse.limits.store.errors", "Counts the shared limits store could not make (unreachable or too slow)",
          errors::get);
    }
    log.info("limits: rate limits and budgets counted in {} (on_unavailable: {})", location, settings.onUnavailable().wire());
  }

  /**
   * Connects to the Redis in {@code settings.store}; fails when it cannot be reached now (a replica
   * should not start counting alone unnoticed).
   */
  static SharedLimits connect(LimitsSettings settings, GatewayMetrics metrics) {
    return new SharedLimits(settings, metrics);
  }

  String location() {
    return location;
  }

  boolean up() {
    return up.get();
  }

  /** Counts in this process instead of refusing, when Redis cannot be reached. */
  boolean failOpen() {
    return settings.onUnavailable() == LimitsSettings.FailMode.FAIL_OPEN;
  }

  // ---- rate limits ----

  @Override
  public CompletableFuture<Taken> take(List<Bucket> buckets) {
    String[] keys = new String[buckets.size()];
    String[] args = new String[buckets.size() * 2];
    for (int i = 0; i < keys.length; i++) {
      Bucket b = buckets.get(i);
      keys[i] = "gatehouse:rl:" + digest(b.limit(), b.issuer(), b.subject());
      long interval = MINUTE_MICROS / b.perMinute();
      args[2 * i] = Long.toString(interval);
      args[2 * i + 1] = Long.toString(interval * (b.perMinute() - 1));
    }
    CompletableFuture<List<Object>> sent = redis.<List<Object>>evalsha(gcraSha, ScriptOutputType.MULTI, keys, args)
        .toCompletableFuture()
        .exceptionallyCompose(e -> unwrap(e).getMessage() != null && unwrap(e).getMessage().startsWith("NOSCRIPT")
            // Redis restarted and forgot the script: send it in full once.
            ? redis.<List<Object>>eval(GCRA, ScriptOutputType.MULTI, keys, args).toCompletableFuture()
            : CompletableFuture.failedFuture(e));
    return bounded(sent).handle(this::taken);
  }

  /** A bucket script's answer ({0, 0}, or {index, microseconds}), or its failure, as a {@link Taken}. */
  private Taken taken(List<Object> r, Throwable e) {
    if (e != null) {
      String why = failed(e);
      return failOpen() ? Taken.LOCAL : new Taken(-1, 0, Optional.of(why));
    }
    recovered();
    int index = ((Long) r.get(0)).intValue();
    return index == 0 ? Taken.ALL : new Taken(index - 1, ((Long) r.get(1)) * 1000, Optional.empty());
  }

  // ---- token limits ----

  /**
   * Takes {@code tokens} from every bucket (all or none; {@code take}), or settles a reservation:
   * charges (positive) or gives back (negative) {@code tokens} without refusing. Never fails: an
   * unreachable Redis gives {@link Taken#LOCAL} (fail_open) or a {@code Taken} naming why (fail_closed).
   */
  CompletableFuture<Taken> tokens(List<Bucket> buckets, long tokens, boolean take) {
    String[] keys = new String[buckets.size()];
    String[] args = new String[2 + buckets.size() * 2];
    args[0] = Long.toString(tokens);
    args[1] = take ? "1" : "0";
    for (int i = 0; i < keys.length; i++) {
      Bucket b = buckets.get(i);
      keys[i] = "gatehouse:tpm:" + digest(b.limit(), b.issuer(), b.subject());
      args[2 + 2 * i] = Double.toString(MINUTE_MICROS / (double) b.perMinute());
      args[3 + 2 * i] = Long.toString(MINUTE_MICROS);
    }
    return bounded(redis.<List<Object>>eval(TOKENS, ScriptOutputType.MULTI, keys, args).toCompletableFuture()).handle(this::taken);
  }

  // ---- budgets ----

  /** An owner's spend in a period (a day or a month), or empty when no replica has seeded it yet. Fails with {@link Unavailable}. */
  CompletableFuture<Optional<BigDecimal>> spent(String issuer, String subject, String period) {
    return bounded(redis.get(spendKey(issuer, subject, period)).toCompletableFuture()).handle((v, e) -> {
      if (e != null) {
        throw new Unavailable(failed(e), e);
      }
      recovered();
      return Optional.ofNullable(v).map(n -> new BigDecimal(n).movePointLeft(9));
    });
  }

  /** Seeds a period's spend (from the audit store) unless another replica did first; the value in force. */
  CompletableFuture<BigDecimal> seed(String issuer, String subject, String period, BigDecimal usd) {
    String key = spendKey(issuer, subject, period);
    return bounded(redis.set(key, nanos(usd).toString(), SetArgs.Builder.nx().ex(period.length() == 7 ? MONTH_TTL : SPEND_TTL)).toCompletableFuture()
        .thenCompose(ok -> redis.get(key).toCompletableFuture())).handle((v, e) -> {
          if (e != null) {
            throw new Unavailable(failed(e), e);
          }
          recovered();
          return v == null ? usd : new BigDecimal(v).movePointLeft(9);
        });
  }

  /**
   * Adds a finished call's cost to the day's shared spend (nothing before a replica seeded the day: the
   * audit store has the call then). Completes when Redis has it; failures are counted, never thrown.
   */
  CompletableFuture<Void> add(String issuer, String subject, String period, BigDecimal usd) {
    return bounded(redis.<Long>eval(ADD_SPEND, ScriptOutputType.INTEGER, new String[] {spendKey(issuer, subject, period)}, nanos(usd).toString())
        .toCompletableFuture())
        .whenComplete((v, e) -> {
          if (e != null) {
            failed(e);
          } else {
            recovered();
          }
        }).handle((v, e) -> null);
  }

  private static BigDecimal nanos(BigDecimal usd) {
    return usd.movePointRight(9).setScale(0, java.math.RoundingMode.CEILING);
  }

  /** One owner's spend in one period ({@code 2026-12-07} or {@code 2026-12}); a principal's day keeps its key from before scopes. */
  private static String spendKey(String issuer, String subject, String period) {
    return "gatehouse:spend:" + digest(issuer, subject) + ":" + period;
  }

  // ---- plumbing ----

  private <T> CompletableFuture<T> bounded(CompletableFuture<T> f) {
    return f.orTimeout(settings.timeout().toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Counts a failure, logs the start of an outage once; returns the reason for a refusal. */
  private String failed(Throwable e) {
    errors.incrementAndGet();
    Throwable cause = unwrap(e);
    String what = cause instanceof java.util.concurrent.TimeoutException
        ? "no answer within " + settings.timeout().toMillis() + " ms"
        : String.valueOf(cause.getMessage());
    if (up.compareAndSet(true, false)) {
      log.error("limits: the shared limits store {} cannot be reached ({}); on_unavailable: {}", location, what,
          settings.onUnavailable().wire());
    }
    return "the shared limits store " + location + " cannot be reached (" + what + "); limits.on_unavailable is "
        + settings.onUnavailable().wire();
  }

  private void recovered() {
    if (up.compareAndSet(false, true)) {
      log.warn("limits: the shared limits store {} answers again", location);
    }
  }

  private static Throwable unwrap(Throwable e) {
    while ((e instanceof CompletionException || e instanceof java.util.concurrent.ExecutionException) && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }

  private static String digest(String... parts) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (String p : parts) {
        sha.update(p.getBytes(StandardCharsets.UTF_8));
        sha.update((byte) 0);
      }
      return HexFormat.of().formatHex(sha.digest(), 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    redisConnection.close();
  }
}
