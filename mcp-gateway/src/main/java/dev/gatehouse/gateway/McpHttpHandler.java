package dev.gatehouse.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.identity.Principal;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Fields;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The MCP edge over HTTP: Streamable HTTP at {@code /mcp} and {@code /mcp/<server>}, legacy
 * HTTP+SSE at {@code /sse} (and {@code /sse/<server>}) with POSTs to {@code /message}. Validates
 * what the SDK does not (Host and Origin, body size, protocol version header, JSON-RPC shape) and
 * turns every failure into a JSON-RPC error body with the right status. Jetty types stop here.
 *
 * <p>POSTs never block: the body is read on demand, the call runs through the chain, and the answer is
 * written from its completion ({@link PostExchange}). Long-lived GET and legacy {@code /sse} streams
 * run on virtual threads of their own.
 */
final class McpHttpHandler {
  private static final Logger log = LoggerFactory.getLogger(McpHttpHandler.class);
  static final String SESSION_HEADER = "Mcp-Session-Id";
  static final String VERSION_HEADER = "MCP-Protocol-Version";
  private static final long KEEPALIVE_NANOS = TimeUnit.SECONDS.toNanos(15);
  private static final byte[] KEEPALIVE = ": keepalive\n\n".getBytes(StandardCharsets.US_ASCII);
  private static final SecureRandom RANDOM = new SecureRandom();

  private final McpDispatcher dispatcher;
  private final Supplier<HttpPolicy> policy;
  private final Supplier<Set<String>> servers;
  private final Supplier<EdgeAuth> auth;
  /** Where long-lived streams (GET, legacy /sse) run: each on a virtual thread of its own. */
  private final java.util.concurrent.Executor streams;
  /** Keep-alives of POST response streams. */
  private final java.util.concurrent.ScheduledExecutorService timers;

  McpHttpHandler(McpDispatcher dispatcher, Supplier<HttpPolicy> policy, Supplier<Set<String>> servers, Supplier<EdgeAuth> auth,
      java.util.concurrent.Executor streams, java.util.concurrent.ScheduledExecutorService timers) {
    this.dispatcher = dispatcher;
    this.policy = policy;
    this.servers = servers;
    this.auth = auth;
    this.streams = streams;
    this.timers = timers;
  }

  /** Sessions kept in Redis for every replica ({@code server.sessions.store}); null keeps them here only. */
  private volatile SharedSessions shared;

  void shared(SharedSessions sessions) {
    this.shared = sessions;
  }

  /**
   * A request for a session this replica does not hold: with a shared store, loads it (another replica
   * created it), registers it here and runs {@code then}, which finds it; otherwise, or when it is not
   * stored, answers 404 as the spec prescribes (503 when the store cannot be reached).
   */
  private void revive(String sid, McpSession.Scope scope, Request request, Response response, Callback callback, String path,
      HttpPolicy p, ThrowingRunnable then) {
    SharedSessions store = shared;
    if (store == null) {
      reject(response, callback, 404, RpcError.SESSION_NOT_FOUND, "Session not found: it expired or was closed; initialize a new one");
      return;
    }
    store.load(sid).whenComplete((stored, e) -> {
      if (e != null) {
        reject(response, callback, 503, RpcError.INTERNAL_ERROR, "Session store unavailable: " + store.location()
            + " cannot be reached; retry shortly");
      } else if (stored.isEmpty() || !stored.get().scope().equals(scope)) {
        reject(response, callback, 404, RpcError.SESSION_NOT_FOUND, "Session not found: it expired or was closed; initialize a new one");
      } else {
        Optional<McpDispatcher.SessionRefusal> refused = dispatcher.revive(sid, stored.get(), p.sessions());
        if (refused.isPresent()) {
          McpDispatcher.SessionRefusal r = refused.get();
          response.getHeaders().put(HttpHeader.RETRY_AFTER, Long.toString(r.retryAfterSeconds()));
          reject(response, callback, r.status(), r.code(), r.message());
        } else {
          streams.execute(() -> guarded(request, response, callback, path, then));
        }
      }
    });
  }

  /** Refusals from authentication, as JSON-RPC errors. */
  private static void authError(Response response, Callback callback, int status, String type, String message) {
    int code = switch (status) {
      case 401 -> RpcError.UNAUTHORIZED;
      case 403 -> RpcError.FORBIDDEN;
      default -> RpcError.INTERNAL_ERROR;
    };
    reject(response, callback, status, code, message);
  }

  /** False (after answering 403) if the session belongs to somebody else. */
  private static boolean owner(McpSession s, Principal caller, Response response, Callback callback) {
    if (s.rebind(caller)) {
      return true;
    }
    reject(response, callback, 403, RpcError.FORBIDDEN, "Forbidden: this session belongs to another principal");
    return false;
  }

