package dev.gatehouse.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The walk over an OpenAI {@code messages} array that the Anthropic, Bedrock and Gemini formats share:
 * system and developer messages set aside, user content taken part by part, an assistant's text then its
 * tool calls (arguments parsed), tool results, and consecutive turns of one role merged into one (these
 * formats want alternating roles, and the results of parallel tool calls must share one user turn).
 * The order, the checks and their messages are owned here; what a block looks like is the format's,
 * told by a {@link Format}.
 */
final class Turns {
  /** How one wire format writes the pieces of a conversation; {@code into} holds the blocks of one message. */
  interface Format {
    /** A system or developer message's content: not a turn, so the format keeps it where it belongs. */
    void system(JsonNode content, String where);

    /** A non-empty text of a user message: its whole string content ({@code part} null), or one text part. */
    void userText(String text, JsonNode part, ArrayNode into);

    /** A user part of another {@code type}, at {@code where} (such as {@code messages[2].content[1]}): add it or refuse it. */
    void userPart(JsonNode part, String type, ArrayNode into, String where);

    /** An assistant message's content, before its tool calls. */
    void assistantText(JsonNode content, ArrayNode into, String where);

    /** One tool call of an assistant message. */
    void toolCall(String id, String name, ObjectNode arguments, ArrayNode into);

    /** A tool message answering call {@code toolCallId}; {@code where} is the message's place. */
    void toolResult(String toolCallId, JsonNode message, ArrayNode into, String where);
  }

  private Turns() {}

  /**
   * The conversation as {@code {"role": …, blocksField: [...]}} turns, the assistant's role named
   * {@code assistantRole}, everything else a {@code user} turn.
   *
   * @throws RouterException 400 for an unknown role, content of the wrong type or unparsable arguments
   */
  static ArrayNode of(JsonNode messages, String assistantRole, String blocksField, Format format) {
    ArrayNode turns = Json.array();
    String lastRole = null;
    ArrayNode last = null;
    for (int i = 0; i < messages.size(); i++) {
      JsonNode m = messages.get(i);
      String role = m.path("role").asText("");
      String where = "messages[" + i + "]";
      ArrayNode blocks = Json.array();
      switch (role) {
        case "system", "developer" -> {
          format.system(m.get("content"), where + ".content");
          continue;
        }
        case "user" -> user(m.get("content"), blocks, where + ".content", format);
        case "assistant" -> {
          format.assistantText(m.get("content"), blocks, where + ".content");
          JsonNode calls = m.path("tool_calls");
          for (int j = 0; j < calls.size(); j++) {
            JsonNode c = calls.get(j);
            JsonNode fn = c.path("function");
            format.toolCall(c.path("id").asText(""), fn.path("name").asText(""),
                Json.arguments(fn.get("arguments"), where + ".tool_calls[" + j + "].function.arguments"), blocks);
          }
        }
        case "tool" -> format.toolResult(m.path("tool_call_id").asText(""), m, blocks, where);
        default -> throw RouterException.badRequest(where + ".role",
            where + ".role: '" + role + "' (expected: system, developer, user, assistant or tool)");
      }
      if (blocks.isEmpty()) {
        continue;
      }
      String turn = role.equals("assistant") ? assistantRole : "user";
      if (turn.equals(lastRole)) {
        last.addAll(blocks);
      } else {
        ObjectNode t = turns.addObject();
        t.put("role", turn);
        last = t.putArray(blocksField);
        last.addAll(blocks);
        lastRole = turn;
      }
    }
    return turns;
  }

  private static void user(JsonNode content, ArrayNode into, String where, Format format) {
    if (content == null || content.isNull()) {
      return;
    }
    if (content.isTextual()) {
      if (!content.textValue().isEmpty()) {
        format.userText(content.textValue(), null, into);
      }
      return;
    }
    if (!content.isArray()) {
      throw RouterException.badRequest(where, where + ": " + content.getNodeType() + " (expected: a string or an array of parts)");
    }
    for (int j = 0; j < content.size(); j++) {
      JsonNode part = content.get(j);
      String type = part.path("type").asText("text");
      if (type.equals("text")) {
        String text = part.path("text").asText("");
        if (!text.isEmpty()) {
          format.userText(text, part, into);
        }
      } else {
        format.userPart(part, type, into, where + "[" + j + "]");
      }
    }
  }

  /**
   * The text of the formats whose text block is an untyped {@code {"text": …}} (Bedrock's Converse,
   * Gemini): user texts one block each, system and assistant content joined into one block, system
   * blocks kept in {@link #system}.
   */
  abstract static class PlainText implements Format {
    final ArrayNode system = Json.array();

    @Override
    public void system(JsonNode content, String where) {
      joined(content, system);
    }

    @Override
    public void userText(String text, JsonNode part, ArrayNode into) {
      into.addObject().put("text", text);
    }

    @Override
    public void assistantText(JsonNode content, ArrayNode into, String where) {
      joined(content, into);
    }

    private static void joined(JsonNode content, ArrayNode into) {
      String text = Json.contentText(content);
      if (!text.isEmpty()) {
        into.addObject().put("text", text);
      }
    }
  }
}
