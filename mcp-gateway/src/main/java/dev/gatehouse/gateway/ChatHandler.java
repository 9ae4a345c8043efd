package dev.gatehouse.gateway;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.identity.Principal;
import dev.gatehouse.policy.Action;
import dev.gatehouse.policy.Decision;
import dev.gatehouse.policy.GlobList;
import dev.gatehouse.policy.PolicyEngine;
import dev.gatehouse.registry.CallContext;
import dev.gatehouse.registry.FederatedCatalog;
import dev.gatehouse.registry.ToolRegistry;
import dev.gatehouse.router.ChatResult;
import dev.gatehouse.router.ChunkSink;
import dev.gatehouse.router.ModelInfo;
import dev.gatehouse.router.Route;
import dev.gatehouse.router.RouteOptions;
import dev.gatehouse.router.Router;
import dev.gatehouse.router.RouterException;
import dev.gatehouse.router.StreamResult;
import dev.gatehouse.router.Usage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * {@code POST /v1/chat/completions} and {@code GET /v1/models}, OpenAI-compatible. Around the
 * {@link Router} it adds what the gateway owns: the caller's identity, the model policy (the
 * requested model and every fallback), daily budgets with budget-triggered fallback, the caller's
 * MCP tools offered to the model, agent mode, and a chain step per model call, linked
 * model → tool → model.
 */
final class ChatHandler {
  static final String COMPLETIONS = "/v1/chat/completions";
  static final String MODELS = "/v1/models";
  static final String EMBEDDINGS = "/v1/embeddings";
  static final String MESSAGES = "/v1/messages";
  static final String RESPONSES = "/v1/responses";
  static final String TOOLS_HEADER = "x-gatehouse-tools";
  /** Longest model name (or alias) accepted; the longest real ones (Bedrock ARNs) are about 120. */
  static final int MAX_MODEL_CHARS = 256;
  private final Supplier<Router> router;
  private final Supplier<GatewayConfig> config;
  private final CallChain chain;
  private final Access access;
  private final ToolRegistry registry;
  private final ExecuteHandler execute;
  private final Supplier<EdgeAuth> auth;
  private final Supplier<HttpPolicy> http;
  private final Supplier<AuditRecorder> audit;
  private final AgentStash stash = new AgentStash();
  private final ModelDoor messagesDoor = new MessagesDoor();
  private final ResponsesDoor responsesDoor = new ResponsesDoor();

  ChatHandler(Supplier<Router> router, Supplier<GatewayConfig> config, CallChain chain, ToolRegistry registry,
      ExecuteHandler execute, Supplier<EdgeAuth> auth, Supplier<HttpPolicy> http, Supplier<AuditRecorder> audit) {
    this.router = router;
    this.config = config;
    this.chain = chain;
    this.access = chain.access();
    this.registry = registry;
    this.execute = execute;
    this.auth = auth;
    this.http = http;
    this.audit = audit;
  }

  /** A request the endpoint refuses before it becomes a call (malformed, too large). */
  static final class Refused extends RuntimeException {
    final int status;
    final String type;
    final String code;

    Refused(int status, String type, String code, String message) {
      super(message, null, false, false);
      this.status = status;
      this.type = type;
      this.code = code;
    }
  }

  /** Whether {@code path} is one of this handler's. */
  static boolean owns(String path) {
    return path.equals(COMPLETIONS) || path.equals(MODELS) || path.equals(EMBEDDINGS) || path.equals(MESSAGES)
        || path.equals(RESPONSES) || path.startsWith(RESPONSES + "/");
  }

  /** The door of a model API path; chat's for the others (their errors are OpenAI's). */
  private ModelDoor door(String path) {
    return path.equals(MESSAGES) ? messagesDoor : path.startsWith(RESPONSES) ? responsesDoor : ModelDoor.CHAT;
  }

