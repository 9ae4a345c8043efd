package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.identity.Principal;
import dev.gatehouse.router.RouterException;
import java.io.ByteArrayOutputStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * {@code POST /v1/responses}, OpenAI's Responses API, and {@code GET}/{@code DELETE /v1/responses/<id>}.
 * The request (instructions, input items — messages, function calls and their outputs — function
 * tools, tool choice, output limit, text format) becomes a chat body routed to any provider; the answer
 * comes back as a {@code response} with its output items, and a stream as the API's typed events.
 *
 * <p>{@code previous_response_id} continues a conversation the gateway stored (unless the request said
 * {@code store: false}): stored per principal, so another principal's id is a 404; bounded (see
 * {@link ResponseStore}); in this replica's memory.
 */
final class ResponsesDoor implements ModelDoor {
  private final ResponseStore store = new ResponseStore(ResponseStore.MAX_BYTES, ResponseStore.MAX_AGE);

  @Override
  public String name() {
    return "responses";
  }

  @Override
  public Exchange open(ObjectNode body, Principal caller) {
    String owner = owner(caller);
    List<ObjectNode> prior = new ArrayList<>();
    JsonNode previous = body.get("previous_response_id");
    if (previous != null && !previous.isNull()) {
      if (!previous.isTextual() || store.conversation(owner, previous.asText(), prior) == null) {
        throw new ChatHandler.Refused(404, "invalid_request_error", "previous_response_not_found",
            "Previous response with id '" + clip(previous.asText()) + "' not found.");
      }
    }
    ObjectNode chat = Json.object();
    chat.set("model", body.get("model"));
    ArrayNode messages = chat.putArray("messages");
    JsonNode instructions = body.get("instructions");
    if (instructions != null && instructions.isTextual() && !instructions.asText().isEmpty()) {
      messages.addObject().put("role", "system").put("content", instructions.asText());
    }
    prior.forEach(messages::add);
    int firstNew = messages.size();
    input(body.get("input"), messages);
    if (messages.size() == firstNew) {
      throw ModelDoor.refused("input: required (a string or a non-empty array of input items)");
    }
    options(body, chat);
    String id = "resp_" + UUID.randomUUID().toString().replace("-", "");
    long created = Instant.now().getEpochSecond();
    boolean keep = body.path("store").asBoolean(true);
    return new Exchange() {
      @Override
      public ObjectNode chat() {
        return chat;
      }

      @Override
      public JsonNode answer(ObjectNode completion) {
        ObjectNode response = response(id, created, body, completion);
        keep(response, completion);
        return response;
      }

      private void keep(ObjectNode response, ObjectNode completion) {
        if (!keep) {
          return;
        }
        List<ObjectNode> turn = new ArrayList<>();
        ArrayNode all = (ArrayNode) chat.get("messages");
        for (int i = firstNew; i < all.size(); i++) {
          turn.add((ObjectNode) all.get(i));
        }
        ObjectNode assistant = completion.path("choices").path(0).path("message") instanceof ObjectNode m ? m.deepCopy() : Json.object();
        assistant.remove("refusal");
        turn.add(assistant);
        store.put(owner, id, previous != null && previous.isTextual() ? previous.asText() : null, turn, response);
      }

      @Override
      public StreamWriter writer() {
        return new Events(id, created, body) {
          @Override
          void completed(ObjectNode response, ObjectNode completion) {
            keep(response, completion);
          }
        };
      }
    };
  }

  /** {@code GET} or {@code DELETE /v1/responses/<id>}: the caller's own stored response, else 404. */
  void stored(Response response, Callback callback, Principal caller, String id, boolean delete) {
    String owner = owner(caller);
    ObjectNode r = delete ? store.remove(owner, id) : store.response(owner, id);
    if (r == null) {
      OpenAiErrors.write(response, callback, 404, "invalid_request_error", "not_found", "Response with id '" + clip(id) + "' not found.");
      return;
    }
    ObjectNode out = r;
    if (delete) {
      out = Json.object().put("id", id).put("object", "response").put("deleted", true);
    }
    McpHttpHandler.writeJson(response, callback, 200, out, null);
  }

  private static String owner(Principal p) {
    return p.issuer() + "\n" + p.subject();
  }

  private static String clip(String s) {
    return s.length() <= 100 ? s : s.substring(0, 100) + "…";
  }

  // ------------------------------------------------------------------ request

