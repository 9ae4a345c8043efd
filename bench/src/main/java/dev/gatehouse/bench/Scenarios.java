package dev.gatehouse.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The scenarios: what one operation is, for the direct target (the mock upstream itself) and for the
 * gateway, with the same payloads. The direct twin of a gateway call is the call an agent would make
 * without a gateway: {@code /mcp tools/call} and {@code /v1/mcp/tool/execute} both compare with an MCP
 * {@code tools/call} sent straight to the mock tool server; chat calls with the same chat call sent
 * straight to the mock model.
 */
final class Scenarios {
  static final ObjectMapper JSON = new ObjectMapper();
  /** The mock's tool, and its name behind the gateway (the upstream is configured as {@code bench}). */
  static final String TOOL = "echo";
  static final String SERVER = "bench";
  static final String GATEWAY_TOOL = SERVER + "__" + TOOL;
  /** The mock model, and its name behind the gateway (the provider is configured as {@code mock}). */
  static final String MODEL = "bench-model";
  static final String PROVIDER = "mock";
  static final String PROTOCOL = "2025-11-25";

  private Scenarios() {}

  /** A scenario as the runner knows it. */
  enum Kind {
    CHAT("chat", "(1) chat completion, non-stream, identity+policy+audit on", true, true),
    CHAT_OFF("chat-off", "(1) chat completion, non-stream, identity+policy+audit off", true, false),
    STREAM("stream", "(2) chat completion, streaming (first token and total)", true, true),
    MCP("mcp", "(3) /mcp tools/call", false, true),
    EXECUTE("execute", "(4) /v1/mcp/tool/execute", false, true),
    CHAIN("chain", "(5) agentic chain: model → tool → model → tool → model", true, true),
    MCP_OFF("mcp-off", "(3′) /mcp tools/call, identity+policy+audit off", false, false),
    EXECUTE_OFF("execute-off", "(4′) /v1/mcp/tool/execute, identity+policy+audit off", false, false);

    final String id;
    final String title;
    final boolean needsChat;
    final boolean governed;

    Kind(String id, String title, boolean needsChat, boolean governed) {
      this.id = id;
      this.title = title;
      this.needsChat = needsChat;
      this.governed = governed;
    }

    static Kind of(String id) {
      for (Kind k : values()) {
        if (k.id.equals(id.trim().toLowerCase(Locale.ROOT))) {
          return k;
        }
      }
      throw new IllegalArgumentException("unknown scenario '" + id + "' (expected some of: " + ids() + ")");
    }

    static String ids() {
      List<String> all = new ArrayList<>();
      for (Kind k : values()) {
        all.add(k.id);
      }
      return String.join(", ", all);
    }
  }

  /**
   * Where one side of a comparison sends its requests.
   *
   * @param gateway whether this is a gateway (tool and model names carry the gateway's prefixes)
   * @param headers sent with every request (the gateway's API key, when identity is on)
   */
  record Target(String name, URI base, boolean gateway, List<String[]> headers) {
    URI uri(String path) {
      return base.resolve(path);
    }

    String tool() {
      return gateway ? GATEWAY_TOOL : TOOL;
    }

    String model() {
      return gateway ? PROVIDER + "/" + MODEL : MODEL;
    }

    List<String[]> with(String... kv) {
      List<String[]> h = new ArrayList<>(headers);
      for (int i = 0; i < kv.length; i += 2) {
        h.add(new String[] {kv[i], kv[i + 1]});
      }
      return List.copyOf(h);
    }
  }

  static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Opens {@code n} MCP sessions on {@code t} (initialize, then notifications/initialized). */
  static List<String> openSessions(Http http, Target t, int n) throws InterruptedException {
    List<String> ids = new ArrayList<>();
    List<String[]> h = t.with("Accept", "application/json, text/event-stream");
    for (int i = 0; i < n; i++) {
      Http.Reply r = http.postAndWait(t.uri("/mcp"), h, bytes("{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":"
          + "{\"protocolVersion\":\"" + PROTOCOL + "\",\"capabilities\":{},\"clientInfo\":{\"name\":\"gatehouse-bench\",\"version\":\"1\"}}}"));
      if (!r.ok() || r.sessionId() == null) {
        throw new IllegalStateException("initialize on " + t.name() + " failed: " + r.problem());
      }
      List<String[]> hs = t.with("Accept", "application/json, text/event-stream", MockUpstreams.MCP_SESSION, r.sessionId(),
          "MCP-Protocol-Version", PROTOCOL);
      Http.Reply n2 = http.postAndWait(t.uri("/mcp"), hs, bytes("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"));
      if (n2.status() != 202 && n2.status() != 200) {
        throw new IllegalStateException("notifications/initialized on " + t.name() + " failed: " + n2.problem());
      }
      ids.add(r.sessionId());
    }
    return ids;
  }

