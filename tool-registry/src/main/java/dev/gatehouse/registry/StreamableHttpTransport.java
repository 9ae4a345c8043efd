package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * MCP Streamable HTTP, client side: every message is a POST; an answer comes back as JSON or as an
 * event stream on that POST (messages on it are related to the request it carried), and a GET stream
 * carries what the server sends unprompted. A 404 on a known session means the server forgot it.
 */
final class StreamableHttpTransport implements Transport {
  private static final Logger log = LoggerFactory.getLogger(StreamableHttpTransport.class);
  static final String SESSION_HEADER = "Mcp-Session-Id";
  static final String VERSION_HEADER = "MCP-Protocol-Version";
  /** How often a POST stream closed before its answer is resumed with GET and Last-Event-ID. */
  static final int MAX_RESUMPTIONS = 10;
  /** What is kept of a body that is only logged or dropped (a refused GET stream). */
  private static final int ERROR_BODY_BYTES = 64 * 1024;
  /**
   * Requests in flight to one upstream at once. Bounds the connections the HTTP client opens (it
   * opens one per request in flight, and its pool degrades when it holds thousands); callers beyond
   * it wait for a slot within their own call timeout.
   */
  static final int MAX_IN_FLIGHT = 128;

  private final String name;
  private final URI url;
  private final Map<String, String> headers;
  /** How long the server-initiated stream may stay silent before it is reopened. */
  private static final Duration GET_IDLE = Duration.ofMinutes(5);
  /** How long opening the server-initiated stream may take to get a response head. */
  private static final Duration OPEN_TIMEOUT = Duration.ofSeconds(30);
  private final UpstreamHttp http;
  private final Duration requestTimeout;
  private final int maxMessageBytes;
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile Listener listener;
  private volatile String sessionId;
  private volatile String protocolVersion;
  private volatile Thread getStream;
  private volatile InputStream getBody;
  private final java.util.concurrent.Semaphore inFlight = new java.util.concurrent.Semaphore(MAX_IN_FLIGHT);
  /** Sends waiting for a slot, in arrival order; each gives up at its deadline. */
  private final java.util.concurrent.ConcurrentLinkedQueue<Runnable> waiting = new java.util.concurrent.ConcurrentLinkedQueue<>();

  /** The gateway's token for this upstream ({@code auth:}), or null. */
  private final UpstreamTokens tokens;

  StreamableHttpTransport(String name, UpstreamConfig.StreamableHttp config, UpstreamHttp http) {
    this(name, config, http, null);
  }

  StreamableHttpTransport(String name, UpstreamConfig.StreamableHttp config, UpstreamHttp http, UpstreamTokens tokens) {
    this.tokens = tokens;
    this.name = name;
    this.url = config.url();
    this.headers = config.headers();
    this.http = http;
    this.requestTimeout = config.timeouts().call().plus(config.timeouts().connect());
    this.maxMessageBytes = config.maxMessageBytes();
    this.stateless = config.tryStateless();
    this.statelessOnly = config.statelessOnly();
    if (stateless) {
      this.protocolVersion = UpstreamConfig.StreamableHttp.STATELESS; // every request says so, from the first
    }
  }

  /** Whether the upstream is spoken to statelessly: tried first unless configured otherwise, until it falls back. */
  private volatile boolean stateless;
  private final boolean statelessOnly;

  @Override
  public boolean stateless() {
    return stateless;
  }

  @Override
  public boolean fallBackAllowed() {
    return !statelessOnly;
  }

  @Override
  public boolean fallBack() {
    if (statelessOnly) {
      return false;
    }
    stateless = false;
    protocolVersion = null;
    return true;
  }

  @Override
  public void start(Listener listener, Duration timeout) {
    this.listener = listener;
  }

  @Override
  public void initialized(String protocolVersion) {
    this.protocolVersion = protocolVersion;
    getStream = stateless ? Thread.ofVirtual().name("mcp-listen-" + name).start(this::runListenStream)
        : Thread.ofVirtual().name("mcp-get-" + name).start(this::runGetStream);
  }

