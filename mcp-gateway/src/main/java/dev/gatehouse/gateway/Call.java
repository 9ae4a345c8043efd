package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.identity.Principal;
import dev.gatehouse.policy.Action;
import dev.gatehouse.policy.Decision;
import dev.gatehouse.registry.CallContext;
import dev.gatehouse.router.Route;
import dev.gatehouse.router.RouteOptions;
import dev.gatehouse.router.Usage;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.Optional;

/**
 * One call through any door, as {@link CallChain} runs it: who (the authenticated principal), which
 * door, which agent task (chain id), what ({@link Target}), and where its upstream's messages go. The
 * steps write what they learn into it (resolution, decision, time upstream, the model's route and
 * usage), each field once, for the record step at the end.
 */
final class Call {
  /** Which door: {@code mcp}, {@code execute}, {@code agent} (agent mode's tool runs) or {@code chat}. */
  final String door;
  final Principal principal;
  final String chainId;
  /** The model's tool-call id the call answers ({@code execute}, {@code agent}). */
  final Optional<String> toolCallId;
  /** What the door shows: every upstream ({@code /mcp}, {@code /v1}) or one ({@code /mcp/<server>}). */
  final McpSession.Scope scope;
  final Target target;
  /** Where the upstream's progress, logs and requests go (a session's response stream, or nowhere). */
  final CallContext relay;
  /**
   * The door's rewriting of a result from the resolved upstream (URIs the client can read back),
   * applied before the result is recorded.
   */
  final Finish finish;

  /** How a door rewrites a result. */
  @FunctionalInterface
  interface Finish {
    Finish NONE = (resolved, result) -> result;

    JsonNode apply(Resolved resolved, JsonNode result);
  }
  /**
   * What the door does once the call is allowed and before it executes (the chat door offers the
   * caller's tools to the model and picks agent mode by the deciding rule).
   */
  java.util.function.Consumer<Call> prepare = c -> { };
  /** The MCP revision the call came in on ({@code -} for the {@code /v1} doors): a metric label, nothing else. */
  String revision = "-";
  /**
   * What the door checks that only the protocol knows (a 2026-07-28 request's headers against its
   * body): asked before the target is resolved ({@code resolved} null) and once after; an error
   * refuses the call as invalid, answered with that error, recorded, and sent nowhere.
   */
  java.util.function.Function<Call, RpcError> check = c -> null;
  /** Model calls: where a streamed answer's chunks go; null for a non-streamed call. */
  dev.gatehouse.router.ChunkSink sink;
  /** A model call for embeddings ({@code POST /v1/embeddings}) rather than a chat completion. */
  boolean embeddings;
  final long startNanos = System.nanoTime();
  final Instant started = Instant.now();

  // Learned on the way. Written by one step each, read after it (the chain's stages order them).
  Resolved resolved;
  Decision decision;
  long upstreamNanos;
  /** Model calls: the router's options (allowed fallbacks, a budget's forced model). */
  RouteOptions routeOptions;
  /** The caller's W3C traceparent, when the door saw one in a header (MCP requests carry theirs in {@code _meta}). */
  String traceparent;
  /** This step's trace span (invalid when tracing is off). */
  io.opentelemetry.api.trace.Span span;
  /** Model calls: the token limits and budgets of the rules that apply, each with whom it counts for. */
  java.util.List<dev.gatehouse.policy.PolicyEngine.ModelLimit> modelLimits = java.util.List.of();
  /** Model calls with a budget: the spend so far, by budget owner and period, read before deciding (absent: read when deciding). */
  java.util.Map<String, BigDecimal> spent = java.util.Map.of();
  /** Model calls with a budget: why the spend could not be read (shared store unreachable, failing closed). */
  String spendUnknown;
  /** Model calls with a token limit: the tokens reserved, settled when the call is recorded. */
  TokenLimits.Reservation tokens;
  /** Model calls: the forced fallback model when the budget is spent. */
  Optional<String> budgetFallback = Optional.empty();
  /** Model calls that ran: which route served, after how many attempts, what it used and cost. */
  Route route;
  int attempts;
  Usage usage = Usage.NONE;
  BigDecimal costUsd = BigDecimal.ZERO;

  private Call(String door, Principal principal, String chainId, Optional<String> toolCallId, McpSession.Scope scope,
      Target target, CallContext relay, Finish finish) {
    this.door = door;
    this.principal = principal;
    this.chainId = chainId;
    this.toolCallId = toolCallId;
    this.scope = scope;
    this.target = target;
    this.relay = relay;
    this.finish = finish;
  }

  /** A call of {@code target} by {@code principal} through {@code door}, seeing every upstream. */
  static Call of(String door, Principal principal, String chainId, Target target) {
    return new Call(door, principal, chainId, Optional.empty(), new McpSession.Federated(), target, CallContext.none(),
        Finish.NONE);
  }

  Call toolCallId(String id) {
    return new Call(door, principal, chainId, Optional.of(id), scope, target, relay, finish);
  }

  Call scope(McpSession.Scope s) {
    return new Call(door, principal, chainId, toolCallId, s, target, relay, finish);
  }

  Call relay(CallContext context) {
    return new Call(door, principal, chainId, toolCallId, scope, target, context, finish);
  }

  Call finish(Finish f) {
    return new Call(door, principal, chainId, toolCallId, scope, target, relay, f);
  }

  /**
   * A target resolved to its upstream (or model): what policies decide on and what is sent.
   *
   * @param server the owning upstream; for a model, the provider's alias-resolved {@code provider/model}
   * @param name the upstream's own tool or prompt name, or resource URI (normal form); the model
   * @param action what policies see (federated names {@code server__tool}, URIs {@code server+uri})
   * @param method the MCP method to forward
   * @param params the parameters to forward, already in the upstream's names
   */
  record Resolved(String server, String name, Action action, String method, ObjectNode params) {
    /** What a step names as its action: {@code server/name}, or a model's {@code provider/model}. */
    String label() {
      return action instanceof Action.Model m ? m.model() : server + "/" + name;
    }
  }
}
