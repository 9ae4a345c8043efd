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
public record RouteOptions(List<String> fallbacks, Optional<String> forcedModel, Predicate<String> allowed) {
  private static final RouteOptions DEFAULTS = new RouteOptions(List.of(), Optional.empty(), t -> true);

  public RouteOptions {
    fallbacks = fallbacks == null ? List.of() : List.copyOf(fallbacks);
    forcedModel = forcedModel == null ? Optional.empty() : forcedModel.filter(m -> !m.isBlank());
    allowed = allowed == null ? t -> true : allowed;
  }

  /** No extra fallbacks, no forced model, every target allowed. */
  public static RouteOptions defaults() {
    return DEFAULTS;
  }

  /** These options with other policy {@code fallbacks}. */
  public RouteOptions withFallbacks(List<String> fallbacks) {
    return new RouteOptions(fallbacks, forcedModel, allowed);
  }

  /** These options with {@code model} replacing the request's. */
  public RouteOptions withForcedModel(String model) {
    return new RouteOptions(fallbacks, Optional.of(model), allowed);
  }

  /** These options with another filter over {@code provider/model} targets. */
  public RouteOptions withAllowed(Predicate<String> allowed) {
    return new RouteOptions(fallbacks, forcedModel, allowed);
  }
}
