package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.registry.McpException;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pipeline's record step, for now a log line per call: what was called, where it went, how it
 * ended and how long it took. Failures of the gateway or an upstream (unreachable, timed out) are
 * warnings an operator should see; tool errors and successes are debug. Arguments and results are
 * never logged: they may hold personal data or secrets.
 */
final class CallLog implements Pipeline.Step {
  private static final Logger log = LoggerFactory.getLogger("gatehouse.calls");

  @Override
  public CompletableFuture<JsonNode> apply(Invocation inv, Pipeline.Chain next) {
    long start = System.nanoTime();
    return next.proceed(inv).whenComplete((result, error) -> {
      long micros = (System.nanoTime() - start) / 1000;
      if (error == null) {
        if (log.isDebugEnabled()) {
          boolean isError = result != null && result.path("isError").asBoolean(false);
          log.debug("{} {} -> {}/{}: {} in {} µs", inv.method(), inv.requestedName(), inv.server(), inv.target(),
              isError ? "tool error" : "ok", micros);
        }
        return;
      }
      McpException e = JsonRpc.toMcp(error);
      if (e.code() == McpException.UPSTREAM_UNAVAILABLE || e.code() == McpException.UPSTREAM_TIMEOUT) {
        log.warn("{} {} -> {}/{}: {} after {} ms", inv.method(), inv.requestedName(), inv.server(), inv.target(),
            e.getMessage(), micros / 1000);
      } else if (log.isDebugEnabled()) {
        log.debug("{} {} -> {}/{}: error {} ({}) in {} µs", inv.method(), inv.requestedName(), inv.server(), inv.target(),
            e.code(), e.getMessage(), micros);
      }
    });
  }
}