  void handle(Request request, Response response, Callback callback, String path) {
    ModelDoor door = door(path);
    String chain = Chains.fromHeaders(request.getHeaders().get(Chains.HEADER), request.getHeaders().get("traceparent"))
        .orElseGet(Chains::generate);
    response.getHeaders().put(Chains.HEADER, chain);
    HttpPolicy p = http.get();
    if (!p.hostAllowed(request.getHeaders().get(HttpHeader.HOST)) || !p.originAllowed(request.getHeaders().get(HttpHeader.ORIGIN))) {
      door.error(response, callback, 403, "permission_error", "forbidden_origin", "Host or Origin not allowed");
      return;
    }
    boolean models = path.equals(MODELS);
    boolean stored = path.startsWith(RESPONSES + "/");
    String method = request.getMethod();
    boolean allowed = models ? HttpMethod.GET.is(method)
        : stored ? HttpMethod.GET.is(method) || HttpMethod.DELETE.is(method) : HttpMethod.POST.is(method);
    if (!allowed) {
      String allow = models ? "GET" : stored ? "GET, DELETE" : "POST";
      response.getHeaders().put(HttpHeader.ALLOW, allow);
      door.error(response, callback, 405, "invalid_request_error", "method_not_allowed", "Use " + allow);
      return;
    }
    auth.get().authenticate(request, response, callback, path, door::authError).thenAccept(caller -> {
      if (caller == null) {
        return;
      }
      if (models) {
        models(response, callback, caller);
        return;
      }
      if (stored) {
        responsesDoor.stored(response, callback, caller, path.substring(RESPONSES.length() + 1), HttpMethod.DELETE.is(method));
        return;
      }
      boolean embeddings = path.equals(EMBEDDINGS);
      Bodies.readThen(request, response, callback, p.maxRequestBytes(), embeddings ? "embeddings request" : door.name() + " request",
          (bytes, failure) -> completions(request, response, callback, caller, chain, bytes, failure, embeddings ? null : door));
    });
  }

  /** The body is in: a chat request, or its refusal (recorded as a step of its chain). */
  private void completions(Request request, Response response, Callback callback, Principal caller, String chain, byte[] bytes,
      Throwable failure, ModelDoor door) {
    boolean embeddings = door == null;
    ModelDoor errors = embeddings ? ModelDoor.CHAT : door;
    ObjectNode body = null;
    try {
      if (failure != null) {
        if (Bodies.tooLarge(failure) != null) {
          throw new Refused(413, "invalid_request_error", "request_too_large", Bodies.tooLarge(failure).getMessage());
        }
        errors.error(response, callback, 400, "invalid_request_error", "unreadable_body", "The request body could not be read");
        return;
      }
      body = json(bytes);
      if (embeddings) {
        embeddings(response, callback, caller, chain, body, request.getHeaders().get("traceparent"));
      } else {
        completions(request, response, callback, caller, chain, body, door);
      }
    } catch (Refused r) {
      // A request refused before it became a call: still a step of its chain, naming what was wrong.
      String model = body != null && body.path("model").isTextual() && !body.path("model").asText().isBlank()
          ? body.path("model").asText() : embeddings ? EMBEDDINGS : "/v1/" + errors.name();
      audit.get().invalidRequest(caller, chain, embeddings ? "embeddings" : errors.name(), model, r.status, r.code + ": " + r.getMessage(), body == null ? Json.object() : body)
          .whenComplete((v, e) -> errors.error(response, callback, r.status, r.type, r.code, r.getMessage()));
    }
  }

  // ------------------------------------------------------------------ POST /v1/embeddings

  /** Most inputs one embeddings request may carry (OpenAI's own limit). */
  static final int MAX_EMBEDDING_INPUTS = 2048;

