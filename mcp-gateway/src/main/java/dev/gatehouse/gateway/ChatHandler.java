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
import dev.gatehouse.registry.Json;
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
  static final String TOOLS_HEADER = "x-gatehouse-tools";
  /** Longest model name (or alias) accepted; the longest real ones (Bedrock ARNs) are about 120. */
  static final int MAX_MODEL_CHARS = 256;
  private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

  private final Supplier<Router> router;
  private final Supplier<GatewayConfig> config;
  private final McpDispatcher dispatcher;
  private final ToolRegistry registry;
  private final Pipeline pipeline;
  private final Supplier<EdgeAuth> auth;
  private final Supplier<HttpPolicy> http;
  private final Supplier<AuditRecorder> audit;
  private final Budgets budgets;
  private final GatewayMetrics metrics;
  private final AgentStash stash = new AgentStash();

  ChatHandler(Supplier<Router> router, Supplier<GatewayConfig> config, McpDispatcher dispatcher, ToolRegistry registry,
      Pipeline pipeline, Supplier<EdgeAuth> auth, Supplier<HttpPolicy> http, Supplier<AuditRecorder> audit, Budgets budgets,
      GatewayMetrics metrics) {
    this.router = router;
    this.config = config;
    this.dispatcher = dispatcher;
    this.registry = registry;
    this.pipeline = pipeline;
    this.auth = auth;
    this.http = http;
    this.audit = audit;
    this.budgets = budgets;
    this.metrics = metrics;
  }

  /** A request the endpoint refuses before any model is called. */
  private static final class Refused extends RuntimeException {
    final int status;
    final String type;
    final String code;
    /** Whether the refusal's chain step is written already (denials, budgets, provider errors). */
    final boolean recorded;

    Refused(int status, String type, String code, String message) {
      this(status, type, code, message, false);
    }

    Refused(int status, String type, String code, String message, boolean recorded) {
      super(message, null, false, false);
      this.status = status;
      this.type = type;
      this.code = code;
      this.recorded = recorded;
    }
  }

  void handle(Request request, Response response, Callback callback, String path) {
    String chain = Chains.fromHeaders(request.getHeaders().get(Chains.HEADER), request.getHeaders().get("traceparent"))
        .orElseGet(Chains::generate);
    response.getHeaders().put(Chains.HEADER, chain);
    HttpPolicy p = http.get();
    if (!p.hostAllowed(request.getHeaders().get(HttpHeader.HOST)) || !p.originAllowed(request.getHeaders().get(HttpHeader.ORIGIN))) {
      OpenAiErrors.write(response, callback, 403, "permission_error", "forbidden_origin", "Host or Origin not allowed");
      return;
    }
    boolean models = path.equals(MODELS);
    if (models ? !HttpMethod.GET.is(request.getMethod()) : !HttpMethod.POST.is(request.getMethod())) {
      response.getHeaders().put(HttpHeader.ALLOW, models ? "GET" : "POST");
      OpenAiErrors.write(response, callback, 405, "invalid_request_error", "method_not_allowed", "Use " + (models ? "GET" : "POST"));
      return;
    }
    Principal caller = auth.get().authenticate(request, response, callback, path, OpenAiErrors::auth).orElse(null);
    if (caller == null) {
      return;
    }
    if (models) {
      models(response, callback, caller);
      return;
    }
    ObjectNode body = null;
    try {
      body = read(request, p);
      completions(request, response, callback, caller, chain, body);
    } catch (Refused r) {
      if (!r.recorded) {
        // A request refused before any decision: still a step of its chain, naming what was wrong.
        String model = body != null && body.path("model").isTextual() && !body.path("model").asText().isBlank()
            ? body.path("model").asText() : COMPLETIONS;
        record(caller, chain, model, null, "invalid", r.status, Instant.now(), System.nanoTime(), Usage.NONE, BigDecimal.ZERO,
            body == null ? Json.object() : body, null, List.of(), Optional.of(r.code + ": " + r.getMessage()));
      }
      if (!response.isCommitted()) {
        OpenAiErrors.write(response, callback, r.status, r.type, r.code, r.getMessage());
      } else {
        callback.failed(r);
      }
    } catch (IOException e) {
      OpenAiErrors.write(response, callback, 400, "invalid_request_error", "unreadable_body", "The request body could not be read");
    }
  }

  // ------------------------------------------------------------------ GET /v1/models

  private void models(Response response, Callback callback, Principal caller) {
    PolicyEngine policy = dispatcher.policy();
    ObjectNode out = Json.object();
    out.put("object", "list");
    ArrayNode data = out.putArray("data");
    for (ModelInfo m : router.get().models()) {
      String target = config.get().aliases().getOrDefault(m.id(), m.id());
      if (policy.active() && !policy.visible(caller, new Action.Model(target))) {
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

  private void completions(Request request, Response response, Callback callback, Principal caller, String chain,
      ObjectNode body) throws IOException {
    JsonNode modelNode = body.get("model");
    if (modelNode == null || !modelNode.isTextual() || modelNode.asText().isBlank()) {
      throw new Refused(400, "invalid_request_error", "missing_model", "model: required (provider/model or an alias)");
    }
    if (!(body.get("messages") instanceof ArrayNode messages) || messages.isEmpty()) {
      throw new Refused(400, "invalid_request_error", "missing_messages", "messages: required (a non-empty array)");
    }
    String model = modelNode.asText();
    if (model.length() > MAX_MODEL_CHARS) {
      throw new Refused(400, "invalid_request_error", "invalid_model", "model: " + model.length() + " characters (expected: at most "
          + MAX_MODEL_CHARS + ", provider/model or an alias)");
    }
    String target = config.get().aliases().getOrDefault(model, model);
    PolicyEngine policy = dispatcher.policy();
    Decision decision = policy.decide(caller, new Action.Model(target));
    metrics.decision(switch (decision) {
      case Decision.Allow a -> "allow";
      case Decision.Deny d -> "deny";
      case Decision.Limited l -> "rate_limited";
    }, decision.ruleId());
    switch (decision) {
      case Decision.Deny d -> {
        recordRefusal(caller, chain, target, decision, "denied", 403, body);
        throw new Refused(403, "permission_error", "model_not_allowed", "Forbidden: " + d.reason(), true);
      }
      case Decision.Limited l -> {
        recordRefusal(caller, chain, target, decision, "rate_limited", 429, body);
        response.getHeaders().put(HttpHeader.RETRY_AFTER, Long.toString(Math.max(1, (l.retryAfter().toMillis() + 999) / 1000)));
        throw new Refused(429, "rate_limit_error", "rate_limited", "Rate limited: " + l.reason(), true);
      }
      case Decision.Allow a -> { }
    }
    RouteOptions options = RouteOptions.defaults()
        .withAllowed(t -> !policy.active() || policy.visible(caller, new Action.Model(t)));
    Optional<PolicyEngine.Budget> budget = policy.budget(caller, new Action.Model(target));
    if (budget.isPresent()) {
      BigDecimal spent = budgets.spent(caller);
      if (spent.compareTo(budget.get().usdPerDay()) >= 0) {
        if (budget.get().fallbackModel().isEmpty()) {
          recordRefusal(caller, chain, target, decision, "budget_exceeded", 402, body);
          throw new Refused(402, "insufficient_quota", "budget_exceeded", "Budget exceeded: $" + spent.stripTrailingZeros().toPlainString()
              + " spent today of $" + budget.get().usdPerDay().stripTrailingZeros().toPlainString()
              + " (rule '" + budget.get().ruleId() + "'); resets at 00:00 UTC", true);
        }
        options = options.withForcedModel(budget.get().fallbackModel().get());
        response.getHeaders().put("X-Gatehouse-Budget-Fallback", budget.get().fallbackModel().get());
      }
    }
    Optional<AgentModeSettings> agent = config.get().agentMode().stream().filter(s -> s.appliesTo(decision.ruleId())).findFirst();
    offerTools(request, body, caller, agent);
    stash.restore(chain, body);
    boolean stream = body.path("stream").asBoolean(false);
    boolean agentic = agent.isPresent() && !agent.get().autoExecute().isEmpty();
    if (stream && !agentic) {
      stream(response, callback, caller, chain, body, options, decision);
      return;
    }
    ObjectNode answer = agentic
        ? agentLoop(response, caller, chain, body, options, decision, agent.get())
        : call(response, caller, chain, body, options, decision).response();
    if (stream) {
      // Agent mode ran its rounds without streaming; the final answer goes out as an OpenAI stream.
      streamCompleted(response, callback, answer, body.path("stream_options").path("include_usage").asBoolean(false));
    } else {
      McpHttpHandler.writeJson(response, callback, 200, answer, null);
    }
  }

  /** The MCP tools offered to the model: {@code x-gatehouse-tools} (all, or globs) or the agent-mode default. */
  private void offerTools(Request request, ObjectNode body, Principal caller, Optional<AgentModeSettings> agent) {
    String header = request.getHeaders().get(TOOLS_HEADER);
    GlobList globs = header != null ? offeredByHeader(header) : agent.map(AgentModeSettings::offerTools).orElse(GlobList.of(List.of()));
    if (globs.isEmpty()) {
      return;
    }
    ArrayNode tools = body.get("tools") instanceof ArrayNode t ? t : body.putArray("tools");
    Set<String> present = new HashSet<>();
    tools.forEach(t -> present.add(t.path("function").path("name").asText()));
    PolicyEngine policy = dispatcher.policy();
    for (FederatedCatalog.Entry e : registry.catalog().tools()) {
      if (present.contains(e.name()) || !globs.matches(e.name())) {
        continue;
      }
      if (policy.active() && !policy.visible(caller, new Action.Tool(e.server(), e.name(), null))) {
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

  /** One non-streaming model call, recorded as a chain step. */
  private ChatResult call(Response response, Principal caller, String chain, ObjectNode body, RouteOptions options, Decision decision) {
    Instant started = Instant.now();
    long t0 = System.nanoTime();
    List<String> toolResults = toolResultIds(body);
    try {
      ChatResult r = router.get().complete(body, options);
      routeHeaders(response, caller, r.route(), r.attempts());
      budgets.add(caller, r.costUsd());
      record(caller, chain, r.route().target(), decision, "ok", 0, started, t0, r.usage(), r.costUsd(), body, r.response(),
          toolResults, Optional.empty());
      return r;
    } catch (RouterException e) {
      record(caller, chain, body.path("model").asText(), decision, "error", e.status(), started, t0, Usage.NONE, BigDecimal.ZERO,
          body, null, toolResults, Optional.of(e.code() + ": " + e.getMessage()));
      e.retryAfter().ifPresent(d -> response.getHeaders().put(HttpHeader.RETRY_AFTER, Long.toString(Math.max(1, d.toSeconds()))));
      throw new Refused(e.status(), e.type(), e.code(), e.getMessage(), true);
    }
  }

  private void stream(Response response, Callback callback, Principal caller, String chain, ObjectNode body,
      RouteOptions options, Decision decision) throws IOException {
    Instant started = Instant.now();
    long t0 = System.nanoTime();
    List<String> toolResults = toolResultIds(body);
    boolean[] open = {false};
    StreamResult r;
    try {
      r = router.get().stream(body, options, new ChunkSink() {
        @Override
        public void onStart(Route route, int attempts) {
          routeHeaders(response, caller, route, attempts);
          response.setStatus(200);
          response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream");
          response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
          open[0] = true;
        }

        @Override
        public void onChunk(ObjectNode chunk) {
          writeData(response, chunk);
        }
      });
    } catch (RouterException e) {
      record(caller, chain, body.path("model").asText(), decision, "error", e.status(), started, t0, Usage.NONE, BigDecimal.ZERO,
          body, null, toolResults, Optional.of(e.code() + ": " + e.getMessage()));
      if (!open[0]) {
        e.retryAfter().ifPresent(d -> response.getHeaders().put(HttpHeader.RETRY_AFTER, Long.toString(Math.max(1, d.toSeconds()))));
        throw new Refused(e.status(), e.type(), e.code(), e.getMessage(), true);
      }
      // Past the first byte the status is sent: the error goes out as the stream's last event.
      writeData(response, e.toJson());
      Content.Sink.write(response, true, ByteBuffer.wrap(DONE));
      callback.succeeded();
      return;
    } catch (UncheckedIOException clientGone) {
      record(caller, chain, body.path("model").asText(), decision, "cancelled", 499, started, t0, Usage.NONE, BigDecimal.ZERO,
          body, null, toolResults, Optional.of("client closed the stream"));
      callback.failed(clientGone.getCause());
      return;
    }
    budgets.add(caller, r.costUsd());
    record(caller, chain, r.route().target(), decision, "ok", 0, started, t0, r.usage(), r.costUsd(), body, r.response(),
        toolResults, Optional.empty());
    Content.Sink.write(response, true, ByteBuffer.wrap(DONE));
    callback.succeeded();
  }

  private static void writeData(Response response, JsonNode chunk) {
    byte[] json = Json.bytes(chunk);
    ByteBuffer buf = ByteBuffer.allocate(json.length + 8);
    buf.put("data: ".getBytes(StandardCharsets.US_ASCII)).put(json).put((byte) '\n').put((byte) '\n').flip();
    try {
      Content.Sink.write(response, false, buf);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // aborts the provider call
    }
  }

  /** A finished completion sent as an OpenAI stream: role, content, tool calls by index, finish, usage. */
  private void streamCompleted(Response response, Callback callback, ObjectNode completion, boolean includeUsage) throws IOException {
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
    writeData(response, first);
    int index = 0;
    for (JsonNode call : message.path("tool_calls")) {
      ObjectNode delta = Json.object();
      ObjectNode tc = delta.putArray("tool_calls").addObject();
      tc.put("index", index++);
      tc.set("id", call.get("id"));
      tc.put("type", "function");
      tc.set("function", call.get("function"));
      writeData(response, chunk(base, delta, null));
    }
    writeData(response, chunk(base, Json.object(), choice.path("finish_reason").asText("stop")));
    if (includeUsage && completion.has("usage")) {
      ObjectNode usage = base.deepCopy();
      usage.putArray("choices");
      usage.set("usage", completion.get("usage"));
      writeData(response, usage);
    }
    Content.Sink.write(response, true, ByteBuffer.wrap(DONE));
    callback.succeeded();
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
   * Calls the model; runs the tool calls it makes of auto-execute tools (in parallel, through the
   * pipeline, so policies and audit apply), appends their results and calls it again, up to
   * {@code max_depth} model calls. Calls of other tools are returned to the client; when a response
   * mixes both, only the pending ones are returned and the executed ones are kept for the chain's next
   * request.
   */
  private ObjectNode agentLoop(Response response, Principal caller, String chain, ObjectNode body, RouteOptions options,
      Decision decision, AgentModeSettings agent) {
    int depth = 0;
    while (true) {
      depth++;
      ChatResult r = call(response, caller, chain, body, options, decision);
      ObjectNode message = r.response().path("choices").path(0).get("message") instanceof ObjectNode m ? m : Json.object();
      List<JsonNode> calls = new ArrayList<>();
      message.path("tool_calls").forEach(calls::add);
      List<JsonNode> auto = calls.stream().filter(c -> runnable(c, agent)).toList();
      if (auto.isEmpty()) {
        return r.response();
      }
      if (depth >= agent.maxDepth()) {
        response.getHeaders().put("X-Gatehouse-Agent", "max-depth");
        return r.response();
      }
      List<ObjectNode> results = execute(caller, chain, auto);
      response.getHeaders().put("X-Gatehouse-Agent-Rounds", Integer.toString(depth));
      ArrayNode messages = (ArrayNode) body.get("messages");
      if (auto.size() < calls.size()) {
        // Mixed: the client runs the rest; the executed calls wait for its next request in this chain.
        stash.keep(chain, message.deepCopy(), results);
        ArrayNode pending = Json.MAPPER.createArrayNode();
        calls.stream().filter(c -> !auto.contains(c)).forEach(pending::add);
        message.set("tool_calls", pending);
        return r.response();
      }
      messages.add(message.deepCopy());
      results.forEach(messages::add);
    }
  }

  private boolean runnable(JsonNode call, AgentModeSettings agent) {
    String name = call.path("function").path("name").asText();
    return agent.autoExecutes(name) && registry.catalog().tool(name).isPresent();
  }

  /** Runs tool calls in parallel through the pipeline; each answer is a {@code tool} message. */
  private List<ObjectNode> execute(Principal caller, String chain, List<JsonNode> calls) {
    List<CompletableFuture<ObjectNode>> running = new ArrayList<>();
    for (JsonNode call : calls) {
      String id = call.path("id").asText();
      String name = call.path("function").path("name").asText();
      FederatedCatalog.Entry tool = registry.catalog().tool(name).orElseThrow();
      ObjectNode params = Json.object();
      params.put("name", tool.originalName());
      params.set("arguments", arguments(call.path("function").path("arguments")));
      Invocation inv = new Invocation(Invocation.Kind.TOOL, caller, "agent", chain, Optional.of(id), name, tool.server(),
          tool.originalName(), tool.name(), "tools/call", params, CallContext.none(), new CallFacts());
      running.add(pipeline.run(inv).handle((result, error) -> {
        ObjectNode m = Json.object();
        m.put("role", "tool");
        m.put("tool_call_id", id);
        m.put("content", error == null ? ToolResults.toText(result) : "Error: " + JsonRpc.toMcp(error).getMessage());
        return m;
      }));
    }
    return running.stream().map(CompletableFuture::join).toList();
  }

  private static ObjectNode arguments(JsonNode raw) {
    if (raw instanceof ObjectNode o) {
      return o;
    }
    try {
      return raw.isTextual() && Json.MAPPER.readTree(raw.asText()) instanceof ObjectNode o ? o : Json.object();
    } catch (JsonProcessingException e) {
      return Json.object();
    }
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

  private static List<String> toolResultIds(ObjectNode body) {
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

  private void record(Principal caller, String chain, String action, Decision decision, String outcome, int status,
      Instant started, long t0, Usage usage, BigDecimal cost, ObjectNode request, ObjectNode answer, List<String> toolResults,
      Optional<String> reason) {
    List<String> proposed = new ArrayList<>();
    if (answer != null) {
      answer.path("choices").path(0).path("message").path("tool_calls").forEach(c -> proposed.add(c.path("id").asText()));
    }
    long micros = (System.nanoTime() - t0) / 1000;
    @SuppressWarnings("unchecked")
    CompletableFuture<Void>[] committed = new CompletableFuture[1];
    audit.get().model(new AuditRecorder.ModelCall(caller, chain, "chat", action, Optional.ofNullable(decision), outcome, status,
        started, micros, usage.promptTokens(), usage.completionTokens(), cost, request, answer, toolResults, proposed, reason),
        committed);
    // Only a served call's model is a label: a refused request's model name is whatever the client sent.
    metrics.model(outcome.equals("ok") ? action : "-", outcome, micros, usage, cost);
    committed[0].join(); // with audit.durability: commit, answered once recorded; queued: at once
  }

  private void recordRefusal(Principal caller, String chain, String target, Decision decision, String outcome, int status,
      ObjectNode body) {
    record(caller, chain, target, decision, outcome, status, Instant.now(), System.nanoTime(), Usage.NONE, BigDecimal.ZERO,
        body, null, toolResultIds(body), Optional.empty());
  }

  private static ObjectNode read(Request request, HttpPolicy p) throws IOException {
    byte[] bytes;
    try {
      bytes = Bodies.read(request, p.maxRequestBytes());
    } catch (Bodies.TooLarge e) {
      throw new Refused(413, "invalid_request_error", "request_too_large", e.getMessage());
    }
    try {
      if (Json.MAPPER.readTree(bytes) instanceof ObjectNode o) {
        return o;
      }
    } catch (JsonProcessingException e) {
      throw new Refused(400, "invalid_request_error", "invalid_json", "Body is not JSON: " + e.getOriginalMessage());
    }
    throw new Refused(400, "invalid_request_error", "invalid_json", "Expected a JSON object (a chat.completions request)");
  }
}
