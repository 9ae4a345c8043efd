package dev.gatehouse.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.JsonStringEncoder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.PreEncodedHttpField;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The two fast mock upstreams every scenario talks to, on one loopback port:
 *
 * <ul>
 *   <li>an OpenAI-compatible model at {@code /v1/chat/completions}: a fixed small completion, or a
 *       fixed SSE stream for {@code "stream": true}; when tools are offered and the conversation holds
 *       fewer than {@code toolRounds} tool results it proposes a call to the first offered tool, so an
 *       agent loop runs model → tool → model → tool → model;
 *   <li>an MCP Streamable HTTP tool server at {@code /mcp}: {@code initialize}, notifications (202),
 *       {@code tools/list} (one tool, {@code echo}), {@code tools/call} (a fixed small text result),
 *       {@code ping}; plain JSON answers, no GET stream (405).
 * </ul>
 *
 * <p>Speed matters more than generality here: requests are scanned with Jackson's streaming parser
 * (no trees), answers are mostly pre-encoded bytes, and everything but a stream with gaps is answered
 * on the thread that read the request, without a dispatch.
 */
final class MockUpstreams implements AutoCloseable {
  private static final JsonFactory JSON = new JsonFactory();
  private static final PreEncodedHttpField JSON_TYPE = new PreEncodedHttpField(HttpHeader.CONTENT_TYPE, "application/json");
  private static final PreEncodedHttpField SSE_TYPE = new PreEncodedHttpField(HttpHeader.CONTENT_TYPE, "text/event-stream");
  private static final int MAX_BODY = 4 * 1024 * 1024;
  static final String MCP_SESSION = "Mcp-Session-Id";

  /** The text every tool call answers. */
  static final String TOOL_TEXT = "echo: hello from the bench";
  /** The text every model answer ends with. */
  static final String MODEL_TEXT = "ok";