  /**
   * One embeddings request: a model call through the chain (identity, policies on the model, budgets,
   * limits, the audit step with tokens and cost) to a provider that offers embeddings; the answer is
   * the provider's {@code list} as OpenAI shapes it.
   */
  private void embeddings(Response response, Callback callback, Principal caller, String chainId, ObjectNode body, String traceparent) {
    JsonNode modelNode = body.get("model");
    if (modelNode == null || !modelNode.isTextual() || modelNode.asText().isBlank()) {
      throw new Refused(400, "invalid_request_error", "missing_model", "model: required (provider/model or an alias)");
    }
    JsonNode input = body.get("input");
    boolean ok = input != null && (input.isTextual() && !input.asText().isEmpty()
        || input.isArray() && !input.isEmpty() && input.size() <= MAX_EMBEDDING_INPUTS);
    if (!ok) {
      throw new Refused(400, "invalid_request_error", "invalid_input", "input: required, a non-empty string or an array of 1.."
          + MAX_EMBEDDING_INPUTS + " strings (or token arrays)");
    }
    Call call = Call.of("embeddings", caller, chainId, new Target.Model(modelNode.asText(), body));
    call.traceparent = traceparent;
    call.embeddings = true;
    chain.run(call).whenComplete((outcome, error) -> {
      if (error != null) {
        org.slf4j.LoggerFactory.getLogger(ChatHandler.class).error("embeddings request failed", error);
        OpenAiErrors.write(response, callback, 500, "api_error", "internal_error", "internal error");
        return;
      }
      switch (outcome) {
        case Outcome.Done d -> {
          routeHeaders(response, caller, call.route, call.attempts);
          McpHttpHandler.writeJson(response, callback, 200, d.result(), null);
        }
        case Outcome.Refused r -> {
          if (r.why() == Outcome.Why.RATE_LIMITED) {
            response.getHeaders().put(HttpHeader.RETRY_AFTER, Long.toString(r.retryAfterSeconds()));
          }
          OpenAiErrors.write(response, callback, status(outcome), switch (r.why()) {
            case DENIED -> "permission_error";
            case RATE_LIMITED -> "rate_limit_error";
            case BUDGET_EXCEEDED -> "insufficient_quota";
            case UNKNOWN, INVALID -> "invalid_request_error";
          }, switch (r.why()) {
            case DENIED -> "model_not_allowed";
            case RATE_LIMITED -> "rate_limited";
            case BUDGET_EXCEEDED -> "budget_exceeded";
            case UNKNOWN, INVALID -> "invalid_model";
          }, r.message());
        }
        case Outcome.Failed f -> {
          RouterException e = f.model().orElseGet(() -> new RouterException(502, "api_error", "upstream_error", f.error().message()));
          e.retryAfter().ifPresent(t -> response.getHeaders().put(HttpHeader.RETRY_AFTER, Long.toString(Math.max(1, t.toSeconds()))));
          OpenAiErrors.write(response, callback, e.status(), e.type(), e.code(), e.getMessage());
        }
      }
    });
  }

  // ------------------------------------------------------------------ GET /v1/models

  private void models(Response response, Callback callback, Principal caller) {
    ObjectNode out = Json.object();
    out.put("object", "list");
    ArrayNode data = out.putArray("data");
    for (ModelInfo m : router.get().models()) {
      String target = config.get().aliases().getOrDefault(m.id(), m.id());
      if (!access.visible(caller, new Action.Model(target))) {
        continue;
      }
      ObjectNode o = data.addObject();
      o.put("id", m.id());
      o.put("object", "model");
      o.put("created", 0);
      o.put("owned_by", m.ownedBy());
    }
    McpHttpHandler.writeJson(response, callback, 200, out, null);
  }

  // ------------------------------------------------------------------ POST /v1/chat/completions

  /**
   * One chat request: a model call through the chain; in agent mode, the model's calls of auto-executed
   * tools through the chain too (door {@code agent}), and the model again, until it answers or the
   * depth is reached. Everything continues from completions: no thread waits for the provider.
   */
  private void completions(Request request, Response response, Callback callback, Principal caller, String chainId,
      ObjectNode request0, ModelDoor door) {
    JsonNode modelNode = request0.get("model");
    if (modelNode == null || !modelNode.isTextual() || modelNode.asText().isBlank()) {
      throw new Refused(400, "invalid_request_error", "missing_model", "model: required (provider/model or an alias)");
    }
    ModelDoor.Exchange exchange = door.open(request0, caller);
    ObjectNode body = exchange.chat();
    String header = request.getHeaders().get(TOOLS_HEADER);
    Optional<GlobList> offered = header == null ? Optional.empty() : Optional.of(offeredByHeader(header));
    boolean stream = body.path("stream").asBoolean(false);
    Turn turn = new Turn(response, callback, caller, chainId, body, stream, offered, door, exchange);
    turn.traceparent = request.getHeaders().get("traceparent");
    stash.restore(chainId, body);
    round(turn);
  }

  /** One chat request's state across its model and tool calls. */
  private static final class Turn {
    final Response response;
    final Callback callback;
    final Principal caller;
    final String chainId;
    final ObjectNode body;
    final boolean stream;
    final Optional<GlobList> offered;
    final ModelDoor door;
    final ModelDoor.Exchange exchange;
    Optional<AgentModeSettings> agent = Optional.empty();
    int depth;
    boolean streaming;
    /** The stream's translator, once the stream started. */
    ModelDoor.StreamWriter writer;
    /** The caller's W3C traceparent header, if any: each model call of the turn is its child. */
    String traceparent;

