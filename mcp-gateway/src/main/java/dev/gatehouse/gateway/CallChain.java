package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.policy.Action;
import dev.gatehouse.policy.Decision;
import dev.gatehouse.policy.PolicyEngine;
import dev.gatehouse.policy.ResourceUris;
import dev.gatehouse.registry.CallContext;
import dev.gatehouse.registry.FederatedCatalog;
import dev.gatehouse.registry.ToolNames;
import dev.gatehouse.registry.ToolRegistry;
import dev.gatehouse.router.RouteOptions;
import dev.gatehouse.router.Router;
import dev.gatehouse.router.RouterException;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one chain every call runs, whatever its door: <b>resolve → decide → execute → record</b>, after
 * the door authenticated the caller ({@link EdgeAuth}, whose refusals are recorded too).
 *
 * <ol>
 *   <li><b>resolve</b>: the {@link Target} as the client named it → its upstream (or model) and the
 *       name policies see; an unknown name or a malformed argument ends here, refused and recorded.
 *   <li><b>decide</b>: {@link Access} — policy, rate limits, and for models the day's budget.
 *   <li><b>execute</b>: the registry (MCP upstreams) or the router (models), asynchronously: no thread
 *       waits for the upstream; the answer continues from the upstream's completion.
 *   <li><b>record</b>: metrics, the audit step, a log line. With the default {@code durability: commit}
 *       the outcome is handed back once its step is committed (a callback, not a blocked thread).
 * </ol>
 *
 * <p>The outcome is a value ({@link Outcome}), never an exception; the door encodes it once.
 */
final class CallChain {
  private static final Logger log = LoggerFactory.getLogger("gatehouse.calls");

  private final ToolRegistry registry;
  private final Access access;
  private final Supplier<Router> router;
  private final Supplier<GatewayConfig> config;
  private final Budgets budgets;
  /** {@code tokens_per_minute}, reserved before a model call and settled from its usage. */
  private final TokenLimits tokenLimits;
  private final Supplier<AuditRecorder> audit;
  private final GatewayMetrics metrics;
  /** Where a principal's spend is first read from the audit store (a query, so never on the caller's thread). */
  private final java.util.concurrent.Executor blocking;
  /** Opens the task ids given to 2026-07-28 clients (the tasks extension). */
  private final TaskHandles tasks;

  /** Traces of the chain's steps ({@link Tracing#OFF} unless configured). */
  private volatile Tracing tracing = Tracing.OFF;

  CallChain(ToolRegistry registry, Access access, Supplier<Router> router, Supplier<GatewayConfig> config, Budgets budgets,
      TokenLimits tokenLimits, Supplier<AuditRecorder> audit, GatewayMetrics metrics, java.util.concurrent.Executor blocking,
      TaskHandles tasks) {
    this.tokenLimits = tokenLimits;
    this.blocking = blocking;
    this.tasks = tasks;
    this.registry = registry;
    this.access = access;
    this.router = router;
    this.config = config;
    this.budgets = budgets;
    this.audit = audit;
    this.metrics = metrics;
  }

  Access access() {
    return access;
  }

  TaskHandles tasks() {
    return tasks;
  }

  void tracing(Tracing tracing) {
    this.tracing = tracing;
  }

