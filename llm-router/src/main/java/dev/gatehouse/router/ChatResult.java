package dev.gatehouse.router;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.util.List;

/**
 * A completed non-streaming call.
 *
 * @param response the OpenAI {@code chat.completion} object to return to the client
 * @param route the provider, model and key that answered
 * @param usage normalised token counts
 * @param costUsd the price of {@code usage} for the route's model (zero when no price matches)
 * @param attempts how many provider attempts the call took, across fallbacks
 * @param tried every attempt, the answering one last
 */
public record ChatResult(ObjectNode response, Route route, Usage usage, BigDecimal costUsd, int attempts, List<Attempt> tried)
    implements ModelAnswer {
  public ChatResult {
    tried = List.copyOf(tried);
  }

  /** The first choice's assistant message ({@code role}, {@code content}, {@code tool_calls}). */
  public ObjectNode message() {
    return ChatCompletion.firstMessage(response);
  }

  /** The first choice's {@code finish_reason}, such as {@code stop} or {@code tool_calls}. */
  public String finishReason() {
    return ChatCompletion.firstFinishReason(response);
  }
}