  private Request request(HttpMethod method) {
    return request(method, Map.of());
  }

  /** A request of a long-lived stream: on its own thread, which may wait for a token. */
  private Request request(HttpMethod method, Map<String, String> extra) {
    return request(method, extra, bearerNow());
  }

  /** The token to send now, waiting for one when none is fresh; null without {@code auth:}. */
  private String bearerNow() {
    if (tokens == null) {
      return null;
    }
    try {
      return tokens.tokenNow(OPEN_TIMEOUT);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private Request request(HttpMethod method, Map<String, String> extra, String bearer) {
    String sid = sessionId;
    String v = protocolVersion;
    return http.newRequest(url).method(method).headers(h -> {
      headers.forEach(h::put);
      if (bearer != null) {
        h.put(HttpHeader.AUTHORIZATION, "Bearer " + bearer);
      }
      if (sid != null) {
        h.put(SESSION_HEADER, sid);
      }
      if (v != null) {
        h.put(VERSION_HEADER, v);
      }
      extra.forEach(h::put);
    });
  }

  @Override
  public CompletableFuture<Void> send(ObjectNode message, long deadlineNanos) {
    return send(message, deadlineNanos, Map.of());
  }

  @Override
  public CompletableFuture<Void> send(ObjectNode message, long deadlineNanos, Map<String, String> extra) {
    return send(message, deadlineNanos, extra, java.util.Optional.empty());
  }

  @Override
  public CompletableFuture<Void> send(ObjectNode message, long deadlineNanos, Map<String, String> extra,
      java.util.Optional<CallContext.Caller> caller) {
    if (closed.get()) {
      return CompletableFuture.failedFuture(new IOException("transport closed"));
    }
    JsonNode id = message.has("method") ? message.get("id") : null;
    byte[] bytes = Json.bytes(message);
    CompletableFuture<Void> done = new CompletableFuture<>();
    withSlot(() -> {
      if (deadlineNanos != 0 && System.nanoTime() - deadlineNanos > 0) {
        release(); // its caller has given up while it waited for a slot: never sent
        done.completeExceptionally(new IOException("more than " + MAX_IN_FLIGHT + " requests in flight to the server"));
        return;
      }
      authorized(bytes, id, done, extra, false, caller);
    });
    return done;
  }

  /** Posts with the gateway's token for this upstream, once it has one (none without {@code auth:}). */
  private void authorized(byte[] bytes, JsonNode id, CompletableFuture<Void> done, Map<String, String> extra, boolean retried,
      java.util.Optional<CallContext.Caller> caller) {
    if (tokens == null) {
      post(bytes, id, done, extra, null, retried, caller);
      return;
    }
    tokens.token(caller).whenComplete((token, e) -> {
      if (e != null) {
        release();
        Throwable c = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
        done.completeExceptionally(c);
        return;
      }
      post(bytes, id, done, extra, token, retried, caller);
    });
  }

  /** Runs {@code task} holding one of the {@value #MAX_IN_FLIGHT} slots: now, or when one frees (no thread waits). */
  private void withSlot(Runnable task) {
    if (inFlight.tryAcquire()) {
      task.run();
      return;
    }
    waiting.add(task);
    if (inFlight.tryAcquire()) { // a slot freed while this task joined the line
      Runnable next = waiting.poll();
      if (next != null) {
        next.run();
      } else {
        release();
      }
    }
  }

  /** Frees a slot: the next task in line takes it over. */
  private void release() {
    Runnable next = waiting.poll();
    if (next != null) {
      next.run();
      return;
    }
    inFlight.release();
    if (!waiting.isEmpty() && inFlight.tryAcquire()) {
      Runnable late = waiting.poll();
      if (late != null) {
        late.run();
      } else {
        inFlight.release();
      }
    }
  }

  /** One POST, holding a slot: a JSON answer is delivered from the client's thread; an event stream is read on its own. */
  private void post(byte[] bytes, JsonNode id, CompletableFuture<Void> done, Map<String, String> extra, String bearer,
      boolean retried, java.util.Optional<CallContext.Caller> caller) {
    Request req = request(HttpMethod.POST, extra, bearer)
        .timeout(requestTimeout.toMillis(), TimeUnit.MILLISECONDS)
        .headers(h -> h.put(HttpHeader.ACCEPT, "application/json, text/event-stream"))
        .body(new BytesRequestContent("application/json", bytes));
    boolean abortable = stateless && id != null;
    if (abortable) {
      exchanges.put(id, req);
    }
    UpstreamHttp.exchangeAsync(req, requestTimeout, maxMessageBytes, "the server").whenComplete((resp, failure) -> {
      boolean streaming = false;
      boolean again = false;
      try {
        if (failure != null) {
          Throwable e = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null ? failure.getCause() : failure;
          if (id != null && dev.gatehouse.http.BodyBuffer.isTooLarge(e.getCause())) {
            listener.onOversized(id, maxMessageBytes + 1L, maxMessageBytes);
            done.complete(null);
          } else {
            done.completeExceptionally(e);
          }
          return;
        }
        int status = resp.status();
        String sid = resp.header(SESSION_HEADER);
        if (sid != null && sessionId == null && !stateless) {
          sessionId = sid;
        }
        if (status == 404 && sessionId != null) {
          resp.discard();
          throw new McpException.SessionExpired(name);
        }
        if (status == 401 && bearer != null) {
          // The upstream refused the gateway's token: drop it, and try once more with a new one.
          String challenge = resp.header("WWW-Authenticate");
          resp.discard();
          tokens.refused(bearer);
          if (!retried) {
            again = true;
            return;
          }
          throw new McpException(McpException.UPSTREAM_UNAVAILABLE, "upstream '" + name + "' refused the gateway's token twice"
              + " (HTTP 401" + (challenge == null ? "" : ", WWW-Authenticate: " + summary(challenge)) + ")");
        }
        if (status == 202 || status == 204) {
          resp.discard();
          done.complete(null);
          return;
        }
        if (status / 100 != 2) {
          if (stateless && status / 100 == 4 && resp.contentType().startsWith("application/json") && id != null) {
            // 2026-07-28 answers its errors (unknown method, header mismatch, missing capability) with a
            // 4xx and a JSON-RPC error: the caller gets that error, not a transport failure.
            JsonNode error = Json.MAPPER.readTree(resp.bytes());
            if (error instanceof ObjectNode e && e.has("error")) {
              e.set("id", id);
              deliver(e, id);
              done.complete(null);
              return;
            }
          }
          String challenge = status == 401 || status == 403 ? resp.header("WWW-Authenticate") : null;
          if (status == 403 && tokens != null) {
            java.util.Optional<McpException> stepUp = tokens.insufficientScope(caller, challenge);
            if (stepUp.isPresent()) {
              resp.discard();
              throw stepUp.get(); // the user can fix it: consent again with the scope the upstream asks for
            }
          }
          String text = resp.text(2048);
          // A refusal of the credentials says what the upstream wants (a scope to step up to, a token it takes).
          throw new IOException("HTTP " + status + (challenge == null ? "" : " (WWW-Authenticate: " + summary(challenge) + ")")
              + (text.isBlank() ? "" : ": " + summary(text)));
        }
        String type = resp.contentType();
        if (type.startsWith("text/event-stream")) {
          // Read the stream on its own thread. The slot is held until the stream ends, since the
          // connection is busy until then.
          streaming = true;
          long deadline = System.nanoTime() + requestTimeout.toNanos();
          Thread.ofVirtual().name("mcp-post-" + name).start(() -> {
            try {
              Events read = readEvents(resp.body(), id, false);
              if (id != null && !stateless) {
                resume(read, id, deadline); // streams of the stateless revision are not resumable
              }
            } finally {
              if (abortable) {
                exchanges.remove(id, req);
              }
              release();
            }
          });
        } else if (type.startsWith("application/json")) {
          if (resp.bytes().length > 0) {
            deliver(Json.MAPPER.readTree(resp.bytes()), id);
          }
        } else {
          resp.discard();
          throw new IOException("unexpected Content-Type '" + type + "' (expected: application/json or text/event-stream)");
        }
        done.complete(null);
      } catch (IOException | RuntimeException e) {
        done.completeExceptionally(e);
      } finally {
        if (abortable && !streaming) {
          exchanges.remove(id, req);
        }
        if (again) {
          authorized(bytes, id, done, extra, true, caller); // keeps the slot
        } else if (!streaming) {
          release();
        }
      }
    });
  }

  /**
   * What an error body says, short enough for a status line: a JSON error's message (a JSON-RPC error
   * object, or a {@code message} field), else the text on one line, clipped. Servers that dump stack
   * traces into their error bodies do not get them into the gateway's errors and logs.
   */
  static String summary(String body) {
    String text = body.strip();
    if (text.startsWith("{")) {
      try {
        JsonNode j = Json.MAPPER.readTree(text);
        JsonNode message = j.path("error").isObject() ? j.path("error").path("message") : j.path("error").isTextual() ? j.path("error") : j.path("message");
        if (message.isTextual() && !message.asText().isBlank()) {
          text = message.asText().strip();
        }
      } catch (IOException notJson) {
        // shown as text
      }
    }
    text = text.replaceAll("\\s+", " ");
    return text.length() <= 300 ? text : text.substring(0, 300) + "…";
  }

  /** The stateless revision's requests whose answers are awaited, by id: closing one cancels its call. */
  private final Map<JsonNode, Request> exchanges = new java.util.concurrent.ConcurrentHashMap<>();

  @Override
  public void abort(JsonNode id) {
    Request req = exchanges.remove(id);
    if (req != null) {
      req.abort(new IOException("cancelled"));
    }
  }

  private void deliver(JsonNode node, JsonNode relatedId) {
    if (node instanceof ObjectNode o) {
      listener.onMessage(o, relatedId);
    } else if (node instanceof ArrayNode batch) {
      batch.forEach(n -> deliver(n, relatedId));
    } else {
      log.warn("upstream '{}': ignored a message that is not a JSON object", name);
    }
  }

  /** How a stream ended: the last event id seen, whether it carried the answer it was for, the server's retry hint. */
  private record Events(String lastEventId, boolean answered, long retryMillis) {}

  /**
   * Reads an event stream until it ends, or (for a request's stream) until the answer to
   * {@code relatedId} has been delivered.
   */
  private Events readEvents(InputStream body, JsonNode relatedId, boolean getStream) {
    boolean answered = false;
    SseReader sse = new SseReader(body, maxMessageBytes);
    try (sse) {
      SseReader.Event e;
      while (!answered && (e = sse.next()) != null) {
        if (e.oversized()) {
          log.warn("upstream '{}': skipped an event larger than max_message_bytes ({})", name, maxMessageBytes);
          if (relatedId != null) {
            listener.onOversized(relatedId, maxMessageBytes + 1L, maxMessageBytes);
            answered = true;
          }
          continue;
        }
        if (!"message".equals(e.event()) || e.data().isBlank()) {
          continue;
        }
        try {
          JsonNode node = Json.MAPPER.readTree(e.data());
          deliver(node, relatedId);
          answered = relatedId != null && isAnswerTo(node, relatedId);
        } catch (IOException bad) {
          log.warn("upstream '{}': ignored an event that is not JSON: {}", name, StdioTransport.abbreviate(e.data()));
        }
      }
    } catch (IOException e) {
      if (!closed.get()) {
        log.debug("upstream '{}': {} stream ended: {}", name, getStream ? "GET" : "POST", e.toString());
      }
    }
    long retry = sse.retry().isEmpty() ? 1000 : Long.parseLong(sse.retry());
    return new Events(sse.lastEventId(), answered, retry);
  }

  private static boolean isAnswerTo(JsonNode node, JsonNode id) {
    return node instanceof ObjectNode o && !o.has("method") && id.equals(o.get("id"));
  }

  /**
   * A request's stream that ended before its answer, after the server gave its events ids, is resumed
   * as the server asks (SEP-1699): after its {@code retry} time, a GET with {@code Last-Event-ID}
   * replays what followed on that stream, until the answer comes or the call's time is up.
   */
  private void resume(Events read, JsonNode id, long deadline) {
    Events last = read;
    for (int attempt = 0; !last.answered() && !last.lastEventId().isEmpty() && attempt < MAX_RESUMPTIONS && !closed.get(); attempt++) {
      long wait = Math.min(Math.max(0, last.retryMillis()), 10_000);
      long left = deadline - System.nanoTime();
      if (TimeUnit.MILLISECONDS.toNanos(wait) >= left) {
        return; // the call's timeout will answer
      }
      try {
        Thread.sleep(wait);
      } catch (InterruptedException e) {
        return;
      }
      String from = last.lastEventId();
      Request req = request(HttpMethod.GET).idleTimeout(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())),
          TimeUnit.MILLISECONDS).headers(h -> {
            h.put(HttpHeader.ACCEPT, "text/event-stream");
            h.put("Last-Event-ID", from);
          });
      try {
        UpstreamHttp.Exchange resp = UpstreamHttp.exchange(req, Duration.ofNanos(Math.max(1, deadline - System.nanoTime())),
            ERROR_BODY_BYTES, "the server's resumed stream");
        if (resp.status() != 200 || resp.body() == null) {
          resp.discard();
          log.debug("upstream '{}': resuming the stream of request {} answered HTTP {}", name, id, resp.status());
          return;
        }
        log.debug("upstream '{}': resumed the stream of request {} after event {}", name, id, from);
        Events more = readEvents(resp.body(), id, false);
        if (more.answered()) {
          resp.body().close(); // the answer is in: the rest of that stream is not ours to read
        }
        last = new Events(more.lastEventId().isEmpty() ? from : more.lastEventId(), more.answered(), more.retryMillis());
      } catch (IOException e) {
        log.debug("upstream '{}': resuming the stream of request {} failed: {}", name, id, e.toString());
      }
    }
  }