  /** Runs {@code call} through the chain; the future never fails, its value says how the call ended. */
  CompletableFuture<Outcome> run(Call call) {
    Tracing t = tracing;
    if (t.on()) {
      call.span = t.start(call, call.traceparent != null ? call.traceparent : Tracing.metaTraceparent(call.target.params()));
    }
    Outcome early;
    try {
      early = resolve(call);
    } catch (RuntimeException e) {
      log.error("call {} {} failed before reaching its upstream", call.target.kind(), call.target.requested(), e);
      early = new Outcome.Failed(RpcError.from(e));
    }
    if (early == null && call.target instanceof Target.Model) {
      call.modelLimits = access.modelLimits(call.principal, call.resolved.action());
      Map<String, CompletableFuture<BigDecimal>> reading = new java.util.LinkedHashMap<>();
      for (PolicyEngine.ModelLimit l : call.modelLimits) {
        Budgets.Owner owner = Budgets.Owner.of(l);
        for (Budgets.Period period : Budgets.Period.values()) {
          boolean capped = period == Budgets.Period.DAY ? l.usdPerDay().isPresent() : l.usdPerMonth().isPresent();
          if (capped && !budgets.known(owner, period)) {
            // The spend comes from Redis, or once per owner and period from the audit store: off this thread.
            reading.computeIfAbsent(spendKey(owner, period), k -> budgets.spentAsync(owner, period));
          }
        }
      }
      if (!reading.isEmpty()) {
        return CompletableFuture.allOf(reading.values().toArray(CompletableFuture[]::new)).handle((v, e) -> {
          if (e != null) {
            call.spendUnknown = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
                ? e.getCause().getMessage() : e.getMessage();
          } else {
            Map<String, BigDecimal> spent = new java.util.HashMap<>();
            reading.forEach((k, f) -> spent.put(k, f.join()));
            call.spent = spent;
          }
          return null;
        }).thenCompose(v -> decided(call, null));
      }
    }
    return decided(call, early);
  }

  /** The kind of owner a model limit counts for, as metrics label it. */
  private static String scope(PolicyEngine.ModelLimit l) {
    return switch (l.ownerIssuer()) {
      case "gatehouse:key" -> "key";
      case "gatehouse:tenant" -> "tenant";
      case "gatehouse:group" -> "group";
      default -> "principal";
    };
  }

  private static String spendKey(Budgets.Owner owner, Budgets.Period period) {
    return owner.issuer() + "\u0000" + owner.subject() + "\u0000" + period;
  }

  /** Decide (unless {@code early} ended the call), prepare, execute, record. */
  private CompletableFuture<Outcome> decided(Call call, Outcome early) {
    if (early == null && call.target instanceof Target.Task) {
      // The call that created the task was decided in full; its handle is the owner's alone. What is
      // decided again is whether the tool is still the caller's to use (a rule removed since says no),
      // and each poll counts against the caller's request rate limits (on this replica).
      Decision d;
      if (!access.visible(call.principal, call.resolved.action())) {
        d = new Decision.Deny("none", "the tool '" + call.resolved.name() + "' that created this task is no longer allowed for you",
            Optional.empty());
      } else {
        d = access.admit(call.principal);
        if (!(d instanceof Decision.Limited)) {
          d = new Decision.Allow(d.ruleId(), "the caller's own task of a tool it may use");
        }
      }
      return proceed(call, null, d);
    }
    if (early == null && access.counted()) {
      // Rate limits counted in Redis: the decision comes back asynchronously.
      return access.decideShared(call.principal, call.resolved.action()).thenCompose(d -> proceed(call, null, d));
    }
    return proceed(call, early, null);
  }

  private CompletableFuture<Outcome> proceed(Call call, Outcome early, Decision decided) {
    try {
      if (early == null) {
        early = decide(call, decided != null ? decided : access.decide(call.principal, call.resolved.action()));
      }
      if (early == null && call.modelLimits.stream().anyMatch(l -> l.tokensPerMinute().isPresent())) {
        // Tokens per minute: the estimate reserved (in Redis when shared) once the call is allowed.
        return tokenLimits.reserveAsync(call.modelLimits, estimate(call)).thenCompose(r -> {
          Outcome refused = null;
          if (r.refusal() != null) {
            metrics.modelLimited(r.refusal().limit().ruleId(), "tokens_per_minute", scope(r.refusal().limit()));
            refused = new Outcome.Refused(Outcome.Why.RATE_LIMITED, r.refusal().message(), Optional.ofNullable(call.decision),
                Optional.empty(), r.refusal().retryAfterSeconds(), Optional.empty());
          }
          call.tokens = r.reservation();
          return execute(call, refused);
        });
      }
    } catch (RuntimeException e) {
      log.error("call {} {} failed before reaching its upstream", call.target.kind(), call.target.requested(), e);
      early = new Outcome.Failed(RpcError.from(e));
    }
    return execute(call, early);
  }