  /** {@code tools/call} over MCP Streamable HTTP, round-robin over open sessions. */
  static LoadGen.Workload mcpCall(Target t, List<String> sessions) {
    URI uri = t.uri("/mcp");
    List<List<String[]>> headerSets = new ArrayList<>();
    for (String s : sessions) {
      headerSets.add(t.with("Accept", "application/json, text/event-stream", MockUpstreams.MCP_SESSION, s, "MCP-Protocol-Version", PROTOCOL));
    }
    String head = "{\"jsonrpc\":\"2.0\",\"id\":";
    String tail = ",\"method\":\"tools/call\",\"params\":{\"name\":\"" + t.tool() + "\",\"arguments\":{\"text\":\"hello bench\",\"n\":42}}}";
    AtomicLong ids = new AtomicLong();
    return (http, done) -> {
      long id = ids.incrementAndGet();
      http.post(uri, headerSets.get((int) (id % headerSets.size())), bytes(head + id + tail),
          r -> done.done(r.firstByteNanos(), r.ok() && r.contains(MockUpstreams.TOOL_TEXT) ? null : r.problem()));
    };
  }

  /** {@code POST /v1/mcp/tool/execute} with an OpenAI tool call. */
  static LoadGen.Workload execute(Target t) {
    URI uri = t.uri("/v1/mcp/tool/execute");
    List<String[]> h = t.with("Accept", "application/json");
    String tail = "\",\"type\":\"function\",\"function\":{\"name\":\"" + t.tool() + "\",\"arguments\":\"{\\\"text\\\":\\\"hello bench\\\",\\\"n\\\":42}\"}}";
    AtomicLong ids = new AtomicLong();
    return (http, done) -> http.post(uri, h, bytes("{\"id\":\"call_" + ids.incrementAndGet() + tail),
        r -> done.done(r.firstByteNanos(), r.ok() && r.contains(MockUpstreams.TOOL_TEXT) ? null : r.problem()));
  }