  /** The server-initiated stream; reopened while the transport lives, unless the server has none (405). */
  private void runGetStream() {
    String[] lastEventId = {""};
    keepOpen("GET", () -> {
      String resume = lastEventId[0];
      // No total timeout: the stream lives as long as the session. A stream silent for longer than
      // GET_IDLE is closed and reopened (resuming from the last event id).
      Request req = request(HttpMethod.GET).idleTimeout(GET_IDLE.toMillis(), TimeUnit.MILLISECONDS).headers(h -> {
        h.put(HttpHeader.ACCEPT, "text/event-stream");
        if (!resume.isEmpty()) {
          h.put("Last-Event-ID", resume);
        }
      });
      UpstreamHttp.Exchange resp = UpstreamHttp.exchange(req, OPEN_TIMEOUT, ERROR_BODY_BYTES, "the server's GET stream");
      int status = resp.status();
      if (status == 405 || status == 404 && sessionId == null) {
        resp.discard();
        return Next.STOP; // no standalone stream offered
      }
      if (status == 404) {
        resp.discard();
        if (!closed.get()) {
          closed.set(true);
          listener.onClosed("session expired (HTTP 404 on GET stream)");
        }
        return Next.STOP;
      }
      if (status / 100 != 2 || resp.body() == null) {
        // An error, or no event stream (some servers answer the GET with JSON): retried with backoff.
        resp.discard();
        return Next.FAILED;
      }
      getBody = resp.body();
      String last = readEvents(getBody, null, true).lastEventId();
      if (!last.isEmpty()) {
        lastEventId[0] = last;
      }
      return Next.OPENED;
    });
  }