  /** Prepare and execute (unless {@code early} ended the call), then record. */
  private CompletableFuture<Outcome> execute(Call call, Outcome early) {
    try {
      if (early == null) {
        call.prepare.accept(call);
      }
    } catch (RuntimeException e) {
      log.error("call {} {} failed before reaching its upstream", call.target.kind(), call.target.requested(), e);
      early = new Outcome.Failed(RpcError.from(e));
    }
    CompletableFuture<Outcome> ran = early != null ? CompletableFuture.completedFuture(early) : execute(call);
    return ran.thenCompose(o -> record(call, o));
  }

  // ---------------------------------------------------------------- resolve

  /** Sets {@code call.resolved}; a refusal when there is nothing by that name or its arguments are malformed. */
  private Outcome resolve(Call call) {
    RpcError broken = call.check.apply(call);
    if (broken != null) {
      return Outcome.Refused.protocol(broken);
    }
    Outcome refused = resolveTarget(call);
    if (refused == null && (broken = call.check.apply(call)) != null) {
      return Outcome.Refused.protocol(broken);
    }
    if (refused == null && call.resolved != null) {
      Optional<String> withheld = access.integrityRefusal(call.resolved.action(), registry.catalog().servers());
      if (withheld.isPresent()) {
        return Outcome.Refused.of(Outcome.Why.DENIED, withheld.get());
      }
    }
    return refused;
  }

