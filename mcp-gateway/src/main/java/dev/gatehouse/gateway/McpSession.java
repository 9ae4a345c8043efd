package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.registry.McpException;
import dev.gatehouse.identity.Principal;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One downstream MCP session: what was negotiated, what the client is doing (requests in flight,
 * subscriptions, log level), what we asked of it, and the queue of unsolicited messages waiting for
 * its standalone stream (the GET stream, or the legacy SSE stream).
 */
final class McpSession {
  /**
   * Messages waiting for the session's stream. A session whose client does not take them (no stream
   * open, or a stream read too slowly) until this many wait is closed: answers are never dropped.
   */
  static final int MAX_QUEUED = 1000;

  private final String id;
  private final Scope scope;
  private final boolean legacySse;
  private final AtomicLong serverRequestIds = new AtomicLong();
  /** How to cancel each client request in flight, by JSON id text (for notifications/cancelled). */
  final Map<String, Runnable> inFlight = new ConcurrentHashMap<>();
  /** Our requests to the client (sampling, elicitation) by id text. */
  final Map<String, CompletableFuture<JsonNode>> awaiting = new ConcurrentHashMap<>();
  /** Subscribed resources as "server\0originalUri". */
  final Set<String> subscriptions = ConcurrentHashMap.newKeySet();
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition ready = lock.newCondition();
  private final ArrayDeque<ObjectNode> queue = new ArrayDeque<>();
  private volatile String protocolVersion = "2025-03-26";
  private volatile ObjectNode clientCapabilities;
  private volatile ObjectNode clientInfo;
  private volatile LogLevel logLevel = LogLevel.DEBUG;
  private volatile boolean streamAttached;
  /** Counts stream attachments; a stream whose number is no longer current has been replaced. */
  private long streamGeneration;
  private volatile boolean closed;
  private volatile String closeReason = "closed";
  /** Whether the client made any request after initialize (or opened a stream). */
  private volatile boolean used;
  private volatile long lastActive = System.nanoTime();
  private volatile Principal principal;

  /** Which upstreams a session sees: all of them (federated names) or one (original names). */
  sealed interface Scope permits Federated, Single {}

  record Federated() implements Scope {}

  record Single(String server) implements Scope {}

  /** A 2026-07-28 request's mirrored headers; null for a session of the session-based revisions. */
  private final ModernMcp.Mirror mirror;

  McpSession(String id, Scope scope, boolean legacySse, Principal principal) {
    this(id, scope, legacySse, principal, null);
  }

  private McpSession(String id, Scope scope, boolean legacySse, Principal principal, ModernMcp.Mirror mirror) {
    this.id = id;
    this.scope = scope;
    this.legacySse = legacySse;
    this.principal = principal;
    this.mirror = mirror;
  }

  /**
   * The context of one 2026-07-28 request (there are no sessions in that revision): its client's
   * capabilities, info and log level come from the request's {@code _meta}, and it lives as long as the
   * request does ({@code subscriptions/listen}: as long as its stream).
   */
  static McpSession stateless(String id, Scope scope, Principal principal, ModernMcp.Mirror mirror, ObjectNode meta) {
    McpSession s = new McpSession(id, scope, false, principal, mirror);
    s.initialized(ModernMcp.REVISION,
        meta.get(ModernMcp.CAPABILITIES_KEY) instanceof ObjectNode c ? c : com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode(),
        meta.get(ModernMcp.CLIENT_INFO_KEY) instanceof ObjectNode i ? i : null);
    // Log messages only for a request that asked for them, from the level it named.
    s.logLevel = LogLevel.parse(meta.path(ModernMcp.LOG_LEVEL_KEY).asText("")).orElse(LogLevel.OFF);
    s.used = true;
    return s;
  }

  /** A 2026-07-28 call's multi round-trip state: where an upstream's requests to the client go. */
  private volatile InputRounds.Round round;

  InputRounds.Round round() {
    return round;
  }

  void round(InputRounds.Round r) {
    this.round = r;
  }

  /** Whether this is a 2026-07-28 request rather than a session. */
  boolean modern() {
    return mirror != null;
  }

  /** The 2026-07-28 request's mirrored headers; null for a session. */
  ModernMcp.Mirror mirror() {
    return mirror;
  }

  /** The door sessions come through, for audit. */
  String source() {
    return legacySse ? "mcp-sse" : "mcp";
  }

  /** Who owns the session: set at initialize, refreshed (same subject) by later requests. */
  Principal principal() {
    return principal;
  }