  /** True if this handler owns the path. */
  static boolean owns(String path) {
    return path.equals("/mcp") || path.startsWith("/mcp/") || path.equals("/sse") || path.startsWith("/sse/")
        || path.equals("/message");
  }

  void handle(Request request, Response response, Callback callback, String path) {
    HttpPolicy p = policy.get();
    String host = request.getHeaders().get(HttpHeader.HOST);
    if (!p.hostAllowed(host)) {
      reject(response, callback, 403, RpcError.INVALID_REQUEST,
          "Forbidden: Host '" + host + "' is not allowed (server.allowed_hosts)");
      return;
    }
    String origin = request.getHeaders().get(HttpHeader.ORIGIN);
    if (!p.originAllowed(origin)) {
      reject(response, callback, 403, RpcError.INVALID_REQUEST,
          "Forbidden: Origin '" + origin + "' is not allowed (server.allowed_origins)");
      return;
    }
    auth.get().authenticate(request, response, callback, path, McpHttpHandler::authError).thenAccept(caller -> {
      if (caller != null) {
        guarded(request, response, callback, path, () -> route(request, response, callback, path, p, caller));
      }
    });
  }

  /** Runs {@code step}; whatever it throws is logged and answered 500, never left hanging. */
  private static void guarded(Request request, Response response, Callback callback, String path, ThrowingRunnable step) {
    try {
      step.run();
    } catch (Throwable t) {
      log.error("unexpected failure handling {} {}", request.getMethod(), path, t);
      if (!response.isCommitted()) {
        reject(response, callback, 500, RpcError.INTERNAL_ERROR, "Internal error");
      } else {
        callback.failed(t);
      }
    }
  }

  private interface ThrowingRunnable {
    void run() throws Exception;
  }

  private void route(Request request, Response response, Callback callback, String path, HttpPolicy p, Principal caller)
      throws IOException {
    String method = request.getMethod();
    if (path.equals("/message")) {
      if (HttpMethod.POST.is(method)) {
        legacyPost(request, response, callback, p, caller);
      } else {
        methodNotAllowed(response, callback, "POST");
      }
      return;
    }
    boolean legacy = path.startsWith("/sse");
    McpSession.Scope scope = scope(path, legacy ? "/sse" : "/mcp");
    if (scope == null) {
      String server = path.substring(5);
      reject(response, callback, 404, RpcError.INVALID_REQUEST, "No upstream server named '" + server + "' at " + path);
      return;
    }
    if (legacy) {
      if (HttpMethod.GET.is(method)) {
        // A long-lived stream: it gets a virtual thread of its own.
        streams.execute(() -> guarded(request, response, callback, path, () -> legacyStream(request, response, callback, scope, caller, p)));
      } else {
        methodNotAllowed(response, callback, "GET");
      }
      return;
    }
    String version = request.getHeaders().get(VERSION_HEADER);
    if (version != null && !ModernMcp.ALL_REVISIONS.contains(version) && !HttpMethod.POST.is(method)) {
      writeJson(response, callback, 400, JsonRpc.error(null, ModernMcp.unsupported(version)), null);
      return; // a POST is answered once its body is read, with its request's id
    }
    switch (method) {
      case "POST" -> post(request, response, callback, scope, p, caller, path);
      case "GET" -> streams.execute(() -> guarded(request, response, callback, path, () -> get(request, response, callback, scope, caller)));
      case "DELETE" -> delete(request, response, callback, scope, caller);
      default -> methodNotAllowed(response, callback, "GET, POST, DELETE");
    }
  }

  private McpSession.Scope scope(String path, String prefix) {
    if (path.length() <= prefix.length() + 1) {
      return new McpSession.Federated();
    }
    String server = path.substring(prefix.length() + 1);
    return servers.get().contains(server) ? new McpSession.Single(server) : null;
  }

  // ---------------------------------------------------------------- Streamable HTTP

  private void post(Request request, Response response, Callback callback, McpSession.Scope scope, HttpPolicy p,
      Principal caller, String path) {
    String type = request.getHeaders().get(HttpHeader.CONTENT_TYPE);
    if (type == null || !type.toLowerCase().startsWith("application/json")) {
      reject(response, callback, 415, RpcError.INVALID_REQUEST,
          "Unsupported Content-Type '" + type + "' (expected: application/json)");
      return;
    }
    String accept = request.getHeaders().get(HttpHeader.ACCEPT);
    boolean acceptsSse = accept == null || accept.contains("text/event-stream") || accept.contains("*/*");
    if (accept != null && !accept.contains("application/json") && !acceptsSse) {
      reject(response, callback, 406, RpcError.INVALID_REQUEST,
          "Not Acceptable: Accept must include application/json and text/event-stream");
      return;
    }
    readJson(request, response, callback, p, body -> guarded(request, response, callback, path,
        () -> posted(request, response, callback, scope, p, caller, body, acceptsSse)));
  }

