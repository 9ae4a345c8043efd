package dev.gatehouse.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One stream attempt on its way to the client: builds OpenAI chunks from an adapter's events (or takes
 * an OpenAI-compatible provider's chunks as they are), delivers them to the sink, and assembles the
 * whole answer as it goes.
 *
 * <p>What the client sees is OpenAI's shape whatever the provider: one id on every chunk, the first
 * delta of a choice carrying {@code role}, tool calls by {@code index} (id and name first, then argument
 * fragments), {@code finish_reason} only on the last chunk of a choice, and, when asked for, one usage
 * chunk with {@code choices: []} at the end. Chunks that carry nothing yet (a bare role) are held back
 * until content arrives, so a provider that fails right after opening its stream can still be retried
 * or replaced: nothing has reached the client.
 */
final class StreamState {
  /** An exception from the sink: the caller's, passed through untouched. */
  static final class SinkAbort extends RuntimeException {
    private static final long serialVersionUID = 1L;

    SinkAbort(RuntimeException cause) {
      super(cause.getMessage(), cause, false, false);
    }

    RuntimeException original() {
      return (RuntimeException) getCause();
    }
  }

  private static final class ToolCall {
    String id = "";
    String name = "";
    final StringBuilder arguments = new StringBuilder();
  }

  private static final class Choice {
    final StringBuilder content = new StringBuilder();
    final StringBuilder refusal = new StringBuilder();
    final Map<Integer, ToolCall> tools = new TreeMap<>();
    String finish;
    boolean roleSent;
  }

  private final ChunkSink sink;
  private final Route route;
  private final int attempt;
  private final boolean includeUsage;
  private final long created;
  private String id;
  private String model;
  private final List<ObjectNode> held = new ArrayList<>();
  private final Map<Integer, Choice> choices = new TreeMap<>();
  private boolean delivered;
  private int chunks;
  private boolean passthrough;
  private boolean sawId;
  private boolean completed;
  private Usage usage = Usage.NONE;
  private JsonNode usageJson;
  private ObjectNode usageChunk;

  StreamState(ChunkSink sink, Route route, int attempt, boolean includeUsage, String id, String model, long created) {
    this.sink = sink;
    this.route = route;
    this.attempt = attempt;
    this.includeUsage = includeUsage;
    this.id = id;
    this.model = model;
    this.created = created;
  }

  boolean delivered() {
    return delivered;
  }

  int chunks() {
    return chunks;
  }

  Usage usage() {
    return usage;
  }

  /** The provider's own message id and model name, used while nothing has been delivered. */
  void meta(String providerId, String providerModel) {
    if (!delivered) {
      if (providerId != null && !providerId.isBlank()) {
        id = providerId;
      }
      if (providerModel != null && !providerModel.isBlank()) {
        model = providerModel;
      }
    }
  }

  void usage(Usage u) {
    usage = u;
  }

  /** The provider said its stream is over ({@code [DONE]}, {@code message_stop}, the last candidate). */
  void complete() {
    completed = true;
  }

  boolean completed() {
    return completed;
  }

  // ---- events from translating adapters

  void text(int choice, String text) {
    if (text == null || text.isEmpty()) {
      return;
    }
    Choice c = choice(choice);
    role(choice, c);
    c.content.append(text);
    ObjectNode delta = Json.object();
    delta.put("content", text);
    emit(choice, delta, null);
  }

  void toolStart(int choice, int index, String callId, String name) {
    Choice c = choice(choice);
    role(choice, c);
    ToolCall t = c.tools.computeIfAbsent(index, i -> new ToolCall());
    t.id = callId;
    t.name = name;
    ObjectNode delta = Json.object();
    ObjectNode call = delta.putArray("tool_calls").addObject();
    call.put("index", index);
    call.put("id", callId);
    call.put("type", "function");
    ObjectNode fn = call.putObject("function");
    fn.put("name", name);
    fn.put("arguments", "");
    emit(choice, delta, null);
  }

  void toolArguments(int choice, int index, String fragment) {
    if (fragment == null || fragment.isEmpty()) {
      return;
    }
    Choice c = choice(choice);
    c.tools.computeIfAbsent(index, i -> new ToolCall()).arguments.append(fragment);
    ObjectNode delta = Json.object();
    ObjectNode call = delta.putArray("tool_calls").addObject();
    call.put("index", index);
    call.putObject("function").put("arguments", fragment);
    emit(choice, delta, null);
  }

  /** Whether tool call {@code index} of {@code choice} has received any argument text. */
  boolean hasArguments(int choice, int index) {
    ToolCall t = choice(choice).tools.get(index);
    return t != null && !t.arguments.isEmpty();
  }

  void finish(int choice, String reason) {
    choice(choice).finish = reason;
  }

  // ---- chunks from OpenAI-compatible providers