  /** The request's {@code input} as chat messages appended to {@code out}. */
  static void input(JsonNode input, ArrayNode out) {
    if (input == null || input.isNull()) {
      return;
    }
    if (input.isTextual()) {
      out.addObject().put("role", "user").put("content", input.asText());
      return;
    }
    if (!input.isArray()) {
      throw ModelDoor.refused("input: a string or an array of input items");
    }
    for (int i = 0; i < input.size(); i++) {
      JsonNode item = input.get(i);
      String at = "input[" + i + "]";
      String type = item.path("type").asText(item.has("role") ? "message" : "");
      switch (type) {
        case "message" -> message(item, at, out);
        case "function_call" -> {
          ObjectNode last = out.isEmpty() ? null : (ObjectNode) out.get(out.size() - 1);
          ObjectNode assistant;
          if (last != null && last.path("role").asText().equals("assistant")) {
            assistant = last;
          } else {
            assistant = out.addObject().put("role", "assistant");
            assistant.putNull("content");
          }
          ArrayNode calls = assistant.get("tool_calls") instanceof ArrayNode a ? a : assistant.putArray("tool_calls");
          ObjectNode c = calls.addObject();
          c.put("id", item.path("call_id").asText(""));
          c.put("type", "function");
          c.putObject("function").put("name", item.path("name").asText("")).put("arguments", item.path("arguments").asText("{}"));
        }
        case "function_call_output" -> {
          JsonNode output = item.get("output");
          String text = output == null || output.isNull() ? "" : output.isTextual() ? output.asText() : ModelDoor.joinedText(output);
          out.addObject().put("role", "tool").put("tool_call_id", item.path("call_id").asText("")).put("content", text);
        }
        case "reasoning" -> {
          // A provider's own reasoning: not routed.
        }
        default -> throw ModelDoor.refused(at + ".type: '" + type
            + "' (expected: message, function_call, function_call_output or reasoning)");
      }
    }
  }

  private static void message(JsonNode item, String at, ArrayNode out) {
    ArrayNode content = ModelDoor.blocks(item, at, List.of("user", "assistant", "system", "developer"), out);
    if (content == null) {
      return;
    }
    String role = item.path("role").asText();
    ArrayNode parts = Json.MAPPER.createArrayNode();
    for (int j = 0; j < content.size(); j++) {
      JsonNode p = content.get(j);
      String where = at + ".content[" + j + "]";
      switch (p.path("type").asText("")) {
        case "input_text", "output_text", "text" -> parts.addObject().put("type", "text").put("text", p.path("text").asText(""));
        case "refusal" -> parts.addObject().put("type", "text").put("text", p.path("refusal").asText(""));
        case "input_image" -> {
          if (!p.hasNonNull("image_url")) {
            throw ModelDoor.refused(where + ": image_url required (file ids are not routed through the gateway)");
          }
          ObjectNode iu = parts.addObject().put("type", "image_url").putObject("image_url");
          iu.put("url", p.get("image_url").asText());
          if (p.hasNonNull("detail")) {
            iu.put("detail", p.get("detail").asText());
          }
        }
        case "input_file" -> {
          if (!p.hasNonNull("file_data")) {
            throw ModelDoor.refused(where + ": file_data required (file ids and URLs are not routed through the gateway)");
          }
          ObjectNode f = parts.addObject().put("type", "file").putObject("file");
          String data = p.get("file_data").asText();
          f.put("file_data", data.startsWith("data:") ? data : "data:application/pdf;base64," + data);
          if (p.hasNonNull("filename")) {
            f.put("filename", p.get("filename").asText());
          }
        }
        default -> throw ModelDoor.refused(where + ".type: '" + p.path("type").asText("")
            + "' (expected: input_text, input_image, input_file, output_text or refusal)");
      }
    }
    ObjectNode msg = out.addObject().put("role", role);
    if (role.equals("user")) {
      msg.set("content", parts);
    } else {
      msg.put("content", ModelDoor.joinedText(parts));
    }
  }

