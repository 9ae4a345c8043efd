package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.identity.Principal;
import dev.gatehouse.router.RouterException;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * One model API the gateway serves ({@code /v1/chat/completions}, {@code /v1/messages},
 * {@code /v1/responses}). Every door speaks to the chain in one shape, the chat completion: a door turns
 * its request into a chat body, and the chain's answer (whole, or chunk by chunk) back into its own
 * shape. So the model policy, budgets, limits, agent mode, the MCP tools offered and the chain's steps
 * are the same whichever API a client speaks, and every provider the router knows serves every door.
 */
interface ModelDoor {

  /** The door's name in the chain's steps ({@code source}) and in metrics. */
  String name();

  /**
   * One request of this door.
   *
   * @throws ChatHandler.Refused a 4xx naming what is wrong with the request
   */
  Exchange open(ObjectNode body, Principal caller);

  /** Writes an error in this door's shape; {@code type} and {@code code} are OpenAI's names. */
  void error(Response response, Callback callback, int status, String type, String code, String message);

  /** For {@link EdgeAuth}: authentication refusals in this door's shape. */
  default void authError(Response response, Callback callback, int status, String code, String message) {
    error(response, callback, status, switch (status) {
      case 401 -> "authentication_error";
      case 403 -> "permission_error";
      default -> "service_unavailable";
    }, code, message);
  }

  /** One request: its chat body, and the way back. */
  interface Exchange {
    /** The chat completions body the chain runs (agent mode appends its rounds to its messages). */
    ObjectNode chat();

    /** The chain's final {@code chat.completion} in this door's shape. */
    JsonNode answer(ObjectNode completion);

    /** A fresh translator of this request's stream. */
    StreamWriter writer();
  }

  /** Turns a stream of {@code chat.completion.chunk}s into this door's events. */
  interface StreamWriter {
    /** The events for one chunk (possibly none). */
    byte[] chunk(ObjectNode chunk);

    /** The events that end a stream that completed. */
    byte[] done();

    /** The events that end a stream that failed after its first event. */
    byte[] failed(RouterException e);
  }

  /** A 400 naming what is wrong with a door's request. */
  static ChatHandler.Refused refused(String message) {
    return new ChatHandler.Refused(400, "invalid_request_error", "invalid_request", message);
  }

  /**
   * A message's content blocks, after checking its role is one of {@code roles}: a message whose content
   * is a string is added to {@code out} as it is, and null returned.
   */
  static com.fasterxml.jackson.databind.node.ArrayNode blocks(JsonNode m, String where, java.util.List<String> roles,
      com.fasterxml.jackson.databind.node.ArrayNode out) {
    String role = m.path("role").asText("");
    if (!roles.contains(role)) {
      throw refused(where + ".role: '" + role + "' (expected: " + String.join(", ", roles) + ")");
    }
    JsonNode content = m.get("content");
    if (content != null && content.isTextual()) {
      out.addObject().put("role", role).put("content", content.asText());
      return null;
    }
    if (!(content instanceof com.fasterxml.jackson.databind.node.ArrayNode blocks)) {
      throw refused(where + ".content: required, a string or an array of content blocks");
    }
    return blocks;
  }

  /** The text of content parts (or blocks) that have one, joined by newlines; strings as they are. */
  static String joinedText(JsonNode parts) {
    StringBuilder sb = new StringBuilder();
    for (JsonNode p : parts) {
      if (p.isTextual()) {
        sb.append(p.asText());
      } else if (p.path("text").isTextual()) {
        sb.append(sb.isEmpty() ? "" : "\n").append(p.path("text").asText());
      }
    }
    return sb.toString();
  }

  /** Adds a chat function tool: its name, description (if any) and parameters (an empty object schema if none); returns the tool. */
  static ObjectNode functionTool(com.fasterxml.jackson.databind.node.ArrayNode tools, JsonNode name, JsonNode description,
      JsonNode parameters) {
    ObjectNode tool = tools.addObject().put("type", "function");
    ObjectNode fn = tool.putObject("function");
    fn.put("name", name == null ? "" : name.asText(""));
    if (description != null && !description.isNull()) {
      fn.put("description", description.asText());
    }
    fn.set("parameters", parameters instanceof ObjectNode p ? p : Json.object().put("type", "object"));
    return tool;
  }

  /** A streamed request asks the chain for a stream with usage (which the door's last events carry). */
  static void streamed(ObjectNode body, ObjectNode chat) {
    if (body.path("stream").asBoolean(false)) {
      chat.put("stream", true);
      chat.putObject("stream_options").put("include_usage", true);
    }
  }

  /** {@code data: <json>} and a blank line. */
  static byte[] data(JsonNode json) {
    return event(null, json);
  }

  /** {@code event: <name>}, {@code data: <json>} and a blank line ({@code event:} left out when null). */
  static byte[] event(String name, JsonNode json) {
    byte[] head = ((name == null ? "" : "event: " + name + "\n") + "data: ").getBytes(StandardCharsets.US_ASCII);
    byte[] body = Json.bytes(json);
    byte[] out = new byte[head.length + body.length + 2];
    System.arraycopy(head, 0, out, 0, head.length);
    System.arraycopy(body, 0, out, head.length, body.length);
    out[out.length - 2] = '\n';
    out[out.length - 1] = '\n';
    return out;
  }

  /** OpenAI's chat completions: the chain's own shape, passed as it is. */
  ModelDoor CHAT = new ModelDoor() {
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

    @Override
    public String name() {
      return "chat";
    }

    @Override
    public Exchange open(ObjectNode body, Principal caller) {
      if (!(body.get("messages") instanceof com.fasterxml.jackson.databind.node.ArrayNode messages) || messages.isEmpty()) {
        throw new ChatHandler.Refused(400, "invalid_request_error", "missing_messages", "messages: required (a non-empty array)");
      }
      return new Exchange() {
        @Override
        public ObjectNode chat() {
          return body;
        }

        @Override
        public JsonNode answer(ObjectNode completion) {
          return completion;
        }

        @Override
        public StreamWriter writer() {
          return new StreamWriter() {
            @Override
            public byte[] chunk(ObjectNode chunk) {
              return data(chunk);
            }

            @Override
            public byte[] done() {
              return DONE;
            }

            @Override
            public byte[] failed(RouterException e) {
              byte[] err = data(e.toJson());
              byte[] out = java.util.Arrays.copyOf(err, err.length + DONE.length);
              System.arraycopy(DONE, 0, out, err.length, DONE.length);
              return out;
            }
          };
        }
      };
    }

    @Override
    public void error(Response response, Callback callback, int status, String type, String code, String message) {
      OpenAiErrors.write(response, callback, status, type, code, message);
    }
  };
}
