package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Duration;

/** Moves JSON-RPC messages to and from one upstream. Implementations are thread-safe. */
interface Transport extends AutoCloseable {

  /** Receives what the upstream sends. */
  interface Listener {
    /**
     * One message. {@code relatedId} is the id of our request on whose response stream the message
     * came (Streamable HTTP), or {@code null} when the transport cannot tell (stdio, GET streams).
     */
    void onMessage(ObjectNode message, JsonNode relatedId);

    /** The transport is gone: process exit, stream end, I/O failure. Called at most once. */
    void onClosed(String reason);

    /**
     * A message larger than {@code max_message_bytes} arrived and was skipped unread; {@code id} is the
     * id it carried, when it could be found ({@code null} otherwise).
     */
    default void onOversized(JsonNode id, long bytes, int limit) {}
  }

  /** Starts the process or opens the connection; returns when messages can be sent. */
  void start(Listener listener, Duration timeout) throws IOException;

  /**
   * Sends one message without blocking. The future completes once the message is handed over (for
   * HTTP: once the server answered the POST, its JSON answer delivered to the listener first), or
   * fails with an {@link java.io.IOException} or {@link McpException}; answers that come later
   * arrive through the listener. A message no longer wanted after {@code deadlineNanos}
   * ({@link System#nanoTime}; 0 for no deadline) may be dropped unsent by a transport that queues.
   */
  java.util.concurrent.CompletableFuture<Void> send(ObjectNode message, long deadlineNanos);

  /**
   * {@link #send(ObjectNode, long)} with extra HTTP headers (transports that carry HTTP), made for
   * {@code caller} (empty: the gateway's own request), which an upstream acting as the user needs.
   */
  default java.util.concurrent.CompletableFuture<Void> send(ObjectNode message, long deadlineNanos, java.util.Map<String, String> headers,
      java.util.Optional<CallContext.Caller> caller) {
    return send(message, deadlineNanos, headers);
  }

  /** {@link #send(ObjectNode, long)} without a deadline. */
  default java.util.concurrent.CompletableFuture<Void> send(ObjectNode message) {
    return send(message, 0);
  }

  /** Called once the MCP handshake is done, with the negotiated protocol version. */
  default void initialized(String protocolVersion) {}

  /**
   * Whether the upstream speaks the stateless revision (2026-07-28): no initialize, every request
   * carries its version and client capabilities, and no notification is sent over it.
   */
  default boolean stateless() {
    return false;
  }

  /**
   * The upstream did not answer {@code server/discover} as a 2026-07-28 server: from now on the
   * transport speaks the session-based revisions. False if it may not (the stateless one is required).
   */
  default boolean fallBack() {
    return false;
  }

  /**
   * Stops waiting for the answer to request {@code id} and lets the server know: in the stateless
   * revision closing a request's HTTP exchange is how a call is cancelled. Others cancel with a
   * notification instead.
   */
  default void abort(com.fasterxml.jackson.databind.JsonNode id) {}

  /**
   * A stateless (2026-07-28) transport's stand-in for {@code resources/subscribe}, which that revision
   * removed: a {@code subscriptions/listen} for the resource, kept open until {@link #unsubscribe}. Its
   * {@code notifications/resources/updated} arrive through the listener like any others.
   */
  default java.util.concurrent.CompletableFuture<Void> subscribe(String uri) {
    return java.util.concurrent.CompletableFuture.failedFuture(new McpException(McpException.METHOD_NOT_FOUND,
        "resource subscriptions need a subscriptions/listen stream, which this transport does not keep"));
  }

  /** Ends what {@link #subscribe} opened for {@code uri}, if anything. */
  default void unsubscribe(String uri) {}

  /** At most this many resources subscribed through one stateless upstream connection. */
  int MAX_RESOURCE_SUBSCRIPTIONS = 1000;

  /** Whether {@link #fallBack} would succeed. */
  default boolean fallBackAllowed() {
    return false;
  }

  /** Sends {@code message} with these HTTP headers besides the transport's own (transports without headers ignore them). */
  default java.util.concurrent.CompletableFuture<Void> send(ObjectNode message, long deadlineNanos, java.util.Map<String, String> headers) {
    return send(message, deadlineNanos);
  }

  /** Stops the process or closes the connection, releasing every resource. Idempotent. */
  @Override
  void close();

  /** Process id of a stdio child, or -1. */
  default long pid() {
    return -1;
  }
}
