package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.identity.Principal;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * MCP sessions of session-based clients (2025-11-25 and older) kept in Redis
 * ({@code server.sessions.store: redis://…}), so any replica serves any request of a session.
 *
 * <p>What is kept, per session id, as one JSON value: the scope ({@code /mcp} or {@code /mcp/<server>}),
 * the owner (issuer, subject, tenant: a request by anyone else is refused as on one replica), the
 * negotiated revision, the client's capabilities, info and log level, and its resource subscriptions.
 * A replica that gets a request for a session it does not hold loads it, registers it locally (within
 * its session limits), subscribes upstream to what the session subscribed to, and serves it; every
 * replica that holds a session keeps the key alive while the session is used (its TTL is
 * {@code idle_timeout}). {@code DELETE} removes it everywhere. What stays per replica: requests in
 * flight and the messages queued for a stream, so a server-to-client stream resumed on another
 * replica starts empty; upstream connections and their sessions, re-established by each replica.
 */
final class SharedSessions implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger("gatehouse.sessions");
  private static final Duration TIMEOUT = Duration.ofSeconds(1);
  private static final String FEDERATED = "*";

  /** A session as stored. */
  record Stored(McpSession.Scope scope, String issuer, String subject, Optional<String> tenant, String protocolVersion,
      ObjectNode capabilities, ObjectNode clientInfo, McpSession.LogLevel logLevel, List<String> subscriptions) {

    /** The owner as a principal without claims: {@link McpSession#rebind} puts the caller's in its place. */
    Principal owner() {
      return new Principal(subject, issuer, tenant, java.util.Set.of(), java.util.Set.of(), java.util.Set.of(), java.util.Map.of(),
          Principal.Kind.ANONYMOUS, Optional.empty());
    }
  }

  private static final String CLOSED_CHANNEL = "gatehouse:sessions:closed";
  private final RedisClients.Connected connected;
  private final io.lettuce.core.pubsub.StatefulRedisPubSubConnection<String, String> closings;
  private final RedisAsyncCommands<String, String> redis;
  private final Duration ttl;
  private final String location;

  private SharedSessions(URI store, Duration ttl, java.util.function.Consumer<String> closedElsewhere) {
    this.connected = RedisClients.connect(store, TIMEOUT, "server.sessions.store");
    this.redis = connected.connection().async();
    // A DELETE on one replica closes the session on every replica that holds it.
    this.closings = connected.client().connectPubSub();
    closings.addListener(new io.lettuce.core.pubsub.RedisPubSubAdapter<>() {
      @Override
      public void message(String channel, String id) {
        closedElsewhere.accept(id);
      }
    });
    closings.sync().subscribe(CLOSED_CHANNEL);
    this.ttl = ttl;
    this.location = LimitsSettings.redact(store.toString());
    log.info("sessions: MCP sessions shared through {} (kept {} after their last use)", location, ttl);
  }

  /** Connects; {@code closedElsewhere} gets the id of every session a client deleted (on any replica). */
  static SharedSessions connect(URI store, Duration ttl, java.util.function.Consumer<String> closedElsewhere) {
    return new SharedSessions(store, ttl, closedElsewhere);
  }

  String location() {
    return location;
  }

  /**
   * A random secret every replica shares (made by the first that asks, kept without expiry), e.g. the
   * key of task handles; read once at start, blocking.
   */
  byte[] secret(String name) {
    String key = "gatehouse:secret:" + name;
    byte[] fresh = new byte[32];
    new java.security.SecureRandom().nextBytes(fresh);
    var sync = connected.connection().sync();
    sync.set(key, java.util.Base64.getEncoder().encodeToString(fresh), SetArgs.Builder.nx());
    return java.util.Base64.getDecoder().decode(sync.get(key));
  }

  private static String key(String id) {
    return "gatehouse:session:" + id;
  }

  /** Stores (or replaces) {@code s}; the future fails when Redis cannot be reached. */
  CompletableFuture<Void> save(McpSession s) {
    ObjectNode v = Json.object();
    v.put("v", 1);
    v.put("scope", s.scope() instanceof McpSession.Single one ? one.server() : FEDERATED);
    Principal p = s.principal();
    v.put("iss", p.issuer());
    v.put("sub", p.subject());
    p.tenant().ifPresent(t -> v.put("tenant", t));
    v.put("protocolVersion", s.protocolVersion());
    v.set("capabilities", s.clientCapabilities());
    v.set("clientInfo", s.clientInfo().orElse(Json.object()));
    v.put("logLevel", s.logLevel().name());
    var subs = v.putArray("subscriptions");
    s.subscriptions.forEach(subs::add);
    s.sharedTouched = System.nanoTime();
    return bounded(redis.set(key(s.id()), v.toString(), SetArgs.Builder.px(ttl.toMillis())).toCompletableFuture()).thenApply(ok -> null);
  }

  /** Stores {@code s}, logging rather than failing: for changes after initialize (subscriptions, log level). */
  void saveQuietly(McpSession s) {
    save(s).whenComplete((v, e) -> {
      if (e != null) {
        log.warn("sessions: session {} could not be stored in {}: {}", s.id(), location, e.getMessage());
      }
    });
  }

  /** The stored session with this id, empty when there is none (expired, deleted, never made). */
  CompletableFuture<Optional<Stored>> load(String id) {
    return bounded(redis.get(key(id)).toCompletableFuture()).thenApply(text -> {
      if (text == null) {
        return Optional.empty();
      }
      JsonNode v;
      try {
        v = Json.MAPPER.readTree(text);
      } catch (java.io.IOException e) {
        log.warn("sessions: session {} in {} is not readable: {}", id, location, e.getMessage());
        return Optional.empty();
      }
      String scope = v.path("scope").asText(FEDERATED);
      List<String> subscriptions = new ArrayList<>();
      v.path("subscriptions").forEach(n -> subscriptions.add(n.asText()));
      return Optional.of(new Stored(scope.equals(FEDERATED) ? new McpSession.Federated() : new McpSession.Single(scope),
          v.path("iss").asText(), v.path("sub").asText(), Optional.ofNullable(v.path("tenant").textValue()),
          v.path("protocolVersion").asText(), v.get("capabilities") instanceof ObjectNode c ? c : Json.object(),
          v.get("clientInfo") instanceof ObjectNode i ? i : Json.object(),
          McpSession.LogLevel.parse(v.path("logLevel").asText("").toLowerCase(java.util.Locale.ROOT)).orElse(McpSession.LogLevel.DEBUG),
          subscriptions));
    });
  }

  /** Keeps a used session alive in Redis: at most one write per quarter of its TTL. */
  void touch(McpSession s) {
    long now = System.nanoTime();
    if (now - s.sharedTouched < ttl.toNanos() / 4) {
      return;
    }
    s.sharedTouched = now;
    bounded(redis.pexpire(key(s.id()), ttl.toMillis()).toCompletableFuture()).whenComplete((ok, e) -> {
      if (e != null) {
        log.debug("sessions: could not extend session {}: {}", s.id(), e.getMessage());
      }
    });
  }

  /** A message written to a session's GET stream, with the id the client can resume after. */
  record Event(String id, ObjectNode message) {}

  /** How many of a session's stream messages are kept, and for how long after the last. */
  static final long EVENTS_KEPT = 1000;
  static final Duration EVENTS_TTL = Duration.ofMinutes(5);
  private static final java.util.regex.Pattern EVENT_ID = java.util.regex.Pattern.compile("\\d{1,20}-\\d{1,20}");

  private static String eventsKey(String id) {
    return "gatehouse:events:" + id;
  }

  /**
   * Records a message about to be written to a session's GET stream; its id, or null when Redis cannot
   * be reached (the message is written without one then: it cannot be replayed). Blocks up to the
   * store's timeout: called on the stream's own (virtual) thread.
   */
  String record(String sessionId, ObjectNode message) {
    String key = eventsKey(sessionId);
    try {
      String id = redis.xadd(key, io.lettuce.core.XAddArgs.Builder.maxlen(EVENTS_KEPT).approximateTrimming(),
          java.util.Map.of("m", message.toString())).toCompletableFuture().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      redis.pexpire(key, EVENTS_TTL.toMillis());
      return id;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      log.debug("sessions: stream message of {} not recorded: {}", sessionId, e.toString());
      return null;
    }
  }

  /**
   * The recorded messages after {@code lastEventId} (at most {@value #EVENTS_KEPT}), oldest first;
   * none for an id that is not one of ours or when Redis cannot be reached.
   */
  List<Event> after(String sessionId, String lastEventId) {
    if (!EVENT_ID.matcher(lastEventId.strip()).matches()) {
      return List.of();
    }
    try {
      var entries = redis.xrange(eventsKey(sessionId),
          io.lettuce.core.Range.from(io.lettuce.core.Range.Boundary.excluding(lastEventId.strip()), io.lettuce.core.Range.Boundary.unbounded()),
          io.lettuce.core.Limit.from(EVENTS_KEPT)).toCompletableFuture().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      List<Event> out = new ArrayList<>(entries.size());
      for (var e : entries) {
        if (Json.MAPPER.readTree(e.getBody().get("m")) instanceof ObjectNode m) {
          out.add(new Event(e.getId(), m));
        }
      }
      return out;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return List.of();
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException | java.io.IOException e) {
      log.warn("sessions: cannot replay the stream of {} after {}: {}", sessionId, lastEventId, e.toString());
      return List.of();
    }
  }

  /** Removes a session everywhere (the client's DELETE): from the store, and from every replica holding it. */
  void delete(String id) {
    bounded(redis.del(key(id), eventsKey(id)).toCompletableFuture().thenCompose(n -> redis.publish(CLOSED_CHANNEL, id).toCompletableFuture()))
        .whenComplete((n, e) -> {
      if (e != null) {
        log.warn("sessions: session {} could not be removed from {}: {}", id, location, e.getMessage());
      }
    });
  }

  private static <T> CompletableFuture<T> bounded(CompletableFuture<T> f) {
    return f.orTimeout(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    closings.close();
    connected.close();
  }
}