  /** One provider chunk: normalised in place, assembled, and delivered (or held while it says nothing). */
  void openAiChunk(ObjectNode c) {
    passthrough = true;
    String cid = c.path("id").asText("");
    if (!delivered && held.isEmpty() && !cid.isEmpty() && !sawId) {
      id = cid;
      sawId = true;
    } else if (!cid.equals(id)) {
      c.put("id", id);
    }
    String m = c.path("model").asText("");
    if (!m.isEmpty() && !delivered && held.isEmpty()) {
      model = m;
    }
    JsonNode u = c.get("usage");
    if (u != null && u.isObject()) {
      usageJson = u;
      usage = Usage.fromOpenAi(u);
    } else {
      JsonNode groq = c.path("x_groq").path("usage");
      if (groq.isObject()) {
        usageJson = groq;
        usage = Usage.fromOpenAi(groq);
      }
    }
    JsonNode chs = c.get("choices");
    if (chs == null || !chs.isArray() || chs.isEmpty()) {
      if (u != null && u.isObject()) {
        usageChunk = c;
      }
      return;
    }
    if (includeUsage) {
      c.putNull("usage");
    } else {
      c.remove("usage");
    }
    boolean meaningful = false;
    for (JsonNode ch : chs) {
      Choice st = choice(ch.path("index").asInt(0));
      if (ch.get("delta") instanceof ObjectNode d) {
        if (!st.roleSent) {
          if (!d.has("role")) {
            d.put("role", "assistant");
          }
          st.roleSent = true;
        }
        JsonNode content = d.get("content");
        if (content != null && content.isTextual() && !content.textValue().isEmpty()) {
          st.content.append(content.textValue());
          meaningful = true;
        }
        JsonNode refusal = d.get("refusal");
        if (refusal != null && refusal.isTextual() && !refusal.textValue().isEmpty()) {
          st.refusal.append(refusal.textValue());
          meaningful = true;
        }
        JsonNode reasoning = d.get("reasoning_content");
        if (reasoning != null && reasoning.isTextual() && !reasoning.textValue().isEmpty()) {
          meaningful = true;
        }
        JsonNode calls = d.get("tool_calls");
        if (calls != null && calls.isArray()) {
          for (JsonNode tc : calls) {
            ToolCall t = st.tools.computeIfAbsent(tc.path("index").asInt(0), i -> new ToolCall());
            if (tc.hasNonNull("id")) {
              t.id = tc.get("id").asText();
            }
            JsonNode fn = tc.path("function");
            if (fn.hasNonNull("name")) {
              t.name = t.name + fn.get("name").asText();
            }
            if (fn.hasNonNull("arguments")) {
              t.arguments.append(fn.get("arguments").asText());
            }
            meaningful = true;
          }
        }
      }
      JsonNode fr = ch.get("finish_reason");
      if (fr != null && fr.isTextual()) {
        st.finish = fr.textValue();
        meaningful = true;
      }
    }
    if (!meaningful && !delivered) {
      held.add(c);
      return;
    }
    flushHeld();
    deliver(c);
  }

  // ---- the end

  /**
   * Closes the stream for the client: the pending finish chunks (translated streams), held chunks, and
   * the usage chunk when the request asked for one. Fails when the provider never said it was done.
   */
  void end() throws IOException {
    if (!completed) {
      boolean finished = !choices.isEmpty() && choices.values().stream().allMatch(c -> c.finish != null);
      if (!(passthrough && finished)) {
        throw new IOException("the provider's stream ended before its last event");
      }
    }
    if (passthrough) {
      flushHeld();
    } else {
      if (choices.isEmpty()) {
        choice(0);
      }
      for (Map.Entry<Integer, Choice> e : choices.entrySet()) {
        Choice c = e.getValue();
        role(e.getKey(), c);
        emit(e.getKey(), Json.object(), finishReason(c));
      }
    }
    if (includeUsage) {
      ObjectNode u = usageChunk;
      if (u == null) {
        u = ChatCompletion.envelope("chat.completion.chunk", id, created, model);
        u.putArray("choices");
        u.set("usage", usageJson != null ? usageJson : usage.toOpenAi());
      } else {
        u.put("id", id);
        if (!u.has("choices")) {
          u.putArray("choices");
        }
      }
      deliver(u);
    }
  }

  /** The whole answer as the {@code chat.completion} a non-streaming call returns. */
  ObjectNode assembled() {
    ObjectNode r = ChatCompletion.envelope("chat.completion", id, created, model);
    ArrayNode out = r.putArray("choices");
    if (choices.isEmpty()) {
      choice(0);
    }
    for (Map.Entry<Integer, Choice> e : choices.entrySet()) {
      Choice c = e.getValue();
      ArrayNode calls = Json.array();
      for (ToolCall t : c.tools.values()) {
        ChatCompletion.toolCall(calls, t.id, t.name, t.arguments.isEmpty() ? "{}" : t.arguments.toString());
      }
      ChatCompletion.choice(out, e.getKey(), c.content, calls, c.refusal,
          passthrough ? (c.finish == null ? "stop" : c.finish) : finishReason(c));
    }
    r.set("usage", usageJson != null ? usageJson.deepCopy() : usage.toOpenAi());
    return r;
  }

  private static String finishReason(Choice c) {
    return ChatCompletion.finishReason(c.finish, !c.tools.isEmpty());
  }

  private Choice choice(int index) {
    return choices.computeIfAbsent(index, i -> new Choice());
  }

  private void role(int index, Choice c) {
    if (!c.roleSent) {
      c.roleSent = true;
      ObjectNode delta = Json.object();
      delta.put("role", "assistant");
      delta.put("content", "");
      emit(index, delta, null);
    }
  }

  private void emit(int index, ObjectNode delta, String finish) {
    ObjectNode c = ChatCompletion.envelope("chat.completion.chunk", id, created, model);
    ObjectNode ch = c.putArray("choices").addObject();
    ch.put("index", index);
    ch.set("delta", delta);
    ch.putNull("logprobs");
    if (finish == null) {
      ch.putNull("finish_reason");
    } else {
      ch.put("finish_reason", finish);
    }
    if (includeUsage) {
      c.putNull("usage");
    }
    deliver(c);
  }

  private void flushHeld() {
    if (!held.isEmpty()) {
      List<ObjectNode> pending = List.copyOf(held);
      held.clear();
      for (ObjectNode h : pending) {
        deliver(h);
      }
    }
  }

  private void deliver(ObjectNode chunk) {
    try {
      if (!delivered) {
        sink.onStart(route, attempt);
      }
      sink.onChunk(chunk);
    } catch (RuntimeException e) {
      throw new SinkAbort(e);
    }
    delivered = true;
    chunks++;
  }
}
