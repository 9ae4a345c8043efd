package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One managed upstream: connects (with a time limit), keeps its catalog, pings it, and reconnects
 * with exponential backoff and full jitter when it fails. Nothing here ever blocks a caller for
 * another upstream: each runs on its own virtual threads.
 */
final class Upstream {
  private static final Logger log = LoggerFactory.getLogger(Upstream.class);
  static final Duration BACKOFF_MIN = Duration.ofMillis(250);
  static final Duration BACKOFF_MAX = Duration.ofSeconds(30);

  /** What the registry hears from an upstream. */
  interface Events {
    void onCatalog(Upstream upstream);

    void onNotification(Upstream upstream, String method, ObjectNode params);

    default void onToken(Upstream upstream, UpstreamTokenEvent event) {}
  }

  private final String name;
  private final UpstreamConfig config;
  private final UpstreamHttp http;
  private final Events events;
  private final String clientVersion;
  private final ReentrantLock connectLock = new ReentrantLock();
  private volatile Connection connection;
  private volatile UpstreamCatalog catalog;
  private volatile UpstreamStatus.State state = UpstreamStatus.State.CONNECTING;
  /**
   * Whether the catalog is served. Set before the federated catalog is rebuilt and before the state
   * says CONNECTED, so that whoever sees "connected" also finds the upstream's tools.
   */
  private volatile boolean serving;
  private volatile String lastError;
  private volatile Instant since = Instant.now();
  private volatile int attempts;
  private volatile boolean stopped;
  private volatile Thread supervisor;
  /** The connection being opened, so that stop() can abort a slow handshake without waiting. */
  private volatile Connection opening;

  private final String owner;

  Upstream(String name, UpstreamConfig config, UpstreamHttp http, Events events, String clientVersion, String owner) {
    this(name, config, http, events, clientVersion, owner, () -> UserTokens.NONE);
  }

  Upstream(String name, UpstreamConfig config, UpstreamHttp http, Events events, String clientVersion, String owner,
      java.util.function.Supplier<UserTokens> users) {
    this.name = name;
    this.owner = owner;
    this.config = config;
    this.http = http;
    this.events = events;
    this.clientVersion = clientVersion;
    this.tokens = config.auth() == null ? null
        : new UpstreamTokens(name, config.auth(), http, System::nanoTime, e -> events.onToken(this, e), users);
    if (!config.enabled()) {
      state = UpstreamStatus.State.DISABLED;
    }
  }

  /** The gateway's token for this upstream, kept across reconnects; null without {@code auth:}. */
  private final UpstreamTokens tokens;

  String name() {
    return name;
  }

  UpstreamConfig config() {
    return config;
  }

  Optional<UpstreamCatalog> catalog() {
    return serving ? Optional.ofNullable(catalog) : Optional.empty();
  }

  UpstreamStatus status() {
    Connection c = connection;
    UpstreamCatalog cat = catalog;
    String transport = switch (config) {
      case UpstreamConfig.Stdio s -> "stdio";
      case UpstreamConfig.StreamableHttp h -> "streamable-http";
      case UpstreamConfig.Sse s -> "sse";
    };
    return new UpstreamStatus(name, state, Optional.ofNullable(lastError), since, attempts,
        cat == null ? 0 : cat.tools().size(), transport, c == null ? -1 : c.pid(), tokens == null ? Optional.empty() : Optional.of(tokens.describe()));
  }

  /** Starts the supervisor: connect, then watch health and reconnect; returns at once. */
  void start() {
    if (!config.enabled()) {
      return;
    }
    supervisor = Thread.ofVirtual().name("upstream-" + name).start(this::supervise);
  }

  /** Drops the connection and connects again without waiting for a backoff; false when disabled or stopped. */
  boolean reconnect() {
    Thread s = supervisor;
    if (s == null || stopped) {
      return false;
    }
    attempts = 0;
    Connection c = connection;
    if (c != null && !c.isClosed()) {
      log.info("upstream '{}': reconnecting, as an operator asked", name);
      c.close("reconnect requested");
      markDown("reconnect requested by an operator");
    } else {
      LockSupport.unpark(s);
    }
    return true;
  }

