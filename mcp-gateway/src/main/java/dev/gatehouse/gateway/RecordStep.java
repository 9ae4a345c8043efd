package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.policy.Decision;
import dev.gatehouse.registry.McpException;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pipeline's record step, outermost so that it sees denials too: classifies how each call
 * ended, meters it (calls, end-to-end time, time upstream, the gateway's own overhead, policy
 * decisions), writes its chain step to the audit store, and logs it. Failures of the gateway or an upstream (unreachable, timed out) are
 * warnings; everything else is debug. Arguments and results are never logged.
 */
final class RecordStep implements Pipeline.Step {
  private static final Logger log = LoggerFactory.getLogger("gatehouse.calls");
  private final GatewayMetrics metrics;
  private final java.util.function.Supplier<AuditRecorder> audit;

  RecordStep(GatewayMetrics metrics, java.util.function.Supplier<AuditRecorder> audit) {
    this.metrics = metrics;
    this.audit = audit;
  }

  /** How a call ended, as a low-cardinality label. */
  static String outcome(JsonNode result, Throwable error) {
    if (error == null) {
      return result != null && result.path("isError").asBoolean(false) ? "tool_error" : "ok";
    }
    return switch (JsonRpc.toMcp(error).code()) {
      case PolicyStep.FORBIDDEN -> "denied";
      case PolicyStep.RATE_LIMITED -> "rate_limited";
      case McpException.UPSTREAM_TIMEOUT -> "timeout";
      case McpException.UPSTREAM_UNAVAILABLE -> "unavailable";
      case McpException.REQUEST_CANCELLED -> "cancelled";
      default -> "error";
    };
  }

  @Override
  public CompletableFuture<JsonNode> apply(Invocation inv, Pipeline.Chain next) {
    long start = System.nanoTime();
    java.time.Instant started = java.time.Instant.now();
    return next.proceed(inv).handle((result, error) -> {
      long total = System.nanoTime() - start;
      String outcome = outcome(result, error);
      record(inv, outcome, total, error);
      // With durability: commit, answer only once the step is recorded, so an acknowledged call is on record.
      return audit.get().call(inv, result, error, outcome, started, total / 1000)
          .thenCompose(v -> error == null ? CompletableFuture.completedFuture(result) : CompletableFuture.<JsonNode>failedFuture(error));
    }).thenCompose(f -> f);
  }

  private void record(Invocation inv, String outcome, long total, Throwable error) {
    metrics.call(inv, outcome, total, inv.facts().upstreamNanos());
    inv.facts().decision().ifPresent(d -> metrics.decision(switch (d) {
      case Decision.Allow a -> "allow";
      case Decision.Deny x -> "deny";
      case Decision.Limited l -> "rate_limited";
    }, d.ruleId()));
    if (outcome.equals("timeout") || outcome.equals("unavailable")) {
      log.warn("{} {} -> {}/{}: {} after {} ms", inv.method(), inv.requestedName(), inv.server(), inv.target(),
          JsonRpc.toMcp(error).getMessage(), total / 1_000_000);
    } else if (log.isDebugEnabled()) {
      log.debug("{} {} -> {}/{}: {} in {} µs (chain {})", inv.method(), inv.requestedName(), inv.server(), inv.target(),
          outcome, total / 1000, inv.chainId());
    }
  }
}