  private Outcome resolveTarget(Call call) {
    FederatedCatalog cat = registry.catalog();
    switch (call.target) {
      case Target.Tool t -> {
        Named n = name(call.scope, cat, t.name(), false);
        if (n == null) {
          return Outcome.Refused.of(Outcome.Why.UNKNOWN, "Unknown tool: " + t.name());
        }
        ObjectNode forward = forward(t.params());
        forward.put("name", n.name());
        call.resolved = new Call.Resolved(n.server(), n.name(), new Action.Tool(n.server(), federated(cat, n), forward.path("arguments")),
            "tools/call", forward);
        Optional<String> bad = t.invalid().or(() -> notAnObject(t.params().get("arguments"), "tools/call"));
        if (bad.isPresent()) {
          return Outcome.Refused.of(Outcome.Why.INVALID, bad.get());
        }
      }
      case Target.Task k -> {
        Optional<TaskHandles.Handle> h = tasks.open(McpSession.ownerKey(call.principal), k.handle());
        if (h.isEmpty() || (call.scope instanceof McpSession.Single one && !one.server().equals(h.get().server()))) {
          return Outcome.Refused.of(Outcome.Why.UNKNOWN, "Unknown task: not one this gateway created for you (or it was altered)");
        }
        ObjectNode forward = forward(k.params());
        forward.put("taskId", h.get().upstreamId());
        Named n = new Named(h.get().server(), h.get().tool());
        call.resolved = new Call.Resolved(n.server(), n.name(),
            new Action.Tool(n.server(), federated(cat, n), com.fasterxml.jackson.databind.node.MissingNode.getInstance()), k.method(), forward);
      }
      case Target.Prompt p -> {
        Named n = name(call.scope, cat, p.name(), true);
        if (n == null) {
          return Outcome.Refused.of(Outcome.Why.UNKNOWN, "Unknown prompt: " + p.name());
        }
        ObjectNode forward = p.params().deepCopy();
        ModernMcp.strip(forward);
        forward.put("name", n.name());
        call.resolved = new Call.Resolved(n.server(), n.name(), new Action.Prompt(n.server(), federated(cat, n)), "prompts/get", forward);
        Optional<String> bad = notAnObject(p.params().get("arguments"), "prompts/get");
        if (bad.isPresent()) {
          return Outcome.Refused.of(Outcome.Why.INVALID, bad.get());
        }
      }
      case Target.Resource r -> {
        Named n = uri(call.scope, r.uri());
        if (n == null) {
          return Outcome.Refused.of(Outcome.Why.UNKNOWN, "Resource not found: " + r.uri());
        }
        ObjectNode forward = r.params().deepCopy();
        ModernMcp.strip(forward);
        forward.put("uri", n.name());
        call.resolved = new Call.Resolved(n.server(), n.name(), new Action.Resource(n.server(), ToolNames.federatedUri(n.server(), n.name())),
            "resources/read", forward);
      }
      case Target.Subscribe s -> {
        Named n = uri(call.scope, s.uri());
        if (n == null) {
          return Outcome.Refused.of(Outcome.Why.UNKNOWN, "Resource not found: " + s.uri());
        }
        ObjectNode forward = Json.object();
        forward.put("uri", n.name());
        call.resolved = new Call.Resolved(n.server(), n.name(), new Action.Resource(n.server(), ToolNames.federatedUri(n.server(), n.name())),
            "resources/subscribe", forward);
      }
      case Target.Completion c -> {
        Named n = c.prompt() ? name(call.scope, cat, c.ref(), true) : uri(call.scope, c.ref());
        if (n == null) {
          return Outcome.Refused.of(Outcome.Why.UNKNOWN, (c.prompt() ? "Unknown prompt: " : "Unknown resource template: ") + c.ref());
        }
        ObjectNode forward = c.params().deepCopy();
        ModernMcp.strip(forward);
        ((ObjectNode) forward.get("ref")).put(c.prompt() ? "name" : "uri", n.name());
        Action action = c.prompt() ? new Action.Prompt(n.server(), federated(cat, n))
            : new Action.Resource(n.server(), ToolNames.federatedUri(n.server(), n.name()));
        call.resolved = new Call.Resolved(n.server(), n.name(), action, "completion/complete", forward);
      }
      case Target.Model m -> {
        String model = m.model();
        if (model.length() > ChatHandler.MAX_MODEL_CHARS) {
          return Outcome.Refused.of(Outcome.Why.INVALID, "model: " + model.length() + " characters (expected: at most "
              + ChatHandler.MAX_MODEL_CHARS + ", provider/model or an alias)");
        }
        String target = config.get().aliases().getOrDefault(model, model);
        call.resolved = new Call.Resolved("-", target, new Action.Model(target), call.embeddings ? "embeddings" : "chat", m.body());
      }
    }
    return null;
  }

  /**
   * The parameters to send upstream: a new object over the client's values (the upstream's name goes
   * into it), with its own {@code _meta}, which the connection rewrites (progress token); arguments are
   * shared, never changed.
   */
  private static ObjectNode forward(ObjectNode params) {
    ObjectNode forward = Json.object();
    forward.setAll(params);
    if (params.get("_meta") instanceof ObjectNode meta) {
      forward.set("_meta", meta.deepCopy());
      ModernMcp.strip(forward); // a 2026-07-28 client's version and capabilities are its own, not the upstream's
    }
    return forward;
  }

  /** A name or URI resolved to (server, the upstream's own name or normal-form URI). */
  record Named(String server, String name) {}

  /** A tool or prompt name in a scope: {@code server__name} on {@code /mcp}, the upstream's own on {@code /mcp/<server>}. */
  static Named name(McpSession.Scope scope, FederatedCatalog cat, String name, boolean prompt) {
    return switch (scope) {
      case McpSession.Federated f -> (prompt ? cat.prompt(name) : cat.tool(name)).map(e -> new Named(e.server(), e.originalName())).orElse(null);
      case McpSession.Single one -> {
        List<ObjectNode> defs = cat.server(one.server()).map(c -> prompt ? c.prompts() : c.tools()).orElse(List.of());
        yield defs.stream().anyMatch(d -> name.equals(d.path("name").asText())) ? new Named(one.server(), name) : null;
      }
    };
  }