    Turn(Response response, Callback callback, Principal caller, String chainId, ObjectNode body, boolean stream,
        Optional<GlobList> offered, ModelDoor door, ModelDoor.Exchange exchange) {
      this.response = response;
      this.callback = callback;
      this.caller = caller;
      this.chainId = chainId;
      this.body = body;
      this.stream = stream;
      this.offered = offered;
      this.door = door;
      this.exchange = exchange;
    }

    boolean agentic() {
      return agent.isPresent() && !agent.get().autoExecute().isEmpty();
    }
  }

  /** One model call of the turn, then its answer or the tools it asked for. */
  private void round(Turn turn) {
    turn.depth++;
    Call call = Call.of(turn.door.name(), turn.caller, turn.chainId, new Target.Model(turn.body.path("model").asText(), turn.body));
    call.traceparent = turn.traceparent;
    call.prepare = c -> {
      if (turn.depth == 1) {
        // Agent mode and the tools offered follow the rule that allowed the first call.
        turn.agent = config.get().agentMode().stream().filter(s -> s.appliesTo(c.decision.ruleId())).findFirst();
        offerTools(turn.body, turn.caller, turn.offered.or(() -> turn.agent.map(AgentModeSettings::offerTools)));
      }
      if (turn.stream && !turn.agentic()) {
        c.sink = sink(turn, c);
      }
    };
    chain.run(call).whenComplete((outcome, error) -> {
      try {
        if (error != null) {
          throw error;
        }
        answered(turn, call, outcome);
      } catch (Throwable t) {
        org.slf4j.LoggerFactory.getLogger(ChatHandler.class).error("chat request failed", t);
        if (!turn.response.isCommitted()) {
          turn.door.error(turn.response, turn.callback, 500, "api_error", "internal_error", "internal error");
        } else {
          turn.callback.failed(t);
        }
      }
    });
  }

  private void answered(Turn turn, Call call, Outcome outcome) {
    Response response = turn.response;
    call.budgetFallback.ifPresent(m -> {
      if (!response.isCommitted()) {
        response.getHeaders().put("X-Gatehouse-Budget-Fallback", m);
      }
    });
    switch (outcome) {
      case Outcome.Refused r -> {
        OpenAiErrors.Error e = switch (r.why()) {
          case DENIED -> new OpenAiErrors.Error(403, "permission_error", "model_not_allowed", r.message());
          case RATE_LIMITED -> {
            response.getHeaders().put(HttpHeader.RETRY_AFTER, Long.toString(r.retryAfterSeconds()));
            yield new OpenAiErrors.Error(429, "rate_limit_error", "rate_limited", r.message());
          }
          case BUDGET_EXCEEDED -> new OpenAiErrors.Error(402, "insufficient_quota", "budget_exceeded", r.message());
          case UNKNOWN, INVALID -> new OpenAiErrors.Error(400, "invalid_request_error", "invalid_model", r.message());
        };
        turn.door.error(response, turn.callback, e.status(), e.type(), e.code(), e.message());
      }
      case Outcome.Failed f -> {
        RouterException e = f.model().orElseGet(() -> new RouterException(502, "api_error", "upstream_error", f.error().message()));
        if (turn.streaming) {
          // Past the first byte the status is sent: the error goes out as the stream's last event.
          if (e.status() == 499) {
            turn.callback.failed(new IOException("client closed the stream"));
            return;
          }
          // Written without waiting: this may run on the thread that completed the call's audit step.
          response.write(true, ByteBuffer.wrap(turn.writer.failed(e)), turn.callback);
          return;
        }
        e.retryAfter().ifPresent(d -> response.getHeaders().put(HttpHeader.RETRY_AFTER, Long.toString(Math.max(1, d.toSeconds()))));
        turn.door.error(response, turn.callback, e.status(), e.type(), e.code(), e.getMessage());
      }
      case Outcome.Done d -> {
        if (turn.streaming) {
          response.write(true, ByteBuffer.wrap(turn.writer.done()), turn.callback);
          return;
        }
        routeHeaders(response, turn.caller, call.route, call.attempts);
        ObjectNode answer = (ObjectNode) d.result();
        if (turn.agentic() && next(turn, answer)) {
          return; // the next round answers
        }
        // Agent mode ran its rounds without streaming; its final answer goes out as a stream if one was asked for.
        finish(turn, answer);
      }
    }
  }