  /**
   * The stateless revision's change notifications: a {@code subscriptions/listen} POST whose event
   * stream stays open, asking for every list change; reopened with backoff while the transport lives.
   */
  private void runListenStream() {
    ObjectNode listen = listenRequest();
    byte[] body = Json.bytes(listen);
    keepOpen("listen", () -> {
      Request req = request(HttpMethod.POST, Map.of(McpHeaders.METHOD, "subscriptions/listen"))
          .idleTimeout(GET_IDLE.toMillis(), TimeUnit.MILLISECONDS)
          .headers(h -> h.put(HttpHeader.ACCEPT, "application/json, text/event-stream"))
          .body(new BytesRequestContent("application/json", body));
      UpstreamHttp.Exchange resp = UpstreamHttp.exchange(req, OPEN_TIMEOUT, ERROR_BODY_BYTES, "the server's listen stream");
      if (resp.status() / 100 != 2 || resp.body() == null || !resp.contentType().startsWith("text/event-stream")) {
        resp.discard();
        return resp.status() == 404 ? Next.STOP : Next.FAILED; // 404: no subscriptions, list changes seen on reconnect only
      }
      getBody = resp.body();
      readEvents(getBody, null, true);
      return Next.OPENED;
    });
  }

  /**
   * The {@code subscriptions/listen} request of a 2026-07-28 upstream connection: every list change,
   * under an id no call uses. Its notifications arrive as any others do.
   */
  static ObjectNode listenRequest() {
    ObjectNode listen = listenRequest("gatehouse-listen", (ObjectNode want) -> {
      want.put("toolsListChanged", true);
      want.put("promptsListChanged", true);
      want.put("resourcesListChanged", true);
    });
    return listen;
  }