  /** Tools, tool choice, sampling, the output limit and format, streaming. */
  private static void options(ObjectNode body, ObjectNode chat) {
    JsonNode tools = body.get("tools");
    if (tools != null && tools.isArray() && !tools.isEmpty()) {
      ArrayNode out = chat.putArray("tools");
      for (int i = 0; i < tools.size(); i++) {
        JsonNode t = tools.get(i);
        String type = t.path("type").asText("");
        if (!type.equals("function")) {
          throw ModelDoor.refused("tools[" + i + "].type: '" + type
              + "' (expected: function; the gateway's MCP tools are offered with the x-gatehouse-tools header)");
        }
        ObjectNode fn = (ObjectNode) ModelDoor.functionTool(out, t.get("name"), t.get("description"), t.get("parameters")).get("function");
        if (t.hasNonNull("strict")) {
          fn.set("strict", t.get("strict"));
        }
      }
    }
    JsonNode choice = body.get("tool_choice");
    if (choice != null && choice.isTextual()) {
      chat.set("tool_choice", choice);
    } else if (choice != null && choice.isObject() && choice.path("type").asText().equals("function")) {
      chat.putObject("tool_choice").put("type", "function").putObject("function").put("name", choice.path("name").asText(""));
    }
    for (String f : new String[] {"parallel_tool_calls", "temperature", "top_p", "user", "provider_options"}) {
      if (body.hasNonNull(f)) {
        chat.set(f, body.get(f));
      }
    }
    if (body.hasNonNull("max_output_tokens")) {
      chat.set("max_completion_tokens", body.get("max_output_tokens"));
    }
    JsonNode effort = body.path("reasoning").get("effort");
    if (effort != null && effort.isTextual()) {
      chat.set("reasoning_effort", effort);
    }
    JsonNode format = body.path("text").path("format");
    switch (format.path("type").asText("text")) {
      case "json_schema" -> {
        ObjectNode js = chat.putObject("response_format").put("type", "json_schema").putObject("json_schema");
        js.put("name", format.path("name").asText("response"));
        js.set("schema", format.path("schema"));
        if (format.hasNonNull("strict")) {
          js.set("strict", format.get("strict"));
        }
        if (format.hasNonNull("description")) {
          js.set("description", format.get("description"));
        }
      }
      case "json_object" -> chat.putObject("response_format").put("type", "json_object");
      default -> { }
    }
    ModelDoor.streamed(body, chat);
  }

  // ------------------------------------------------------------------ answer

  /** The {@code response} object around {@code output}, echoing what the request set. */
  private static ObjectNode envelope(String id, long created, ObjectNode request, String model, String status) {
    ObjectNode r = Json.object();
    r.put("id", id);
    r.put("object", "response");
    r.put("created_at", created);
    r.put("status", status);
    r.putNull("error");
    r.putNull("incomplete_details");
    echo(r, request, "instructions");
    echo(r, request, "max_output_tokens");
    r.put("model", model);
    r.putArray("output");
    r.put("parallel_tool_calls", request.path("parallel_tool_calls").asBoolean(true));
    echo(r, request, "previous_response_id");
    r.putObject("reasoning").putNull("effort").putNull("summary");
    r.put("store", request.path("store").asBoolean(true));
    echo(r, request, "temperature");
    r.set("text", request.get("text") instanceof ObjectNode t ? t : Json.object().set("format", Json.object().put("type", "text")));
    r.set("tool_choice", request.hasNonNull("tool_choice") ? request.get("tool_choice") : Json.MAPPER.valueToTree("auto"));
    r.set("tools", request.get("tools") instanceof ArrayNode t ? t : Json.MAPPER.createArrayNode());
    echo(r, request, "top_p");
    r.put("truncation", "disabled");
    r.putNull("usage");
    echo(r, request, "user");
    r.set("metadata", request.get("metadata") instanceof ObjectNode m ? m : Json.object());
    return r;
  }

  /** The request's {@code field}, or null: a response echoes what its request set. */
  private static void echo(ObjectNode r, ObjectNode request, String field) {
    r.set(field, request.hasNonNull(field) ? request.get(field) : Json.MAPPER.nullNode());
  }

  /** A {@code chat.completion} as a finished {@code response}. */
  static ObjectNode response(String id, long created, ObjectNode request, JsonNode completion) {
    String finish = completion.path("choices").path(0).path("finish_reason").asText("stop");
    ObjectNode r = envelope(id, created, request, completion.path("model").asText(""), status(finish));
    incomplete(r, finish);
    ArrayNode output = (ArrayNode) r.get("output");
    JsonNode msg = completion.path("choices").path(0).path("message");
    String text = msg.path("content").asText("");
    if (!text.isEmpty()) {
      output.add(messageItem(itemId("msg_"), text, "completed"));
    } else if (msg.hasNonNull("refusal") && !msg.get("refusal").asText().isEmpty()) {
      ObjectNode m = messageItem(itemId("msg_"), "", "completed");
      ArrayNode content = m.putArray("content");
      content.addObject().put("type", "refusal").put("refusal", msg.get("refusal").asText());
      output.add(m);
    }
    for (JsonNode c : msg.path("tool_calls")) {
      output.add(callItem(itemId("fc_"), c.path("id").asText(""), c.path("function").path("name").asText(""),
          c.path("function").path("arguments").asText(""), "completed"));
    }
    r.set("usage", usage(completion.path("usage")));
    return r;
  }