  private void supervise() {
    Duration health = config.timeouts().health();
    int failedPings = 0;
    while (!stopped) {
      Connection c = connection;
      if (c == null || c.isClosed()) {
        failedPings = 0;
        if (c != null) {
          sleep(backoff(attempts)); // a connection just dropped: do not hammer a crash-looping server
        }
        if (!stopped && !tryConnect()) {
          sleep(backoff(attempts));
          continue;
        }
      }
      sleep(health.isZero() ? Duration.ofSeconds(5) : health);
      c = connection;
      if (stopped || c == null || c.isClosed() || health.isZero()) {
        continue;
      }
      if (tokens != null && tokens.waitingForConsent()) {
        continue; // every user's consent is gone: nothing to ping with, and the catalog stays listed (calls ask for consent)
      }
      try {
        c.ping(min(config.timeouts().call(), Duration.ofSeconds(10))).join();
        failedPings = 0;
      } catch (CompletionException e) {
        failedPings++;
        log.warn("upstream '{}': health ping failed ({} in a row): {}", name, failedPings, e.getCause().getMessage());
        if (failedPings >= 2) {
          c.close("health pings failed");
          markDown("health pings failed: " + e.getCause().getMessage());
        }
      }
    }
  }

  /** One connection attempt, holding the connect lock so a stale-session retry does not race it. */
  private boolean tryConnect() {
    connectLock.lock();
    try {
      Connection current = connection;
      if (current != null && !current.isClosed()) {
        return true;
      }
      setState(UpstreamStatus.State.CONNECTING);
      attempts++;
      Connection c = new Connection(name, transport(), new Connection.Events() {
        @Override
        public void onNotification(Connection source, String method, ObjectNode params) {
          if (source == connection) {
            Upstream.this.onNotification(method, params);
          }
        }

        @Override
        public void onClosed(Connection source, String reason) {
          if (source == connection && !stopped) {
            log.warn("upstream '{}': connection lost: {}", name, reason);
            markDown(reason);
          }
        }
      }, http.timers());
      opening = c;
      try {
        if (stopped) {
          return false;
        }
        Connection.Handshake h = c.open(config.timeouts().connect(), clientVersion);
        UpstreamCatalog fresh = fetchCatalog(c, h);
        if (stopped) {
          c.close("stopped");
          return false;
        }
        connection = c;
        catalog = fresh;
        lastError = null;
        attempts = 0;
        serving = true;
        events.onCatalog(this);
        setState(UpstreamStatus.State.CONNECTED);
        log.info("upstream '{}': connected ({} {}, protocol {}, {} tools, {} resources, {} prompts)", name,
            Json.text(h.serverInfo(), "name"), Json.text(h.serverInfo(), "version"), h.protocolVersion(),
            fresh.tools().size(), fresh.resources().size(), fresh.prompts().size());
        return true;
      } catch (IOException | RuntimeException e) {
        c.close("connect failed");
        String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        lastError = why;
        setState(UpstreamStatus.State.DISCONNECTED);
        log.warn("upstream '{}': connect attempt {} failed: {}", name, attempts, why);
        return false;
      }
    } finally {
      connectLock.unlock();
    }
  }

  private void markDown(String reason) {
    lastError = reason;
    boolean hadCatalog = serving;
    serving = false;
    setState(UpstreamStatus.State.DISCONNECTED);
    if (hadCatalog) {
      events.onCatalog(this);
    }
    Thread s = supervisor;
    if (s != null) {
      LockSupport.unpark(s);
    }
  }

  private void setState(UpstreamStatus.State s) {
    if (state != s) {
      state = s;
      since = Instant.now();
    }
  }

  private Transport transport() {
    return switch (config) {
      case UpstreamConfig.Stdio s -> new StdioTransport(name, s, owner);
      case UpstreamConfig.StreamableHttp h -> new StreamableHttpTransport(name, h, http, tokens);
      case UpstreamConfig.Sse s -> new SseTransport(name, s, http, tokens);
    };
  }

  private UpstreamCatalog fetchCatalog(Connection c, Connection.Handshake h) {
    ObjectNode caps = h.capabilities();
    UpstreamCatalog cat = new UpstreamCatalog(name, h.protocolVersion(), caps, h.serverInfo(), h.instructions(), List.of(), List.of(),
        List.of(), List.of());
    if (caps.has("tools")) {
      cat = list(c, cat, "tools/list", "tools");
    }
    if (caps.has("resources")) {
      cat = list(c, cat, "resources/list", "resources");
      cat = list(c, cat, "resources/templates/list", "resourceTemplates");
    }
    if (caps.has("prompts")) {
      cat = list(c, cat, "prompts/list", "prompts");
    }
    return cat;
  }