  /** A {@code subscriptions/listen} for the updates of one resource, under request id {@code id}. */
  static ObjectNode listenRequest(String id, String uri) {
    return listenRequest(id, (ObjectNode want) -> want.putArray("resourceSubscriptions").add(uri));
  }

  private static ObjectNode listenRequest(String id, java.util.function.Consumer<ObjectNode> notifications) {
    ObjectNode listen = Json.object();
    listen.put("jsonrpc", "2.0");
    listen.put("id", id);
    listen.put("method", "subscriptions/listen");
    ObjectNode params = listen.putObject("params");
    ObjectNode meta = params.putObject("_meta");
    meta.put("io.modelcontextprotocol/protocolVersion", UpstreamConfig.StreamableHttp.STATELESS);
    meta.putObject("io.modelcontextprotocol/clientCapabilities");
    notifications.accept(params.putObject("notifications"));
    return listen;
  }

  /** One resource's listen stream: stopped by {@link #unsubscribe} or when the transport closes. */
  private static final class ResourceStream {
    final java.util.concurrent.atomic.AtomicBoolean stopped = new java.util.concurrent.atomic.AtomicBoolean();
    volatile InputStream body;

    void stop() {
      stopped.set(true);
      InputStream b = body;
      if (b != null) {
        try {
          b.close();
        } catch (IOException ignored) {
          // closing anyway
        }
      }
    }
  }