  /**
   * Accepts the caller of a later request if it is the session's owner (same issuer, subject and
   * tenant), taking its fresher claims; false for anybody else.
   */
  boolean rebind(Principal caller) {
    Principal owner = principal;
    if (!owner.issuer().equals(caller.issuer()) || !owner.subject().equals(caller.subject())
        || !owner.tenant().equals(caller.tenant())) {
      return false;
    }
    principal = caller;
    return true;
  }

  String id() {
    return id;
  }

  Scope scope() {
    return scope;
  }

  boolean legacySse() {
    return legacySse;
  }

  /** The capabilities the client declared at initialize (empty before). */
  ObjectNode clientCapabilities() {
    ObjectNode c = clientCapabilities;
    return c == null ? Json.object() : c;
  }

  /** When a shared store last extended this session's life (System.nanoTime), for {@link SharedSessions#touch}. */
  volatile long sharedTouched = System.nanoTime();

  String protocolVersion() {
    return protocolVersion;
  }

  void initialized(String version, ObjectNode capabilities, ObjectNode info) {
    this.protocolVersion = version;
    this.clientCapabilities = capabilities;
    this.clientInfo = info;
  }

  boolean clientSupports(String capability) {
    ObjectNode c = clientCapabilities;
    return c != null && c.has(capability);
  }

  /** Whether the client declared the capability at this path, e.g. {@code elicitation.url}. */
  boolean clientSupports(String... path) {
    com.fasterxml.jackson.databind.JsonNode n = clientCapabilities;
    for (String p : path) {
      if (n == null || !n.has(p)) {
        return false;
      }
      n = n.get(p);
    }
    return true;
  }

  /**
   * Why an upstream's request cannot be relayed to this session's client, if it cannot: an unknown
   * method, or a capability the client did not declare (sampling, form or URL elicitation, roots,
   * tasks, or a task-augmented sampling or elicitation request).
   */
  static Optional<String> missingCapability(McpSession s, String method, ObjectNode params) {
    if (s.modern() && (s.round == null || params.has("task") || !(method.equals("sampling/createMessage")
        || method.equals("elicitation/create") || method.equals("roots/list")))) {
      // 2026-07-28 has no server-to-client requests: sampling, elicitation and roots asked during a call
      // become multi round-trip results; nothing else (tasks, requests outside a call) has a way there.
      return Optional.of("the client speaks MCP " + ModernMcp.REVISION + ", where '" + method
          + "' can only be asked during a tools/call, prompts/get or resources/read (as a multi round-trip request)");
    }
    String[] needed = neededCapability(s, method, params);
    if (needed == null) {
      return Optional.of("Method not found: " + method + " (the gateway relays sampling, elicitation, roots and tasks requests)");
    }
    if (!s.clientSupports(needed)) {
      return Optional.of("the client did not declare the '" + String.join(".", needed) + "' capability, so '" + method
          + "' cannot be relayed to it");
    }
    return Optional.empty();
  }

  /** The capability (as a path, e.g. {@code elicitation.url}) a client needs to be asked {@code method}; null if none would do. */
  static String[] neededCapability(McpSession s, String method, ObjectNode params) {
    String[] needed = switch (method) {
      case "sampling/createMessage" -> params.has("task") ? new String[] {"tasks", "requests", "sampling", "createMessage"}
          : new String[] {"sampling"};
      case "elicitation/create" -> params.has("task") ? new String[] {"tasks", "requests", "elicitation", "create"}
          : "url".equals(params.path("mode").asText()) ? new String[] {"elicitation", "url"} : new String[] {"elicitation"};
      case "roots/list" -> new String[] {"roots"};
      case "tasks/get", "tasks/result", "tasks/list", "tasks/cancel" -> new String[] {"tasks"};
      default -> null;
    };
    if (needed != null && needed.length == 1 && needed[0].equals("elicitation") && s.clientSupports("elicitation", "url")
        && !s.clientSupports("elicitation", "form")) {
      // An empty elicitation object means form mode (2025-11-25); one that names only url does not.
      needed = new String[] {"elicitation", "form"};
    }
    return needed;
  }

  Optional<ObjectNode> clientInfo() {
    return Optional.ofNullable(clientInfo);
  }

  LogLevel logLevel() {
    return logLevel;
  }

  void logLevel(LogLevel level) {
    this.logLevel = level;
  }

  void touch() {
    lastActive = System.nanoTime();
  }

  /** A request after initialize: the session is in use. */
  void used() {
    used = true;
    touch();
  }

