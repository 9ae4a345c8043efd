package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.registry.CallContext;
import dev.gatehouse.registry.FederatedCatalog;
import dev.gatehouse.registry.McpException;
import dev.gatehouse.registry.McpHeaders;
import dev.gatehouse.registry.ToolNames;
import dev.gatehouse.policy.Action;
import dev.gatehouse.policy.PolicyEngine;
import dev.gatehouse.policy.ResourceUris;
import dev.gatehouse.registry.ToolRegistry;
import dev.gatehouse.registry.UpstreamCatalog;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The MCP server side of the gateway, independent of HTTP: answers a session's requests from the
 * federated catalog, resolves names and URIs to their upstream, runs calls through the
 * {@link Pipeline}, and relays what upstreams send back (progress, logs, sampling, elicitation,
 * list_changed, resource updates) to the right clients.
 */
final class McpDispatcher implements ToolRegistry.Listener {
  private static final Logger log = LoggerFactory.getLogger(McpDispatcher.class);
  static final List<String> PROTOCOL_VERSIONS = List.of("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05");

  private final String version;
  private final GatewayMetrics metrics;
  private final Map<String, McpSession> sessions = new ConcurrentHashMap<>();
  /** Sessions by owner (issuer, subject, tenant); changed only under {@link #admission}. */
  private final Map<String, java.util.Set<McpSession>> byOwner = new ConcurrentHashMap<>();
  private final java.util.concurrent.locks.ReentrantLock admission = new java.util.concurrent.locks.ReentrantLock();
  /** Sessions subscribed per "server\0uri": the upstream is unsubscribed when the last one leaves. */
  private final Map<String, java.util.Set<String>> subscribers = new ConcurrentHashMap<>();
  /** 2026-07-28 calls waiting for their clients' input (multi round-trip requests). */
  private final InputRounds rounds = new InputRounds();
  private volatile ToolRegistry registry;
  private volatile CallChain chain;
  private volatile Access access;

  McpDispatcher(String version, GatewayMetrics metrics) {
    this.version = version;
    this.metrics = metrics;
  }

  Access access() {
    return access;
  }

  void bind(ToolRegistry registry, CallChain chain) {
    this.registry = registry;
    this.chain = chain;
    this.access = chain.access();
  }

  /**
   * Installs new policies; every session whose visible tools, prompts or resources change is sent
   * the matching list_changed notification.
   */
  void policy(PolicyEngine next) {
    Map<String, List<List<ObjectNode>>> before = new java.util.HashMap<>();
    for (McpSession s : sessions.values()) {
      before.put(s.id(), views(s));
    }
    access.install(next);
    for (McpSession s : sessions.values()) {
      List<List<ObjectNode>> was = before.get(s.id());
      if (was == null) {
        continue;
      }
      List<List<ObjectNode>> now = views(s);
      if (!was.get(0).equals(now.get(0))) {
        s.enqueue(JsonRpc.notification("notifications/tools/list_changed", null));
      }
      if (!was.get(1).equals(now.get(1))) {
        s.enqueue(JsonRpc.notification("notifications/prompts/list_changed", null));
      }
      if (!was.get(2).equals(now.get(2)) || !was.get(3).equals(now.get(3))) {
        s.enqueue(JsonRpc.notification("notifications/resources/list_changed", null));
      }
    }
  }

  private List<List<ObjectNode>> views(McpSession s) {
    return List.of(tools(s), prompts(s), resources(s), templates(s));
  }

  // ---------------------------------------------------------------- sessions

  /** Why a new session was not admitted, as the edge answers it. */
  record SessionRefusal(int status, int code, String message, long retryAfterSeconds) {}

  /**
   * Admits a new session within {@code limits} and the caller's rate limits (see {@link SessionLimits}):
   * empty when {@code s} is registered, else the refusal. Makes room by closing the caller's least
   * recently used idle session, or when the table is full, the least recently used session that was
   * never used after initialize.
   */
  Optional<SessionRefusal> admit(McpSession s, SessionLimits limits) {
    return admit(s, limits, true);
  }