  /** A POSTed message, its body read. */
  private void posted(Request request, Response response, Callback callback, McpSession.Scope scope, HttpPolicy p, Principal caller,
      JsonNode body, boolean acceptsSse) {
    String sid = request.getHeaders().get(SESSION_HEADER);
    String headerVersion = request.getHeaders().get(VERSION_HEADER);
    if (headerVersion != null && !ModernMcp.ALL_REVISIONS.contains(headerVersion)) {
      JsonNode id = body instanceof ObjectNode msg && (msg.path("id").isTextual() || msg.path("id").isIntegralNumber()) ? msg.get("id") : null;
      writeJson(response, callback, 400, JsonRpc.error(id, ModernMcp.unsupported(headerVersion)), null);
      return;
    }
    if (body instanceof ObjectNode msg && ModernMcp.modern(headerVersion, msg)) {
      stateless(request, response, callback, scope, p, caller, msg, acceptsSse);
      return;
    }
    if (body instanceof ObjectNode msg && "initialize".equals(msg.path("method").asText(null))) {
      initialize(response, callback, scope, msg, caller, p);
      return;
    }
    String version = headerVersion;
    if (body instanceof ArrayNode && ModernMcp.REVISION.equals(version)) {
      reject(response, callback, 400, RpcError.INVALID_REQUEST, "Invalid Request: JSON-RPC batches are not part of MCP " + version);
      return;
    }
    if (sid == null) {
      reject(response, callback, 400, RpcError.INVALID_REQUEST,
          "Bad Request: Mcp-Session-Id header is required (send initialize first)");
      return;
    }
    McpSession s = dispatcher.session(sid).orElse(null);
    if (s == null) {
      revive(sid, scope, request, response, callback, request.getHttpURI().getPath(), p,
          () -> posted(request, response, callback, scope, p, caller, body, acceptsSse));
      return;
    }
    if (!s.scope().equals(scope) || s.legacySse()) {
      reject(response, callback, 404, RpcError.SESSION_NOT_FOUND, "Session not found: it expired or was closed; initialize a new one");
      return;
    }
    if (!owner(s, caller, response, callback)) {
      return;
    }
    SharedSessions store = shared;
    if (store != null) {
      store.touch(s);
    }
    if (body instanceof ArrayNode batch) {
      batch(response, callback, s, batch, p);
      return;
    }
    ObjectNode msg = (ObjectNode) body;
    RpcError invalid = validate(msg);
    if (invalid != null) {
      writeJson(response, callback, 400, JsonRpc.error(msg.get("id"), invalid), null);
      return;
    }
    if (!msg.has("method")) {
      dispatcher.response(s, msg.get("id"), msg);
      accepted(response, callback);
      return;
    }
    String method = msg.get("method").asText();
    ObjectNode params = msg.get("params") instanceof ObjectNode o ? o : Json.object();
    if (!msg.has("id")) {
      dispatcher.notification(s, method, params);
      accepted(response, callback);
      return;
    }
    JsonNode id = msg.get("id");
    Optional<String> chain = Chains.fromHeaders(request.getHeaders().get(Chains.HEADER), request.getHeaders().get("traceparent"));
    Chains.headerIntoMeta(params, request.getHeaders().get("traceparent"));
    response.getHeaders().put(Chains.HEADER, chain.orElse(s.id()));
    PostExchange exchange = new PostExchange(response, callback, acceptsSse, timers, s);
    CompletableFuture<ObjectNode> answer = dispatcher.request(s, id, method, params, exchange, chain);
    answer.whenComplete((r, e) -> exchange.complete(e == null ? r : JsonRpc.error(id, RpcError.from(e))));
  }

  // ---------------------------------------------------------------- MCP 2026-07-28 (stateless)