  private static final byte[] TOOL_RESULT_TAIL = (",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\""
      + TOOL_TEXT + "\"}],\"isError\":false}}").getBytes(StandardCharsets.UTF_8);
  private static final byte[] EMPTY_RESULT_TAIL = ",\"result\":{}}".getBytes(StandardCharsets.UTF_8);
  private static final byte[] TOOLS_LIST_TAIL = (",\"result\":{\"tools\":[{\"name\":\"echo\",\"description\":\"Echoes a fixed text.\","
      + "\"inputSchema\":{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"},\"n\":{\"type\":\"integer\"}}}}]}}")
      .getBytes(StandardCharsets.UTF_8);
  private static final byte[] ID_HEAD = "{\"jsonrpc\":\"2.0\",\"id\":".getBytes(StandardCharsets.UTF_8);

  private final Server server;
  private final ServerConnector connector;
  private final int streamChunks;
  private final long streamGapNanos;
  private final int toolRounds;
  private final AtomicLong calls = new AtomicLong();
  private final AtomicLong sessions = new AtomicLong();

  private MockUpstreams(String host, int port, int streamChunks, long streamGapNanos, int toolRounds) {
    this.streamChunks = streamChunks;
    this.streamGapNanos = streamGapNanos;
    this.toolRounds = toolRounds;
    QueuedThreadPool threads = new QueuedThreadPool();
    threads.setName("mock");
    threads.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
    server = new Server(threads);
    HttpConfiguration http = new HttpConfiguration();
    http.setSendServerVersion(false);
    http.setSendDateHeader(false);
    connector = new ServerConnector(server, new HttpConnectionFactory(http));
    connector.setHost(host);
    connector.setPort(port);
    connector.setAcceptQueueSize(1024);
    server.addConnector(connector);
    server.setHandler(new Handler.Abstract.NonBlocking() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        route(request, response, callback);
        return true;
      }
    });
  }

  /**
   * Starts the mocks.
   *
   * @param streamChunks content chunks of a streamed answer
   * @param streamGapNanos pause between streamed chunks (0: written back to back)
   * @param toolRounds tool results after which the model stops proposing tool calls
   */
  static MockUpstreams start(String host, int port, int streamChunks, long streamGapNanos, int toolRounds) throws Exception {
    MockUpstreams m = new MockUpstreams(host, port, streamChunks, streamGapNanos, toolRounds);
    m.server.start();
    return m;
  }

  int port() {
    return connector.getLocalPort();
  }

  long calls() {
    return calls.get();
  }

  @Override
  public void close() throws Exception {
    server.stop();
  }

  private void route(Request request, Response response, Callback callback) {
    String path = Request.getPathInContext(request);
    String method = request.getMethod();
    if (path.equals("/mcp")) {
      switch (method) {
        case "POST" -> readBody(request, response, callback, body -> mcp(body, response, callback));
        case "DELETE" -> {
          response.setStatus(200);
          callback.succeeded();
        }
        default -> {
          response.setStatus(405);
          response.getHeaders().put(HttpHeader.ALLOW, "POST, DELETE");
          callback.succeeded();
        }
      }
    } else if (path.equals("/v1/chat/completions") && method.equals("POST")) {
      readBody(request, response, callback, body -> chat(body, response, callback));
    } else if (path.equals("/v1/models")) {
      write(response, callback, 200, "{\"object\":\"list\",\"data\":[{\"id\":\"bench-model\",\"object\":\"model\",\"created\":0,\"owned_by\":\"bench\"}]}"
          .getBytes(StandardCharsets.UTF_8));
    } else if (path.equals("/healthz")) {
      write(response, callback, 200, "{\"status\":\"ok\"}".getBytes(StandardCharsets.UTF_8));
    } else {
      write(response, callback, 404, ("{\"error\":{\"type\":\"not_found\",\"message\":\"no such path " + path + "\"}}")
          .getBytes(StandardCharsets.UTF_8));
    }
  }

  /** Reads the whole body without blocking: the handler runs on the I/O thread. */
  private static void readBody(Request request, Response response, Callback callback, Consumer<byte[]> then) {
    new Object() {
      final ByteArrayOutputStream acc = new ByteArrayOutputStream(512);

      void read() {
        while (true) {
          Content.Chunk chunk = request.read();
          if (chunk == null) {
            request.demand(this::read);
            return;
          }
          if (Content.Chunk.isFailure(chunk)) {
            callback.failed(chunk.getFailure());
            return;
          }
          ByteBuffer b = chunk.getByteBuffer();
          int n = b.remaining();
          if (acc.size() + n > MAX_BODY) {
            chunk.release();
            write(response, callback, 413, "{\"error\":{\"message\":\"body too large\"}}".getBytes(StandardCharsets.UTF_8));
            return;
          }
          if (b.hasArray()) {
            acc.write(b.array(), b.arrayOffset() + b.position(), n);
          } else {
            byte[] tmp = new byte[n];
            b.get(tmp);
            acc.write(tmp, 0, n);
          }
          boolean last = chunk.isLast();
          chunk.release();
          if (last) {
            try {
              then.accept(acc.toByteArray());
            } catch (RuntimeException e) {
              write(response, callback, 400, ("{\"error\":{\"message\":\"" + e.getMessage().replace('"', '\'') + "\"}}")
                  .getBytes(StandardCharsets.UTF_8));
            }
            return;
          }
        }
      }
    }.read();
  }

  static void write(Response response, Callback callback, int status, byte[] body) {
    response.setStatus(status);
    response.getHeaders().put(JSON_TYPE);
    response.getHeaders().put(HttpHeader.CONTENT_LENGTH, body.length);
    response.write(true, ByteBuffer.wrap(body), callback);
  }

  // ---------------------------------------------------------------- MCP

  /** What the MCP mock needs of a message: its method, raw id and requested protocol version. */
  private record McpMessage(String method, String rawId, String protocolVersion) {}

  private static McpMessage scanMcp(byte[] body) {
    String method = null;
    String rawId = null;
    String version = null;
    try (JsonParser p = JSON.createParser(body)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IllegalArgumentException("expected a JSON-RPC object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken t = p.nextToken();
        switch (field) {
          case "method" -> method = p.getText();
          case "id" -> rawId = t == JsonToken.VALUE_STRING
              ? "\"" + new String(JsonStringEncoder.getInstance().quoteAsString(p.getText())) + "\""
              : p.getText();
          case "params" -> {
            if (t == JsonToken.START_OBJECT) {
              while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                if (name.equals("protocolVersion")) {
                  version = p.getText();
                } else {
                  p.skipChildren();
                }
              }
            } else {
              p.skipChildren();
            }
          }
          default -> p.skipChildren();
        }
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("not JSON: " + e.getMessage());
    }
    return new McpMessage(method, rawId, version);
  }

  private void mcp(byte[] body, Response response, Callback callback) {
    McpMessage m = scanMcp(body);
    if (m.rawId() == null) {
      // A notification or a response: accepted, nothing to answer.
      response.setStatus(202);
      callback.succeeded();
      return;
    }
    String method = m.method() == null ? "" : m.method();
    switch (method) {
      case "tools/call" -> {
        calls.incrementAndGet();
        write(response, callback, 200, answer(m.rawId(), TOOL_RESULT_TAIL));
      }
      case "tools/list" -> write(response, callback, 200, answer(m.rawId(), TOOLS_LIST_TAIL));
      case "initialize" -> {
        String v = m.protocolVersion() == null ? "2025-11-25" : m.protocolVersion();
        String result = ",\"result\":{\"protocolVersion\":\"" + v + "\",\"capabilities\":{\"tools\":{}},"
            + "\"serverInfo\":{\"name\":\"gatehouse-bench-mock\",\"version\":\"1\"}}}";
        response.getHeaders().put(MCP_SESSION, "bench-" + sessions.incrementAndGet());
        write(response, callback, 200, answer(m.rawId(), result.getBytes(StandardCharsets.UTF_8)));
      }
      case "ping", "logging/setLevel" -> write(response, callback, 200, answer(m.rawId(), EMPTY_RESULT_TAIL));
      case "resources/list" -> write(response, callback, 200, answer(m.rawId(), ",\"result\":{\"resources\":[]}}".getBytes(StandardCharsets.UTF_8)));
      case "resources/templates/list" -> write(response, callback, 200,
          answer(m.rawId(), ",\"result\":{\"resourceTemplates\":[]}}".getBytes(StandardCharsets.UTF_8)));
      case "prompts/list" -> write(response, callback, 200, answer(m.rawId(), ",\"result\":{\"prompts\":[]}}".getBytes(StandardCharsets.UTF_8)));
      default -> write(response, callback, 200, answer(m.rawId(),
          (",\"error\":{\"code\":-32601,\"message\":\"Method not found: " + method + "\"}}").getBytes(StandardCharsets.UTF_8)));
    }
  }

  private static byte[] answer(String rawId, byte[] tail) {
    byte[] id = rawId.getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[ID_HEAD.length + id.length + tail.length];
    System.arraycopy(ID_HEAD, 0, out, 0, ID_HEAD.length);
    System.arraycopy(id, 0, out, ID_HEAD.length, id.length);
    System.arraycopy(tail, 0, out, ID_HEAD.length + id.length, tail.length);
    return out;
  }

  // ---------------------------------------------------------------- OpenAI chat completions

  /** What the model mock needs of a chat request. */
  private record ChatRequest(String model, boolean stream, boolean includeUsage, String firstTool, int toolResults, int messages) {}

  private static ChatRequest scanChat(byte[] body) {
    String model = "bench-model";
    boolean stream = false;
    boolean usage = false;
    String firstTool = null;
    int toolResults = 0;
    int messages = 0;
    try (JsonParser p = JSON.createParser(body)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IllegalArgumentException("expected a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.currentName();
        JsonToken t = p.nextToken();
        switch (field) {
          case "model" -> model = p.getText();
          case "stream" -> stream = t == JsonToken.VALUE_TRUE;
          case "stream_options" -> {
            if (t == JsonToken.START_OBJECT) {
              while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                if (name.equals("include_usage")) {
                  usage = v == JsonToken.VALUE_TRUE;
                } else {
                  p.skipChildren();
                }
              }
            } else {
              p.skipChildren();
            }
          }
          case "messages" -> {
            if (t != JsonToken.START_ARRAY) {
              p.skipChildren();
              break;
            }
            while (p.nextToken() == JsonToken.START_OBJECT) {
              messages++;
              while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                if (name.equals("role") && "tool".equals(p.getText())) {
                  toolResults++;
                } else {
                  p.skipChildren();
                }
              }
            }
          }
          case "tools" -> {
            if (t != JsonToken.START_ARRAY) {
              p.skipChildren();
              break;
            }
            while (p.nextToken() == JsonToken.START_OBJECT) {
              while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                if (name.equals("function") && v == JsonToken.START_OBJECT) {
                  while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String fn = p.currentName();
                    p.nextToken();
                    if (fn.equals("name") && firstTool == null) {
                      firstTool = p.getText();
                    } else {
                      p.skipChildren();
                    }
                  }
                } else {
                  p.skipChildren();
                }
              }
            }
          }
          default -> p.skipChildren();
        }
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("not JSON: " + e.getMessage());
    }
    return new ChatRequest(model, stream, usage, firstTool, toolResults, messages);
  }

  private void chat(byte[] body, Response response, Callback callback) {
    ChatRequest r = scanChat(body);
    calls.incrementAndGet();
    String model = new String(JsonStringEncoder.getInstance().quoteAsString(r.model()));
    boolean proposeTool = r.firstTool() != null && r.toolResults() < toolRounds;
    int promptTokens = 8 * Math.max(1, r.messages());
    if (!r.stream()) {
      String message = proposeTool
          ? "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_" + callId() + "\",\"type\":\"function\","
              + "\"function\":{\"name\":\"" + r.firstTool() + "\",\"arguments\":\"{\\\"text\\\":\\\"round " + (r.toolResults() + 1)
              + "\\\",\\\"n\\\":42}\"}}]}"
          : "{\"role\":\"assistant\",\"content\":\"" + MODEL_TEXT + "\"}";
      String json = "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"" + model
          + "\",\"choices\":[{\"index\":0,\"message\":" + message + ",\"finish_reason\":\"" + (proposeTool ? "tool_calls" : "stop")
          + "\"}],\"usage\":{\"prompt_tokens\":" + promptTokens + ",\"completion_tokens\":1,\"total_tokens\":" + (promptTokens + 1) + "}}";
      write(response, callback, 200, json.getBytes(StandardCharsets.UTF_8));
      return;
    }
    String head = "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"" + model + "\",";
    byte[][] events = new byte[streamChunks + 3 + (r.includeUsage() ? 1 : 0)][];
    int i = 0;
    events[i++] = (head + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n")
        .getBytes(StandardCharsets.UTF_8);
    for (int c = 0; c < streamChunks; c++) {
      events[i++] = (head + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + (c == 0 ? MODEL_TEXT : " .") + "\"},\"finish_reason\":null}]}\n\n")
          .getBytes(StandardCharsets.UTF_8);
    }
    events[i++] = (head + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n").getBytes(StandardCharsets.UTF_8);
    if (r.includeUsage()) {
      events[i++] = (head + "\"choices\":[],\"usage\":{\"prompt_tokens\":" + promptTokens + ",\"completion_tokens\":" + streamChunks
          + ",\"total_tokens\":" + (promptTokens + streamChunks) + "}}\n\n").getBytes(StandardCharsets.UTF_8);
    }
    events[i] = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);
    response.setStatus(200);
    response.getHeaders().put(SSE_TYPE);
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
    if (streamGapNanos <= 0) {
      // Back to back, each event its own write (and flush), chained by callbacks: no thread blocks.
      new Object() {
        int next = 0;

        void writeNext() {
          int k = next++;
          boolean last = k == events.length - 1;
          response.write(last, ByteBuffer.wrap(events[k]), last ? callback : Callback.from(this::writeNext, callback::failed));
        }
      }.writeNext();
    } else {
      Thread.ofVirtual().start(() -> {
        try {
          for (int k = 0; k < events.length; k++) {
            if (k > 0) {
              TimeUnit.NANOSECONDS.sleep(streamGapNanos);
            }
            Content.Sink.write(response, k == events.length - 1, ByteBuffer.wrap(events[k]));
          }
          callback.succeeded();
        } catch (IOException | InterruptedException e) {
          callback.failed(e);
        }
      });
    }
  }

  private final AtomicLong callIds = new AtomicLong();

  private long callId() {
    return callIds.incrementAndGet();
  }
}
