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
  /** Unsolicited messages kept while no stream is attached; the oldest go first when full. */
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
  private volatile boolean closed;
  private volatile long lastActive = System.nanoTime();
  private volatile Principal principal;

  /** Which upstreams a session sees: all of them (federated names) or one (original names). */
  sealed interface Scope permits Federated, Single {}

  record Federated() implements Scope {}

  record Single(String server) implements Scope {}

  McpSession(String id, Scope scope, boolean legacySse, Principal principal) {
    this.id = id;
    this.scope = scope;
    this.legacySse = legacySse;
    this.principal = principal;
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

  long idleNanos() {
    return streamAttached || !inFlight.isEmpty() ? 0 : System.nanoTime() - lastActive;
  }

  String nextServerRequestId() {
    return "gh-" + serverRequestIds.incrementAndGet();
  }

  /** Queues an unsolicited message for the standalone stream. */
  boolean enqueue(ObjectNode message) {
    if (closed) {
      return false;
    }
    lock.lock();
    try {
      if (queue.size() >= MAX_QUEUED) {
        queue.pollFirst();
      }
      queue.addLast(message);
      ready.signalAll();
      return true;
    } finally {
      lock.unlock();
    }
  }

  /** Takes the next queued message, waiting up to {@code waitNanos}; null on timeout or close. */
  ObjectNode poll(long waitNanos) throws InterruptedException {
    lock.lock();
    try {
      long left = waitNanos;
      while (queue.isEmpty() && !closed && left > 0) {
        left = ready.awaitNanos(left);
      }
      return queue.pollFirst();
    } finally {
      lock.unlock();
    }
  }

  /** Claims the single standalone stream; false if one is attached already. */
  boolean attachStream() {
    lock.lock();
    try {
      if (streamAttached) {
        return false;
      }
      streamAttached = true;
      return true;
    } finally {
      lock.unlock();
    }
  }

  void detachStream() {
    streamAttached = false;
    touch();
  }

  boolean closed() {
    return closed;
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
    DEBUG, INFO, NOTICE, WARNING, ERROR, CRITICAL, ALERT, EMERGENCY;

    static Optional<LogLevel> parse(String s) {
      for (LogLevel l : values()) {
        if (l.name().equalsIgnoreCase(s)) {
          return Optional.of(l);
        }
      }
      return Optional.empty();
    }
  }
}
