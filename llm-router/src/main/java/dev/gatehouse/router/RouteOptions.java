package dev.gatehouse.router;

import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * What the gateway adds to a call from outside the request body.
 *
 * @param fallbacks routes ({@code provider/model} or aliases) from a policy, tried after the request's own
 *     {@code fallbacks} and before the provider's configured ones
 * @param forcedModel replaces the request's {@code model} (the gateway's budget-triggered downgrade);
 *     the request's fallbacks still apply
 * @param allowed which {@code provider/model} targets this caller may use; a candidate it refuses is
 *     skipped, and if it refuses every candidate the call fails with 403 {@code model_not_allowed}
 */
public record RouteOptions(List<String> fallbacks, Optional<String> forcedModel, Predicate<String> allowed,
    Optional<String> traceparent) {
  private static final RouteOptions DEFAULTS = new RouteOptions(List.of(), Optional.empty(), t -> true, Optional.empty());
  /**
   * Where the router keeps a request's {@link #traceparent} on the request itself while it routes it
   * (set and cleared by the router, never sent as a field); the caller removes it when the call is over.
   */
  public static final String TRACE_FIELD = "__gatehouse_traceparent";
  private static final java.util.regex.Pattern TRACEPARENT = java.util.regex.Pattern.compile("^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$");

  public RouteOptions {
    fallbacks = fallbacks == null ? List.of() : List.copyOf(fallbacks);
    forcedModel = forcedModel == null ? Optional.empty() : forcedModel.filter(m -> !m.isBlank());
    allowed = allowed == null ? t -> true : allowed;
    traceparent = traceparent == null ? Optional.empty() : traceparent;
    if (traceparent.isPresent() && !TRACEPARENT.matcher(traceparent.get()).matches()) {
      throw new IllegalArgumentException("traceparent: '" + traceparent.get() + "' (expected: a W3C traceparent, version 00)");
    }
  }

  public RouteOptions(List<String> fallbacks, Optional<String> forcedModel, Predicate<String> allowed) {
    this(fallbacks, forcedModel, allowed, Optional.empty());
  }

  /** These options with a W3C {@code traceparent} sent to the providers called (the gateway's span). */
  public RouteOptions withTraceparent(String traceparent) {
    return new RouteOptions(fallbacks, forcedModel, allowed, Optional.of(traceparent));
  }

  /** No extra fallbacks, no forced model, every target allowed. */
  public static RouteOptions defaults() {
    return DEFAULTS;
  }

  /** These options with other policy {@code fallbacks}. */
  public RouteOptions withFallbacks(List<String> fallbacks) {
    return new RouteOptions(fallbacks, forcedModel, allowed, traceparent);
  }

  /** These options with {@code model} replacing the request's. */
  public RouteOptions withForcedModel(String model) {
    return new RouteOptions(fallbacks, Optional.of(model), allowed, traceparent);
  }

  /** These options with another filter over {@code provider/model} targets. */
  public RouteOptions withAllowed(Predicate<String> allowed) {
    return new RouteOptions(fallbacks, forcedModel, allowed, traceparent);
  }
}
