package dev.gatehouse.router;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.router.Adapter.Call;
import dev.gatehouse.router.Adapter.Translated;
import dev.gatehouse.router.Attempt.Outcome;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.DoubleSupplier;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.http.HttpMethod;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The router: resolves the request's model to an ordered list of targets (the model, then the
 * request's, the caller's and the provider's fallbacks), and walks it. On each target it picks a key by
 * weight, sends the translated request, and on failure decides by the failure's kind: a client error
 * ends the call; a rejected key is cooled down and the next key tried at once; a 429 cools the key for
 * its {@code Retry-After} and retries (another key at once, or the same after waiting, if the wait is
 * within {@code max_delay}); 5xx, connection errors, timeouts and a full concurrency limit are retried
 * after an exponential backoff with jitter, up to {@code max_attempts}; then the next target is tried.
 * A stream is committed to its route once its first chunk reached the client.
 */
final class DefaultRouter implements Router {
  private static final Logger log = LoggerFactory.getLogger(DefaultRouter.class);
  private static final int MAX_BODY = 32 * 1024 * 1024;
  private static final int MAX_ERROR_BODY = 64 * 1024;

  /** What the router takes from its surroundings; tests pass a fake clock, sleeper and random source. */
  record Env(Clock clock, Sleeper sleeper, DoubleSupplier random) {
    static Env system() {
      return new Env(Clock.systemUTC(), Sleeper.SYSTEM, () -> ThreadLocalRandom.current().nextDouble());
    }
  }

  /** One candidate: a provider and the model to ask it for. */
  private record Target(ProviderState provider, String model) {
    String name() {
      return provider.name + "/" + model;
    }
  }

  /** One exchange with a provider, non-streaming or streaming. */
  private interface Exchange<T> {
    /** Runs one attempt; returns the value and the latency sample (latency or time to first byte, ms). */
    Sample<T> run(Call call, KeyState key, byte[] body, Route route, int attempt) throws Failure;
  }

  private record Sample<T>(T value, double millis) {}

  private record Success<T>(T value, Route route, List<Attempt> tried) {}

  private final RouterConfig config;
  private final Env env;
  private final Map<String, ProviderState> providers;
  private final Pricing pricing;
  private final Redactor redactor;
  private final ExecutorService executor;
  private volatile boolean closed;

