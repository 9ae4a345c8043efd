package dev.gatehouse.policy;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Token buckets for one limit of one rule (say {@code requests_per_minute: 120} of rule
 * {@code eng-files}), one bucket per principal. Capacity is the per-minute value; tokens refill
 * continuously at that rate.
 *
 * <p>Thread-safe without a global lock: buckets live in a {@link ConcurrentHashMap}, each with its own
 * small lock held for a few arithmetic operations. Memory stays bounded by the principals active in
 * the last two minutes: a bucket idle for a full minute has refilled completely, so it is
 * indistinguishable from a new one and is dropped by a sweep that runs on the request path at most
 * once a minute.
 */
final class RateLimiter {

  /** Who a bucket belongs to. */
  record Key(String issuer, String subject) {}

  private static final long MINUTE_NANOS = 60_000_000_000L;

  private final int perMinute;
  private final double nanosPerToken;
  private final ConcurrentHashMap<Key, Bucket> buckets = new ConcurrentHashMap<>();
  private final AtomicLong nextSweep = new AtomicLong(Long.MIN_VALUE);

  RateLimiter(int perMinute) {
    this.perMinute = perMinute;
    this.nanosPerToken = MINUTE_NANOS / (double) perMinute;
  }

  int perMinute() {
    return perMinute;
  }

  /** Takes one token; returns 0 when taken, else the nanoseconds until one will be there. */
  long tryAcquire(Key key, long now) {
    sweepIfDue(now);
    while (true) {
      Bucket b = bucket(key, now);
      b.lock.lock();
      try {
        if (b.dead) {
          continue;
        }
        b.refill(now);
        if (b.tokens >= 1) {
          b.tokens -= 1;
          return 0;
        }
        return nanosUntilOne(b.tokens);
      } finally {
        b.lock.unlock();
      }
    }
  }

  /** Gives back a token taken by {@link #tryAcquire} when another limit refused the same request. */
  void refund(Key key, long now) {
    Bucket b = buckets.get(key);
    if (b == null) {
      return;
    }
    b.lock.lock();
    try {
      if (!b.dead) {
        b.refill(now);
        b.tokens = Math.min(perMinute, b.tokens + 1);
      }
    } finally {
      b.lock.unlock();
    }
  }

  /** The tokens a principal has now, without taking one (a principal never seen has a full bucket). */
  double available(Key key, long now) {
    Bucket b = buckets.get(key);
    if (b == null) {
      return perMinute;
    }
    b.lock.lock();
    try {
      return b.dead ? perMinute : Math.min(perMinute, b.tokens + Math.max(0, now - b.last) / nanosPerToken);
    } finally {
      b.lock.unlock();
    }
  }

  /** Nanoseconds until {@code available} tokens become one. */
  long nanosUntilOne(double available) {
    // The small slack keeps float noise from turning an exact 600 ms into 600 ms and 1 ns.
    return available >= 1 ? 0 : Math.max(1, (long) Math.ceil((1 - available) * nanosPerToken - 1e-3));
  }

  int size() {
    return buckets.size();
  }

  private Bucket bucket(Key key, long now) {
    Bucket b = buckets.get(key);
    return b != null ? b : buckets.computeIfAbsent(key, k -> new Bucket(perMinute, now, nanosPerToken));
  }

  private void sweepIfDue(long now) {
    long due = nextSweep.get();
    if (due != Long.MIN_VALUE && now - due < 0) {
      return;
    }
    if (!nextSweep.compareAndSet(due, now + MINUTE_NANOS) || due == Long.MIN_VALUE) {
      return;
    }
    for (var e : buckets.entrySet()) {
      Bucket b = e.getValue();
      if (b.lock.tryLock()) {
        try {
          if (now - b.last >= MINUTE_NANOS) {
            // Marked under the lock, so a request holding this bucket retries with a fresh one.
            b.dead = true;
            buckets.remove(e.getKey(), b);
          }
        } finally {
          b.lock.unlock();
        }
      }
    }
  }

  private static final class Bucket {
    final ReentrantLock lock = new ReentrantLock();
    final double capacity;
    final double nanosPerToken;
    double tokens;
    long last;
    boolean dead;

    Bucket(double capacity, long now, double nanosPerToken) {
      this.capacity = capacity;
      this.tokens = capacity;
      this.last = now;
      this.nanosPerToken = nanosPerToken;
    }

    void refill(long now) {
      long elapsed = now - last;
      // A clock that goes back (wall clocks do) refills nothing rather than draining.
      if (elapsed > 0) {
        tokens = Math.min(capacity, tokens + elapsed / nanosPerToken);
        last = now;
      }
    }
  }
}
