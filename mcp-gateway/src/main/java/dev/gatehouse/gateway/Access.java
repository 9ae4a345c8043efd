package dev.gatehouse.gateway;

import dev.gatehouse.identity.Principal;
import dev.gatehouse.policy.Action;
import dev.gatehouse.policy.Decision;
import dev.gatehouse.policy.PolicyEngine;
import java.util.List;
import java.util.Optional;

/**
 * The one answer to "may this principal use this": a tool, resource, prompt, model or a new session.
 * Every door asks here, through {@link CallChain}'s decide step for calls, and directly for what a
 * caller is shown ({@code tools/list}, the tools offered to a model, {@code /v1/models}, the fallback
 * models a route may use). Decisions are counted here too ({@code gatehouse_policy_decisions_total}).
 *
 * <p>Backed by the {@link PolicyEngine} in force; a hot reload swaps it atomically.
 */
final class Access {
  private final GatewayMetrics metrics;
  private volatile PolicyEngine engine;
  private final dev.gatehouse.policy.RateCounters shared;

  Access(PolicyEngine engine, GatewayMetrics metrics) {
    this(engine, metrics, null);
  }

  /** With {@code shared} counters (Redis), rate limits count across replicas; null counts in this process. */
  Access(PolicyEngine engine, GatewayMetrics metrics, dev.gatehouse.policy.RateCounters shared) {
    this.engine = engine;
    this.metrics = metrics;
    this.shared = shared;
  }

  /** Whether decisions wait for shared counters (then {@link #decideShared}, else {@link #decide}). */
  boolean counted() {
    return shared != null && engine.active();
  }

  /** {@link #decide} with rate limits counted in the shared counters; never fails. */
  java.util.concurrent.CompletableFuture<Decision> decideShared(Principal principal, Action action) {
    return engine.decide(principal, action, shared).thenApply(d -> {
      metrics.decision(label(d), d.ruleId());
      return d;
    });
  }

  /** The rules in force (for explain and the admin API). */
  PolicyEngine engine() {
    return engine;
  }

  /** Puts new rules in force. */
  void install(PolicyEngine next) {
    this.engine = next;
  }

  /**
   * Decides a call: allow, deny (with rule, reason and, for a constraint, the argument) or rate-limited
   * (which takes a token from the limits that apply). Counted by result and rule.
   */
  Decision decide(Principal principal, Action action) {
    Decision d = engine.decide(principal, action);
    metrics.decision(label(d), d.ruleId());
    return d;
  }

  /**
   * Whether {@code principal} is shown {@code action} in a list: the decide step without limits or
   * argument constraints (a tool with constraints stays visible; calling it is decided in full).
   */
  boolean visible(Principal principal, Action action) {
    Integrity i = integrity;
    if (i != null && i.withheld(action)) {
      return false; // a changed (pinned) or blocked definition is in no one's list
    }
    PolicyEngine e = engine;
    return !e.active() || e.visible(principal, action);
  }

  private volatile Integrity integrity;

  /** Tool integrity: what is withheld leaves every list, and its calls are refused. */
  void integrity(Integrity integrity) {
    this.integrity = integrity;
  }

  /** Why a call of {@code action}, resolved against {@code catalog}, is refused by tool integrity, if it is. */
  Optional<String> integrityRefusal(Action action, java.util.Map<String, dev.gatehouse.registry.UpstreamCatalog> catalog) {
    Integrity i = integrity;
    return i == null ? Optional.empty() : i.refusal(action, catalog);
  }

  /** The daily budget that applies to a model call, if a rule sets one. */
  Optional<PolicyEngine.Budget> budget(Principal principal, Action action) {
    return engine.budget(principal, action);
  }

  /** The token limits and budgets that apply to a model call, each with whom it counts for. */
  List<PolicyEngine.ModelLimit> modelLimits(Principal principal, Action action) {
    return engine.modelLimits(principal, action);
  }

  /** Whether {@code principal} may open another session now (its rules' request rate limits). */
  Decision admit(Principal principal) {
    return engine.admit(principal);
  }

  /** The rules in force, in config order. */
  List<dev.gatehouse.policy.PolicyRule> rules() {
    return engine.rules();
  }

  /** A decision as metrics and audit name it. */
  static String label(Decision d) {
    return switch (d) {
      case Decision.Allow a -> "allow";
      case Decision.Deny x -> "deny";
      case Decision.Limited l -> "rate_limited";
    };
  }
}
