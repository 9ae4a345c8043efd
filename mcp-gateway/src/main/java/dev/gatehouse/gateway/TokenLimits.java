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
 * <p>Counted in this process (each replica alone, also with {@code limits.store: redis://…}). Memory is
 * bounded by the owners active in the last minute or so: a bucket that has refilled completely is dropped
 * by a sweep that runs at most once a minute.
 */
final class TokenLimits {
  private static final long MINUTE_NANOS = 60_000_000_000L;

  private final LongSupplier nanos;
  private final ConcurrentHashMap<String, Bucket> buckets = new ConcurrentHashMap<>();
  private final AtomicLong nextSweep = new AtomicLong();

  TokenLimits(LongSupplier nanos) {
    this.nanos = nanos;
    this.nextSweep.set(nanos.getAsLong() + MINUTE_NANOS);
  }

  /** Tokens taken from buckets for one call, to settle when it ends. */
  static final class Reservation {
    private final List<Bucket> from;
    private final long tokens;
    private boolean settled;

    private Reservation(List<Bucket> from, long tokens) {
      this.from = from;
      this.tokens = tokens;
    }
  }

  /** A refusal: which limit, and when to retry. */
  record Refusal(ModelLimit limit, String message, long retryAfterSeconds) {}

  /** The outcome of {@link #reserve}: a reservation (possibly of nothing), or a refusal. */
  record Reserved(Reservation reservation, Refusal refusal) {}

  /**
   * Reserves {@code estimate} tokens from the bucket of every limit in {@code limits} that sets
   * {@code tokens_per_minute}; none when one has too few.
   */
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
        return new Reserved(null, new Refusal(l, "Token limit of rule '" + l.ruleId() + "' for " + l.owner() + ": this request is "
            + "estimated at " + estimate + " input tokens, more than the " + perMinute + " tokens per minute the rule allows", 60));
      }
      Bucket b = bucket(l, perMinute, now);
      long wait = b.take(estimate, now);
      if (wait > 0) {
        giveBack(taken, estimate, now);
        long seconds = Math.max(1, (wait + 999_999_999L) / 1_000_000_000L);
        return new Reserved(null, new Refusal(l, "Token limit of rule '" + l.ruleId() + "' reached for " + l.owner() + ": "
            + perMinute + " tokens per minute; retry after " + seconds + " s", seconds));
      }
      taken.add(b);
    }
    return new Reserved(taken.isEmpty() ? null : new Reservation(taken, estimate), null);
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
