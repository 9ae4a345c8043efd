package dev.gatehouse.router;

import dev.gatehouse.http.UpstreamClients;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.function.DoubleSupplier;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * One configured provider at run time: its adapter, its HTTP client (with its connect timeout), its
 * concurrency slots and its keys.
 */
final class ProviderState {
  final String name;
  final ProviderConfig config;
  final Adapter adapter;
  final HttpClient client;
  final List<KeyState> keys;
  private final Optional<Semaphore> slots;

  ProviderState(String name, ProviderConfig config, Adapter adapter) {
    this.name = name;
    this.config = config;
    this.adapter = adapter;
    this.client = client(name, config);
    this.slots = config.maxConcurrency() > 0 ? Optional.of(new Semaphore(config.maxConcurrency())) : Optional.empty();
    URI base = config.effectiveBaseUrl();
    List<KeyState> ks = new ArrayList<>();
    List<String> ids = config.keyIds();
    for (int i = 0; i < config.keys().size(); i++) {
      ProviderConfig.Key k = config.keys().get(i);
      ks.add(new KeyState(ids.get(i), Optional.of(k.value()), k.weight(), k.models(), k.baseUrl().orElse(base)));
    }
    if (ks.isEmpty()) {
      // Keyless: a local server, or Bedrock signing with its credentials. One pseudo-key carries the
      // cooldown and latency state.
      String id = config.kind() == ProviderKind.BEDROCK ? "sigv4" : "none";
      ks.add(new KeyState(id, Optional.empty(), 1, List.of(), base));
    }
    this.keys = List.copyOf(ks);
  }

  /** Connections to one provider host at most when {@code max_concurrency} does not say. */
  static final int DEFAULT_MAX_CONNECTIONS = 1024;

  /** The threads every provider's client shares: they only move bytes and never block. */
  private static final QueuedThreadPool POOL = startPool();

  private static QueuedThreadPool startPool() {
    QueuedThreadPool pool = new QueuedThreadPool(64, 2);
    pool.setName("gatehouse-provider-http");
    pool.setDaemon(true);
    try {
      pool.start();
    } catch (Exception e) {
      throw new IllegalStateException("could not start the provider HTTP threads", e);
    }
    return pool;
  }

  /** At most {@code max_concurrency} connections (else {@link #DEFAULT_MAX_CONNECTIONS}), set up by {@link UpstreamClients}. */
  private static HttpClient client(String name, ProviderConfig config) {
    try {
      return UpstreamClients.start(config.timeouts().connect(),
          config.maxConcurrency() > 0 ? config.maxConcurrency() : DEFAULT_MAX_CONNECTIONS, POOL, "gatehouse");
    } catch (IllegalStateException e) {
      throw new IllegalStateException("provider '" + name + "': " + e.getMessage(), e);
    }
  }

  /** Whether some key may call {@code model}. */
  boolean serves(String model) {
    for (KeyState k : keys) {
      if (k.allows(model)) {
        return true;
      }
    }
    return false;
  }

  /**
   * A key for {@code model} by weight among those not excluded and not cooling down; with
   * {@code latency_aware}, each weight is divided by the key's latency EWMA (keys without a sample
   * count as the fastest, so they get measured).
   */
  Optional<KeyState> pick(String model, Set<KeyState> excluded, long nowMillis, boolean stream, DoubleSupplier random) {
    List<KeyState> candidates = new ArrayList<>(keys.size());
    for (KeyState k : keys) {
      if (!excluded.contains(k) && k.allows(model) && k.available(nowMillis)) {
        candidates.add(k);
      }
    }
    if (candidates.isEmpty()) {
      return Optional.empty();
    }
    if (candidates.size() == 1) {
      return Optional.of(candidates.get(0));
    }
    double[] weights = new double[candidates.size()];
    double fastest = Double.MAX_VALUE;
    if (config.latencyAware()) {
      for (KeyState k : candidates) {
        double e = k.ewma(stream);
        if (!Double.isNaN(e)) {
          fastest = Math.min(fastest, Math.max(e, 1));
        }
      }
    }
    double sum = 0;
    for (int i = 0; i < weights.length; i++) {
      KeyState k = candidates.get(i);
      double w = k.weight;
      if (config.latencyAware() && fastest != Double.MAX_VALUE) {
        double e = k.ewma(stream);
        w = w / (Double.isNaN(e) ? fastest : Math.max(e, 1));
      }
      weights[i] = w;
      sum += w;
    }
    double r = random.getAsDouble() * sum;
    for (int i = 0; i < weights.length; i++) {
      r -= weights[i];
      if (r < 0) {
        return Optional.of(candidates.get(i));
      }
    }
    return Optional.of(candidates.get(candidates.size() - 1));
  }

  /** When the first cooling key for {@code model} (not excluded) becomes available again. */
  OptionalLong nextAvailable(String model, Set<KeyState> excluded) {
    long best = Long.MAX_VALUE;
    for (KeyState k : keys) {
      if (!excluded.contains(k) && k.allows(model)) {
        best = Math.min(best, k.coolUntil());
      }
    }
    return best == Long.MAX_VALUE ? OptionalLong.empty() : OptionalLong.of(best);
  }

  /** The cooling key, for {@code model}, that recovers first among those cooling for failures. */
  Optional<KeyState> probe(String model, long nowMillis) {
    KeyState best = null;
    for (KeyState k : keys) {
      if (k.allows(model) && k.cooling(nowMillis) == KeyState.Cooling.FAILING
          && (best == null || k.coolUntil() < best.coolUntil())) {
        best = k;
      }
    }
    return Optional.ofNullable(best);
  }

  /** Takes a concurrency slot, waiting at most the connect timeout; false when none came free. */
  boolean acquire() throws InterruptedException {
    if (slots.isEmpty()) {
      return true;
    }
    return slots.get().tryAcquire(config.timeouts().connect().toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
  }

  /** Takes a concurrency slot if one is free now. */
  boolean tryAcquire() {
    return slots.isEmpty() || slots.get().tryAcquire();
  }

  void release() {
    slots.ifPresent(Semaphore::release);
  }

  void close() {
    UpstreamClients.stop(client);
  }
}
