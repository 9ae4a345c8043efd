package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The request pipeline every door shares: authenticate → resolve → decide → execute → record.
 * Authentication happens at the HTTP edge (a session carries its caller) and resolution in the
 * dispatcher, which builds the {@link Invocation}; the remaining steps are {@link Step}s that wrap
 * the next one, like OkHttp interceptors, ending in the upstream call.
 */
final class Pipeline {

  /** One step; calls {@code next.proceed(inv)} to go on, or answers itself (a denial, say). */
  interface Step {
    CompletableFuture<JsonNode> apply(Invocation invocation, Chain next);
  }

  /** The rest of the pipeline after a step. */
  interface Chain {
    CompletableFuture<JsonNode> proceed(Invocation invocation);
  }

  private final Chain head;

  Pipeline(List<Step> steps, Chain terminal) {
    Chain chain = terminal;
    for (int i = steps.size() - 1; i >= 0; i--) {
      Step step = steps.get(i);
      Chain next = chain;
      chain = inv -> step.apply(inv, next);
    }
    this.head = chain; // built once: no allocation per call
  }

  CompletableFuture<JsonNode> run(Invocation invocation) {
    return head.proceed(invocation);
  }
}