  /**
   * A request of the stateless revision: no session is looked up or kept. Its context (client
   * capabilities, info, log level, the mirrored headers) lives as long as the request; a
   * {@code subscriptions/listen} as long as its stream.
   */
  private void stateless(Request request, Response response, Callback callback, McpSession.Scope scope, HttpPolicy p,
      Principal caller, ObjectNode msg, boolean acceptsSse) {
    RpcError invalid = validate(msg);
    if (invalid != null) {
      writeJson(response, callback, 400, JsonRpc.error(msg.get("id"), invalid), null);
      return;
    }
    if (!msg.has("method")) {
      reject(response, callback, 400, RpcError.INVALID_REQUEST, "Invalid Request: clients send no responses in MCP "
          + ModernMcp.REVISION + " (what a server needs from a client comes back as a multi round-trip result)");
      return;
    }
    if (!msg.has("id")) {
      accepted(response, callback); // no client notification is defined over HTTP in 2026-07-28: accepted, ignored
      return;
    }
    HttpFields h = request.getHeaders();
    java.util.Map<String, String> mirrored = new java.util.HashMap<>();
    for (HttpField f : h) {
      String name = f.getName();
      if (name.length() > ModernMcp.PARAM_HEADER.length() && name.regionMatches(true, 0, ModernMcp.PARAM_HEADER, 0, ModernMcp.PARAM_HEADER.length())) {
        mirrored.put(name.substring(ModernMcp.PARAM_HEADER.length()), f.getValue());
      }
    }
    ModernMcp.Mirror mirror = new ModernMcp.Mirror(h.get(VERSION_HEADER), h.get(ModernMcp.METHOD_HEADER), h.get(ModernMcp.NAME_HEADER), mirrored);
    ObjectNode params = msg.get("params") instanceof ObjectNode o ? o : Json.object();
    JsonNode id = msg.get("id");
    RpcError incomplete = ModernMcp.metaProblem(params);
    if (incomplete != null) {
      writeJson(response, callback, 400, JsonRpc.error(id, incomplete), null);
      return;
    }
    ObjectNode meta = (ObjectNode) params.get("_meta");
    String method = msg.get("method").asText();
    String traceparent = h.get("traceparent");
    Optional<String> chain = Chains.fromHeaders(h.get(Chains.HEADER), traceparent != null ? traceparent : meta.path("traceparent").asText(null));
    Chains.headerIntoMeta(params, traceparent);
    McpSession s = McpSession.stateless(newSessionId(), scope, caller, mirror, meta);
    response.getHeaders().put(Chains.HEADER, chain.orElse(s.id()));
    if (method.equals("subscriptions/listen") && acceptsSse) {
      listen(request, response, callback, s, id, params, p, chain);
      return;
    }
    PostExchange exchange = new PostExchange(response, callback, acceptsSse, timers, s);
    dispatcher.request(s, id, method, params, exchange, chain)
        .whenComplete((r, e) -> exchange.complete(e == null ? r : JsonRpc.error(id, RpcError.from(e))));
  }

  /**
   * {@code subscriptions/listen}: the listener is admitted like a session (the same limits per caller
   * and gateway), its resources subscribed, then its stream runs on a virtual thread of its own: the
   * acknowledgment first, then only the notifications it asked for, each tagged with its subscription.
   */
  private void listen(Request request, Response response, Callback callback, McpSession s, JsonNode id, ObjectNode params, HttpPolicy p,
      Optional<String> chain) {
    RpcError broken = s.mirror().check("subscriptions/listen", params);
    if (broken != null) {
      writeJson(response, callback, 400, JsonRpc.error(id, broken), null);
      return;
    }
    if (!admitted(s, response, callback, p)) {
      return;
    }
    CompletableFuture<ObjectNode> ack;
    try {
      ack = dispatcher.listen(s, params, chain);
    } catch (RpcException e) {
      dispatcher.close(s);
      writeJson(response, callback, 200, JsonRpc.error(id, e.error()), null);
      return;
    }
    ack.whenComplete((a, e) -> streams.execute(() -> guarded(request, response, callback, "subscriptions/listen", () -> {
      if (e != null) {
        dispatcher.close(s);
        writeJson(response, callback, 200, JsonRpc.error(id, RpcError.from(e)), null);
      } else {
        listenStream(response, callback, s, id, a);
      }
    })));
  }