  DefaultRouter(RouterConfig config, Env env) {
    this.config = config;
    this.env = env;
    this.executor = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("llm-router-", 0).factory());
    Map<String, ProviderState> ps = new LinkedHashMap<>();
    List<String> secrets = new ArrayList<>();
    config.providers().forEach((name, pc) -> {
      ps.put(name, new ProviderState(name, pc, Adapter.of(pc.kind(), env.clock())));
      pc.keys().forEach(k -> secrets.add(k.value()));
      pc.accessKeyId().ifPresent(secrets::add);
      pc.secretAccessKey().ifPresent(secrets::add);
      pc.sessionToken().ifPresent(secrets::add);
    });
    this.providers = Map.copyOf(ps);
    this.pricing = new Pricing(config.prices());
    this.redactor = new Redactor(secrets);
  }

  // ---- the public API

  @Override
  public ChatResult complete(ObjectNode request, RouteOptions options) {
    List<Target> targets = plan(request, options);
    Success<Translated> s = execute(targets, request, false, (call, key, body, route, attempt) -> {
      long start = System.nanoTime();
      Translated t = completeOnce(call, key, body, start);
      return new Sample<>(t, (System.nanoTime() - start) / 1e6);
    });
    Usage usage = s.value().usage();
    return new ChatResult(s.value().response(), s.route(), usage, pricing.cost(s.route(), usage), s.tried().size(), s.tried());
  }

  @Override
  public boolean priced(Route route) {
    return pricing.price(route).isPresent();
  }

  /** Fields {@code provider_options} may not set: who decides the model and how the answer comes back is not the caller's. */
  static final List<String> OWNED_FIELDS = List.of("model", "stream", "stream_options");

  @Override
  public ChatResult embed(ObjectNode request, RouteOptions options) {
    List<Target> all = plan(request, options, false);
    List<Target> targets = all.stream().filter(t -> t.provider().adapter instanceof Embeddings).toList();
    if (targets.isEmpty()) {
      throw new RouterException(400, "invalid_request_error", "embeddings_unsupported", "model '" + request.path("model").asText()
          + "': its provider (" + all.get(0).provider().config.kind().name().toLowerCase(java.util.Locale.ROOT)
          + ") is not one Gatehouse asks for embeddings (OpenAI, Azure OpenAI, Gemini, Bedrock and the OpenAI-compatible family are)",
          Optional.empty(), List.of(), Optional.empty());
    }
    Success<Translated> s = execute(targets, request, false, (call, key, chatBody, route, attempt) -> {
      long start = System.nanoTime();
      Translated t = embedOnce(call, key, start);
      return new Sample<>(t, (System.nanoTime() - start) / 1e6);
    });
    Usage usage = s.value().usage();
    return new ChatResult(s.value().response(), s.route(), usage, pricing.cost(s.route(), usage), s.tried().size(), s.tried());
  }

  private Translated embedOnce(Call call, KeyState key, long start) throws Failure {
    ProviderState p = call.provider();
    Embeddings adapter = (Embeddings) p.adapter;
    byte[] body = adapter.embeddingsBody(call);
    Request request = build(p, adapter.embeddingsRequest(call, key, body), body, call.request());
    acquire(p);
    WholeBody whole = new WholeBody(MAX_BODY);
    try {
      Response response = send(p, request, whole, start + p.config.timeouts().total().toNanos(),
          "no answer within the total timeout of " + Failure.human(p.config.timeouts().total()));
      byte[] bytes = whole.bytes();
      refusal(response, bytes);
      try {
        return adapter.embeddingsResponse(call, bytes);
      } catch (IOException e) {
        throw Failure.inStream(Outcome.SERVER_ERROR, response.getStatus(), "bad_response",
            "the provider's answer could not be read: " + e.getMessage());
      }
    } finally {
      p.release();
    }
  }

  @Override
  public StreamResult stream(ObjectNode request, RouteOptions options, ChunkSink sink) {
    if (sink == null) {
      throw new IllegalArgumentException("sink: null (expected: a ChunkSink)");
    }
    List<Target> targets = plan(request, options);
    boolean includeUsage = request.path("stream_options").path("include_usage").asBoolean(false);
    try {
      Success<StreamState> s = execute(targets, request, true, (call, key, body, route, attempt) ->
          streamOnce(call, key, body, sink, includeUsage, route, attempt));
      StreamState st = s.value();
      Usage usage = st.usage();
      return new StreamResult(st.assembled(), s.route(), usage, pricing.cost(s.route(), usage), s.tried().size(), s.tried(),
          st.chunks());
    } catch (StreamState.SinkAbort abort) {
      throw abort.original();
    }
  }

  /**
   * The first attempt runs without a thread waiting: the request goes out from the caller's thread and
   * the answer is translated on the HTTP client's. Only when that attempt cannot start at once (no key
   * free now, the provider's concurrency limit reached) or fails does the call continue on a virtual
   * thread, through the same retry and fallback loop as {@link #complete}, from where the first
   * attempt left it.
   */
  @Override
  public CompletableFuture<ChatResult> completeAsync(ObjectNode request, RouteOptions options) {
    List<Target> targets;
    try {
      targets = plan(request, options);
    } catch (RouterException e) {
      return CompletableFuture.failedFuture(e);
    }
    Target target = targets.get(0);
    ProviderState p = target.provider();
    Optional<KeyState> picked = p.pick(target.model(), Set.of(), env.clock().millis(), false, env.random());
    if (picked.isEmpty() || !p.tryAcquire()) {
      return CompletableFuture.supplyAsync(() -> completeFrom(targets, request, new HeadStart()), executor);
    }
    KeyState key = picked.get();
    Call call = new Call(p, target.model(), request, false, env.clock().instant().getEpochSecond());
    Route route = new Route(p.name, target.model(), key.id);
    long start = System.nanoTime();
    WholeBody whole = new WholeBody(MAX_BODY);
    CompletableFuture<Response> answered;
    try {
      whole.send(build(call, key, p.adapter.body(call)));
      answered = whole.answer();
    } catch (RuntimeException e) {
      answered = CompletableFuture.failedFuture(e);
    }
    return answered.handle((response, error) -> {
      HeadStart head = new HeadStart();
      try {
        Translated t;
        try {
          if (error != null) {
            Throwable c = error instanceof java.util.concurrent.CompletionException && error.getCause() != null ? error.getCause() : error;
            throw exchangeFailure(c, p, "no answer within the total timeout of " + Failure.human(p.config.timeouts().total()));
          }
          t = translate(call, response, whole.bytes());
        } finally {
          p.release();
        }
        key.succeeded((System.nanoTime() - start) / 1e6, false);
        head.tried.add(new Attempt(route, Outcome.OK, 200, Optional.empty(), elapsed(start)));
        Usage usage = t.usage();
        return CompletableFuture.completedFuture(new ChatResult(t.response(), route, usage, pricing.cost(route, usage), 1, head.tried));
      } catch (Failure f) {
        try {
          failed(f, p, key, route, start, false, head.tried, head.last, head.lastRoute, head.excluded, head);
        } catch (RouterException ended) {
          return CompletableFuture.<ChatResult>failedFuture(ended);
        }
        return CompletableFuture.supplyAsync(() -> completeFrom(targets, request, head), executor);
      }
    }).thenCompose(f -> f);
  }

  /** The rest of a call whose first attempt failed, blocking, on the router's virtual threads. */
  private ChatResult completeFrom(List<Target> targets, ObjectNode request, HeadStart head) {
    Success<Translated> s = execute(targets, request, false, (call, key, body, route, attempt) -> {
      long start = System.nanoTime();
      Translated t = completeOnce(call, key, body, start);
      return new Sample<>(t, (System.nanoTime() - start) / 1e6);
    }, head);
    Usage usage = s.value().usage();
    return new ChatResult(s.value().response(), s.route(), usage, pricing.cost(s.route(), usage), s.tried().size(), s.tried());
  }

  @Override
  public CompletableFuture<StreamResult> streamAsync(ObjectNode request, RouteOptions options, ChunkSink sink) {
    return CompletableFuture.supplyAsync(() -> stream(request, options, sink), executor);
  }

  @Override
  public List<ModelInfo> models() {
    List<ModelInfo> list = new ArrayList<>();
    config.aliases().forEach((alias, target) -> list.add(new ModelInfo(alias,
        target.contains("/") ? target.substring(0, target.indexOf('/')) : target, Optional.of(target))));
    for (Map.Entry<String, ProviderConfig> e : config.providers().entrySet()) {
      Set<String> names = new TreeSet<>(e.getValue().models());
      names.addAll(e.getValue().deployments().keySet());
      ProviderState p = providers.get(e.getKey());
      p.keys.forEach(k -> names.addAll(k.literalModels()));
      for (String m : names) {
        list.add(new ModelInfo(e.getKey() + "/" + m, e.getKey(), Optional.empty()));
      }
    }
    return List.copyOf(list);
  }

  @Override
  public void close() {
    closed = true;
    providers.values().forEach(ProviderState::close);
    executor.shutdownNow();
  }

  // ---- planning

  private List<Target> plan(ObjectNode request, RouteOptions options) {
    return plan(request, options, true);
  }

  /** The routes to try in order; {@code chat} requests must have messages (embeddings have input instead). */
  private List<Target> plan(ObjectNode request, RouteOptions options, boolean chat) {
    if (closed) {
      throw new RouterException(503, "api_error", "router_closed", "the router was closed (a config reload replaced it)",
          Optional.empty(), List.of(), Optional.empty());
    }
    if (request == null) {
      throw RouterException.badRequest(null, "request: missing (expected: a chat.completions JSON object)");
    }
    if (options == null) {
      options = RouteOptions.defaults();
    }
    JsonNode messages = chat ? request.get("messages") : null;
    if (chat && (messages == null || !messages.isArray() || messages.isEmpty())) {
      throw RouterException.badRequest("messages", "messages: " + (messages == null ? "missing" : messages.getNodeType().toString().toLowerCase(java.util.Locale.ROOT))
          + " (expected: a non-empty array of messages)");
    }
    for (int i = 0; chat && i < messages.size(); i++) {
      if (!messages.get(i).isObject() || !messages.get(i).path("role").isTextual()) {
        throw RouterException.badRequest("messages[" + i + "]", "messages[" + i + "]: no role (expected: an object with a role)");
      }
    }
    // The trace context the gateway passes on to providers: set here from the options, never taken from a client.
    request.remove(RouteOptions.TRACE_FIELD);
    options.traceparent().ifPresent(t -> request.put(RouteOptions.TRACE_FIELD, t));
    JsonNode po = request.get("provider_options");
    if (po != null && !po.isNull()) {
      boolean ok = po.isObject();
      for (java.util.Iterator<Map.Entry<String, JsonNode>> it = po.fields(); ok && it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        ok = e.getValue().isObject() && ProviderKind.known(e.getKey());
      }
      for (JsonNode perKind : po.isObject() ? po : Json.array()) {
        for (String owned : OWNED_FIELDS) {
          if (perKind.has(owned)) {
            // The model is the policy's to decide and the router's to route; streaming is the router's.
            throw RouterException.badRequest("provider_options", "provider_options: '" + owned + "' cannot be set per provider "
                + "(expected: request fields other than " + String.join(", ", OWNED_FIELDS) + ")");
          }
        }
      }
      if (!ok) {
        throw RouterException.badRequest("provider_options", "provider_options: expected an object whose keys are provider kinds "
            + "(openai, azure, anthropic, gemini, bedrock, openai-compatible, vllm, ollama, groq, mistral, together, openrouter, "
            + "deepseek) and whose values are objects of request fields");
      }
    }
    List<String> requested = new ArrayList<>();
    JsonNode fb = request.remove("fallbacks");
    if (fb != null && !fb.isNull()) {
      if (fb.isTextual()) {
        requested.add(fb.textValue());
      } else if (fb.isArray()) {
        for (int i = 0; i < fb.size(); i++) {
          if (!fb.get(i).isTextual() || fb.get(i).textValue().isBlank()) {
            throw RouterException.badRequest("fallbacks", "fallbacks[" + i + "]: " + fb.get(i) + " (expected: a model name)");
          }
          requested.add(fb.get(i).textValue());
        }
      } else {
        throw RouterException.badRequest("fallbacks", "fallbacks: " + fb.getNodeType() + " (expected: an array of model names)");
      }
    }
    String model;
    if (options.forcedModel().isPresent()) {
      model = options.forcedModel().get();
    } else {
      JsonNode m = request.get("model");
      if (m == null || !m.isTextual() || m.textValue().isBlank()) {
        throw RouterException.badRequest("model", "model: " + (m == null ? "missing" : m.toString())
            + " (expected: an alias or provider/model, as GET /v1/models lists)");
      }
      model = m.textValue().strip();
    }
    Target primary = resolve(model).orElseThrow(() -> RouterException.modelNotFound("model '" + model
        + "' does not exist (expected: one of the configured aliases " + config.aliases().keySet()
        + ", or provider/model with provider one of " + config.providers().keySet() + ")"));
    Map<String, Target> targets = new LinkedHashMap<>();
    targets.put(primary.name(), primary);
    for (int i = 0; i < requested.size(); i++) {
      String name = requested.get(i);
      Target t = resolve(name).orElseThrow(() -> RouterException.badRequest("fallbacks",
          "fallbacks: model '" + name + "' does not exist (expected: an alias or provider/model)"));
      targets.putIfAbsent(t.name(), t);
    }
    List<String> configured = new ArrayList<>(options.fallbacks());
    configured.addAll(primary.provider().config.fallbacks());
    for (String name : configured) {
      Optional<Target> t = resolve(name);
      if (t.isPresent()) {
        targets.putIfAbsent(t.get().name(), t.get());
      } else {
        log.warn("fallback '{}' names no configured provider or alias; skipped", name);
      }
    }
    List<Target> allowed = new ArrayList<>();
    for (Target t : targets.values()) {
      if (options.allowed().test(t.name())) {
        allowed.add(t);
      }
    }
    if (allowed.isEmpty()) {
      throw new RouterException(403, "permission_error", "model_not_allowed",
          "model '" + primary.name() + "' is not allowed for this caller", Optional.of("model"), List.of(), Optional.empty());
    }
    List<Target> served = new ArrayList<>();
    for (Target t : allowed) {
      if (t.provider().serves(t.model())) {
        served.add(t);
      }
    }
    if (served.isEmpty()) {
      Target t = allowed.get(0);
      throw RouterException.modelNotFound("model '" + t.name() + "' is not available: no key of provider '"
          + t.provider().name + "' may call it (expected: a model in a key's models allow-list)");
    }
    return served;
  }

  /** An alias, {@code provider/model}, or a bare model name that exactly one provider lists. */
  private Optional<Target> resolve(String name) {
    String target = config.aliases().getOrDefault(name, name);
    int slash = target.indexOf('/');
    if (slash > 0 && slash < target.length() - 1) {
      ProviderState p = providers.get(target.substring(0, slash));
      if (p != null) {
        return Optional.of(new Target(p, target.substring(slash + 1)));
      }
    }
    if (slash < 0) {
      Target found = null;
      for (ProviderState p : providers.values()) {
        if (p.config.models().contains(name) || p.config.deployments().containsKey(name)) {
          if (found != null) {
            return Optional.empty();
          }
          found = new Target(p, name);
        }
      }
      return Optional.ofNullable(found);
    }
    return Optional.empty();
  }

  // ---- the retry loop

  private <T> Success<T> execute(List<Target> targets, ObjectNode request, boolean stream, Exchange<T> exchange) {
    return execute(targets, request, stream, exchange, new HeadStart());
  }

  /**
   * What an asynchronous first attempt already did (its attempt, the key it excluded, the backoff it
   * asked for), so the blocking loop that takes over goes on from there instead of starting again.
   */
  private static final class HeadStart {
    final List<Attempt> tried = new ArrayList<>();
    final Failure[] last = new Failure[1];
    final Route[] lastRoute = new Route[1];
    final Set<KeyState> excluded = new HashSet<>();
    int attempts;
    Duration backoff;
  }

  private <T> Success<T> execute(List<Target> targets, ObjectNode request, boolean stream, Exchange<T> exchange, HeadStart head) {
    List<Attempt> tried = head.tried;
    Failure[] last = head.last;
    Route[] lastRoute = head.lastRoute;
    boolean first = true;
    for (Target target : targets) {
      Optional<Success<T>> s = route(target, request, stream, exchange, tried, last, lastRoute, Optional.empty(),
          first ? head : new HeadStart());
      first = false;
      if (s.isPresent()) {
        return s.get();
      }
    }
    if (tried.isEmpty()) {
      // Every key of every target is cooling down. Rather than fail without asking anyone, probe the
      // key that has been failing (not one rate-limited or rejected) and recovers first.
      long now = env.clock().millis();
      for (Target target : targets) {
        Optional<KeyState> probe = target.provider().probe(target.model(), now);
        if (probe.isPresent()) {
          Optional<Success<T>> s = route(target, request, stream, exchange, tried, last, lastRoute, probe, new HeadStart());
          if (s.isPresent()) {
            return s.get();
          }
          break;
        }
      }
    }
    if (last[0] != null) {
      throw last[0].toException(lastRoute[0], tried);
    }
    throw unavailable(targets);
  }

  private <T> Optional<Success<T>> route(Target target, ObjectNode request, boolean stream, Exchange<T> exchange,
      List<Attempt> tried, Failure[] last, Route[] lastRoute, Optional<KeyState> forced, HeadStart head) {
    ProviderState p = target.provider();
    ProviderConfig.Retry retry = p.config.retry();
    Call call = new Call(p, target.model(), request, stream, env.clock().instant().getEpochSecond());
    byte[] body = null;
    Set<KeyState> excluded = head.excluded;
    int attempts = head.attempts;
    int waits = 0;
    int maxAttempts = forced.isPresent() ? 1 : retry.maxAttempts();
    Duration backoff = head.backoff;
    while (attempts < maxAttempts) {
      long now = env.clock().millis();
      Optional<KeyState> picked = forced.isPresent() ? forced : p.pick(target.model(), excluded, now, stream, env.random());
      if (picked.isEmpty()) {
        OptionalLong next = p.nextAvailable(target.model(), excluded);
        long wait = next.isPresent() ? next.getAsLong() - now : Long.MAX_VALUE;
        if (wait <= retry.maxDelay().toMillis() && waits++ < maxAttempts) {
          sleep(Duration.ofMillis(Math.max(wait, 1)));
          backoff = null;
          continue;
        }
        return Optional.empty();
      }
      KeyState key = picked.get();
      forced = Optional.empty();
      if (backoff != null) {
        sleep(backoff);
        backoff = null;
      }
      if (body == null) {
        body = p.adapter.body(call);
      }
      Route route = new Route(p.name, target.model(), key.id);
      long start = System.nanoTime();
      try {
        Sample<T> sample = exchange.run(call, key, body, route, tried.size() + 1);
        key.succeeded(sample.millis(), stream);
        tried.add(new Attempt(route, Outcome.OK, 200, Optional.empty(), elapsed(start)));
        return Optional.of(new Success<>(sample.value(), route, tried));
      } catch (Failure f) {
        HeadStart after = new HeadStart();
        after.attempts = attempts;
        failed(f, p, key, route, start, stream, tried, last, lastRoute, excluded, after);
        attempts = after.attempts;
        backoff = after.backoff;
      }
    }
    return Optional.empty();
  }

  /**
   * One failed attempt: recorded in {@code tried}, the key cooled down or excluded as the failure
   * says; throws when the call must end here (the provider refused the request itself, or a stream
   * broke), else sets the attempt count and the backoff before the next attempt in {@code state}.
   */
  private void failed(Failure f, ProviderState p, KeyState key, Route route, long start, boolean stream, List<Attempt> tried,
      Failure[] last, Route[] lastRoute, Set<KeyState> excluded, HeadStart state) {
    ProviderConfig.Retry retry = p.config.retry();
    long cooldown = p.config.cooldown().toMillis();
    String safe = redactor.scrub(f.getMessage());
    Failure failure = new Failure(f.outcome, f.status, f.code, safe, f.retryAfter);
    tried.add(new Attempt(route, f.outcome, f.status, Optional.of(safe), elapsed(start)));
    last[0] = failure;
    lastRoute[0] = route;
    log.info("llm attempt failed: {} key={} outcome={} status={}: {}", route.target(), key.id, f.outcome, f.status, safe);
    long after = env.clock().millis();
    switch (f.outcome) {
      case CLIENT_ERROR -> throw failure.toException(route, tried);
      case STREAM_BROKEN -> {
        key.failed(after, cooldown);
        throw failure.toException(route, tried);
      }
      case KEY_REJECTED -> {
        key.coolDown(after + cooldown, KeyState.Cooling.REJECTED);
        excluded.add(key);
      }
      case RATE_LIMITED -> {
        state.attempts++;
        long pause = f.retryAfter.map(Duration::toMillis).orElse(backoff(retry, state.attempts).toMillis());
        key.coolDown(after + pause, KeyState.Cooling.RATE_LIMITED);
      }
      case SERVER_ERROR, CONNECTION_FAILED, TIMEOUT -> {
        state.attempts++;
        key.failed(after, cooldown);
        state.backoff = f.retryAfter.filter(d -> d.compareTo(retry.maxDelay()) <= 0).orElse(backoff(retry, state.attempts));
      }
      case BUSY -> {
        state.attempts++;
        state.backoff = backoff(retry, state.attempts);
      }
      case OK -> throw new IllegalStateException("a failure with outcome OK");
    }
  }

  /** {@code base * 2^(n-1)} capped at {@code max}, with jitter: a uniform draw from its upper half. */
  private Duration backoff(ProviderConfig.Retry retry, int attempt) {
    long base = retry.baseDelay().toMillis();
    long cap = retry.maxDelay().toMillis();
    long exp = attempt >= 30 ? cap : Math.min(cap, base << Math.max(0, attempt - 1));
    long jittered = exp / 2 + (long) (env.random().getAsDouble() * (exp - exp / 2));
    return Duration.ofMillis(Math.max(1, jittered));
  }

  private void sleep(Duration d) {
    try {
      env.sleeper().sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw cancelled();
    }
  }

  private static RouterException cancelled() {
    return new RouterException(503, "api_error", "cancelled", "the call was cancelled", Optional.empty(), List.of(), Optional.empty());
  }

  private RouterException unavailable(List<Target> targets) {
    long now = env.clock().millis();
    long earliest = Long.MAX_VALUE;
    boolean limited = false;
    boolean rejected = false;
    for (Target t : targets) {
      for (KeyState k : t.provider().keys) {
        if (k.allows(t.model())) {
          earliest = Math.min(earliest, k.coolUntil());
          limited |= k.cooling(now) == KeyState.Cooling.RATE_LIMITED;
          rejected |= k.cooling(now) == KeyState.Cooling.REJECTED;
        }
      }
    }
    String names = String.join(", ", targets.stream().map(Target::name).toList());
    if (limited) {
      return new RouterException(429, "rate_limit_error", "rate_limit_exceeded",
          names + ": every key is rate limited", Optional.empty(), List.of(),
          earliest == Long.MAX_VALUE ? Optional.empty() : Optional.of(Duration.ofMillis(Math.max(0, earliest - now))));
    }
    if (rejected) {
      return new RouterException(502, "api_error", "provider_auth_failed",
          names + ": every key was recently refused by the provider", Optional.empty(), List.of(), Optional.empty());
    }
    return new RouterException(503, "api_error", "no_available_key",
        names + ": every key is cooling down after failures", Optional.empty(), List.of(), Optional.empty());
  }

  private static Duration elapsed(long startNanos) {
    return Duration.ofNanos(System.nanoTime() - startNanos);
  }

  // ---- one exchange

  private Request build(Call call, KeyState key, byte[] body) {
    return build(call.provider(), call.provider().adapter.request(call, key, body), body, call.request());
  }

  private Request build(ProviderState p, Outbound o, byte[] body, ObjectNode request) {
    String traceparent = request.path(RouteOptions.TRACE_FIELD).asText(null);
    return p.client.newRequest(o.uri)
        .method(HttpMethod.POST)
        .timeout(p.config.timeouts().total().toMillis(), TimeUnit.MILLISECONDS)
        .headers(h -> {
          for (int i = 0; i < o.headers.size(); i += 2) {
            h.add(o.headers.get(i), o.headers.get(i + 1));
          }
          p.config.headers().forEach(h::add);
          if (traceparent != null) {
            h.put("traceparent", traceparent);
          }
        })
        .body(new BytesRequestContent("application/json", body));
  }

  private Translated completeOnce(Call call, KeyState key, byte[] body, long start) throws Failure {
    ProviderState p = call.provider();
    ProviderConfig.Timeouts timeouts = p.config.timeouts();
    acquire(p);
    long deadline = start + timeouts.total().toNanos();
    WholeBody whole = new WholeBody(MAX_BODY);
    try {
      Response response = send(p, build(call, key, body), whole, deadline, "no answer within the total timeout of " + Failure.human(timeouts.total()));
      return translate(call, response, whole.bytes());
    } finally {
      p.release();
    }
  }

  /** A non-2xx answer as the failure it is (its body clipped), or nothing for a 2xx. */
  private void refusal(Response response, byte[] bytes) throws Failure {
    int status = response.getStatus();
    if (status < 200 || status >= 300) {
      throw Failure.fromResponse(status, response.getHeaders(),
          bytes.length > MAX_ERROR_BODY ? java.util.Arrays.copyOf(bytes, MAX_ERROR_BODY) : bytes, redactor, env.clock());
    }
  }

  /** A whole answer: the provider's error as a failure, or its completion translated to OpenAI's shape. */
  private Translated translate(Call call, Response response, byte[] bytes) throws Failure {
    int status = response.getStatus();
    refusal(response, bytes);
    try {
      return call.provider().adapter.response(call, bytes);
    } catch (IOException e) {
      throw Failure.inStream(Outcome.SERVER_ERROR, status, "bad_response",
          "the provider's answer could not be read: " + e.getMessage());
    }
  }

  private Sample<StreamState> streamOnce(Call call, KeyState key, byte[] body, ChunkSink sink, boolean includeUsage,
      Route route, int attempt) throws Failure {
    ProviderState p = call.provider();
    ProviderConfig.Timeouts timeouts = p.config.timeouts();
    acquire(p);
    long start = System.nanoTime();
    long total = start + timeouts.total().toNanos();
    long firstByte = start + timeouts.firstByte().toNanos();
    BodyStream bs = new BodyStream(firstByte, total);
    StreamState state = new StreamState(sink, route, attempt, includeUsage, Adapter.randomId("chatcmpl-"), call.model(),
        call.created());
    try {
      Response response = send(p, build(call, key, body), bs, Math.min(firstByte, total),
          "no first byte within the first-byte timeout of " + Failure.human(timeouts.firstByte()));
      rejectErrors(response, bs);
      try {
        p.adapter.stream(call, bs, state);
        state.end();
      } catch (Failure f) {
        throw state.delivered() ? broken(f) : f;
      } catch (IOException e) {
        Failure f = readFailure(e, "the stream");
        throw state.delivered() ? broken(f) : f;
      }
      long ttft = bs.firstByteAt() == 0 ? System.nanoTime() : bs.firstByteAt();
      return new Sample<>(state, (ttft - start) / 1e6);
    } finally {
      bs.close();
      p.release();
    }
  }

  private static Failure broken(Failure f) {
    return new Failure(Outcome.STREAM_BROKEN, f.status, f.code, f.getMessage(), Optional.empty());
  }

  private static void acquire(ProviderState p) throws Failure {
    try {
      if (!p.acquire()) {
        throw Failure.busy(p.config.maxConcurrency());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw cancelled();
    }
  }

  private Response send(ProviderState p, Request request, ProviderExchange bs, long deadline, String late) throws Failure {
    bs.send(request);
    try {
      return bs.head(deadline);
    } catch (BodyStream.Timeout e) {
      throw Failure.timeout(late);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw cancelled();
    } catch (ExecutionException e) {
      throw exchangeFailure(e.getCause(), p, late);
    }
  }

  /** What the HTTP client's failure of an exchange means for the retry loop. */
  private static Failure exchangeFailure(Throwable c, ProviderState p, String late) {
    if (c instanceof SocketTimeoutException || c instanceof java.net.ConnectException && String.valueOf(c.getMessage()).contains("imeout")) {
      return Failure.timeout("could not connect within the connect timeout of " + Failure.human(p.config.timeouts().connect()));
    }
    if (c instanceof TimeoutException) {
      return Failure.timeout(late);
    }
    if (dev.gatehouse.http.BodyBuffer.isTooLarge(c)) {
      return Failure.connection(c.getMessage());
    }
    if (c instanceof Failure f) {
      return f;
    }
    return Failure.connection("could not reach the provider (" + describe(c) + ")");
  }

  private void rejectErrors(Response response, BodyStream bs) throws Failure {
    int status = response.getStatus();
    if (status >= 200 && status < 300) {
      return;
    }
    byte[] error;
    try {
      error = bs.readPrefix(MAX_ERROR_BODY);
    } catch (IOException e) {
      error = new byte[0];
    }
    throw Failure.fromResponse(status, response.getHeaders(), error, redactor, env.clock());
  }

  private static Failure readFailure(IOException e, String what) {
    if (e instanceof BodyStream.Timeout) {
      return Failure.timeout(e.getMessage());
    }
    if (e instanceof InterruptedIOException) {
      throw cancelled();
    }
    return Failure.connection(what + " broke off (" + describe(e) + ")");
  }

  /** A client-safe description: the provider is named by its config name elsewhere, never by address. */
  private static String describe(Throwable t) {
    if (t != null) {
      log.debug("provider exchange failed", t);
    }
    return dev.gatehouse.http.UpstreamClients.describe(t);
  }

  /** Test hook: the whole chain of a target name, as {@link #plan} builds it. */
  List<String> targets(ObjectNode request, RouteOptions options) {
    Set<String> names = new LinkedHashSet<>();
    plan(request, options).forEach(t -> names.add(t.name()));
    return List.copyOf(names);
  }
}