  private final Map<String, ResourceStream> resourceStreams = new java.util.concurrent.ConcurrentHashMap<>();
  private final AtomicLong resourceStreamIds = new AtomicLong();

  @Override
  public java.util.concurrent.CompletableFuture<Void> subscribe(String uri) {
    if (!stateless) {
      return Transport.super.subscribe(uri);
    }
    if (resourceStreams.size() >= MAX_RESOURCE_SUBSCRIPTIONS && !resourceStreams.containsKey(uri)) {
      return java.util.concurrent.CompletableFuture.failedFuture(new McpException(McpException.INVALID_PARAMS,
          "upstream '" + name + "': " + MAX_RESOURCE_SUBSCRIPTIONS + " resources are subscribed already"));
    }
    ResourceStream stream = new ResourceStream();
    if (resourceStreams.putIfAbsent(uri, stream) != null) {
      return java.util.concurrent.CompletableFuture.completedFuture(null);
    }
    // Subscribed once the upstream answers the listen with its stream; refused if it does not.
    java.util.concurrent.CompletableFuture<Void> opened = new java.util.concurrent.CompletableFuture<>();
    byte[] body = Json.bytes(listenRequest("gatehouse-resource-" + resourceStreamIds.incrementAndGet(), uri));
    Thread.ofVirtual().name("mcp-listen-" + name + "-resource").start(() -> keepOpen("resource listen",
        () -> stream.stopped.get(), () -> {
          Request req = request(HttpMethod.POST, Map.of(McpHeaders.METHOD, "subscriptions/listen"))
              .idleTimeout(GET_IDLE.toMillis(), TimeUnit.MILLISECONDS)
              .headers(h -> h.put(HttpHeader.ACCEPT, "application/json, text/event-stream"))
              .body(new BytesRequestContent("application/json", body));
          UpstreamHttp.Exchange resp;
          try {
            resp = UpstreamHttp.exchange(req, OPEN_TIMEOUT, ERROR_BODY_BYTES, "the server's listen stream");
          } catch (IOException e) {
            if (opened.completeExceptionally(new McpException(McpException.UPSTREAM_UNAVAILABLE,
                "upstream '" + name + "': subscribing " + uri + " failed: " + e.getMessage()))) {
              resourceStreams.remove(uri, stream);
              return Next.STOP;
            }
            throw e;
          }
          if (resp.status() / 100 != 2 || resp.body() == null || !resp.contentType().startsWith("text/event-stream")) {
            resp.discard();
            if (opened.completeExceptionally(new McpException(McpException.INVALID_PARAMS,
                "upstream '" + name + "' refused to listen to " + uri + " (HTTP " + resp.status() + ")"))) {
              resourceStreams.remove(uri, stream);
              return Next.STOP;
            }
            return resp.status() == 404 ? Next.STOP : Next.FAILED;
          }
          stream.body = resp.body();
          opened.complete(null);
          if (stream.stopped.get()) {
            stream.stop();
            return Next.STOP;
          }
          readEvents(stream.body, null, true);
          return Next.OPENED;
        }));
    return opened;
  }

