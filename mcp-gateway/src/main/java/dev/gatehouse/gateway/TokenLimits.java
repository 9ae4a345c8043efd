package dev.gatehouse.gateway;

import dev.gatehouse.policy.PolicyEngine.ModelLimit;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * {@code tokens_per_minute}: model tokens (input + output) per minute, per rule and per owner of its
 * scope (principal, API key, tenant, group). A bucket holds up to a minute's tokens and refills
 * continuously. Before a model call the request's estimated input tokens are reserved from every bucket
 * that applies, all or none; after it, the reservation is settled from the usage the provider reported
 * (the output and any underestimate are charged, an overestimate given back), so a bucket can go below
 * zero and then refuses until it has refilled. A request estimated at more than a whole minute's
 * tokens is refused outright: it could never fit.
 *
 * <p>Counted in this process, or with {@code limits.store: redis://…} in Redis, shared by every replica
 * ({@link SharedLimits#tokens}; when Redis cannot be reached, {@code on_unavailable} decides as for rate
 * limits). In memory, the buckets are bounded by the owners active in the last minute or so: a bucket
 * that has refilled completely is dropped by a sweep that runs at most once a minute.
 */
final class TokenLimits {
  private static final long MINUTE_NANOS = 60_000_000_000L;

  private final LongSupplier nanos;
  private final SharedLimits shared;
  private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();
  private final AtomicLong nextSweep = new AtomicLong();

  TokenLimits(LongSupplier nanos) {
    this(nanos, null);
  }

  TokenLimits(LongSupplier nanos, SharedLimits shared) {
    this.nanos = nanos;
    this.shared = shared;
    this.nextSweep.set(nanos.getAsLong() + MINUTE_NANOS);
  }

  /** Tokens taken from buckets for one call, to settle when it ends. */
  static final class Reservation {
    private final List<Bucket> from;
    /** The Redis buckets, when counted there. */
    private final List<dev.gatehouse.policy.RateCounters.Bucket> sharedFrom;
    private final long tokens;
    private boolean settled;

    private Reservation(List<Bucket> from, List<dev.gatehouse.policy.RateCounters.Bucket> sharedFrom, long tokens) {
      this.from = from;
      this.sharedFrom = sharedFrom;
      this.tokens = tokens;
    }
  }

  /** A refusal: which limit, and when to retry. */
  record Refusal(ModelLimit limit, String message, long retryAfterSeconds) {}

  /** The outcome of {@link #reserve}: a reservation (possibly of nothing), or a refusal. */
  record Reserved(Reservation reservation, Refusal refusal) {}

  /**
   * Reserves {@code estimate} tokens from the bucket of every limit in {@code limits} that sets
   * {@code tokens_per_minute}, in Redis when shared; none when one has too few. Never fails.
   */
  java.util.concurrent.CompletableFuture<Reserved> reserveAsync(List<ModelLimit> limits, long estimate) {
    if (shared == null) {
      return java.util.concurrent.CompletableFuture.completedFuture(reserve(limits, estimate));
    }
    List<ModelLimit> counted = limits.stream().filter(l -> l.tokensPerMinute().isPresent()).toList();
    for (ModelLimit l : counted) {
      if (estimate > l.tokensPerMinute().getAsInt()) {
        return java.util.concurrent.CompletableFuture.completedFuture(new Reserved(null, tooLarge(l, estimate)));
      }
    }
    List<dev.gatehouse.policy.RateCounters.Bucket> buckets = counted.stream().map(TokenLimits::bucket).toList();
    return shared.tokens(buckets, estimate, true).thenApply(t -> {
      if (t.local()) {
        return reserve(limits, estimate);
      }
      if (t.unavailable().isPresent()) {
        ModelLimit l = counted.get(0);
        return new Reserved(null, new Refusal(l, "Token limit of rule '" + l.ruleId() + "' cannot be counted: " + t.unavailable().get(), 1));
      }
      if (!t.ok()) {
        return new Reserved(null, reached(counted.get(t.refused()), t.waitNanos()));
      }
      return new Reserved(new Reservation(List.of(), buckets, estimate), null);
    });
  }

  private static dev.gatehouse.policy.RateCounters.Bucket bucket(ModelLimit l) {
    int perMinute = l.tokensPerMinute().getAsInt();
    return new dev.gatehouse.policy.RateCounters.Bucket(l.ruleId() + "\u0000tokens\u0000" + perMinute, l.ownerIssuer(), l.ownerSubject(),
        perMinute);
  }

  private static Refusal tooLarge(ModelLimit l, long estimate) {
    return new Refusal(l, "Token limit of rule '" + l.ruleId() + "' for " + l.owner() + ": this request is estimated at " + estimate
        + " input tokens, more than the " + l.tokensPerMinute().getAsInt() + " tokens per minute the rule allows", 60);
  }

  private static Refusal reached(ModelLimit l, long waitNanos) {
    long seconds = Math.max(1, (waitNanos + 999_999_999L) / 1_000_000_000L);
    return new Refusal(l, "Token limit of rule '" + l.ruleId() + "' reached for " + l.owner() + ": "
        + l.tokensPerMinute().getAsInt() + " tokens per minute; retry after " + seconds + " s", seconds);
  }

  /** {@link #reserveAsync} in this process. */
  Reserved reserve(List<ModelLimit> limits, long estimate) {
    long now = nanos.getAsLong();
    sweepIfDue(now);
    List<Bucket> taken = new ArrayList<>(2);
    for (ModelLimit l : limits) {
      if (l.tokensPerMinute().isEmpty()) {
        continue;
      }
      int perMinute = l.tokensPerMinute().getAsInt();
      if (estimate > perMinute) {
        giveBack(taken, estimate, now);
        return new Reserved(null, tooLarge(l, estimate));
      }
      Bucket b = bucket(l, perMinute, now);
      long wait = b.take(estimate, now);
      if (wait > 0) {
        giveBack(taken, estimate, now);
        return new Reserved(null, reached(l, wait));
      }
      taken.add(b);
    }
    return new Reserved(taken.isEmpty() ? null : new Reservation(taken, List.of(), estimate), null);
  }

  /** Settles a reservation with the tokens the call really used (0 when it failed before the provider answered). */
  void settle(Reservation r, long used) {
    if (r == null) {
      return;
    }
    synchronized (r) {
      if (r.settled) {
        return;
      }
      r.settled = true;
    }
    long now = nanos.getAsLong();
    for (Bucket b : r.from) {
      b.adjust(r.tokens - used, now);
    }
    if (!r.sharedFrom.isEmpty() && used != r.tokens) {
      shared.tokens(r.sharedFrom, used - r.tokens, false); // failures are counted by SharedLimits; nothing waits
    }
  }

  private static void giveBack(List<Bucket> taken, long tokens, long now) {
    taken.forEach(b -> b.adjust(tokens, now));
  }

  private Bucket bucket(ModelLimit l, int perMinute, long now) {
    String key = l.ruleId() + "\u0000" + perMinute + "\u0000" + l.ownerIssuer() + "\u0000" + l.ownerSubject();
    return buckets.computeIfAbsent(key, k -> new Bucket(perMinute, now));
  }

  int size() {
    return buckets.size();
  }

  private void sweepIfDue(long now) {
    long due = nextSweep.get();
    if (now - due < 0 || !nextSweep.compareAndSet(due, now + MINUTE_NANOS)) {
      return;
    }
    buckets.entrySet().removeIf(e -> e.getValue().full(now));
  }

  /** One owner's tokens for one limit: up to a minute's worth, refilled continuously, may go negative. */
  private static final class Bucket {
    final double capacity;
    final double nanosPerToken;
    double tokens;
    long last;

    Bucket(int perMinute, long now) {
      this.capacity = perMinute;
      this.nanosPerToken = MINUTE_NANOS / (double) perMinute;
      this.tokens = perMinute;
      this.last = now;
    }

    private void refill(long now) {
      if (now - last > 0) {
        tokens = Math.min(capacity, tokens + (now - last) / nanosPerToken);
        last = now;
      }
    }

    /** Takes {@code n} tokens; 0 when taken, else the nanoseconds until there are enough. */
    synchronized long take(long n, long now) {
      refill(now);
      if (tokens >= n) {
        tokens -= n;
        return 0;
      }
      return Math.max(1, (long) Math.ceil((n - tokens) * nanosPerToken));
    }

    /** Gives back (positive) or charges (negative) tokens. */
    synchronized void adjust(long n, long now) {
      refill(now);
      tokens = Math.min(capacity, tokens + n);
    }

    /** Whether it has refilled completely: then it is no different from a new one. */
    synchronized boolean full(long now) {
      return tokens + Math.max(0, now - last) / nanosPerToken >= capacity;
    }
  }
}
