package dev.gatehouse.identity;

import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.JWKSetParseException;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.SecurityContext;
import java.io.IOException;
import java.net.URI;
import java.text.ParseException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One issuer's signing keys, held in memory and refreshed in the background, never on a request's
 * path: a token whose key is cached is verified at once, whatever state the IdP is in (down, hanging,
 * answering errors or garbage). Only a token that names a key the cache lacks (an unknown {@code kid},
 * or the very first token) waits for a fetch, bounded by the fetch's own deadline, and single-flight:
 * concurrent tokens share one fetch. Such fetches are rate-limited to two per
 * {@code jwks_min_refetch_interval}, so a flood of made-up {@code kid}s cannot hammer the IdP.
 *
 * <p>Cached keys are dropped only when every refresh has failed for {@code jwks_outage_tolerance}
 * past their {@code jwks_refresh} age; then tokens get 503 until the IdP answers again. Keys are
 * stored as their public parts only, so a JWKS that wrongly carries private or symmetric keys cannot
 * make them usable for verification.
 */
final class JwksCache implements JWKSource<SecurityContext>, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(JwksCache.class);

  /** GETs a URL's body (the JWKS); fails with a short, client-safe message. */
  interface Fetch {
    String get(URI uri) throws IOException;
  }

  private record Loaded(JWKSet keys, long atNanos) {}

  private final String issuer;
  private final URI uri;
  private final Fetch fetch;
  private final Executor executor;
  private final ScheduledExecutorService scheduler;
  private final Duration refresh;
  private final Duration minRefetch;
  private final Duration outageTolerance;
  private final Duration waitLimit;
  private final LongSupplier nanos;
  private final ReentrantLock lock = new ReentrantLock();
  private volatile Loaded loaded;
  private volatile Throwable lastFailure;
  private volatile boolean closed;
  // Guarded by lock.
  private CompletableFuture<Loaded> inFlight;
  private final ArrayDeque<Long> onDemand = new ArrayDeque<>();
  private ScheduledFuture<?> refresher;

  JwksCache(String issuer, URI uri, Fetch fetch, Executor executor, ScheduledExecutorService scheduler, IssuerConfig config,
      Duration waitLimit, LongSupplier nanos) {
    this.issuer = issuer;
    this.uri = uri;
    this.fetch = fetch;
    this.executor = executor;
    this.scheduler = scheduler;
    this.refresh = config.jwksRefresh();
    this.minRefetch = config.jwksMinRefetchInterval();
    this.outageTolerance = config.jwksOutageTolerance();
    this.waitLimit = waitLimit;
    this.nanos = nanos;
  }

  @Override
  public List<JWK> get(JWKSelector selector, SecurityContext context) throws KeySourceException {
    Loaded seen = loaded;
    Loaded current = usable(seen);
    if (current != null) {
      List<JWK> found = selector.select(current.keys());
      if (!found.isEmpty()) {
        return found;
      }
    }
    Loaded fresh = fetchOnDemand(seen);
    if (fresh != null) {
      return selector.select(fresh.keys());
    }
    if (current != null) {
      return List.of(); // keys in hand, just not this one: an unknown key, not an outage
    }
    Throwable why = lastFailure;
    throw new KeySourceException("signing keys of " + issuer + " are unavailable", why);
  }

  /** The cached keys unless they outlived refresh + outage tolerance without a successful refresh. */
  private Loaded usable(Loaded l) {
    if (l == null) {
      return null;
    }
    long age = nanos.getAsLong() - l.atNanos();
    return age <= refresh.toNanos() + outageTolerance.toNanos() ? l : null;
  }

  /**
   * Waits (bounded) for a fetch the request needs: the one in flight, or a new one if the rate limit
   * allows it. Null when no fresh keys came: rate-limited, failed, timed out, closed. When the rate limit
   * allows no new fetch, keys that landed since the caller looked ({@code seen}) are returned: a fetch
   * that finished just before the caller asked may hold its key.
   */
  private Loaded fetchOnDemand(Loaded seen) {
    CompletableFuture<Loaded> f;
    lock.lock();
    try {
      if (closed) {
        return null;
      }
      f = inFlight;
      if (f == null) {
        long now = nanos.getAsLong();
        while (!onDemand.isEmpty() && now - onDemand.peekFirst() >= minRefetch.toNanos()) {
          onDemand.pollFirst();
        }
        if (onDemand.size() >= 2) {
          // No new fetch now; but keys that landed since the caller looked may have what it needs.
          Loaded landed = loaded;
          return landed != null && landed != seen ? landed : null;
        }
        onDemand.addLast(now);
        f = startFetch();
      }
    } finally {
      lock.unlock();
    }
    try {
      return f.get(waitLimit.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (ExecutionException | TimeoutException e) {
      if (e instanceof TimeoutException) {
        lastFailure = new FetchFailed("timed out after " + Checks.format(waitLimit));
      }
      return null;
    }
  }

  /** Starts a fetch on the executor; the caller holds the lock and no fetch is in flight. */
  private CompletableFuture<Loaded> startFetch() {
    CompletableFuture<Loaded> f = new CompletableFuture<>();
    inFlight = f;
    try {
      executor.execute(() -> {
        try {
          f.complete(load());
        } catch (Throwable t) {
          f.completeExceptionally(t);
        } finally {
          lock.lock();
          try {
            if (inFlight == f) {
              inFlight = null;
            }
          } finally {
            lock.unlock();
          }
        }
      });
    } catch (RuntimeException rejected) { // executor shut down
      inFlight = null;
      f.completeExceptionally(rejected);
    }
    return f;
  }

  private Loaded load() throws IOException {
    JWKSet set;
    try {
      set = JWKSet.parse(fetch.get(uri)).toPublicJWKSet();
    } catch (ParseException e) {
      JWKSetParseException failure = new JWKSetParseException("the JWKS endpoint did not return a JWK set", e);
      lastFailure = failure;
      log.warn("JWKS of {} at {}: not a JWK set", issuer, uri);
      throw new IOException(failure.getMessage(), failure);
    } catch (IOException e) {
      lastFailure = e;
      if (loaded != null) {
        log.warn("JWKS of {} unreachable ({}); cached keys stay in use", issuer, e.getMessage());
      }
      throw e;
    }
    Loaded l = new Loaded(set, nanos.getAsLong());
    boolean first = loaded == null;
    loaded = l;
    lastFailure = null;
    if (first) {
      scheduleRefresh();
    }
    return l;
  }

  private void scheduleRefresh() {
    lock.lock();
    try {
      if (closed || refresher != null) {
        return;
      }
      refresher = scheduler.scheduleWithFixedDelay(this::refreshInBackground, refresh.toNanos(), refresh.toNanos(),
          TimeUnit.NANOSECONDS);
    } finally {
      lock.unlock();
    }
  }

  /** The periodic refresh: shares a fetch already in flight, never blocks the scheduler thread. */
  private void refreshInBackground() {
    lock.lock();
    try {
      if (!closed && inFlight == null) {
        startFetch();
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void close() {
    lock.lock();
    try {
      closed = true;
      if (refresher != null) {
        refresher.cancel(false);
      }
    } finally {
      lock.unlock();
    }
  }
}
