package dev.gatehouse.router;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.util.List;

/**
 * A completed streaming call, after its last chunk reached the {@link ChunkSink}.
 *
 * @param response the stream assembled into the {@code chat.completion} a non-streaming call would have
 *     returned (content, tool calls with their full arguments, finish reason, usage), for audit and agent mode
 * @param route the provider, model and key that answered
 * @param usage normalised token counts, from the provider's stream usage
 * @param costUsd the price of {@code usage} (zero when no price matches)
 * @param attempts how many provider attempts the call took, across fallbacks
 * @param tried every attempt, the answering one last
 * @param chunks how many chunks were delivered to the sink
 */
public record StreamResult(ObjectNode response, Route route, Usage usage, BigDecimal costUsd, int attempts,
    List<Attempt> tried, int chunks) implements ModelAnswer {
  public StreamResult {
    tried = List.copyOf(tried);
  }

  /** The first choice's assembled assistant message ({@code role}, {@code content}, {@code tool_calls}). */
  public ObjectNode message() {
    return ChatCompletion.firstMessage(response);
  }

  /** The first choice's {@code finish_reason}. */
  public String finishReason() {
    return ChatCompletion.firstFinishReason(response);
  }
}