  private static String status(String finish) {
    return finish.equals("length") || finish.equals("content_filter") ? "incomplete" : "completed";
  }

  private static void incomplete(ObjectNode r, String finish) {
    if (finish.equals("length")) {
      r.putObject("incomplete_details").put("reason", "max_output_tokens");
    } else if (finish.equals("content_filter")) {
      r.putObject("incomplete_details").put("reason", "content_filter");
    }
  }

  private static ObjectNode messageItem(String id, String text, String status) {
    ObjectNode m = Json.object();
    m.put("id", id);
    m.put("type", "message");
    m.put("status", status);
    m.put("role", "assistant");
    ArrayNode content = m.putArray("content");
    if (status.equals("completed") && !text.isEmpty()) {
      content.add(textPart(text));
    }
    return m;
  }

  private static ObjectNode textPart(String text) {
    ObjectNode p = Json.object().put("type", "output_text").put("text", text);
    p.putArray("annotations");
    return p;
  }

  private static ObjectNode callItem(String id, String callId, String name, String arguments, String status) {
    ObjectNode c = Json.object();
    c.put("id", id);
    c.put("type", "function_call");
    c.put("status", status);
    c.put("call_id", callId);
    c.put("name", name);
    c.put("arguments", arguments);
    return c;
  }

  private static String itemId(String prefix) {
    return prefix + UUID.randomUUID().toString().replace("-", "");
  }

  static ObjectNode usage(JsonNode u) {
    ObjectNode out = Json.object();
    out.put("input_tokens", u.path("prompt_tokens").asLong(0));
    out.putObject("input_tokens_details").put("cached_tokens", u.path("prompt_tokens_details").path("cached_tokens").asLong(0));
    out.put("output_tokens", u.path("completion_tokens").asLong(0));
    out.putObject("output_tokens_details").put("reasoning_tokens",
        u.path("completion_tokens_details").path("reasoning_tokens").asLong(0));
    out.put("total_tokens", u.path("total_tokens").asLong(u.path("prompt_tokens").asLong(0) + u.path("completion_tokens").asLong(0)));
    return out;
  }

  // ------------------------------------------------------------------ stream

  /**
   * Chat chunks as the Responses API's events: {@code response.created} and {@code response.in_progress}
   * first; a message item with one {@code output_text} part for the text and a {@code function_call}
   * item per tool call (added when they start, their deltas as they come, done at the end, in order);
   * then {@code response.completed} (or {@code response.incomplete}) with the whole response.
   */
  abstract static class Events implements StreamWriter {
    private final String id;
    private final long created;
    private final ObjectNode request;
    private int sequence;
    private boolean started;
    private String model = "";
    private int items;
    private int textItem = -1;
    private String textId;
    private final StringBuilder text = new StringBuilder();
    private final Map<Integer, Call> calls = new TreeMap<>();
    private String finish = "stop";
    private JsonNode usage = Json.object();

    private static final class Call {
      final int output;
      final String itemId = itemId("fc_");
      final String callId;
      final String name;
      final StringBuilder arguments = new StringBuilder();

      Call(int output, String callId, String name) {
        this.output = output;
        this.callId = callId;
        this.name = name;
      }
    }

    Events(String id, long created, ObjectNode request) {
      this.id = id;
      this.created = created;
      this.request = request;
    }

    /** The stream completed with {@code response} (from the chunks, as {@code completion}). */
    abstract void completed(ObjectNode response, ObjectNode completion);

    private byte[] event(ObjectNode e) {
      e.put("sequence_number", sequence++);
      return ModelDoor.event(e.path("type").asText(), e);
    }

    private static ObjectNode typed(String type) {
      return Json.object().put("type", type);
    }

