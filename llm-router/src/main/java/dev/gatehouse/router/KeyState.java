package dev.gatehouse.router;

import dev.gatehouse.policy.Glob;
import java.net.URI;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One key of a provider at run time: its allow-list, whether it is cooling down and why, and its recent
 * latency. Shared by every call; its mutable state is atomic or guarded by its lock.
 */
final class KeyState {
  /** Consecutive 5xx / connection / timeout failures that cool a key down. */
  static final int FAILURES_TO_COOL = 3;
  private static final double ALPHA = 0.3;

  /** Why a key is cooling down; only {@code FAILING} keys are probed as a last resort. */
  enum Cooling { NONE, RATE_LIMITED, REJECTED, FAILING }

  final String id;
  final int weight;
  final URI baseUrl;
  private final Optional<String> secret;
  private final List<Glob> models;

  private final ReentrantLock lock = new ReentrantLock();
  private long coolUntil;
  private Cooling cooling = Cooling.NONE;
  private final AtomicInteger consecutiveFailures = new AtomicInteger();
  private double latencyMillis = Double.NaN;
  private double ttftMillis = Double.NaN;

  KeyState(String id, Optional<String> secret, int weight, List<String> models, URI baseUrl) {
    this.id = id;
    this.secret = secret;
    this.weight = weight;
    this.models = models.stream().map(Glob::compile).toList();
    this.baseUrl = baseUrl;
  }

  /** The key's value; empty for keyless servers and SigV4 credentials. Never logged. */
  Optional<String> secret() {
    return secret;
  }

  boolean allows(String model) {
    if (models.isEmpty()) {
      return true;
    }
    for (Glob g : models) {
      if (g.matches(model)) {
        return true;
      }
    }
    return false;
  }

  /** Literal allow-list entries, listed in {@code GET /v1/models}. */
  List<String> literalModels() {
    return models.stream().filter(Glob::literal).map(Glob::source).toList();
  }

  boolean available(long nowMillis) {
    lock.lock();
    try {
      return nowMillis >= coolUntil;
    } finally {
      lock.unlock();
    }
  }

  long coolUntil() {
    lock.lock();
    try {
      return coolUntil;
    } finally {
      lock.unlock();
    }
  }

  Cooling cooling(long nowMillis) {
    lock.lock();
    try {
      return nowMillis >= coolUntil ? Cooling.NONE : cooling;
    } finally {
      lock.unlock();
    }
  }

  /** Leaves the key out until {@code untilMillis}; an earlier end never shortens a longer cooldown. */
  void coolDown(long untilMillis, Cooling why) {
    lock.lock();
    try {
      if (untilMillis > coolUntil) {
        coolUntil = untilMillis;
        cooling = why;
      }
    } finally {
      lock.unlock();
    }
  }

  /** A 5xx, connection error or timeout: cools the key after {@value #FAILURES_TO_COOL} in a row. */
  boolean failed(long nowMillis, long cooldownMillis) {
    if (consecutiveFailures.incrementAndGet() >= FAILURES_TO_COOL && cooldownMillis > 0) {
      consecutiveFailures.set(0);
      coolDown(nowMillis + cooldownMillis, Cooling.FAILING);
      return true;
    }
    return false;
  }

  void succeeded(double millis, boolean stream) {
    consecutiveFailures.set(0);
    lock.lock();
    try {
      if (stream) {
        ttftMillis = Double.isNaN(ttftMillis) ? millis : ALPHA * millis + (1 - ALPHA) * ttftMillis;
      } else {
        latencyMillis = Double.isNaN(latencyMillis) ? millis : ALPHA * millis + (1 - ALPHA) * latencyMillis;
      }
    } finally {
      lock.unlock();
    }
  }

  /** The EWMA of time to first byte (streams) or of latency (non-stream); NaN before any sample. */
  double ewma(boolean stream) {
    lock.lock();
    try {
      return stream ? ttftMillis : latencyMillis;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public String toString() {
    return "key " + id;
  }
}