  /**
   * All pages of one list method, into {@code cat}; what the last page carried besides its items and
   * cursor is kept as the list's extras. A server that lacks the method yields an empty list.
   */
  private UpstreamCatalog list(Connection c, UpstreamCatalog cat, String method, String field) {
    List<ObjectNode> out = new ArrayList<>();
    ObjectNode extras = Json.object();
    String cursor = null;
    for (int page = 0; page < 1000; page++) {
      ObjectNode params = Json.object();
      if (cursor != null) {
        params.put("cursor", cursor);
      }
      JsonNode result;
      try {
        result = c.request(method, params, CallContext.none(), config.timeouts().call()).join();
      } catch (CompletionException e) {
        if (e.getCause() instanceof McpException m && m.code() == McpException.METHOD_NOT_FOUND) {
          return cat.with(field, out, extras);
        }
        throw e.getCause() instanceof RuntimeException r ? r : e;
      }
      for (JsonNode item : result.path(field)) {
        if (item instanceof ObjectNode o) {
          out.add(o);
        }
      }
      if (result instanceof ObjectNode r) {
        extras = r.deepCopy();
        extras.remove(field);
        extras.remove("nextCursor");
      }
      JsonNode next = result.get("nextCursor");
      if (next == null || next.isNull() || next.asText().isEmpty()) {
        break;
      }
      cursor = next.asText();
    }
    return cat.with(field, out, extras);
  }

  private void onNotification(String method, ObjectNode params) {
    switch (method) {
      case "notifications/tools/list_changed" -> refresh(() -> list(connection, catalog, "tools/list", "tools"));
      case "notifications/prompts/list_changed" -> refresh(() -> list(connection, catalog, "prompts/list", "prompts"));
      case "notifications/resources/list_changed" -> refresh(() -> {
        UpstreamCatalog withResources = list(connection, catalog, "resources/list", "resources");
        return list(connection, withResources, "resources/templates/list", "resourceTemplates");
      });
      default -> events.onNotification(this, method, params);
    }
  }

  private void refresh(java.util.function.Supplier<UpstreamCatalog> fetch) {
    Thread.ofVirtual().start(() -> {
      try {
        catalog = fetch.get();
        events.onCatalog(this);
      } catch (RuntimeException e) {
        log.warn("upstream '{}': catalog refresh failed: {}", name, e.getMessage());
      }
    });
  }

  /**
   * Forwards one request. A stale HTTP session (404) is re-initialised and the request retried once.
   */
  CompletableFuture<JsonNode> call(String method, ObjectNode params, CallContext context) {
    Connection c = connection;
    if (c == null || c.isClosed() || !serving) {
      return CompletableFuture.failedFuture(unavailable());
    }
    return c.request(method, params, context, config.timeouts().call())
        .exceptionallyCompose(e -> {
          Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
          if (!(cause instanceof McpException.SessionExpired)) {
            return CompletableFuture.failedFuture(cause);
          }
          log.info("upstream '{}': session expired, re-initialising", name);
          c.close("session expired");
          if (!tryConnect()) {
            return CompletableFuture.failedFuture(unavailable());
          }
          return connection.request(method, params, context, config.timeouts().call());
        });
  }

  /** Sends a notification (e.g. notifications/cancelled, roots changes) if connected. */
  void notifyUpstream(String method, ObjectNode params) {
    Connection c = connection;
    if (c != null && !c.isClosed()) {
      c.notify(method, params);
    }
  }

  private McpException unavailable() {
    String why = lastError == null ? state.name().toLowerCase() : lastError;
    return new McpException(McpException.UPSTREAM_UNAVAILABLE, "upstream '" + name + "' is not connected (" + why + ")");
  }

  /** Stops the supervisor and closes the connection (ending a stdio child). */
  void stop() {
    stopped = true;
    Thread s = supervisor;
    if (s != null) {
      s.interrupt();
    }
    Connection o = opening;
    if (o != null) {
      o.close("upstream removed or gateway stopping");
    }
    Connection c = connection;
    if (c != null) {
      c.close("upstream removed or gateway stopping");
    }
  }

  private void sleep(Duration d) {
    if (!stopped) {
      LockSupport.parkNanos(d.toNanos()); // markDown() and stop() unpark it early
    }
  }

  /** Full-jitter exponential backoff: uniform in [min, min(max, min * 2^attempt)]. */
  static Duration backoff(int attempt) {
    long cap = Math.min(BACKOFF_MAX.toMillis(), BACKOFF_MIN.toMillis() << Math.min(attempt, 20));
    return Duration.ofMillis(ThreadLocalRandom.current().nextLong(BACKOFF_MIN.toMillis(), Math.max(BACKOFF_MIN.toMillis() + 1, cap)));
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }
}