    @Override
    public byte[] chunk(ObjectNode chunk) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      if (!started) {
        started = true;
        model = chunk.path("model").asText("");
        ObjectNode created0 = typed("response.created");
        created0.set("response", envelope(id, created, request, model, "in_progress"));
        out.writeBytes(event(created0));
        ObjectNode progress = typed("response.in_progress");
        progress.set("response", envelope(id, created, request, model, "in_progress"));
        out.writeBytes(event(progress));
      }
      if (chunk.get("usage") instanceof ObjectNode u) {
        usage = u;
      }
      JsonNode choice = chunk.path("choices").path(0);
      JsonNode delta = choice.path("delta");
      String t = delta.path("content").asText("");
      if (!t.isEmpty()) {
        if (textItem < 0) {
          textItem = items++;
          textId = itemId("msg_");
          ObjectNode added = typed("response.output_item.added").put("output_index", textItem);
          added.set("item", messageItem(textId, "", "in_progress"));
          out.writeBytes(event(added));
          ObjectNode part = typed("response.content_part.added").put("item_id", textId).put("output_index", textItem)
              .put("content_index", 0);
          part.set("part", textPart(""));
          out.writeBytes(event(part));
        }
        text.append(t);
        out.writeBytes(event(typed("response.output_text.delta").put("item_id", textId).put("output_index", textItem)
            .put("content_index", 0).put("delta", t)));
      }
      for (JsonNode tc : delta.path("tool_calls")) {
        int index = tc.path("index").asInt(0);
        Call c = calls.get(index);
        if (c == null) {
          c = new Call(items++, tc.path("id").asText(""), tc.path("function").path("name").asText(""));
          calls.put(index, c);
          ObjectNode added = typed("response.output_item.added").put("output_index", c.output);
          added.set("item", callItem(c.itemId, c.callId, c.name, "", "in_progress"));
          out.writeBytes(event(added));
        }
        String args = tc.path("function").path("arguments").asText("");
        if (!args.isEmpty()) {
          c.arguments.append(args);
          out.writeBytes(event(typed("response.function_call_arguments.delta").put("item_id", c.itemId)
              .put("output_index", c.output).put("delta", args)));
        }
      }
      if (choice.hasNonNull("finish_reason")) {
        finish = choice.get("finish_reason").asText();
      }
      return out.toByteArray();
    }

    @Override
    public byte[] done() {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ObjectNode response = envelope(id, created, request, model, status(finish));
      incomplete(response, finish);
      ArrayNode output = (ArrayNode) response.get("output");
      ObjectNode[] byIndex = new ObjectNode[items];
      if (textItem >= 0) {
        out.writeBytes(event(typed("response.output_text.done").put("item_id", textId).put("output_index", textItem)
            .put("content_index", 0).put("text", text.toString())));
        ObjectNode part = typed("response.content_part.done").put("item_id", textId).put("output_index", textItem)
            .put("content_index", 0);
        part.set("part", textPart(text.toString()));
        out.writeBytes(event(part));
        byIndex[textItem] = messageItem(textId, text.toString(), "completed");
        ObjectNode itemDone = typed("response.output_item.done").put("output_index", textItem);
        itemDone.set("item", byIndex[textItem]);
        out.writeBytes(event(itemDone));
      }
      ObjectNode completion = Json.object();
      completion.put("model", model);
      ObjectNode message = completion.putArray("choices").addObject().putObject("message").put("role", "assistant");
      message.put("content", text.toString());
      ArrayNode toolCalls = Json.MAPPER.createArrayNode();
      for (Call c : calls.values()) {
        String args = c.arguments.toString();
        out.writeBytes(event(typed("response.function_call_arguments.done").put("item_id", c.itemId)
            .put("output_index", c.output).put("arguments", args)));
        byIndex[c.output] = callItem(c.itemId, c.callId, c.name, args, "completed");
        ObjectNode itemDone = typed("response.output_item.done").put("output_index", c.output);
        itemDone.set("item", byIndex[c.output]);
        out.writeBytes(event(itemDone));
        ObjectNode tc = toolCalls.addObject().put("id", c.callId).put("type", "function");
        tc.putObject("function").put("name", c.name).put("arguments", args);
      }
      if (!toolCalls.isEmpty()) {
        message.set("tool_calls", toolCalls);
        if (text.isEmpty()) {
          message.putNull("content");
        }
      }
      for (ObjectNode item : byIndex) {
        if (item != null) {
          output.add(item);
        }
      }
      response.set("usage", usage(usage));
      completed(response, completion);
      ObjectNode end = typed(response.path("status").asText().equals("completed") ? "response.completed" : "response.incomplete");
      end.set("response", response);
      out.writeBytes(event(end));
      return out.toByteArray();
    }

    @Override
    public byte[] failed(RouterException e) {
      ObjectNode err = typed("error").put("code", e.code()).put("message", e.getMessage());
      err.putNull("param");
      return event(err);
    }
  }

  @Override
  public void error(Response response, Callback callback, int status, String type, String code, String message) {
    OpenAiErrors.write(response, callback, status, type, code, message);
  }

  ResponseStore store() {
    return store;
  }
}