  private void listenStream(Response response, Callback callback, McpSession s, JsonNode id, ObjectNode ack) {
    long generation = s.attachStream();
    try {
      startStream(response);
      ObjectNode ackParams = Json.object();
      ackParams.putObject("_meta").set(ModernMcp.SUBSCRIPTION_KEY, id);
      ackParams.set("notifications", ack);
      writeEvent(response, JsonRpc.notification("notifications/subscriptions/acknowledged", ackParams), false);
      pump(response, s, generation, m -> {
        if (!McpDispatcher.wanted(ack, m)) {
          return null;
        }
        ObjectNode tagged = m.deepCopy();
        ObjectNode params = tagged.get("params") instanceof ObjectNode o ? o : tagged.putObject("params");
        (params.get("_meta") instanceof ObjectNode meta ? meta : params.putObject("_meta")).set(ModernMcp.SUBSCRIPTION_KEY, id);
        return tagged;
      });
      // The gateway ends the subscription (shutdown, too many streams): a result says it ended on purpose.
      ObjectNode end = Json.object();
      end.put("resultType", "complete");
      end.putObject("_meta").set(ModernMcp.SUBSCRIPTION_KEY, id);
      writeEvent(response, JsonRpc.result(id, end), true);
      callback.succeeded();
    } catch (IOException | InterruptedException e) {
      callback.failed(e);
    } finally {
      s.detachStream(generation);
      dispatcher.close(s, s.overflowed() ? "queue_full" : "closed");
    }
  }

  /** Registers a new session, or answers the refusal (429 or 503 with Retry-After) and returns false. */
  private boolean admitted(McpSession s, Response response, Callback callback, HttpPolicy p) {
    Optional<McpDispatcher.SessionRefusal> refused = dispatcher.admit(s, p.sessions());
    if (refused.isEmpty()) {
      return true;
    }
    McpDispatcher.SessionRefusal r = refused.get();
    response.getHeaders().put(HttpHeader.RETRY_AFTER, Long.toString(r.retryAfterSeconds()));
    reject(response, callback, r.status(), r.code(), r.message());
    return false;
  }

  private void initialize(Response response, Callback callback, McpSession.Scope scope, ObjectNode msg, Principal caller,
      HttpPolicy p) {
    RpcError invalid = validate(msg);
    if (invalid != null || !msg.has("id")) {
      writeJson(response, callback, 400, JsonRpc.error(msg.get("id"),
          invalid != null ? invalid : RpcError.of(RpcError.INVALID_REQUEST, "initialize must be a request with an id")), null);
      return;
    }
    McpSession s = new McpSession(newSessionId(), scope, false, caller);
    if (!admitted(s, response, callback, p)) {
      return;
    }
    ObjectNode params = msg.get("params") instanceof ObjectNode o ? o : Json.object();
    ObjectNode answer = dispatcher.request(s, msg.get("id"), "initialize", params, m -> false, Optional.empty()).join(); // answered at once
    SharedSessions store = shared;
    if (store == null || !answer.has("result")) {
      writeJson(response, callback, 200, answer, s.id());
      return;
    }
    // Stored before the client hears of it: its next request may reach another replica.
    store.save(s).whenComplete((v, e) -> {
      if (e == null) {
        writeJson(response, callback, 200, answer, s.id());
      } else {
        dispatcher.close(s);
        writeJson(response, callback, 503, JsonRpc.error(msg.get("id"), RpcError.of(RpcError.INTERNAL_ERROR,
            "Session store unavailable: " + store.location() + " cannot be reached; retry shortly")), null);
      }
    });
  }