  @Override
  public void unsubscribe(String uri) {
    ResourceStream stream = resourceStreams.remove(uri);
    if (stream != null) {
      stream.stop();
    }
  }

  /** What opening a long-lived stream came to: stop for good, it was open (and ended), or it failed. */
  private enum Next { STOP, OPENED, FAILED }

  private interface Opening {
    Next open() throws IOException;
  }

  /** Keeps a long-lived stream open while the transport lives, reopening it with backoff. */
  private void keepOpen(String what, Opening opening) {
    keepOpen(what, () -> false, opening);
  }

  /** The same, until {@code stopped} says otherwise. */
  private void keepOpen(String what, java.util.function.BooleanSupplier stopped, Opening opening) {
    long backoffMs = 500;
    while (!closed.get() && !stopped.getAsBoolean()) {
      try {
        Next next = opening.open();
        if (next == Next.STOP) {
          return;
        }
        if (next == Next.OPENED) {
          backoffMs = 500;
        }
      } catch (java.io.InterruptedIOException e) {
        return;
      } catch (IOException | java.io.UncheckedIOException e) {
        log.debug("upstream '{}': {} stream failed: {}", name, what, e.toString()); // a token that could not be had too
      }
      if (closed.get() || stopped.getAsBoolean()) {
        return;
      }
      try {
        Thread.sleep(backoffMs);
      } catch (InterruptedException e) {
        return;
      }
      backoffMs = Math.min(backoffMs * 2, 10_000);
    }
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    Thread t = getStream;
    if (t != null) {
      t.interrupt();
    }
    resourceStreams.values().forEach(ResourceStream::stop);
    resourceStreams.clear();
    InputStream body = getBody;
    if (body != null) {
      try {
        body.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
    String sid = sessionId;
    if (sid != null) {
      // Tell the server the session is over; best effort, bounded.
      try {
        request(HttpMethod.DELETE, Map.of(), tokens == null ? null : tokens.cached()).timeout(2, TimeUnit.SECONDS).send(result -> {});
      } catch (RuntimeException e) {
        log.debug("upstream '{}': DELETE failed: {}", name, e.toString());
      }
    }
  }

  Optional<String> sessionId() {
    return Optional.ofNullable(sessionId);
  }
}
