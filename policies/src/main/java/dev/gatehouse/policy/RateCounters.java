package dev.gatehouse.policy;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Rate-limit buckets kept outside this process (e.g. in Redis), so every replica of a gateway counts
 * against the same limits. {@link PolicyEngine#decide(dev.gatehouse.identity.Principal, Action, RateCounters)}
 * names the buckets a call needs; the counters take one token from each, all or none, atomically.
 */
public interface RateCounters {

  /**
   * One bucket: {@code perMinute} tokens, refilled continuously, for one limit of one rule and one
   * principal. {@code limit} is stable across reloads and replicas: the rule id, what it limits and the
   * rate.
   */
  record Bucket(String limit, String issuer, String subject, int perMinute) {}

  /**
   * How a take went: {@code refused} is -1 when every bucket gave a token, else the index of a bucket
   * that had none and {@code waitNanos} until it has one. {@code unavailable} says the counters could
   * not be reached (the reason, for the refusal), when their failure mode is to refuse.
   */
  record Taken(int refused, long waitNanos, java.util.Optional<String> unavailable) {
    public static final Taken ALL = new Taken(-1, 0, java.util.Optional.empty());
    /** The counters could not be reached and fail open: count this call in this process instead. */
    public static final Taken LOCAL = new Taken(-2, 0, java.util.Optional.empty());

    public boolean local() {
      return refused == -2;
    }

    public boolean ok() {
      return refused == -1 && unavailable.isEmpty();
    }
  }

  /** Takes one token from every bucket, or none; the future never fails. */
  CompletableFuture<Taken> take(List<Bucket> buckets);
}