  /** The sink of a streamed model call: headers at the first chunk, then each chunk as an event. */
  private ChunkSink sink(Turn turn, Call call) {
    Response response = turn.response;
    return new ChunkSink() {
      @Override
      public void onStart(Route route, int attempts) {
        routeHeaders(response, turn.caller, route, attempts);
        call.budgetFallback.ifPresent(m -> response.getHeaders().put("X-Gatehouse-Budget-Fallback", m));
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        turn.writer = turn.exchange.writer();
        turn.streaming = true;
      }

      @Override
      public void onChunk(ObjectNode chunk) {
        write(response, turn.writer.chunk(chunk));
      }
    };
  }

  /** The MCP tools offered to the model: {@code x-gatehouse-tools} (all, or globs) or the agent-mode default. */
  private void offerTools(ObjectNode body, Principal caller, Optional<GlobList> offered) {
    GlobList globs = offered.orElse(GlobList.of(List.of()));
    if (globs.isEmpty()) {
      return;
    }
    ArrayNode tools = body.get("tools") instanceof ArrayNode t ? t : body.putArray("tools");
    Set<String> present = new HashSet<>();
    tools.forEach(t -> present.add(t.path("function").path("name").asText()));
    for (FederatedCatalog.Entry e : registry.catalog().tools()) {
      if (present.contains(e.name()) || !globs.matches(e.name())) {
        continue;
      }
      if (!access.visible(caller, new Action.Tool(e.server(), e.name(), null))) {
        continue;
      }
      ObjectNode fn = tools.addObject().put("type", "function").putObject("function");
      fn.put("name", e.name());
      if (e.definition().hasNonNull("description")) {
        fn.put("description", e.definition().get("description").asText());
      }
      fn.set("parameters", e.definition().has("inputSchema") ? e.definition().get("inputSchema") : Json.object().put("type", "object"));
    }
    if (tools.isEmpty()) {
      body.remove("tools");
    }
  }

  /** Most patterns one {@code x-gatehouse-tools} header may carry. */
  static final int MAX_OFFER_PATTERNS = 64;

  /** {@code all}, or comma-separated tool-name globs; refused with 400 when malformed or too many. */
  static GlobList offeredByHeader(String header) {
    if (header.strip().equalsIgnoreCase("all")) {
      return GlobList.of(List.of("*"));
    }
    List<String> patterns = new ArrayList<>();
    for (String p : header.split(",", -1)) {
      if (!p.isBlank()) {
        patterns.add(p.strip());
      }
    }
    if (patterns.size() > MAX_OFFER_PATTERNS) {
      throw new Refused(400, "invalid_request_error", "invalid_tools_header", TOOLS_HEADER + ": " + patterns.size()
          + " patterns (expected: all, or at most " + MAX_OFFER_PATTERNS + " comma-separated tool-name globs)");
    }
    try {
      return GlobList.of(patterns);
    } catch (IllegalArgumentException e) {
      throw new Refused(400, "invalid_request_error", "invalid_tools_header", TOOLS_HEADER + e.getMessage());
    }
  }

  /** One streamed chunk's events, written as the provider's stream delivers it (on the router's thread, which may wait). */
  private static void write(Response response, byte[] events) {
    if (events.length == 0) {
      return;
    }
    try {
      Content.Sink.write(response, false, ByteBuffer.wrap(events));
    } catch (IOException e) {
      throw new UncheckedIOException(e); // aborts the provider call
    }
  }

  /**
   * A finished completion sent as a stream (agent mode runs its rounds whole): as the chunks a provider
   * would have streamed — role and content, tool calls by index, finish, usage — through the door's writer.
   */
  private static void streamCompleted(Turn turn, ObjectNode completion) {
    Response response = turn.response;
    boolean includeUsage = turn.body.path("stream_options").path("include_usage").asBoolean(false);
    response.setStatus(200);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream");
    response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
    JsonNode choice = completion.path("choices").path(0);
    JsonNode message = choice.path("message");
    ObjectNode base = Json.object();
    base.put("id", completion.path("id").asText("chatcmpl-gatehouse"));
    base.put("object", "chat.completion.chunk");
    base.put("created", completion.path("created").asLong(Instant.now().getEpochSecond()));
    base.put("model", completion.path("model").asText());
    ObjectNode first = chunk(base, Json.object().put("role", "assistant"), null);
    if (message.hasNonNull("content")) {
      ((ObjectNode) first.path("choices").path(0).path("delta")).put("content", message.get("content").asText());
    }
    // Built whole and written once, without waiting: this runs where the last call completed.
    ModelDoor.StreamWriter writer = turn.exchange.writer();
    java.io.ByteArrayOutputStream events = new java.io.ByteArrayOutputStream();
    events.writeBytes(writer.chunk(first));
    int index = 0;
    for (JsonNode call : message.path("tool_calls")) {
      ObjectNode delta = Json.object();
      ObjectNode tc = delta.putArray("tool_calls").addObject();
      tc.put("index", index++);
      tc.set("id", call.get("id"));
      tc.put("type", "function");
      tc.set("function", call.get("function"));
      events.writeBytes(writer.chunk(chunk(base, delta, null)));
    }
    events.writeBytes(writer.chunk(chunk(base, Json.object(), choice.path("finish_reason").asText("stop"))));
    if (includeUsage && completion.has("usage")) {
      ObjectNode usage = base.deepCopy();
      usage.putArray("choices");
      usage.set("usage", completion.get("usage"));
      events.writeBytes(writer.chunk(usage));
    }
    events.writeBytes(writer.done());
    response.write(true, ByteBuffer.wrap(events.toByteArray()), turn.callback);
  }

