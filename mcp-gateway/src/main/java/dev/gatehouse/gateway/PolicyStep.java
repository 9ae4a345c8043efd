package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.policy.Action;
import dev.gatehouse.policy.Decision;
import dev.gatehouse.policy.PolicyEngine;
import dev.gatehouse.registry.Json;
import dev.gatehouse.registry.McpException;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * The pipeline's decide step: asks the policy engine about the invocation and either lets it go on
 * or answers with the denial, which names the rule, the reason and (for argument constraints) the
 * argument. Hidden tools are refused here too: list filtering alone never blocks a call.
 */
final class PolicyStep implements Pipeline.Step {
  /** JSON-RPC error: the caller may not do this. */
  static final int FORBIDDEN = -32003;
  /** JSON-RPC error: the caller's rate limit is exhausted for now. */
  static final int RATE_LIMITED = -32029;

  private final Supplier<PolicyEngine> engine;

  PolicyStep(Supplier<PolicyEngine> engine) {
    this.engine = engine;
  }

  static Action action(Invocation inv) {
    return switch (inv.kind()) {
      case TOOL -> new Action.Tool(inv.server(), inv.policyName(), inv.params().path("arguments"));
      case RESOURCE -> new Action.Resource(inv.server(), inv.policyName());
      case PROMPT -> new Action.Prompt(inv.server(), inv.policyName());
      case COMPLETION -> inv.policyName().contains("+")
          ? new Action.Resource(inv.server(), inv.policyName())
          : new Action.Prompt(inv.server(), inv.policyName());
    };
  }

  @Override
  public CompletableFuture<JsonNode> apply(Invocation inv, Pipeline.Chain next) {
    Decision d = engine.get().decide(inv.principal(), action(inv));
    inv.facts().decision(d);
    return switch (d) {
      case Decision.Allow a -> next.proceed(inv);
      case Decision.Deny deny -> {
        ObjectNode data = Json.object();
        data.put("rule", deny.ruleId());
        data.put("reason", deny.reason());
        deny.argument().ifPresent(arg -> data.put("argument", arg));
        yield CompletableFuture.failedFuture(new McpException(FORBIDDEN, "Forbidden: " + deny.reason(), data, null));
      }
      case Decision.Limited limited -> {
        ObjectNode data = Json.object();
        data.put("rule", limited.ruleId());
        data.put("reason", limited.reason());
        data.put("retryAfterSeconds", Math.max(1, (limited.retryAfter().toMillis() + 999) / 1000));
        yield CompletableFuture.failedFuture(new McpException(RATE_LIMITED, "Rate limited: " + limited.reason(), data, null));
      }
    };
  }
}