  /**
   * Registers a session another replica created, as stored in the shared store, and subscribes upstream
   * to what it subscribed to. Empty when registered (or already here), else why not (session limits;
   * a revived session takes no session-rate token: it is not a new session).
   */
  Optional<SessionRefusal> revive(String id, SharedSessions.Stored st, SessionLimits limits) {
    if (sessions.containsKey(id)) {
      return Optional.empty();
    }
    McpSession s = new McpSession(id, st.scope(), false, st.owner());
    s.initialized(st.protocolVersion(), st.capabilities(), st.clientInfo());
    s.logLevel(st.logLevel());
    Optional<SessionRefusal> refused = admit(s, limits, false);
    if (refused.isPresent()) {
      return refused;
    }
    for (String key : st.subscriptions()) {
      int zero = key.indexOf('\0');
      if (zero < 0) {
        continue;
      }
      s.subscriptions.add(key);
      java.util.Set<String> subs = subscribers.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet());
      boolean first = subs.isEmpty();
      subs.add(id);
      if (first) {
        ObjectNode forward = Json.object();
        forward.put("uri", key.substring(zero + 1));
        registry.call(key.substring(0, zero), "resources/subscribe", forward, CallContext.none()).exceptionally(e -> null);
      }
    }
    return Optional.empty();
  }

  /** Told when a session's stored state changes after initialize (subscriptions, log level). */
  volatile java.util.function.Consumer<McpSession> changed = s -> {};

  private Optional<SessionRefusal> admit(McpSession s, SessionLimits limits, boolean rateLimited) {
    dev.gatehouse.policy.Decision d = rateLimited ? access.admit(s.principal()) : null;
    if (d instanceof dev.gatehouse.policy.Decision.Limited l) {
      metrics.sessionRefused("rate_limited");
      return Optional.of(new SessionRefusal(429, RpcError.RATE_LIMITED, "Rate limited: " + l.reason(),
          Math.max(1, (l.retryAfter().toMillis() + 999) / 1000)));
    }
    admission.lock();
    try {
      java.util.Set<McpSession> own = byOwner.computeIfAbsent(s.ownerKey(), k -> ConcurrentHashMap.newKeySet());
      if (own.size() >= limits.perPrincipal()) {
        McpSession victim = leastRecentlyUsed(own, false);
        if (victim == null) {
          metrics.sessionRefused("principal_limit");
          return Optional.of(new SessionRefusal(429, RpcError.RATE_LIMITED, "Too many sessions: you have " + own.size()
              + " open and every one is busy (server.sessions.per_principal: " + limits.perPrincipal()
              + "); close one with DELETE or retry later", 5));
        }
        log.info("session {} of {} closed to make room for a new one (server.sessions.per_principal)", victim.id(), s.principal());
        close(victim, "evicted");
      }
      if (sessions.size() >= limits.max()) {
        McpSession victim = leastRecentlyUsed(sessions.values(), true);
        if (victim == null) {
          metrics.sessionRefused("global_limit");
          return Optional.of(new SessionRefusal(503, RpcError.INTERNAL_ERROR, "Too many sessions on this gateway ("
              + sessions.size() + ", server.sessions.max); retry later", 30));
        }
        log.info("session {} (never used) closed to make room for a new one (server.sessions.max)", victim.id());
        close(victim, "evicted");
      }
      sessions.put(s.id(), s);
      own.add(s);
    } finally {
      admission.unlock();
    }
    return Optional.empty();
  }

  /** The idle session used least recently; with {@code unusedOnly}, only among those never used. */
  private static McpSession leastRecentlyUsed(java.util.Collection<McpSession> candidates, boolean unusedOnly) {
    McpSession oldest = null;
    for (McpSession c : candidates) {
      if (c.idleNanos() == 0 || unusedOnly && c.everUsed()) {
        continue;
      }
      if (oldest == null || c.lastActive() - oldest.lastActive() < 0) {
        oldest = c;
      }
    }
    return oldest;
  }

  /** The live session with this id; a session closed on its own (its queue overflowed) is removed here. */
  Optional<McpSession> session(String id) {
    McpSession s = id == null ? null : sessions.get(id);
    if (s != null && s.closed()) {
      close(s, s.overflowed() ? "queue_full" : "closed");
      return Optional.empty();
    }
    return Optional.ofNullable(s);
  }

  int sessionCount() {
    return sessions.size();
  }

  Iterable<McpSession> sessions() {
    return sessions.values();
  }

  void close(McpSession s) {
    close(s, "closed");
  }

  /** Removes and closes a session; {@code reason} labels the closing in metrics. */
  void close(McpSession s, String reason) {
    if (sessions.remove(s.id()) == null) {
      return;
    }
    java.util.Set<McpSession> own = byOwner.get(s.ownerKey());
    if (own != null) {
      own.remove(s);
      if (own.isEmpty()) {
        admission.lock();
        try {
          if (own.isEmpty()) {
            byOwner.remove(s.ownerKey(), own);
          }
        } finally {
          admission.unlock();
        }
      }
    }
    metrics.sessionClosed(reason);
    s.close();
    for (String key : List.copyOf(s.subscriptions)) {
      unsubscribe(s, key);
    }
  }

  // ---------------------------------------------------------------- inbound from clients

  /**
   * Answers one request with its JSON-RPC response message (a result or an error; the future never
   * fails). Messages related to it (progress, logs, our requests to the client) go to {@code related}.
   * The calls (tools, prompts, resources, completions, subscriptions) run through the {@link CallChain}
   * within the chain {@code chainId} (from the request's {@code X-Chain-Id} or {@code traceparent};
   * without one the session is the chain); this is where their outcome is encoded, once.
   */
  CompletableFuture<ObjectNode> request(McpSession s, JsonNode id, String method, ObjectNode params, Outbound related,
      Optional<String> chainId) {
    return s.modern() ? modern(s, id, method, params, related, chainId) : dispatch(s, id, method, params, related, chainId);
  }

  private CompletableFuture<ObjectNode> dispatch(McpSession s, JsonNode id, String method, ObjectNode params, Outbound related,
      Optional<String> chainId) {
    if (method.equals("initialize")) {
      s.touch();
    } else {
      s.used();
    }
    DownstreamCall ctx = new DownstreamCall(s, related, progressToken(params), chainId.orElse(s.id()));
    CompletableFuture<ObjectNode> f;
    try {
      f = switch (method) {
        case "initialize" -> answered(id, initialize(s, params));
        case "ping" -> answered(id, Json.object());
        case "tools/list" -> answered(id, list(s, "tools", tools(s)));
        case "prompts/list" -> answered(id, list(s, "prompts", prompts(s)));
        case "resources/list" -> answered(id, list(s, "resources", resources(s)));
        case "resources/templates/list" -> answered(id, list(s, "resourceTemplates", templates(s)));
        case "tools/call" -> callTool(s, id, params, ctx);
        case "prompts/get" -> run(s, id, ctx, new Target.Prompt(requireText(params, "name"), params), (server, r) -> {
          for (JsonNode m : r.path("messages")) {
            rewriteItem(s, server, m.get("content"));
          }
          return r;
        });
        case "resources/read" -> run(s, id, ctx, new Target.Resource(requireText(params, "uri"), params), (server, r) -> {
          for (JsonNode c : r.path("contents")) {
            if (c instanceof ObjectNode o && o.has("uri")) {
              o.put("uri", clientUri(s, server, o.get("uri").asText()));
            }
          }
          return r;
        });
        case "resources/subscribe" -> subscribe(s, id, params, ctx);
        case "resources/unsubscribe" -> unsubscribeRequest(s, id, params);
        case "completion/complete" -> complete(s, id, params, ctx);
        case "tasks/get", "tasks/result", "tasks/cancel" -> plain(id, task(s, method, params, ctx));
        case "tasks/list" -> plain(id, listTasks(s, params, ctx));
        case "logging/setLevel" -> plain(id, setLevel(s, params, ctx));
        default -> throw new RpcException(RpcError.METHOD_NOT_FOUND, "Method not found: " + method);
      };
    } catch (RpcException e) {
      return CompletableFuture.completedFuture(JsonRpc.error(id, e.error()));
    }
    if (!f.isDone()) {
      String key = id.toString();
      Runnable cancel = () -> {
        ctx.cancel(); // the registry tells the upstream, and the call ends as cancelled
        f.cancel(false);
      };
      s.inFlight.put(key, cancel);
      f.whenComplete((r, e) -> s.inFlight.remove(key, cancel));
    }
    return f;
  }

  /**
   * A 2026-07-28 request: its headers checked against its body (for tools, prompts and resources inside
   * the chain, so the refusal is recorded like any), the methods that revision removed unknown, and
   * every result completed with its type, the server's identity and, where cacheable, caching hints.
   */
  private CompletableFuture<ObjectNode> modern(McpSession s, JsonNode id, String method, ObjectNode params, Outbound related,
      Optional<String> chainId) {
    Optional<String> field = ModernMcp.nameField(method);
    if (field.isEmpty()) {
      RpcError broken = s.mirror().check(method, params);
      if (broken != null) {
        return CompletableFuture.completedFuture(JsonRpc.error(id, broken));
      }
    }
    CompletableFuture<ObjectNode> f;
    if (TASK_METHODS.contains(method)) {
      f = task(s, id, method, params, related, chainId);
    } else if (field.isPresent()) {
      f = roundTrip(s, id, method, field.get(), params, related, chainId);
    } else if (ModernMcp.removed(method) || method.equals("initialize") || method.equals("subscriptions/listen")) {
      f = CompletableFuture.completedFuture(JsonRpc.error(id, RpcError.METHOD_NOT_FOUND, "Method not found: " + method
          + (method.equals("subscriptions/listen") ? " (it needs a response stream: send Accept: text/event-stream)"
              : " (not part of MCP " + ModernMcp.REVISION + ")")));
    } else if (method.equals("server/discover")) {
      f = answered(id, discover(s));
    } else {
      f = dispatch(s, id, method, params, related, chainId);
    }
    return f.thenApply(m -> {
      if (m.get("result") instanceof ObjectNode r) {
        ModernMcp.complete(method, r, serverInfo(s));
      } else if (m.get("error") instanceof ObjectNode e && e.path("code").asInt() == RpcError.RESOURCE_NOT_FOUND) {
        e.put("code", RpcError.INVALID_PARAMS); // 2026-07-28: an unknown resource is invalid params
      }
      return m;
    });
  }

  /**
   * A tool call, prompt or read of a 2026-07-28 client: a first request runs through the chain (an
   * upstream's sampling, elicitation or roots request in the middle comes back as an
   * {@code input_required} result); a retry carrying {@code requestState} answers those requests and
   * gets what follows. A retry does not run the chain again: it continues the call already decided.
   */
  private CompletableFuture<ObjectNode> roundTrip(McpSession s, JsonNode id, String method, String field, ObjectNode params,
      Outbound related, Optional<String> chainId) {
    JsonNode state = params.get("requestState");
    String name = params.path(field).asText(null);
    if (state == null || !InputRounds.ours(state)) {
      // A first request, or a retry of an upstream's own multi round-trip (a 2026-07-28 upstream's
      // requestState): through the chain, with the retry's answers and state passed on.
      InputRounds.Round round = rounds.open(s, method, name);
      s.round(round);
      round.relay(related, progressToken(params));
      return round.first(id, dispatch(s, id, method, params, round::send, chainId));
    }
    RpcError broken = s.mirror().check(method, params);
    if (broken != null) {
      return CompletableFuture.completedFuture(JsonRpc.error(id, broken));
    }
    Optional<InputRounds.Round> round = state.isTextual() ? rounds.find(state.asText(), s.ownerKey()) : Optional.empty();
    if (round.isEmpty()) {
      return CompletableFuture.completedFuture(JsonRpc.error(id, RpcError.INVALID_PARAMS, "Invalid params: requestState is unknown, "
          + "expired or not yours (a pending request waits 5 minutes, on the gateway that started it); send the request again "
          + "without requestState and inputResponses"));
    }
    InputRounds.Round r = round.get();
    if (!r.method.equals(method) || !java.util.Objects.equals(r.name, name)) {
      return CompletableFuture.completedFuture(JsonRpc.error(id, RpcError.INVALID_PARAMS,
          "Invalid params: requestState belongs to another request (" + r.method + ")"));
    }
    JsonNode responses = params.get("inputResponses");
    r.relay(related, progressToken(params)); // what the upstream sends from now on belongs to this retry
    return r.resume(id, responses instanceof ObjectNode o ? o : Json.object());
  }

  /** The methods of the tasks extension (2026-07-28); {@code tasks/list} and {@code tasks/result} are gone from it. */
  static final List<String> TASK_METHODS = List.of("tasks/get", "tasks/update", "tasks/cancel");

  /**
   * {@code tasks/get}, {@code tasks/update} or {@code tasks/cancel} of a 2026-07-28 client that declared
   * the tasks extension: routed by the task handle to the upstream that runs the task, through the
   * chain (headers checked, the tool still allowed, the step recorded); the upstream's id never reaches
   * the client, a result inside is rewritten as the tool's result would be.
   */
  private CompletableFuture<ObjectNode> task(McpSession s, JsonNode id, String method, ObjectNode params, Outbound related,
      Optional<String> chainId) {
    if (!s.clientCapabilities().path("extensions").has(McpHeaders.TASKS_EXTENSION)) {
      ObjectNode data = Json.object();
      data.putObject("requiredCapabilities").putObject("extensions").putObject(McpHeaders.TASKS_EXTENSION);
      return CompletableFuture.completedFuture(JsonRpc.error(id, new RpcError(RpcError.MISSING_CLIENT_CAPABILITY,
          "Missing required client capability: " + method + " needs extensions[\"" + McpHeaders.TASKS_EXTENSION
              + "\"] in _meta[\"" + ModernMcp.CAPABILITIES_KEY + "\"]", Optional.of(data))));
    }
    String handle = params.path("taskId").isTextual() ? params.get("taskId").asText() : "";
    DownstreamCall ctx = new DownstreamCall(s, related, null, chainId.orElse(s.id()));
    return run(s, id, ctx, new Target.Task(method, handle, params), (server, r) -> {
      if (r instanceof ObjectNode o && o.has("taskId")) {
        o.put("taskId", handle);
      }
      if (r.get("result") instanceof ObjectNode inner) {
        rewriteContent(s, server, inner, "content");
      }
      return r;
    });
  }

  /** At most this many resources per {@code subscriptions/listen}. */
  static final int MAX_LISTEN_URIS = 100;

  /**
   * {@code subscriptions/listen} for an admitted listener {@code s}: what it asked for that the gateway
   * will send, as the acknowledgment names it. List changes in its scope are always honoured; each
   * resource is subscribed like a 2025-11-25 {@code resources/subscribe} (decided, recorded, the upstream
   * subscribed once), and named only if that succeeded.
   */
  CompletableFuture<ObjectNode> listen(McpSession s, ObjectNode params, Optional<String> chainId) {
    JsonNode want = params.path("notifications");
    ObjectNode ack = Json.object();
    for (String k : List.of("toolsListChanged", "promptsListChanged", "resourcesListChanged")) {
      if (want.path(k).asBoolean(false)) {
        ack.put(k, true);
      }
    }
    if (!(want.get("resourceSubscriptions") instanceof ArrayNode uris) || uris.isEmpty()) {
      return CompletableFuture.completedFuture(ack);
    }
    if (uris.size() > MAX_LISTEN_URIS) {
      throw new RpcException(RpcError.INVALID_PARAMS, "notifications.resourceSubscriptions: " + uris.size()
          + " resources (expected: at most " + MAX_LISTEN_URIS + " per subscriptions/listen)");
    }
    DownstreamCall ctx = new DownstreamCall(s, m -> false, null, chainId.orElse(s.id()));
    List<String> asked = new ArrayList<>();
    List<CompletableFuture<ObjectNode>> answers = new ArrayList<>();
    for (JsonNode u : uris) {
      if (u.isTextual() && !u.asText().isEmpty() && !asked.contains(u.asText())) {
        asked.add(u.asText());
        ObjectNode p = Json.object();
        p.put("uri", u.asText());
        answers.add(subscribe(s, Json.MAPPER.getNodeFactory().numberNode(asked.size()), p, ctx));
      }
    }
    return CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).thenApply(v -> {
      ArrayNode granted = ack.putArray("resourceSubscriptions");
      for (int i = 0; i < asked.size(); i++) {
        if (answers.get(i).join().has("result")) {
          granted.add(asked.get(i));
        }
      }
      return ack;
    });
  }

  /** Whether a listener whose acknowledgment is {@code ack} asked for {@code notification}. */
  static boolean wanted(ObjectNode ack, ObjectNode notification) {
    return switch (notification.path("method").asText()) {
      case "notifications/tools/list_changed" -> ack.path("toolsListChanged").asBoolean(false);
      case "notifications/prompts/list_changed" -> ack.path("promptsListChanged").asBoolean(false);
      case "notifications/resources/list_changed" -> ack.path("resourcesListChanged").asBoolean(false);
      case "notifications/resources/updated" -> ack.has("resourceSubscriptions"); // only subscribed resources reach it
      default -> false;
    };
  }

  /** {@code server/discover}: the revisions served and, for this caller's scope, what the gateway offers. */
  private JsonNode discover(McpSession s) {
    ObjectNode result = Json.object();
    ModernMcp.ALL_REVISIONS.forEach(result.putArray("supportedVersions")::add);
    result.set("capabilities", capabilities(s));
    instructions(s).ifPresent(i -> result.put("instructions", i));
    return result;
  }

  private static CompletableFuture<ObjectNode> answered(JsonNode id, JsonNode result) {
    return CompletableFuture.completedFuture(JsonRpc.result(id, result));
  }

  /** A request answered by an upstream outside the chain (tasks, log level): its result or error. */
  private static CompletableFuture<ObjectNode> plain(JsonNode id, CompletableFuture<JsonNode> f) {
    return f.handle((r, e) -> e == null ? JsonRpc.result(id, r) : JsonRpc.error(id, RpcError.from(e)));
  }

  /** The door's rewriting of a result from {@code server}. */
  private interface Rewrite {
    JsonNode apply(String server, JsonNode result);
  }

  /** Runs a call through the chain and encodes its outcome as the JSON-RPC answer to {@code id}. */
  private CompletableFuture<ObjectNode> run(McpSession s, JsonNode id, DownstreamCall ctx, Target target, Rewrite rewrite) {
    Call call = Call.of(s.source(), s.principal(), ctx.chainId, target).scope(s.scope()).relay(ctx)
        .finish((resolved, r) -> rewrite.apply(resolved.server(), r));
    call.revision = s.protocolVersion();
    if (s.modern() && ModernMcp.nameField(method(target)).isPresent()) {
      // Tools, prompts and resources: the headers are checked inside the chain, which records a refusal.
      call.check = c -> c.resolved == null ? s.mirror().check(method(target), target.params()) : arguments(s, c);
    }
    return chain.run(call).thenApply(o -> encode(id, target, o));
  }

  /** The MCP method a call target came as. */
  private static String method(Target target) {
    return switch (target) {
      case Target.Tool t -> "tools/call";
      case Target.Task k -> k.method();
      case Target.Prompt p -> "prompts/get";
      case Target.Resource r -> "resources/read";
      case Target.Completion c -> "completion/complete";
      case Target.Subscribe x -> "subscriptions/listen";
      case Target.Model m -> "chat";
    };
  }

  /** A resolved tool call's {@code Mcp-Param-*} headers against the arguments its schema marks. */
  private RpcError arguments(McpSession s, Call c) {
    if (!(c.target instanceof Target.Tool t)) {
      return null;
    }
    JsonNode schema = registry.catalog().tools().stream()
        .filter(e -> e.server().equals(c.resolved.server()) && e.originalName().equals(c.resolved.name()))
        .findFirst().map(e -> e.definition().get("inputSchema")).orElse(null);
    return schema == null ? null : s.mirror().checkArguments(schema, t.params().get("arguments"));
  }

  /** An outcome as the JSON-RPC answer to {@code id}: the result, or an error naming rule and reason. */
  static ObjectNode encode(JsonNode id, Target target, Outcome outcome) {
    return switch (outcome) {
      case Outcome.Done d -> JsonRpc.result(id, d.result());
      case Outcome.Failed f -> JsonRpc.error(id, f.error());
      case Outcome.Refused r -> {
        ObjectNode data = r.decision().isPresent() ? Json.object() : null;
        if (data != null) {
          data.put("rule", r.decision().get().ruleId());
          data.put("reason", r.decision().get().reason());
          r.argument().ifPresent(arg -> data.put("argument", arg));
          if (r.why() == Outcome.Why.RATE_LIMITED) {
            data.put("retryAfterSeconds", r.retryAfterSeconds());
          }
        }
        yield JsonRpc.error(id, r.error().orElseGet(() -> new RpcError(code(target, r), r.message(), Optional.ofNullable(data))));
      }
    };
  }

  /** The JSON-RPC error code of a refusal on {@code /mcp}. */
  static int code(Target target, Outcome.Refused r) {
    if (r.error().isPresent()) {
      return r.error().get().code();
    }
    return switch (r.why()) {
      case DENIED, BUDGET_EXCEEDED -> RpcError.FORBIDDEN;
      case RATE_LIMITED -> RpcError.RATE_LIMITED;
      case UNKNOWN -> target instanceof Target.Resource || target instanceof Target.Subscribe
          ? RpcError.RESOURCE_NOT_FOUND : RpcError.INVALID_PARAMS;
      case INVALID -> RpcError.INVALID_PARAMS;
    };
  }

  void notification(McpSession s, String method, ObjectNode params) {
    s.touch();
    switch (method) {
      case "notifications/cancelled" -> {
        Runnable cancel = s.inFlight.remove(params.path("requestId").toString());
        if (cancel != null) {
          cancel.run(); // the registry's hook tells the upstream
        }
      }
      case "notifications/initialized", "notifications/roots/list_changed" -> { }
      default -> log.debug("session {}: ignored notification {}", s.id(), method);
    }
  }

  /** An answer from the client to one of our requests (sampling, elicitation). */
  void response(McpSession s, JsonNode id, ObjectNode message) {
    s.touch();
    CompletableFuture<JsonNode> f = s.awaiting.remove(id.asText());
    if (f == null) {
      log.debug("session {}: answer to unknown request {}", s.id(), id);
      return;
    }
    JsonNode error = message.get("error");
    if (error != null && !error.isNull()) {
      f.completeExceptionally(new McpException(error.path("code").asInt(McpException.INTERNAL_ERROR),
          error.path("message").asText("client error"), error.get("data"), null));
    } else {
      f.complete(message.path("result"));
    }
  }

  // ---------------------------------------------------------------- methods

  private JsonNode initialize(McpSession s, ObjectNode params) {
    String requested = params.path("protocolVersion").asText("");
    String negotiated = PROTOCOL_VERSIONS.contains(requested) ? requested : PROTOCOL_VERSIONS.get(0);
    s.initialized(negotiated,
        params.get("capabilities") instanceof ObjectNode c ? c : Json.object(),
        params.get("clientInfo") instanceof ObjectNode i ? i : Json.object());
    ObjectNode result = Json.object();
    result.put("protocolVersion", negotiated);
    result.set("capabilities", capabilities(s));
    result.set("serverInfo", serverInfo(s));
    instructions(s).ifPresent(i -> result.put("instructions", i));
    return result;
  }

  /**
   * What the gateway offers in the session's scope: everything a federation can do on {@code /mcp},
   * the upstream's own capabilities (with list changes announced) on {@code /mcp/<server>}. Tasks are
   * offered only to the session-based revisions (2026-07-28 made them an extension the gateway does
   * not serve yet).
   */
  private ObjectNode capabilities(McpSession s) {
    ObjectNode caps = Json.object();
    switch (s.scope()) {
      case McpSession.Federated f -> {
        caps.putObject("tools").put("listChanged", true);
        ObjectNode res = caps.putObject("resources");
        res.put("subscribe", true);
        res.put("listChanged", true);
        caps.putObject("prompts").put("listChanged", true);
        caps.putObject("logging");
        caps.putObject("completions");
        if (!s.modern() && registry.catalog().servers().values().stream().anyMatch(McpDispatcher::runsTasks)) {
          ObjectNode tasks = caps.putObject("tasks");
          tasks.putObject("list");
          tasks.putObject("cancel");
          tasks.putObject("requests").putObject("tools").putObject("call");
        }
      }
      case McpSession.Single one -> {
        Optional<UpstreamCatalog> cat = registry.catalog().server(one.server());
        if (cat.isPresent()) {
          ObjectNode upstreamCaps = cat.get().capabilities();
          for (String k : List.of("tools", "prompts", "resources")) {
            if (upstreamCaps.has(k)) {
              ObjectNode c = upstreamCaps.get(k) instanceof ObjectNode o ? o.deepCopy() : Json.object();
              c.put("listChanged", true); // we announce reconnects and reloads too
              caps.set(k, c);
            }
          }
          for (String k : s.modern() ? List.of("logging", "completions", "experimental") : List.of("logging", "completions", "experimental", "tasks")) {
            if (upstreamCaps.has(k)) {
              caps.set(k, upstreamCaps.get(k).deepCopy());
            }
          }
          if (!s.modern() && !caps.has("tasks") && runsTasks(cat.get())) {
            // A 2026-07-28 upstream's tasks extension, offered to a session-based client as its revision's tasks.
            ObjectNode tasks = caps.putObject("tasks");
            tasks.putObject("list");
            tasks.putObject("cancel");
            tasks.putObject("requests").putObject("tools").putObject("call");
          }
        } else {
          caps.putObject("tools").put("listChanged", true);
          caps.putObject("prompts").put("listChanged", true);
          caps.putObject("resources").put("listChanged", true);
        }
      }
    }
    if (s.modern()) {
      ObjectNode ext = Json.object();
      for (String e : McpHeaders.RELAYED_EXTENSIONS) {
        java.util.stream.Stream<UpstreamCatalog> offering = s.scope() instanceof McpSession.Single one
            ? registry.catalog().server(one.server()).stream() : registry.catalog().servers().values().stream();
        if (offering.anyMatch(c -> c.capabilities().path("extensions").has(e)
            || (e.equals(McpHeaders.TASKS_EXTENSION) && c.capabilities().path("tasks").path("requests").path("tools").has("call")))) {
          // The tasks of a 2025-11-25 upstream are offered as the extension (the registry bridges them).
          ext.putObject(e);
        }
      }
      if (!ext.isEmpty()) {
        caps.set("extensions", ext);
      }
    }
    return caps;
  }

  /** Whether an upstream runs tasks: 2025-11-25 {@code tasks}, or the tasks extension of 2026-07-28. */
  private static boolean runsTasks(UpstreamCatalog c) {
    return c.capabilities().has("tasks") || c.capabilities().path("extensions").has(McpHeaders.TASKS_EXTENSION);
  }

  /** Who answers in the session's scope: the gateway on {@code /mcp}, the upstream's own identity on {@code /mcp/<server>}. */
  private ObjectNode serverInfo(McpSession s) {
    ObjectNode info = Json.object();
    switch (s.scope()) {
      case McpSession.Federated f -> {
        info.put("name", "gatehouse");
        info.put("title", "Gatehouse MCP gateway");
        info.put("version", version);
      }
      case McpSession.Single one -> {
        registry.catalog().server(one.server()).ifPresent(c -> info.setAll(c.serverInfo().deepCopy()));
        if (!info.has("name")) {
          info.put("name", one.server());
        }
        if (!info.has("version")) {
          info.put("version", version);
        }
      }
    }
    return info;
  }

  private Optional<String> instructions(McpSession s) {
    return switch (s.scope()) {
      case McpSession.Federated f -> Optional.of(federatedInstructions());
      case McpSession.Single one -> registry.catalog().server(one.server()).map(UpstreamCatalog::instructions).filter(i -> !i.isEmpty());
    };
  }

  private String federatedInstructions() {
    String sep = registry.catalog().separator();
    StringBuilder b = new StringBuilder("Tools and prompts of several MCP servers, named <server>" + sep
        + "<name>; resource URIs are <server>+<uri>.");
    for (UpstreamCatalog c : registry.catalog().servers().values()) {
      if (!c.instructions().isEmpty()) {
        b.append("\n\n[").append(c.server()).append("] ").append(c.instructions());
      }
    }
    return b.toString();
  }

  /**
   * A list result. On {@code /mcp/<server>} it carries what the upstream's own list result carried
   * besides its items ({@code ttlMs}, {@code cacheScope}, {@code _meta}), so the endpoint stays
   * transparent.
   */
  private JsonNode list(McpSession s, String field, List<ObjectNode> items) {
    ObjectNode result = Json.object();
    if (s.scope() instanceof McpSession.Single one) {
      registry.catalog().server(one.server()).ifPresent(c -> result.setAll(c.extras(field).deepCopy()));
    }
    ArrayNode arr = result.putArray(field);
    if (s.modern()) {
      // 2026-07-28: a deterministic order, so clients and model prompt caches can reuse what they have.
      List<ObjectNode> sorted = new ArrayList<>(items);
      sorted.sort(java.util.Comparator.comparing((ObjectNode o) -> o.path("name").asText(""))
          .thenComparing(o -> o.path("uri").asText(o.path("uriTemplate").asText(""))));
      items = sorted;
    }
    arr.addAll(items);
    return result;
  }

  /** The tools this session's principal may see, in catalog order. */
  List<ObjectNode> tools(McpSession s) {
    return visibleEntries(s, registry.catalog().tools(), e -> new Action.Tool(e.server(), e.name(), null));
  }

  List<ObjectNode> prompts(McpSession s) {
    return visibleEntries(s, registry.catalog().prompts(), e -> new Action.Prompt(e.server(), e.name()));
  }

  List<ObjectNode> resources(McpSession s) {
    return visibleResources(s, registry.catalog().resources());
  }

  List<ObjectNode> templates(McpSession s) {
    return visibleResources(s, registry.catalog().resourceTemplates());
  }

  private List<ObjectNode> visibleEntries(McpSession s, List<FederatedCatalog.Entry> all,
      java.util.function.Function<FederatedCatalog.Entry, Action> action) {
    String only = s.scope() instanceof McpSession.Single one ? one.server() : null;
    List<ObjectNode> out = new ArrayList<>(all.size());
    for (FederatedCatalog.Entry e : all) {
      if (only != null && !only.equals(e.server())) {
        continue;
      }
      if (!access.visible(s.principal(), action.apply(e))) {
        continue;
      }
      out.add(only == null ? e.definition() : original(e));
    }
    return out;
  }

  private List<ObjectNode> visibleResources(McpSession s, List<FederatedCatalog.ResourceEntry> all) {
    String only = s.scope() instanceof McpSession.Single one ? one.server() : null;
    List<ObjectNode> out = new ArrayList<>(all.size());
    for (FederatedCatalog.ResourceEntry e : all) {
      if (only != null && !only.equals(e.server())) {
        continue;
      }
      if (!access.visible(s.principal(), new Action.Resource(e.server(), e.uri()))) {
        continue;
      }
      Integrity i = integrity;
      if (i != null && e.definition().has("uriTemplate") && i.withheldTemplate(e.uri())) {
        continue;
      }
      out.add(only == null ? e.definition() : originalResource(e));
    }
    return out;
  }

  /** The upstream's own definition of a federated entry (for /mcp/<server>). */
  private ObjectNode original(FederatedCatalog.Entry e) {
    ObjectNode copy = e.definition().deepCopy();
    copy.put("name", e.originalName());
    String prefix = e.server() + "+";
    FederatedCatalog.appResourceUris(copy, u -> u.startsWith(prefix) ? u.substring(prefix.length()) : u);
    return copy;
  }

  private static ObjectNode originalResource(FederatedCatalog.ResourceEntry e) {
    ObjectNode copy = e.definition().deepCopy();
    copy.put(copy.has("uriTemplate") ? "uriTemplate" : "uri", e.originalUri());
    return copy;
  }

  private String clientUri(McpSession s, String server, String uri) {
    return s.scope() instanceof McpSession.Federated ? server + "+" + uri : uri;
  }

  private CompletableFuture<ObjectNode> callTool(McpSession s, JsonNode id, ObjectNode params, DownstreamCall ctx) {
    String name = requireText(params, "name");
    return run(s, id, ctx, new Target.Tool(name, params), (server, r) -> {
      if (r.path("task").path("taskId").isTextual()) {
        tasks.put(r.path("task").path("taskId").asText(), new TaskRef(server, s.ownerKey(), s.id()));
      }
      if (s.modern() && "task".equals(r.path("resultType").asText()) && r.path("taskId").isTextual() && r instanceof ObjectNode o) {
        // The tasks extension: the client polls the gateway with a handle only it can use.
        CallChain.Named n = CallChain.name(s.scope(), registry.catalog(), name, false);
        o.put("taskId", chain.tasks().seal(s.ownerKey(), server, n != null ? n.name() : name, r.get("taskId").asText()));
        o.remove("requestState");
      }
      return rewriteContent(s, server, r, "content");
    });
  }

  /** A task an upstream runs for a client (a task-augmented tools/call): where it runs and whose it is. */
  private record TaskRef(String server, String owner, String sessionId) {}

  /** Tasks created through the gateway, the most recent {@value #MAX_TASKS}; others are unknown to it. */
  private static final int MAX_TASKS = 10_000;
  private final Map<String, TaskRef> tasks = java.util.Collections.synchronizedMap(new java.util.LinkedHashMap<>(256, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, TaskRef> eldest) {
      return size() > MAX_TASKS;
    }
  });

  /**
   * {@code tasks/get}, {@code tasks/result} and {@code tasks/cancel}: forwarded to the upstream that runs
   * the task, for the caller that created it; anyone else's task id is unknown (-32602).
   */
  private CompletableFuture<JsonNode> task(McpSession s, String method, ObjectNode params, DownstreamCall ctx) {
    String taskId = requireText(params, "taskId");
    TaskRef ref = tasks.get(taskId);
    if (ref == null || !ref.owner().equals(s.ownerKey())) {
      throw new RpcException(RpcError.INVALID_PARAMS, "Invalid params: unknown task '" + taskId + "'");
    }
    CompletableFuture<JsonNode> f = registry.call(ref.server(), method, params.deepCopy(), ctx);
    return method.equals("tasks/result") ? f.thenApply(r -> rewriteContent(s, ref.server(), r, "content")) : f;
  }

  /** {@code tasks/list}: the caller's own tasks, from every upstream that runs one of them. */
  private CompletableFuture<JsonNode> listTasks(McpSession s, ObjectNode params, DownstreamCall ctx) {
    java.util.Set<String> servers = new java.util.LinkedHashSet<>();
    synchronized (tasks) {
      tasks.values().stream().filter(r -> r.owner().equals(s.ownerKey())).forEach(r -> servers.add(r.server()));
    }
    List<CompletableFuture<JsonNode>> lists = new ArrayList<>();
    for (String server : servers) {
      lists.add(registry.call(server, "tasks/list", Json.object(), ctx).exceptionallyCompose(e -> knownTasks(s, server, ctx)));
    }
    return CompletableFuture.allOf(lists.toArray(CompletableFuture[]::new)).thenApply(v -> {
      ObjectNode result = Json.object();
      ArrayNode out = result.putArray("tasks");
      for (CompletableFuture<JsonNode> l : lists) {
        for (JsonNode t : l.join().path("tasks")) {
          TaskRef ref = tasks.get(t.path("taskId").asText());
          if (ref != null && ref.owner().equals(s.ownerKey())) {
            out.add(t);
          }
        }
      }
      return result;
    });
  }

  /**
   * The caller's tasks on an upstream without {@code tasks/list} (a 2026-07-28 one): each task created
   * through the gateway asked for with {@code tasks/get}, the most recent {@value #MAX_LISTED} of them.
   */
  private CompletableFuture<JsonNode> knownTasks(McpSession s, String server, DownstreamCall ctx) {
    List<String> ids = new ArrayList<>();
    synchronized (tasks) {
      tasks.forEach((id, r) -> {
        if (r.server().equals(server) && r.owner().equals(s.ownerKey())) {
          ids.add(id);
        }
      });
    }
    List<CompletableFuture<JsonNode>> got = new ArrayList<>();
    for (String id : ids.subList(Math.max(0, ids.size() - MAX_LISTED), ids.size())) {
      ObjectNode p = Json.object();
      p.put("taskId", id);
      got.add(registry.call(server, "tasks/get", p, ctx).exceptionally(e -> null));
    }
    return CompletableFuture.allOf(got.toArray(CompletableFuture[]::new)).thenApply(v -> {
      ObjectNode result = Json.object();
      ArrayNode out = result.putArray("tasks");
      got.stream().map(CompletableFuture::join).filter(t -> t != null && t.has("taskId")).forEach(out::add);
      return result;
    });
  }

  /** At most this many of a caller's tasks on one upstream are asked for by {@link #knownTasks}. */
  private static final int MAX_LISTED = 100;

  private CompletableFuture<ObjectNode> complete(McpSession s, JsonNode id, ObjectNode params, DownstreamCall ctx) {
    if (!(params.get("ref") instanceof ObjectNode r)) {
      throw new RpcException(RpcError.INVALID_PARAMS, "completion/complete: 'ref' must be an object");
    }
    Target target = switch (r.path("type").asText()) {
      case "ref/prompt" -> new Target.Completion(true, requireText(r, "name"), params);
      case "ref/resource" -> new Target.Completion(false, requireText(r, "uri"), params);
      default -> throw new RpcException(RpcError.INVALID_PARAMS,
          "completion/complete: ref.type '" + r.path("type").asText() + "' (expected: ref/prompt or ref/resource)");
    };
    return run(s, id, ctx, target, (server, result) -> result);
  }

  /**
   * A subscription is decided and recorded like a read; once the upstream accepted it, the session
   * gets the resource's updates (the upstream is subscribed once, however many sessions are).
   */
  private CompletableFuture<ObjectNode> subscribe(McpSession s, JsonNode id, ObjectNode params, DownstreamCall ctx) {
    Target.Subscribe target = new Target.Subscribe(requireText(params, "uri"));
    Call call = Call.of(s.source(), s.principal(), ctx.chainId, target).scope(s.scope()).relay(ctx);
    call.revision = s.protocolVersion();
    return chain.run(call).thenApply(o -> {
      if (o instanceof Outcome.Done) {
        String key = call.resolved.server() + '\0' + call.resolved.name();
        s.subscriptions.add(key);
        subscribers.computeIfAbsent(key, k -> ConcurrentHashMap.newKeySet()).add(s.id());
        changed.accept(s);
      }
      return encode(id, target, o);
    });
  }

  private CompletableFuture<ObjectNode> unsubscribeRequest(McpSession s, JsonNode id, ObjectNode params) {
    String uri = requireText(params, "uri");
    CallChain.Named t = chain.uri(s.scope(), uri);
    if (t == null) {
      throw new RpcException(RpcError.RESOURCE_NOT_FOUND, "Resource not found: " + uri);
    }
    unsubscribe(s, t.server() + '\0' + t.name());
    changed.accept(s);
    return answered(id, Json.object());
  }

  private void unsubscribe(McpSession s, String key) {
    s.subscriptions.remove(key);
    java.util.Set<String> subs = subscribers.get(key);
    if (subs == null) {
      return;
    }
    subs.remove(s.id());
    if (subs.isEmpty() && subscribers.remove(key, subs)) {
      int zero = key.indexOf('\0');
      ObjectNode forward = Json.object();
      forward.put("uri", key.substring(zero + 1));
      registry.call(key.substring(0, zero), "resources/unsubscribe", forward, CallContext.none())
          .exceptionally(e -> null);
    }
  }

  /**
   * Sets the session's level and forwards it to the upstreams in scope that log, within this request:
   * what an upstream logs while handling it reaches the client like any call's messages.
   */
  private CompletableFuture<JsonNode> setLevel(McpSession s, ObjectNode params, DownstreamCall ctx) {
    String level = requireText(params, "level");
    McpSession.LogLevel parsed = McpSession.LogLevel.parse(level).orElseThrow(() -> new RpcException(
        RpcError.INVALID_PARAMS, "logging/setLevel: level '" + level + "' (expected one of debug, info, notice, warning, error, critical, alert, emergency)"));
    s.logLevel(parsed);
    changed.accept(s);
    List<CompletableFuture<JsonNode>> forwarded = new ArrayList<>();
    for (UpstreamCatalog c : registry.catalog().servers().values()) {
      boolean inScope = s.scope() instanceof McpSession.Federated
          || ((McpSession.Single) s.scope()).server().equals(c.server());
      if (inScope && c.has("logging")) {
        ObjectNode p = Json.object();
        p.put("level", level);
        forwarded.add(registry.call(c.server(), "logging/setLevel", p, ctx).exceptionally(e -> null));
      }
    }
    return CompletableFuture.allOf(forwarded.toArray(CompletableFuture[]::new)).thenApply(v -> Json.object());
  }

  private static String requireText(JsonNode params, String field) {
    JsonNode v = params.get(field);
    if (v == null || !v.isTextual() || v.asText().isEmpty()) {
      throw new RpcException(RpcError.INVALID_PARAMS, "missing or invalid '" + field + "' (expected: a non-empty string)");
    }
    return v.asText();
  }

  /** Rewrites resource URIs inside content items so the client can read them back through us. */
  private JsonNode rewriteContent(McpSession s, String server, JsonNode result, String field) {
    if (s.scope() instanceof McpSession.Federated) {
      for (JsonNode item : result.path(field)) {
        rewriteItem(s, server, item);
      }
    }
    return result;
  }

  private void rewriteItem(McpSession s, String server, JsonNode item) {
    if (!(s.scope() instanceof McpSession.Federated) || !(item instanceof ObjectNode o)) {
      return;
    }
    switch (o.path("type").asText()) {
      case "resource_link" -> {
        if (o.has("uri")) {
          o.put("uri", clientUri(s, server, o.get("uri").asText()));
        }
      }
      case "resource" -> {
        if (o.get("resource") instanceof ObjectNode r && r.has("uri")) {
          r.put("uri", clientUri(s, server, r.get("uri").asText()));
        }
      }
      default -> { }
    }
  }

  // ---------------------------------------------------------------- relaying back

  private static JsonNode progressToken(ObjectNode params) {
    JsonNode token = params.path("_meta").get("progressToken");
    return token == null || token.isNull() ? null : token;
  }

  /** The downstream side of one client request, as the registry sees it. */
  private static final class DownstreamCall implements CallContext {
    private final McpSession session;
    private final Outbound related;
    private final JsonNode progressToken;
    private final String chainId;
    private final List<Runnable> cancelHooks = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile boolean cancelled;

    DownstreamCall(McpSession session, Outbound related, JsonNode progressToken, String chainId) {
      this.session = session;
      this.related = related;
      this.progressToken = progressToken;
      this.chainId = chainId;
    }

    @Override
    public void onCancel(Runnable action) {
      cancelHooks.add(action);
      if (cancelled && cancelHooks.remove(action)) {
        action.run();
      }
    }

    void cancel() {
      cancelled = true;
      for (Runnable r : cancelHooks) {
        if (cancelHooks.remove(r)) {
          r.run();
        }
      }
    }

    @Override
    public Optional<JsonNode> progressToken() {
      return Optional.ofNullable(progressToken);
    }

    @Override
    public Object owner() {
      return session;
    }

    @Override
    public boolean takesInputRequired() {
      return session.modern();
    }

    @Override
    public Optional<ObjectNode> clientCapabilities() {
      return Optional.of(session.clientCapabilities());
    }

    @Override
    public void notify(String method, ObjectNode params) {
      if (method.equals("notifications/message")) {
        McpSession.LogLevel level = McpSession.LogLevel.parse(params.path("level").asText()).orElse(McpSession.LogLevel.INFO);
        if (level.compareTo(session.logLevel()) < 0) {
          return;
        }
      }
      ObjectNode msg = JsonRpc.notification(method, params);
      if (!related.send(msg) && !session.modern()) {
        session.enqueue(msg); // a 2026-07-28 request has no other stream: what it cannot take is dropped
      }
    }

    @Override
    public CompletableFuture<JsonNode> request(String method, ObjectNode params) {
      Optional<String> missing = McpSession.missingCapability(session, method, params);
      if (missing.isPresent()) {
        String[] needed = McpSession.neededCapability(session, method, params);
        if (session.modern() && session.round() != null && needed != null && !params.has("task")) {
          // 2026-07-28: the client's request cannot be served without it; it is told which capability.
          session.round().refuse(ModernMcp.missingCapability(method, needed));
        }
        return CompletableFuture.failedFuture(new McpException(McpException.METHOD_NOT_FOUND, missing.get()));
      }
      if (session.modern()) {
        return session.round().ask(method, params); // answered by the client's retry (multi round-trip)
      }
      String id = session.nextServerRequestId();
      CompletableFuture<JsonNode> answer = new CompletableFuture<>();
      session.awaiting.put(id, answer);
      ObjectNode msg = JsonRpc.request(Json.MAPPER.getNodeFactory().textNode(id), method, params);
      if (!related.send(msg) && !session.enqueue(msg)) {
        session.awaiting.remove(id);
        return CompletableFuture.failedFuture(new McpException(McpException.UPSTREAM_UNAVAILABLE, "client session is gone"));
      }
      answer.whenComplete((r, e) -> {
        if (session.awaiting.remove(id) != null && e instanceof CancellationException) {
          ObjectNode p = Json.object();
          p.put("requestId", id);
          p.put("reason", "cancelled by the upstream server");
          ObjectNode cancel = JsonRpc.notification("notifications/cancelled", p);
          if (!related.send(cancel)) {
            session.enqueue(cancel);
          }
        }
      });
      return answer;
    }
  }

  private static String normalOrSelf(String uri) {
    try {
      return ResourceUris.normalize(uri);
    } catch (IllegalArgumentException e) {
      return uri;
    }
  }

  // ---------------------------------------------------------------- registry events

  /** Where upstream credential events go (the audit trail); set once the gateway is wired. */
  private volatile java.util.function.BiConsumer<String, dev.gatehouse.registry.UpstreamTokenEvent> tokenEvents = (s, e) -> { };

  void onUpstreamTokens(java.util.function.BiConsumer<String, dev.gatehouse.registry.UpstreamTokenEvent> sink) {
    this.tokenEvents = sink;
  }

  @Override
  public void onUpstreamToken(String server, dev.gatehouse.registry.UpstreamTokenEvent event) {
    tokenEvents.accept(server, event);
  }

  @Override
  public void onCatalogChanged(FederatedCatalog before, FederatedCatalog after) {
    Integrity i = integrity;
    if (i != null && i.observe(after.servers())) {
      integrityChanged();
      return; // every session was told
    }
    if (sessions.isEmpty()) {
      return;
    }
    Map<McpSession.Scope, boolean[]> changed = new ConcurrentHashMap<>();
    for (McpSession s : sessions.values()) {
      boolean[] c = changed.computeIfAbsent(s.scope(), scope -> diff(scope, before, after));
      if (c[0]) {
        s.enqueue(JsonRpc.notification("notifications/tools/list_changed", null));
      }
      if (c[1]) {
        s.enqueue(JsonRpc.notification("notifications/prompts/list_changed", null));
      }
      if (c[2]) {
        s.enqueue(JsonRpc.notification("notifications/resources/list_changed", null));
      }
    }
  }

  private volatile Integrity integrity;

  void integrity(Integrity integrity) {
    this.integrity = integrity;
  }

  /** What tool integrity withholds changed: every session re-lists tools, prompts and templates. */
  void integrityChanged() {
    for (McpSession s : sessions.values()) {
      s.enqueue(JsonRpc.notification("notifications/tools/list_changed", null));
      s.enqueue(JsonRpc.notification("notifications/prompts/list_changed", null));
      s.enqueue(JsonRpc.notification("notifications/resources/list_changed", null));
    }
  }

  private static boolean[] diff(McpSession.Scope scope, FederatedCatalog before, FederatedCatalog after) {
    return switch (scope) {
      case McpSession.Federated f -> new boolean[] {
          !before.tools().equals(after.tools()),
          !before.prompts().equals(after.prompts()),
          !before.resources().equals(after.resources()) || !before.resourceTemplates().equals(after.resourceTemplates())};
      case McpSession.Single one -> {
        Optional<UpstreamCatalog> b = before.server(one.server());
        Optional<UpstreamCatalog> a = after.server(one.server());
        yield new boolean[] {
            !b.map(UpstreamCatalog::tools).equals(a.map(UpstreamCatalog::tools)),
            !b.map(UpstreamCatalog::prompts).equals(a.map(UpstreamCatalog::prompts)),
            !b.map(c -> List.of(c.resources(), c.resourceTemplates())).equals(a.map(c -> List.of(c.resources(), c.resourceTemplates())))};
      }
    };
  }

  @Override
  public void onNotification(String server, String method, ObjectNode params) {
    if (method.equals("notifications/resources/updated")) {
      String uri = params.path("uri").asText();
      java.util.Set<String> subs = subscribers.get(server + '\0' + normalOrSelf(uri)); // subscriptions are kept by normal form
      if (subs == null) {
        return;
      }
      for (String sid : subs) {
        McpSession s = sessions.get(sid);
        if (s != null) {
          ObjectNode p = params.deepCopy();
          p.put("uri", clientUri(s, server, uri));
          s.enqueue(JsonRpc.notification(method, p));
        }
      }
    } else if (method.equals("notifications/tasks/status")) {
      TaskRef ref = tasks.get(params.path("taskId").asText());
      McpSession owner = ref == null || !ref.server().equals(server) ? null : sessions.get(ref.sessionId());
      if (owner != null) {
        owner.enqueue(JsonRpc.notification(method, params));
      }
    } else if (method.equals("notifications/message")) {
      log.info("upstream '{}' log [{}]: {}", server, params.path("level").asText(), params.path("data"));
    } else {
      log.debug("upstream '{}': unrouted notification {}", server, method);
    }
  }
}