  static byte[] chatBody(Target t, boolean stream) {
    return bytes("{\"model\":\"" + t.model() + "\",\"messages\":[{\"role\":\"system\",\"content\":\"You are a benchmark.\"},"
        + "{\"role\":\"user\",\"content\":\"Say ok.\"}],\"max_tokens\":16"
        + (stream ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" : "") + "}");
  }

  /**
   * {@code POST /v1/chat/completions}, plain or streamed. For a stream the "first" time is the first
   * token (the first content delta), not the first byte: the mock sends an empty role chunk first,
   * which the gateway holds back until content follows (so a provider that fails before any content
   * can still be replaced), and a client sees nothing of the answer before its first token anyway.
   */
  static LoadGen.Workload chat(Target t, boolean stream) {
    URI uri = t.uri("/v1/chat/completions");
    List<String[]> h = t.with("Accept", stream ? "text/event-stream" : "application/json");
    byte[] body = chatBody(t, stream);
    return (http, done) -> http.post(uri, h, body, r -> {
      boolean good = r.ok() && (stream ? r.text().trim().endsWith("data: [DONE]") : r.contains("chat.completion"));
      done.done(stream ? r.firstTokenNanos() : r.firstByteNanos(), good ? null : r.problem());
    });
  }

  /**
   * An agent's task: the model is offered the tool and asked; while it proposes tool calls they are
   * executed and their results appended, until it answers in text. With the mock's default of two tool
   * rounds that is model → tool → model → tool → model: five operations. Through the gateway every
   * operation carries the same {@code X-Chain-Id}, so the five are one audited chain; the tools run
   * through {@code /v1/mcp/tool/execute}. Directly, the model calls go to the mock model and the tool
   * calls to the mock tool server over MCP.
   */
  static final class Chain implements LoadGen.Workload {
    static final int MAX_OPS = 12;
    private final Target model;
    private final Target tools;
    private final List<String> sessions;
    private final AtomicLong chains = new AtomicLong();
    final AtomicLong ops = new AtomicLong();
    final AtomicLong completed = new AtomicLong();

    Chain(Target model, Target tools, List<String> sessions) {
      this.model = model;
      this.tools = tools;
      this.sessions = sessions;
    }

    @Override
    public void run(Http http, LoadGen.Done done) {
      long n = chains.incrementAndGet();
      String chainId = "bench-chain-" + n;
      ObjectNode req = JSON.createObjectNode();
      req.put("model", model.model());
      ArrayNode messages = req.putArray("messages");
      messages.addObject().put("role", "system").put("content", "You are a benchmark agent.");
      messages.addObject().put("role", "user").put("content", "Echo something, twice.");
      ObjectNode fn = req.putArray("tools").addObject().put("type", "function").putObject("function");
      fn.put("name", model.tool());
      fn.put("description", "Echoes a fixed text.");
      ObjectNode params = fn.putObject("parameters").put("type", "object");
      params.putObject("properties").putObject("text").put("type", "string");
      new Object() {
        int count = 0;
        long firstByte = 0;

        void modelStep() {
          count++;
          http.post(model.uri("/v1/chat/completions"), model.with("Accept", "application/json", "X-Chain-Id", chainId), write(req), r -> {
            if (firstByte == 0) {
              firstByte = r.firstByteNanos();
            }
            if (!r.ok()) {
              finish("model step " + count + ": " + r.problem());
              return;
            }
            JsonNode message;
            try {
              message = JSON.readTree(r.body()).path("choices").path(0).path("message");
            } catch (java.io.IOException e) {
              finish("model step " + count + ": not JSON");
              return;
            }
            JsonNode calls = message.path("tool_calls");
            if (calls.isArray() && !calls.isEmpty()) {
              if (count >= MAX_OPS) {
                finish("more than " + MAX_OPS + " operations");
                return;
              }
              messages.add(message);
              toolStep(calls.get(0));
            } else if (message.path("content").isTextual()) {
              finish(null);
            } else {
              finish("model step " + count + ": neither tool calls nor text");
            }
          });
        }

        void toolStep(JsonNode call) {
          count++;
          String callId = call.path("id").asText();
          Http.Callback then = r -> {
            String content = r.ok() ? toolContent(r) : null;
            if (content == null) {
              finish("tool step " + count + ": " + r.problem());
              return;
            }
            messages.addObject().put("role", "tool").put("tool_call_id", callId).put("content", content);
            modelStep();
          };
          if (tools.gateway()) {
            http.post(tools.uri("/v1/mcp/tool/execute"), tools.with("Accept", "application/json", "X-Chain-Id", chainId), write(call), then);
          } else {
            ObjectNode rpc = JSON.createObjectNode().put("jsonrpc", "2.0").put("id", count).put("method", "tools/call");
            ObjectNode p = rpc.putObject("params").put("name", call.path("function").path("name").asText());
            try {
              p.set("arguments", JSON.readTree(call.path("function").path("arguments").asText("{}")));
            } catch (java.io.IOException e) {
              finish("tool step " + count + ": arguments are not JSON");
              return;
            }
            String session = sessions.get((int) (n % sessions.size()));
            http.post(tools.uri("/mcp"), tools.with("Accept", "application/json, text/event-stream", MockUpstreams.MCP_SESSION, session,
                "MCP-Protocol-Version", PROTOCOL), write(rpc), then);
          }
        }

        String toolContent(Http.Reply r) {
          try {
            JsonNode j = JSON.readTree(r.body());
            if (tools.gateway()) {
              return j.path("content").isTextual() ? j.path("content").asText() : null;
            }
            JsonNode text = j.path("result").path("content").path(0).path("text");
            return text.isTextual() ? text.asText() : null;
          } catch (java.io.IOException e) {
            return null;
          }
        }

        void finish(String error) {
          if (error == null) {
            ops.addAndGet(count);
            completed.incrementAndGet();
          }
          done.done(firstByte, error);
        }
      }.modelStep();
    }

    private static byte[] write(JsonNode n) {
      try {
        return JSON.writeValueAsBytes(n);
      } catch (java.io.IOException e) {
        throw new IllegalStateException(e);
      }
    }

    double opsPerChain() {
      long c = completed.get();
      return c == 0 ? 0 : (double) ops.get() / c;
    }
  }
}
