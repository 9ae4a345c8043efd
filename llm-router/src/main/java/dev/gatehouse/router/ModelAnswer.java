package dev.gatehouse.router;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;

/** What a model call answered, streamed or not: the completion, its route, usage and cost. */
public sealed interface ModelAnswer permits ChatResult, StreamResult {
  /** The OpenAI {@code chat.completion} (for a stream: assembled from its chunks). */
  ObjectNode response();

  /** The provider, model and key that answered. */
  Route route();

  /** Normalised token counts. */
  Usage usage();

  /** The price of {@link #usage} for the route's model. */
  BigDecimal costUsd();

  /** Provider attempts the call took, across fallbacks. */
  int attempts();
}
