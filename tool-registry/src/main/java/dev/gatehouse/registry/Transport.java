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
   * Sends one message. Blocks only as long as the transport needs to hand it over (for HTTP until the
   * response status); answers arrive through the listener.
   */
  void send(ObjectNode message) throws IOException;

  /**
   * Sends one message that is no longer wanted after {@code deadlineNanos} ({@link System#nanoTime}; 0
   * for no deadline): a transport that queues may drop it unsent once the deadline has passed.
   */
  default void send(ObjectNode message, long deadlineNanos) throws IOException {
    send(message);
  }

  /** Called once the MCP handshake is done, with the negotiated protocol version. */
  default void initialized(String protocolVersion) {}

  /** Stops the process or closes the connection, releasing every resource. Idempotent. */
  @Override
  void close();

  /** Process id of a stdio child, or -1. */
  default long pid() {
    return -1;
  }
}