  private static ObjectNode chunk(ObjectNode base, ObjectNode delta, String finish) {
    ObjectNode c = base.deepCopy();
    ObjectNode choice = c.putArray("choices").addObject();
    choice.put("index", 0);
    choice.set("delta", delta);
    if (finish == null) {
      choice.putNull("finish_reason");
    } else {
      choice.put("finish_reason", finish);
    }
    return c;
  }

  // ------------------------------------------------------------------ agent mode

  /**
   * Agent mode after a model answer: runs the calls it makes of auto-execute tools (in parallel, each
   * through the chain, so policies and audit apply, unknown tools and bad arguments included), appends
   * their results and calls the model again, up to {@code max_depth} model calls. Calls of other tools
   * are returned to the client; when an answer mixes both, only the pending ones are returned and the
   * executed ones are kept for the chain's next request. True when another round was started.
   */
  private boolean next(Turn turn, ObjectNode answer) {
    AgentModeSettings agent = turn.agent.orElseThrow();
    ObjectNode message = answer.path("choices").path(0).get("message") instanceof ObjectNode m ? m : Json.object();
    List<JsonNode> calls = new ArrayList<>();
    message.path("tool_calls").forEach(calls::add);
    List<JsonNode> auto = calls.stream().filter(c -> agent.autoExecutes(c.path("function").path("name").asText())).toList();
    if (auto.isEmpty()) {
      return false;
    }
    if (turn.depth >= agent.maxDepth()) {
      turn.response.getHeaders().put("X-Gatehouse-Agent", "max-depth");
      return false;
    }
    turn.response.getHeaders().put("X-Gatehouse-Agent-Rounds", Integer.toString(turn.depth));
    List<CompletableFuture<ObjectNode>> running = new ArrayList<>();
    for (JsonNode c : auto) {
      running.add(runTool(turn, c));
    }
    CompletableFuture.allOf(running.toArray(CompletableFuture[]::new)).whenComplete((v, e) -> {
      List<ObjectNode> results = running.stream().map(CompletableFuture::join).toList();
      ArrayNode messages = (ArrayNode) turn.body.get("messages");
      if (auto.size() < calls.size()) {
        // Mixed: the client runs the rest; the executed calls wait for its next request in this chain.
        stash.keep(turn.chainId, message.deepCopy(), results);
        ArrayNode pending = Json.MAPPER.createArrayNode();
        calls.stream().filter(c -> !auto.contains(c)).forEach(pending::add);
        message.set("tool_calls", pending);
        finish(turn, answer);
        return;
      }
      messages.add(message.deepCopy());
      results.forEach(messages::add);
      round(turn);
    });
    return true;
  }

  /** The answer the model gave, to the client (after agent rounds). */
  private void finish(Turn turn, ObjectNode answer) {
    if (turn.stream) {
      streamCompleted(turn, answer);
    } else {
      McpHttpHandler.writeJson(turn.response, turn.callback, 200, turn.exchange.answer(answer), null);
    }
  }

