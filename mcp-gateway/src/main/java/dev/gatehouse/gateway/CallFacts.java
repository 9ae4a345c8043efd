package dev.gatehouse.gateway;

import dev.gatehouse.policy.Decision;
import java.util.Optional;

/**
 * What the pipeline learns about one call while it runs (the policy decision, the time spent
 * upstream), for the record step at the end. Each field is written once, by the step that learns it.
 */
final class CallFacts {
  private volatile Decision decision;
  private volatile long upstreamNanos;

  void decision(Decision d) {
    this.decision = d;
  }

  Optional<Decision> decision() {
    return Optional.ofNullable(decision);
  }

  void upstreamNanos(long nanos) {
    this.upstreamNanos = nanos;
  }

  long upstreamNanos() {
    return upstreamNanos;
  }
}
