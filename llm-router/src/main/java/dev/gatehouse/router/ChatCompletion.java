package dev.gatehouse.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The OpenAI answer objects the router writes itself: the envelope of a {@code chat.completion} or
 * {@code chat.completion.chunk}, a choice's assistant message, a tool call. The translating adapters
 * and the stream assembler build them here, so every provider's answer has the same fields in the same
 * order; the results read their first choice back here too.
 */
final class ChatCompletion {
  private ChatCompletion() {}

  /** {@code id}, {@code object} ({@code chat.completion} or {@code chat.completion.chunk}), {@code created}, {@code model}. */
  static ObjectNode envelope(String object, String id, long created, String model) {
    ObjectNode r = Json.object();
    r.put("id", id);
    r.put("object", object);
    r.put("created", created);
    r.put("model", model);
    return r;
  }

  /**
   * Adds a choice: the assistant message (content null when there are only tool calls, {@code tool_calls}
   * only when there are some, {@code refusal} null when empty), null {@code logprobs}, the finish reason.
   */
  static void choice(ArrayNode choices, int index, CharSequence content, ArrayNode toolCalls, CharSequence refusal,
      String finishReason) {
    ObjectNode choice = choices.addObject();
    choice.put("index", index);
    ObjectNode msg = choice.putObject("message");
    msg.put("role", "assistant");
    if (content.isEmpty() && !toolCalls.isEmpty()) {
      msg.putNull("content");
    } else {
      msg.put("content", content.toString());
    }
    if (!toolCalls.isEmpty()) {
      msg.set("tool_calls", toolCalls);
    }
    if (refusal.isEmpty()) {
      msg.putNull("refusal");
    } else {
      msg.put("refusal", refusal.toString());
    }
    choice.putNull("logprobs");
    choice.put("finish_reason", finishReason);
  }

  /** Adds a function tool call; {@code arguments} is the JSON text of the arguments. */
  static void toolCall(ArrayNode calls, String id, String name, String arguments) {
    ObjectNode c = calls.addObject();
    c.put("id", id);
    c.put("type", "function");
    ObjectNode fn = c.putObject("function");
    fn.put("name", name);
    fn.put("arguments", arguments);
  }

  /** The finish reason of a choice; null means {@code stop}. */
  static String finishReason(String reason, boolean toolCalls) {
    String r = reason == null ? "stop" : reason;
    // A tool call is a tool call whatever the provider called its stop.
    return toolCalls && r.equals("stop") ? "tool_calls" : r;
  }

  /** The first choice's assistant message of a {@code chat.completion}; empty when there is none. */
  static ObjectNode firstMessage(JsonNode response) {
    return response.path("choices").path(0).get("message") instanceof ObjectNode m ? m : Json.object();
  }

  /** The first choice's {@code finish_reason}; {@code stop} when there is none. */
  static String firstFinishReason(JsonNode response) {
    return response.path("choices").path(0).path("finish_reason").asText("stop");
  }
}
