package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

final class DefaultToolRegistry implements ToolRegistry, Upstream.Events {
  private static final Logger log = LoggerFactory.getLogger(DefaultToolRegistry.class);

  private final String clientVersion;
  private final Listener listener;
  private final UpstreamHttp http;
  private final ReentrantLock lock = new ReentrantLock();
  private volatile Map<String, Upstream> upstreams = Map.of();
  private volatile UserTokens userTokens = UserTokens.NONE;

  @Override
  public void userTokens(UserTokens tokens) {
    this.userTokens = java.util.Objects.requireNonNull(tokens, "tokens");
  }
  private volatile FederatedCatalog catalog = FederatedCatalog.empty();
  private volatile String separator = "__";
  private volatile boolean closed;

  private final String owner;

  DefaultToolRegistry(String clientVersion, Listener listener, String owner) {
    this.clientVersion = clientVersion;
    this.owner = owner;
    int reaped = Children.reapOrphans(owner);
    if (reaped > 0) {
      log.warn("ended {} stdio upstream process(es) left behind by an earlier run", reaped);
    }
    this.listener = listener;
    this.http = new UpstreamHttp("gatehouse/" + clientVersion);
  }

  @Override
  public void apply(Map<String, UpstreamConfig> wanted, String separator) {
    List<Upstream> toStop = new ArrayList<>();
    List<Upstream> toStart = new ArrayList<>();
    boolean separatorChanged;
    lock.lock();
    try {
      if (closed) {
        return;
      }
      separatorChanged = !separator.equals(this.separator);
      this.separator = separator;
      Map<String, Upstream> current = upstreams;
      Map<String, Upstream> next = new LinkedHashMap<>();
      for (Map.Entry<String, UpstreamConfig> e : wanted.entrySet()) {
        Upstream existing = current.get(e.getKey());
        if (existing != null && existing.config().equals(e.getValue())) {
          next.put(e.getKey(), existing);
        } else {
          if (existing != null) {
            log.info("upstream '{}': config changed, restarting", e.getKey());
            toStop.add(existing);
          } else {
            log.info("upstream '{}': added ({})", e.getKey(), e.getValue());
          }
          Upstream u = new Upstream(e.getKey(), e.getValue(), http, this, clientVersion, owner, () -> userTokens);
          next.put(e.getKey(), u);
          toStart.add(u);
        }
      }
      for (Map.Entry<String, Upstream> e : current.entrySet()) {
        if (!wanted.containsKey(e.getKey())) {
          log.info("upstream '{}': removed", e.getKey());
          toStop.add(e.getValue());
        }
      }
      upstreams = java.util.Collections.unmodifiableMap(next);
    } finally {
      lock.unlock();
    }
    // Stop the old before starting the new so a restarted stdio server never runs twice.
    stopAll(toStop);
    toStart.forEach(Upstream::start);
    if (!toStop.isEmpty() || separatorChanged) {
      publish();
    }
  }

  private static void stopAll(List<Upstream> list) {
    if (list.isEmpty()) {
      return;
    }
    try (var exec = Executors.newVirtualThreadPerTaskExecutor()) {
      list.forEach(u -> exec.submit(u::stop));
    }
  }

  @Override
  public void onCatalog(Upstream upstream) {
    publish();
  }

  @Override
  public void onToken(Upstream upstream, UpstreamTokenEvent event) {
    if (upstreams.get(upstream.name()) == upstream) {
      try {
        listener.onUpstreamToken(upstream.name(), event);
      } catch (RuntimeException e) {
        log.warn("upstream token listener failed", e);
      }
    }
  }

  @Override
  public void onNotification(Upstream upstream, String method, ObjectNode params) {
    if (upstreams.get(upstream.name()) == upstream) {
      listener.onNotification(upstream.name(), method, params);
    }
  }

  /** Rebuilds the federated snapshot from the live upstreams and tells the listener. */
  private void publish() {
    FederatedCatalog before;
    FederatedCatalog after;
    lock.lock();
    try {
      Map<String, UpstreamCatalog> live = new LinkedHashMap<>();
      for (Upstream u : upstreams.values()) {
        u.catalog().ifPresent(c -> live.put(u.name(), c));
      }
      before = catalog;
      after = new FederatedCatalog(live, separator);
      catalog = after;
    } finally {
      lock.unlock();
    }
    try {
      listener.onCatalogChanged(before, after);
    } catch (RuntimeException e) {
      log.warn("catalog listener failed", e);
    }
  }

  @Override
  public FederatedCatalog catalog() {
    return catalog;
  }

  @Override
  public List<UpstreamStatus> status() {
    return upstreams.values().stream().map(Upstream::status).toList();
  }

  @Override
  public CompletableFuture<JsonNode> call(String server, String method, ObjectNode params, CallContext context) {
    Upstream u = upstreams.get(server);
    if (u == null) {
      return CompletableFuture.failedFuture(
          new McpException(McpException.INVALID_PARAMS, "no upstream named '" + server + "'"));
    }
    return u.call(method, params, context);
  }

  @Override
  public boolean reconnect(String server) {
    Upstream u = upstreams.get(server);
    return u != null && u.reconnect();
  }

  @Override
  public void notify(String server, String method, ObjectNode params) {
    Upstream u = upstreams.get(server);
    if (u != null) {
      u.notifyUpstream(method, params);
    }
  }

  @Override
  public boolean awaitSettled(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      boolean settled = upstreams.values().stream()
          .map(Upstream::status)
          .noneMatch(s -> s.state() == UpstreamStatus.State.CONNECTING && s.attempts() <= 1 && s.lastError().isEmpty());
      if (settled) {
        return true;
      }
      try {
        TimeUnit.MILLISECONDS.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return false;
  }

  @Override
  public void close() {
    List<Upstream> all;
    lock.lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      all = new ArrayList<>(upstreams.values());
      upstreams = Map.of();
    } finally {
      lock.unlock();
    }
    stopAll(all);
    http.close();
  }
}