  /**
   * One tool call of the model through the chain (door {@code agent}); the answer is the {@code tool}
   * message, with what {@code /v1/mcp/tool/execute} would have answered: the result, or its error.
   */
  private CompletableFuture<ObjectNode> runTool(Turn turn, JsonNode c) {
    String id = c.path("id").asText();
    String name = c.path("function").path("name").asText();
    Call call = Call.of("agent", turn.caller, turn.chainId, ToolArguments.target(name, c.path("function").get("arguments")))
        .toolCallId(id);
    return chain.run(call).thenApply(outcome -> {
      ObjectNode m = Json.object();
      m.put("role", "tool");
      m.put("tool_call_id", id);
      m.put("content", outcome instanceof Outcome.Done d ? ToolResults.toText(d.result()) : "Error: " + execute.error(outcome).message());
      return m;
    });
  }

  /**
   * Executed calls of a mixed response, per chain, until the client's next request: then they are put
   * back into the conversation (the assistant message gets all its calls again, and their results
   * follow it), so the model sees everything it asked for. Bounded; entries expire after 15 minutes.
   */
  private static final class AgentStash {
    private record Kept(ObjectNode assistant, List<ObjectNode> results, long at) {}

    private final Map<String, Kept> kept = new java.util.concurrent.ConcurrentHashMap<>();

    void keep(String chain, ObjectNode assistant, List<ObjectNode> results) {
      if (kept.size() > 10_000) {
        long cutoff = System.nanoTime() - java.util.concurrent.TimeUnit.MINUTES.toNanos(15);
        kept.values().removeIf(k -> k.at() < cutoff);
      }
      kept.put(chain, new Kept(assistant, results, System.nanoTime()));
    }

    void restore(String chain, ObjectNode body) {
      Kept k = kept.remove(chain);
      if (k == null || System.nanoTime() - k.at() > java.util.concurrent.TimeUnit.MINUTES.toNanos(15)) {
        return;
      }
      ArrayNode messages = (ArrayNode) body.get("messages");
      Set<String> ids = new HashSet<>();
      k.assistant().path("tool_calls").forEach(c -> ids.add(c.path("id").asText()));
      for (int i = messages.size() - 1; i >= 0; i--) {
        JsonNode m = messages.get(i);
        if (!"assistant".equals(m.path("role").asText()) || !m.has("tool_calls")) {
          continue;
        }
        boolean subset = true;
        for (JsonNode c : m.path("tool_calls")) {
          subset &= ids.contains(c.path("id").asText());
        }
        if (subset) {
          messages.set(i, k.assistant());
          for (int j = 0; j < k.results().size(); j++) {
            messages.insert(i + 1 + j, k.results().get(j));
          }
        }
        return;
      }
    }
  }

  // ------------------------------------------------------------------ helpers

  static List<String> toolResultIds(JsonNode body) {
    List<String> ids = new ArrayList<>();
    for (JsonNode m : body.path("messages")) {
      if ("tool".equals(m.path("role").asText()) && m.hasNonNull("tool_call_id")) {
        ids.add(m.get("tool_call_id").asText());
      }
    }
    return ids;
  }

  /** Which provider, model and attempt served the call; which provider key only for admins. */
  private void routeHeaders(Response response, Principal caller, Route route, int attempts) {
    if (response.isCommitted()) {
      return;
    }
    response.getHeaders().put("X-Gatehouse-Provider", route.provider());
    response.getHeaders().put("X-Gatehouse-Model", route.model());
    if (auth.get().access().isAdmin(caller)) {
      response.getHeaders().put("X-Gatehouse-Key", route.keyId());
    }
    response.getHeaders().put("X-Gatehouse-Attempts", Integer.toString(attempts));
  }

  /** The HTTP status a model call's outcome is recorded with (0 for a served call). */
  static int status(Outcome outcome) {
    return switch (outcome) {
      case Outcome.Done d -> 0;
      case Outcome.Refused r -> switch (r.why()) {
        case DENIED -> 403;
        case RATE_LIMITED -> 429;
        case BUDGET_EXCEEDED -> 402;
        case UNKNOWN, INVALID -> 400;
      };
      case Outcome.Failed f -> f.model().map(RouterException::status).orElse(502);
    };
  }

  private static ObjectNode json(byte[] bytes) {
    try {
      if (Json.MAPPER.readTree(bytes) instanceof ObjectNode o) {
        return o;
      }
    } catch (JsonProcessingException e) {
      throw new Refused(400, "invalid_request_error", "invalid_json", "Body is not JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new Refused(400, "invalid_request_error", "invalid_json", "Body is not JSON");
    }
    throw new Refused(400, "invalid_request_error", "invalid_json", "Expected a JSON object (a chat.completions request)");
  }
}