  /**
   * A URI the client used, resolved to (server, the upstream's URI in RFC 3986 normal form): policies
   * decide on that form and the upstream is sent it, so no respelling of a URI gets around a rule.
   * Spellings whose meaning depends on the upstream are refused (see {@link ResourceUris#normalize}).
   *
   * @throws RpcException -32602 for such a spelling
   */
  Named uri(McpSession.Scope scope, String uri) {
    Named n = switch (scope) {
      case McpSession.Federated f -> registry.catalog().resolveUri(uri).map(r -> new Named(r.server(), r.originalUri())).orElse(null);
      case McpSession.Single one -> new Named(one.server(), uri);
    };
    if (n == null) {
      return null;
    }
    try {
      return new Named(n.server(), ResourceUris.normalize(n.name()));
    } catch (IllegalArgumentException e) {
      throw new RpcException(RpcError.INVALID_PARAMS, "Invalid params: resource URI " + e.getMessage());
    }
  }

  private static String federated(FederatedCatalog cat, Named n) {
    return ToolNames.federated(n.server(), cat.separator(), n.name());
  }

  /** Arguments that are there but not a JSON object: no upstream gets to guess at them. */
  private static Optional<String> notAnObject(JsonNode args, String method) {
    if (args == null || args.isObject()) {
      return Optional.empty();
    }
    return Optional.of("Invalid params: " + method + " 'arguments' must be a JSON object (got " + kindOf(args) + ")");
  }

  static String kindOf(JsonNode n) {
    return switch (n.getNodeType()) {
      case ARRAY -> "an array";
      case STRING -> "a string";
      case NUMBER -> "a number";
      case BOOLEAN -> "a boolean";
      case NULL -> "null";
      default -> "something else";
    };
  }

  // ---------------------------------------------------------------- decide

  /** Sets {@code call.decision}; a refusal unless allowed (and, for a model, within its budget). */
  private Outcome decide(Call call, Decision d) {
    call.decision = d;
    Outcome.Refused refused = Outcome.Refused.of(d);
    if (refused != null || !(call.target instanceof Target.Model)) {
      return refused;
    }
    RouteOptions options = RouteOptions.defaults().withAllowed(t -> access.visible(call.principal, new Action.Model(t)));
    for (PolicyEngine.ModelLimit l : call.modelLimits) {
      for (Budgets.Period period : Budgets.Period.values()) {
        Optional<BigDecimal> cap = period == Budgets.Period.DAY ? l.usdPerDay() : l.usdPerMonth();
        if (cap.isEmpty()) {
          continue;
        }
        if (call.spendUnknown != null) {
          return new Outcome.Refused(Outcome.Why.RATE_LIMITED, "Budget cannot be checked: " + call.spendUnknown, Optional.of(d),
              Optional.empty(), 1, Optional.empty());
        }
        Budgets.Owner owner = Budgets.Owner.of(l);
        BigDecimal spent = call.spent.get(spendKey(owner, period));
        if (spent == null) {
          spent = budgets.spent(owner, period);
        }
        if (spent.compareTo(cap.get()) < 0) {
          continue;
        }
        if (l.fallbackModel().isEmpty() || options.forcedModel().isPresent()) {
          if (options.forcedModel().isPresent()) {
            continue; // already on a budget's fallback model
          }
          boolean own = owner.equals(Budgets.Owner.of(call.principal));
          metrics.modelLimited(l.ruleId(), period == Budgets.Period.DAY ? "budget_usd_per_day" : "budget_usd_per_month", scope(l));
          return new Outcome.Refused(Outcome.Why.BUDGET_EXCEEDED, "Budget exceeded: $" + spent.stripTrailingZeros().toPlainString()
              + " spent " + (period == Budgets.Period.DAY ? "today" : "this month") + " of $" + cap.get().stripTrailingZeros().toPlainString()
              + (own ? "" : " by " + l.owner()) + " (rule '" + l.ruleId() + "'); resets "
              + (period == Budgets.Period.DAY ? "at 00:00 UTC" : "on the 1st at 00:00 UTC"), Optional.of(d), Optional.empty(), 0, Optional.empty());
        }
        options = options.withForcedModel(l.fallbackModel().get());
        call.budgetFallback = l.fallbackModel();
      }
    }
    call.routeOptions = options;
    return null;
  }

