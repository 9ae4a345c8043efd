package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The upstream MCP servers the gateway federates. Thread-safe; every upstream connects, fails and
 * reconnects on its own, so one slow or dead server never holds up calls to the others.
 */
public interface ToolRegistry extends AutoCloseable {

  /** What the gateway hears from the registry. Called on registry threads; must not block long. */
  interface Listener {
    /** The federated catalog changed: an upstream connected, dropped, or announced list_changed. */
    default void onCatalogChanged(FederatedCatalog before, FederatedCatalog after) {}

    /** A notification from an upstream that no call owns, e.g. {@code notifications/resources/updated}. */
    default void onNotification(String server, String method, ObjectNode params) {}

    /** The gateway got, or failed to get, a token for an upstream ({@code auth:}); never carries a token. */
    default void onUpstreamToken(String server, UpstreamTokenEvent event) {}
  }

  static ToolRegistry create(String clientVersion, Listener listener) {
    return create(clientVersion, listener, "gatehouse");
  }

  /**
   * A registry whose stdio children are marked as {@code owner}'s (e.g. the config file's path). On
   * creation it ends the children an earlier, killed run with the same owner left behind.
   */
  static ToolRegistry create(String clientVersion, Listener listener, String owner) {
    return new DefaultToolRegistry(clientVersion, listener, owner);
  }

  /**
   * Brings the set of upstreams to {@code upstreams}: new ones start connecting, removed ones are
   * stopped (stdio children ended), changed ones restarted; unchanged ones are left alone.
   */
  void apply(Map<String, UpstreamConfig> upstreams, String separator);

  /** The current federated catalog (connected upstreams only). */
  FederatedCatalog catalog();

  /** Every configured upstream's state, in config order. */
  List<UpstreamStatus> status();

  /**
   * Forwards a request to one upstream. Completes with the upstream's result, or exceptionally with
   * an {@link McpException} (the upstream's own error, or unavailable / timeout / cancelled).
   * {@code params} becomes the registry's: pass a copy you do not reuse.
   */
  CompletableFuture<JsonNode> call(String server, String method, ObjectNode params, CallContext context);

  /**
   * Drops one upstream's connection, if it has one, and connects again at once (an operator's
   * reconnect); calls in flight on the old connection fail as on any connection loss.
   *
   * @return false when no enabled upstream has that name
   */
  boolean reconnect(String server);

  /** Where the tokens of {@code user_consent} upstreams come from (set before {@link #apply}). */
  default void userTokens(UserTokens tokens) {}

  /** Sends a notification to one upstream if it is connected. */
  void notify(String server, String method, ObjectNode params);

  /** Waits until no upstream is still making its first connection attempt; true if none is. */
  boolean awaitSettled(Duration timeout);

  /** Stops every upstream and ends every child process; returns when they are gone. */
  @Override
  void close();
}