  boolean everUsed() {
    return used;
  }

  /** When the client last did anything (nanoTime), for choosing which idle session goes first. */
  long lastActive() {
    return lastActive;
  }

  long idleNanos() {
    return streamAttached || !inFlight.isEmpty() ? 0 : System.nanoTime() - lastActive;
  }

  /** Who owns the session, as one key: issuer, subject and tenant. */
  String ownerKey() {
    return ownerKey(principal);
  }

  /** Who a principal is, as sessions, multi round-trips and task handles are bound to it. */
  static String ownerKey(Principal p) {
    return p.issuer() + '\0' + p.subject() + '\0' + p.tenant().orElse("");
  }

  String nextServerRequestId() {
    return "gh-" + serverRequestIds.incrementAndGet();
  }

  /**
   * Queues a message for the session's stream. A {@code list_changed} notification already waiting is
   * not queued twice (one tells the client all it needs). False when the session is closed, or when the
   * queue is full: then the session is closed (its stream ends), and the caller's owner must close it in
   * the session table too.
   */
  boolean enqueue(ObjectNode message) {
    if (closed) {
      return false;
    }
    lock.lock();
    try {
      if (isListChanged(message)) {
        for (ObjectNode waiting : queue) {
          if (message.equals(waiting)) {
            return true;
          }
        }
      }
      if (queue.size() >= MAX_QUEUED) {
        overflowed = true;
        closeReason = "more than " + MAX_QUEUED + " messages waited for the client to read them";
        closed = true;
        ready.signalAll();
        return false;
      }
      queue.addLast(message);
      ready.signalAll();
      return true;
    } finally {
      lock.unlock();
    }
  }

  private volatile boolean overflowed;

  /** Whether the session was closed because its client did not read its messages. */
  boolean overflowed() {
    return overflowed;
  }

  private static boolean isListChanged(ObjectNode m) {
    String method = m.path("method").asText("");
    return method.endsWith("/list_changed") && !m.has("id");
  }

  /**
   * Takes the next queued message for the stream {@code generation}, waiting up to {@code waitNanos};
   * null on timeout, on close, or once that stream has been replaced by a newer one.
   */
  ObjectNode poll(long waitNanos, long generation) throws InterruptedException {
    lock.lock();
    try {
      long left = waitNanos;
      while (queue.isEmpty() && !closed && streamGeneration == generation && left > 0) {
        left = ready.awaitNanos(left);
      }
      return streamGeneration == generation ? queue.pollFirst() : null;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Attaches a standalone stream and returns its generation. A stream already attached is replaced: a
   * client whose stream dropped (without the server noticing yet) reconnects at once, and the old
   * stream's writer stops at its next wake-up.
   */
  long attachStream() {
    lock.lock();
    try {
      streamAttached = true;
      used = true;
      streamGeneration++;
      ready.signalAll();
      return streamGeneration;
    } finally {
      lock.unlock();
    }
  }

  /** Whether {@code generation} is still the attached stream. */
  boolean streamCurrent(long generation) {
    lock.lock();
    try {
      return streamGeneration == generation && !closed;
    } finally {
      lock.unlock();
    }
  }

  void detachStream(long generation) {
    lock.lock();
    try {
      if (streamGeneration == generation) {
        streamAttached = false;
      }
    } finally {
      lock.unlock();
    }
    touch();
  }

  boolean closed() {
    return closed;
  }

  String closeReason() {
    return closeReason;
  }

  /** Ends the session: in-flight calls are cancelled (and so cancelled upstream), waits fail. */
  void close() {
    lock.lock();
    try {
      closed = true;
      ready.signalAll();
    } finally {
      lock.unlock();
    }
    inFlight.values().forEach(Runnable::run);
    inFlight.clear();
    McpException gone = new McpException(McpException.REQUEST_CANCELLED, "client session ended");
    awaiting.values().forEach(f -> f.completeExceptionally(gone));
    awaiting.clear();
  }

  /** MCP log levels in increasing severity (RFC 5424 names). */
  enum LogLevel {
    DEBUG, INFO, NOTICE, WARNING, ERROR, CRITICAL, ALERT, EMERGENCY,
    /** Above every level: no log messages (a 2026-07-28 request that named no level). Not a level a client can name. */
    OFF;

    static Optional<LogLevel> parse(String s) {
      for (LogLevel l : values()) {
        if (l != OFF && l.name().equalsIgnoreCase(s)) {
          return Optional.of(l);
        }
      }
      return Optional.empty();
    }
  }
}