  /** JSON-RPC batches exist only in protocol 2025-03-26; answers come back as one JSON array. */
  private void batch(Response response, Callback callback, McpSession s, ArrayNode batch, HttpPolicy p) {
    if (!s.protocolVersion().equals("2025-03-26")) {
      reject(response, callback, 400, RpcError.INVALID_REQUEST,
          "JSON-RPC batches are not supported in protocol version " + s.protocolVersion());
      return;
    }
    if (batch.isEmpty()) {
      reject(response, callback, 400, RpcError.INVALID_REQUEST, "Invalid Request: empty batch");
      return;
    }
    if (batch.size() > p.maxBatchSize()) {
      reject(response, callback, 400, RpcError.INVALID_REQUEST, "Invalid Request: a batch of " + batch.size()
          + " messages (expected: at most " + p.maxBatchSize() + ", server.max_batch_size)");
      return;
    }
    List<CompletableFuture<ObjectNode>> answers = new ArrayList<>();
    for (JsonNode n : batch) {
      if (!(n instanceof ObjectNode msg)) {
        answers.add(CompletableFuture.completedFuture(JsonRpc.error(null, RpcError.INVALID_REQUEST, "Invalid Request: expected an object")));
        continue;
      }
      RpcError invalid = validate(msg);
      if (invalid != null) {
        answers.add(CompletableFuture.completedFuture(JsonRpc.error(msg.get("id"), invalid)));
      } else if (!msg.has("method")) {
        dispatcher.response(s, msg.get("id"), msg);
      } else if (!msg.has("id")) {
        dispatcher.notification(s, msg.get("method").asText(), msg.get("params") instanceof ObjectNode o ? o : Json.object());
      } else if ("initialize".equals(msg.get("method").asText())) {
        answers.add(CompletableFuture.completedFuture(JsonRpc.error(msg.get("id"), RpcError.INVALID_REQUEST,
            "initialize must not be part of a batch")));
      } else {
        JsonNode id = msg.get("id");
        answers.add(dispatcher.request(s, id, msg.get("method").asText(),
                msg.get("params") instanceof ObjectNode o ? o : Json.object(), s::enqueue, Optional.empty()));
      }
    }
    if (answers.isEmpty()) {
      accepted(response, callback);
      return;
    }
    CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> {
      ArrayNode out = Json.MAPPER.createArrayNode();
      answers.forEach(a -> out.add(a.join())); // all done: none blocks
      writeJson(response, callback, 200, out, null);
    });
  }

  private void get(Request request, Response response, Callback callback, McpSession.Scope scope, Principal caller) {
    String accept = request.getHeaders().get(HttpHeader.ACCEPT);
    if (accept == null || !(accept.contains("text/event-stream") || accept.contains("*/*"))) {
      reject(response, callback, 406, RpcError.INVALID_REQUEST, "Not Acceptable: GET needs Accept: text/event-stream");
      return;
    }
    String sid = request.getHeaders().get(SESSION_HEADER);
    if (sid == null) {
      reject(response, callback, 400, RpcError.INVALID_REQUEST, "Bad Request: Mcp-Session-Id header is required");
      return;
    }
    Optional<McpSession> found = dispatcher.session(sid);
    if (found.isEmpty()) {
      revive(sid, scope, request, response, callback, request.getHttpURI().getPath(), policy.get(),
          () -> get(request, response, callback, scope, caller));
      return;
    }
    McpSession s = found.filter(x -> x.scope().equals(scope) && !x.legacySse()).orElse(null);
    if (s == null) {
      reject(response, callback, 404, RpcError.SESSION_NOT_FOUND, "Session not found: it expired or was closed; initialize a new one");
      return;
    }
    if (!owner(s, caller, response, callback)) {
      return;
    }
    // A new GET replaces the one attached: a client whose stream dropped reconnects at once.
    long generation = s.attachStream();
    try {
      startStream(response);
      SharedSessions store = shared;
      if (store != null) {
        pumpResumable(request, response, s, generation, store);
      } else {
        pump(response, s, generation);
      }
      callback.succeeded();
    } catch (IOException | InterruptedException e) {
      callback.failed(e);
    } finally {
      s.detachStream(generation);
    }
  }

  /**
   * Writes the session's unsolicited messages until the client leaves, the session ends, or a newer
   * stream replaces this one.
   */
  private void pump(Response response, McpSession s, long generation) throws IOException, InterruptedException {
    pump(response, s, generation, m -> m);
    Content.Sink.write(response, true, ByteBuffer.allocate(0));
  }

  /** How a stream writes one message. */
  private interface EventWriter {
    void write(Response response, ObjectNode message) throws IOException;
  }

  /** The same, each message as {@code shape} makes it (null: not for this stream); the stream is left open. */
  private static void pump(Response response, McpSession s, long generation, java.util.function.UnaryOperator<ObjectNode> shape)
      throws IOException, InterruptedException {
    pump(response, s, generation, shape, (r, m) -> writeEvent(r, m, false));
  }

  private static void pump(Response response, McpSession s, long generation, java.util.function.UnaryOperator<ObjectNode> shape,
      EventWriter writer) throws IOException, InterruptedException {
    while (s.streamCurrent(generation)) {
      ObjectNode m = s.poll(KEEPALIVE_NANOS, generation);
      if (m == null) {
        if (!s.streamCurrent(generation)) {
          break;
        }
        Content.Sink.write(response, false, ByteBuffer.wrap(KEEPALIVE));
      } else if ((m = shape.apply(m)) != null) {
        writer.write(response, m);
      }
    }
  }

  /**
   * A shared session's GET stream: first what the client missed after {@code Last-Event-ID} (kept in
   * Redis by whichever replica wrote it), then the live messages, each recorded there before it is
   * written with its id, so a client whose stream breaks resumes on any replica.
   */
  private static void pumpResumable(Request request, Response response, McpSession s, long generation, SharedSessions store)
      throws IOException, InterruptedException {
    String last = request.getHeaders().get("Last-Event-ID");
    if (last != null) {
      for (SharedSessions.Event e : store.after(s.id(), last)) {
        Content.Sink.write(response, false, event(e.id(), e.message()));
      }
    }
    pump(response, s, generation, m -> m, (r, m) -> Content.Sink.write(r, false, event(store.record(s.id(), m), m)));
    Content.Sink.write(response, true, ByteBuffer.allocate(0));
  }

  private void delete(Request request, Response response, Callback callback, McpSession.Scope scope, Principal caller) {
    String sid = request.getHeaders().get(SESSION_HEADER);
    if (sid == null) {
      reject(response, callback, 400, RpcError.INVALID_REQUEST, "Bad Request: Mcp-Session-Id header is required");
      return;
    }
    Optional<McpSession> found = dispatcher.session(sid);
    if (found.isEmpty()) {
      revive(sid, scope, request, response, callback, request.getHttpURI().getPath(), policy.get(),
          () -> delete(request, response, callback, scope, caller));
      return;
    }
    McpSession s = found.filter(x -> x.scope().equals(scope)).orElse(null);
    if (s == null) {
      reject(response, callback, 404, RpcError.SESSION_NOT_FOUND, "Session not found");
      return;
    }
    if (!owner(s, caller, response, callback)) {
      return;
    }
    dispatcher.close(s);
    SharedSessions store = shared;
    if (store != null) {
      store.delete(sid);
    }
    response.setStatus(204);
    callback.succeeded();
  }

  // ---------------------------------------------------------------- legacy HTTP+SSE

  private void legacyStream(Request request, Response response, Callback callback, McpSession.Scope scope, Principal caller,
      HttpPolicy p) {
    McpSession s = new McpSession(newSessionId(), scope, true, caller);
    long generation = s.attachStream();
    if (!admitted(s, response, callback, p)) {
      return;
    }
    try {
      startStream(response);
      String endpoint = "/message?sessionId=" + s.id();
      Content.Sink.write(response, false, ByteBuffer.wrap(("event: endpoint\ndata: " + endpoint + "\n\n").getBytes(StandardCharsets.UTF_8)));
      pump(response, s, generation);
      callback.succeeded();
    } catch (IOException | InterruptedException e) {
      callback.failed(e);
    } finally {
      s.detachStream(generation);
      dispatcher.close(s, s.overflowed() ? "queue_full" : "closed"); // the stream is the session: when it goes, so does the session
    }
  }

  private void legacyPost(Request request, Response response, Callback callback, HttpPolicy p, Principal caller) {
    Fields query = Request.extractQueryParameters(request);
    String sid = query.getValue("sessionId");
    McpSession s = dispatcher.session(sid).filter(McpSession::legacySse).orElse(null);
    if (s == null) {
      reject(response, callback, 404, RpcError.SESSION_NOT_FOUND, "Session not found: open /sse first and POST to the endpoint it names");
      return;
    }
    if (!owner(s, caller, response, callback)) {
      return;
    }
    readJson(request, response, callback, p, body -> guarded(request, response, callback, "/message",
        () -> legacyPosted(request, response, callback, s, body)));
  }

  private void legacyPosted(Request request, Response response, Callback callback, McpSession s, JsonNode body) {
    if (!(body instanceof ObjectNode msg)) {
      reject(response, callback, 400, RpcError.INVALID_REQUEST, "Invalid Request: batches are not supported on the SSE transport");
      return;
    }
    RpcError invalid = validate(msg);
    if (invalid != null) {
      writeJson(response, callback, 400, JsonRpc.error(msg.get("id"), invalid), null);
      return;
    }
    if (!msg.has("method")) {
      dispatcher.response(s, msg.get("id"), msg);
    } else if (!msg.has("id")) {
      dispatcher.notification(s, msg.get("method").asText(), msg.get("params") instanceof ObjectNode o ? o : Json.object());
    } else {
      JsonNode id = msg.get("id");
      Optional<String> chain = Chains.fromHeaders(request.getHeaders().get(Chains.HEADER), request.getHeaders().get("traceparent"));
      response.getHeaders().put(Chains.HEADER, chain.orElse(s.id()));
      dispatcher.request(s, id, msg.get("method").asText(), msg.get("params") instanceof ObjectNode o ? o : Json.object(), s::enqueue, chain)
          .whenComplete((r, e) -> s.enqueue(e == null ? r : JsonRpc.error(id, RpcError.from(e))));
    }
    accepted(response, callback);
  }

  // ---------------------------------------------------------------- helpers

  /** Reads and parses the body within the size limit, then goes on with {@code next}; on failure answers. */
  private static void readJson(Request request, Response response, Callback callback, HttpPolicy p,
      java.util.function.Consumer<JsonNode> next) {
    Bodies.read(request, p.maxRequestBytes()).whenComplete((bytes, failure) -> {
      if (failure != null) {
        Bodies.TooLarge tooLarge = Bodies.tooLarge(failure);
        if (tooLarge != null) {
          reject(response, callback, 413, RpcError.INVALID_REQUEST, tooLarge.getMessage());
        } else {
          reject(response, callback, 400, RpcError.INVALID_REQUEST, "Bad Request: the body could not be read");
        }
        return;
      }
      JsonNode node;
      try {
        node = bytes.length == 0 ? null : Json.MAPPER.readTree(bytes);
      } catch (JsonProcessingException e) {
        reject(response, callback, 400, RpcError.PARSE_ERROR, "Parse error: " + e.getOriginalMessage());
        return;
      } catch (IOException e) {
        reject(response, callback, 400, RpcError.PARSE_ERROR, "Parse error");
        return;
      }
      if (node == null || !(node.isObject() || node.isArray())) {
        reject(response, callback, 400, RpcError.INVALID_REQUEST, "Invalid Request: expected a JSON-RPC message object");
        return;
      }
      next.accept(node);
    });
  }

  /** Checks the JSON-RPC 2.0 shape of one message; null if valid. */
  static RpcError validate(ObjectNode msg) {
    if (!"2.0".equals(msg.path("jsonrpc").asText(null))) {
      return RpcError.of(RpcError.INVALID_REQUEST, "Invalid Request: 'jsonrpc' must be \"2.0\"");
    }
    JsonNode id = msg.get("id");
    if (id != null && !(id.isTextual() || id.isIntegralNumber())) {
      return RpcError.of(RpcError.INVALID_REQUEST, "Invalid Request: 'id' must be a string or an integer");
    }
    JsonNode method = msg.get("method");
    if (method != null) {
      if (!method.isTextual() || method.asText().isEmpty()) {
        return RpcError.of(RpcError.INVALID_REQUEST, "Invalid Request: 'method' must be a non-empty string");
      }
      JsonNode params = msg.get("params");
      if (params != null && !params.isObject()) {
        return RpcError.of(RpcError.INVALID_PARAMS, "Invalid params: 'params' must be an object");
      }
      return null;
    }
    if (id == null || (msg.has("result") == msg.has("error"))) {
      return RpcError.of(RpcError.INVALID_REQUEST,
          "Invalid Request: expected a request ('method', 'id'), a notification ('method') or a response ('id' and 'result' or 'error')");
    }
    return null;
  }

  static void startStream(Response response) throws IOException {
    response.setStatus(200);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream");
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
    response.getHeaders().put(new HttpField("X-Accel-Buffering", "no"));
    Content.Sink.write(response, false, ByteBuffer.allocate(0)); // commit headers now
  }

  private static void writeEvent(Response response, ObjectNode message, boolean last) throws IOException {
    Content.Sink.write(response, last, event(message));
  }

  /** One message as an SSE event with an id (none when {@code id} is null). */
  static ByteBuffer event(String id, ObjectNode message) {
    if (id == null) {
      return event(message);
    }
    byte[] json = Json.bytes(message);
    byte[] head = ("id: " + id + "\nevent: message\ndata: ").getBytes(StandardCharsets.US_ASCII);
    ByteBuffer buf = ByteBuffer.allocate(head.length + json.length + 2);
    buf.put(head).put(json).put((byte) '\n').put((byte) '\n').flip();
    return buf;
  }

  /** One message as an SSE event. */
  static ByteBuffer event(ObjectNode message) {
    byte[] json = Json.bytes(message);
    ByteBuffer buf = ByteBuffer.allocate(json.length + 24);
    buf.put("event: message\ndata: ".getBytes(StandardCharsets.US_ASCII)).put(json).put((byte) '\n').put((byte) '\n').flip();
    return buf;
  }

  static void writeJson(Response response, Callback callback, int status, JsonNode body, String sessionId) {
    if (status >= 400) {
      Bodies.dropUnread(response, status);
    }
    response.setStatus(status);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
    if (sessionId != null) {
      response.getHeaders().put(SESSION_HEADER, sessionId);
    }
    response.write(true, ByteBuffer.wrap(Json.bytes(body)), callback);
  }

  static void reject(Response response, Callback callback, int status, int code, String message) {
    writeJson(response, callback, status, JsonRpc.error(null, code, message), null);
  }

  private static void accepted(Response response, Callback callback) {
    response.setStatus(202);
    callback.succeeded();
  }

  private static void methodNotAllowed(Response response, Callback callback, String allow) {
    response.getHeaders().put(HttpHeader.ALLOW, allow);
    reject(response, callback, 405, RpcError.INVALID_REQUEST, "Method Not Allowed (allowed: " + allow + ")");
  }

  private static String newSessionId() {
    byte[] b = new byte[18];
    RANDOM.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }
}