  // ---------------------------------------------------------------- execute

  private CompletableFuture<Outcome> execute(Call call) {
    if (call.target instanceof Target.Model m) {
      return model(call, m);
    }
    Call.Resolved r = call.resolved;
    long start = System.nanoTime();
    CompletableFuture<JsonNode> sent;
    try {
      // Made for this caller: an upstream that acts as the user exchanges the caller's own access token.
      // Traced: the upstream gets this step's span as its parent (header and _meta).
      String traceparent = call.span == null ? null : Tracing.traceparent(call.span);
      if (traceparent != null && r.params() instanceof ObjectNode p) {
        ObjectNode meta = p.get("_meta") instanceof ObjectNode m ? m : p.putObject("_meta");
        meta.put("traceparent", traceparent);
      }
      CallContext made = CallContext.actingFor(call.relay,
          new CallContext.Caller(call.principal.accessToken().map(dev.gatehouse.identity.Principal.AccessToken::value),
              Optional.of(UserConsent.key(call.principal))), traceparent);
      sent = registry.call(r.server(), r.method(), r.params(), made);
    } catch (RuntimeException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    // A client's cancellation reaches the upstream through call.relay (the registry's cancel hook).
    return sent.handle((result, error) -> {
      call.upstreamNanos = System.nanoTime() - start;
      if (error != null) {
        return new Outcome.Failed(RpcError.from(error));
      }
      return new Outcome.Done(call.finish.apply(call.resolved, result));
    });
  }

  private CompletableFuture<Outcome> model(Call call, Target.Model m) {
    Router r = router.get();
    long start = System.nanoTime();
    String traceparent = call.span == null ? null : Tracing.traceparent(call.span);
    if (traceparent != null) {
      call.routeOptions = call.routeOptions.withTraceparent(traceparent);
    }
    CompletableFuture<? extends dev.gatehouse.router.ModelAnswer> answer = call.embeddings
        ? CompletableFuture.supplyAsync(() -> r.embed(m.body(), call.routeOptions), blocking)
        : call.sink != null
        ? r.streamAsync(m.body(), call.routeOptions, call.sink)
        : r.completeAsync(m.body(), call.routeOptions);
    return answer.handle((a, error) -> {
      call.upstreamNanos = System.nanoTime() - start;
      if (traceparent != null) {
        m.body().remove(RouteOptions.TRACE_FIELD); // the router's, for this call only
      }
      if (error != null) {
        Throwable c = error instanceof java.util.concurrent.CompletionException && error.getCause() != null ? error.getCause() : error;
        if (c instanceof RouterException re) {
          return new Outcome.Failed(RpcError.of(RpcError.UPSTREAM_UNAVAILABLE, re.getMessage()), Optional.of(re));
        }
        if (c instanceof java.io.UncheckedIOException) {
          return new Outcome.Failed(RpcError.of(RpcError.REQUEST_CANCELLED, "client closed the stream"),
              Optional.of(new RouterException(499, "upstream_error", "cancelled", "client closed the stream")));
        }
        log.error("model call failed unexpectedly", c);
        return new Outcome.Failed(RpcError.from(c), Optional.of(new RouterException(500, "api_error", "internal_error",
            "internal error while calling the model")));
      }
      call.route = a.route();
      call.attempts = a.attempts();
      call.usage = a.usage();
      call.costUsd = a.costUsd();
      if (!r.priced(a.route())) {
        unpriced(a.route().target());
      }
      budgets.add(call.principal, a.costUsd());
      Budgets.Owner self = Budgets.Owner.of(call.principal);
      call.modelLimits.stream().filter(l -> l.usdPerDay().isPresent() || l.usdPerMonth().isPresent()).map(Budgets.Owner::of)
          .filter(o -> !o.equals(self)).distinct().forEach(o -> budgets.add(o, a.costUsd()));
      return new Outcome.Done(a.response());
    });
  }

  /**
   * A model request's input tokens, estimated before the call for token limits: a token per four
   * characters of its messages (or input), at least one. Only computed when a token limit applies.
   */
  static long estimate(Call call) {
    JsonNode body = call.target instanceof Target.Model m ? m.body() : null;
    if (body == null) {
      return 1;
    }
    JsonNode what = body.has("messages") ? body.get("messages") : body.path("input");
    return Math.max(1, what.toString().length() / 4);
  }

  /** Models called without a price (cost 0), by provider/model, with how many calls: at most {@value #MAX_UNPRICED}. */
  private final Map<String, java.util.concurrent.atomic.LongAdder> unpricedModels = new java.util.concurrent.ConcurrentHashMap<>();
  static final int MAX_UNPRICED = 1000;

  private void unpriced(String target) {
    java.util.concurrent.atomic.LongAdder n = unpricedModels.get(target);
    if (n == null && unpricedModels.size() < MAX_UNPRICED) {
      n = unpricedModels.computeIfAbsent(target, t -> {
        log.warn("model {} has no price: its calls are recorded at cost 0 (add it under prices:)", t);
        return new java.util.concurrent.atomic.LongAdder();
      });
    }
    if (n != null) {
      n.increment();
      metrics.unpriced(target); // as bounded as the map: model names come from requests
    }
  }

  /** The models called without a price since start, with their call counts (for {@code GET /admin/models/unpriced}). */
  Map<String, Long> unpricedModels() {
    Map<String, Long> out = new java.util.TreeMap<>();
    unpricedModels.forEach((k, v) -> out.put(k, v.sum()));
    return out;
  }

  // ---------------------------------------------------------------- record

  private CompletableFuture<Outcome> record(Call call, Outcome outcome) {
    long total = System.nanoTime() - call.startNanos;
    tokenLimits.settle(call.tokens, call.usage.totalTokens());
    if (call.span != null) {
      try {
        tracing.end(call, outcome);
      } catch (RuntimeException e) {
        log.warn("tracing: a span could not be ended: {}", e.toString());
      }
    }
    String label = outcome.label();
    try {
      if (call.target instanceof Target.Model) {
        String model = outcome instanceof Outcome.Done && call.route != null ? call.route.target() : "-";
        metrics.model(model, label, total / 1000, call.usage, call.costUsd);
      } else {
        metrics.call(call, label, total, call.upstreamNanos);
      }
      if (outcome instanceof Outcome.Failed f && (label.equals("timeout") || label.equals("unavailable"))) {
        log.warn("{} {} ({}): {} after {} ms", call.target.kind(), clip(call.target.requested()),
            call.resolved == null ? "-" : call.resolved.label(), f.error().message(), total / 1_000_000);
      } else if (log.isDebugEnabled()) {
        log.debug("{} {} ({}): {} in {} µs (chain {})", call.target.kind(), clip(call.target.requested()),
            call.resolved == null ? "-" : call.resolved.label(), label, total / 1000, call.chainId);
      }
      return audit.get().call(call, outcome, total / 1000).thenApply(v -> outcome);
    } catch (RuntimeException e) {
      log.error("recording a call failed", e);
      return CompletableFuture.completedFuture(outcome);
    }
  }

  private static String clip(String s) {
    return s.length() <= 200 ? s : s.substring(0, 200) + "…";
  }
}
