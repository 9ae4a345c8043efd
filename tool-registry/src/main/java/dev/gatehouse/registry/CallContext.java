package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The downstream side of one forwarded request: where the upstream's progress, log messages and
 * requests (sampling, elicitation) made while serving it are relayed.
 */
public interface CallContext {

  /** The progress token the downstream client put in {@code _meta}, if any. */
  default Optional<JsonNode> progressToken() {
    return Optional.empty();
  }

  /** Relays a notification (progress, logging) to the client whose call this is. */
  default void notify(String method, ObjectNode params) {}

  /**
   * Relays a server-to-client request (e.g. {@code sampling/createMessage}) to the client and
   * completes with its result, or exceptionally with a {@link McpException}.
   */
  default CompletableFuture<JsonNode> request(String method, ObjectNode params) {
    return CompletableFuture.failedFuture(
        new McpException(McpException.METHOD_NOT_FOUND, "no client to forward '" + method + "' to"));
  }

  /**
   * Who made the call (the downstream session). Server-initiated messages that cannot be tied to
   * one call are relayed only when every call in flight has the same owner.
   */
  default Object owner() {
    return this;
  }

  /**
   * Registers what to do when the downstream client cancels this call (or goes away); the registry
   * uses it to cancel the upstream request. Runs at once if the call is cancelled already.
   */
  default void onCancel(Runnable action) {}

  /**
   * Whether the downstream client takes an upstream's {@code input_required} result as it is (it speaks
   * MCP 2026-07-28 and retries with the answers itself). Otherwise the registry answers the result's
   * requests through {@link #request} and retries for it.
   */
  default boolean takesInputRequired() {
    return false;
  }

  /**
   * The capabilities the downstream client declared (per request in MCP 2026-07-28, at initialize
   * before), if a client stands behind this call. A 2026-07-28 upstream is told only those of them the
   * gateway can relay, so that it asks this client nothing it cannot answer.
   */
  default Optional<ObjectNode> clientCapabilities() {
    return Optional.empty();
  }

  /**
   * Whom the call is made for, as an upstream that acts as the user ({@code auth: {mode:
   * token_exchange}}) needs to know: empty for the gateway's own calls (connecting, catalog refreshes);
   * a caller, with the access token it presented if it has one to exchange.
   */
  default Optional<Caller> caller() {
    return Optional.empty();
  }

  /**
   * A caller of a call: its presented access token, if it authenticated with one (not an API key), and
   * who it is ({@code subject@issuer}), for the tokens users consented to give ({@code user_consent}).
   */
  record Caller(Optional<String> accessToken, Optional<String> principal) {
    public Caller(Optional<String> accessToken) {
      this(accessToken, Optional.empty());
    }

    @Override
    public String toString() {
      return (accessToken.isPresent() ? "Caller[token ***" : "Caller[no token") + principal.map(p -> ", " + p).orElse("") + "]";
    }
  }

  /** The W3C traceparent to send with this call's upstream request (the gateway's span), if tracing is on. */
  default Optional<String> traceparent() {
    return Optional.empty();
  }

  /** {@code base}, made for {@code caller}: everything else as {@code base} does it. */
  static CallContext actingFor(CallContext base, Caller caller) {
    return actingFor(base, caller, null);
  }

  /** {@code base}, made for {@code caller}, traced as {@code traceparent} (null: not traced). */
  static CallContext actingFor(CallContext base, Caller caller, String traceparent) {
    return new CallContext() {
      @Override
      public Optional<String> traceparent() {
        return Optional.ofNullable(traceparent);
      }

      @Override
      public Optional<JsonNode> progressToken() {
        return base.progressToken();
      }

      @Override
      public void notify(String method, ObjectNode params) {
        base.notify(method, params);
      }

      @Override
      public CompletableFuture<JsonNode> request(String method, ObjectNode params) {
        return base.request(method, params);
      }

      @Override
      public Object owner() {
        return base.owner();
      }

      @Override
      public void onCancel(Runnable action) {
        base.onCancel(action);
      }

      @Override
      public boolean takesInputRequired() {
        return base.takesInputRequired();
      }

      @Override
      public Optional<ObjectNode> clientCapabilities() {
        return base.clientCapabilities();
      }

      @Override
      public boolean relays() {
        return base.relays();
      }

      @Override
      public Optional<Caller> caller() {
        return Optional.of(caller);
      }
    };
  }

  /** Whether this context can take relayed requests and notifications. */
  default boolean relays() {
    return true;
  }

  /** A context that relays nothing: gateway-internal calls such as catalog refreshes. */
  static CallContext none() {
    return None.INSTANCE;
  }

  /** The context of gateway-internal calls. */
  enum None implements CallContext {
    INSTANCE;

    @Override
    public boolean relays() {
      return false;
    }
  }
}
