package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One MCP client session with an upstream over a {@link Transport}: our own request ids, answers
 * matched to callers, progress tokens rewritten so tokens of different downstream clients never
 * collide, cancellation forwarded, and the upstream's own requests (sampling, elicitation) relayed
 * to the downstream call that caused them.
 */
final class Connection implements Transport.Listener {
  private static final Logger log = LoggerFactory.getLogger(Connection.class);
  static final List<String> PROTOCOL_VERSIONS = List.of("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05");

  /** What the owning upstream hears about. */
  interface Events {
    /** Notifications not tied to a call: list_changed, resources/updated, stray log messages. */
    void onNotification(Connection source, String method, ObjectNode params);

    void onClosed(Connection source, String reason);
  }

  /** The upstream's answer to {@code initialize}. */
  record Handshake(String protocolVersion, ObjectNode capabilities, ObjectNode serverInfo, String instructions) {}

  private record Pending(long id, String method, CallContext context, JsonNode progressToken,
      CompletableFuture<JsonNode> result, long startedNanos) {}

  private final String name;
  private final Transport transport;
  private final Events events;
  private final AtomicLong ids = new AtomicLong();
  private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
  /** Requests the upstream made of us, by their id's JSON text, so it can cancel them. */
  private final Map<String, CompletableFuture<JsonNode>> inbound = new ConcurrentHashMap<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile Handshake handshake;
  private final java.util.concurrent.ScheduledExecutorService timers;

  Connection(String name, Transport transport, Events events, java.util.concurrent.ScheduledExecutorService timers) {
    this.name = name;
    this.transport = transport;
    this.events = events;
    this.timers = timers;
  }

  /** Starts the transport and runs the MCP handshake; throws on failure or timeout. */
  Handshake open(Duration timeout, String clientVersion) throws IOException {
    transport.start(this, timeout);
    this.clientVersion = clientVersion;
    if (transport.stateless()) {
      try {
        // A session-based server answers at once (an error); one that does not is given a part of the time.
        return discover(transport.fallBackAllowed() ? min(timeout.dividedBy(2), Duration.ofSeconds(10)) : timeout);
      } catch (IOException e) {
        if (!transport.fallBack()) {
          throw e;
        }
        log.debug("upstream '{}': not a {} server ({}); opening a session", name, STATELESS, e.getMessage());
      }
    }
    ObjectNode params = Json.object();
    params.put("protocolVersion", PROTOCOL_VERSIONS.get(0));
    // What the gateway can relay to the client whose call an upstream's request belongs to. The upstream
    // connection is shared, so this is the union; a client that lacks one gets a precise error.
    ObjectNode caps = params.putObject("capabilities");
    relayable(caps);
    ObjectNode tasks = caps.putObject("tasks");
    tasks.putObject("list");
    tasks.putObject("cancel");
    ObjectNode requests = tasks.putObject("requests");
    requests.putObject("sampling").putObject("createMessage");
    requests.putObject("elicitation").putObject("create");
    ObjectNode info = params.putObject("clientInfo");
    info.put("name", "gatehouse");
    info.put("version", clientVersion);
    JsonNode result;
    try {
      result = request("initialize", params, CallContext.none(), timeout).join();
    } catch (RuntimeException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new IOException("initialize failed: " + cause.getMessage(), cause);
    }
    String version = Json.text(result, "protocolVersion");
    if (!PROTOCOL_VERSIONS.contains(version)) {
      throw new IOException("upstream speaks protocol version '" + version + "' (expected one of " + PROTOCOL_VERSIONS + ")");
    }
    transport.initialized(version);
    notify("notifications/initialized", Json.object());
    Handshake h = new Handshake(version,
        result.get("capabilities") instanceof ObjectNode c ? c : Json.object(),
        result.get("serverInfo") instanceof ObjectNode s ? s : Json.object(),
        Json.text(result, "instructions"));
    handshake = h;
    return h;
  }

  /** What the gateway can pass on to the client of a call: sampling, form and URL elicitation, roots. */
  private static void relayable(ObjectNode caps) {
    caps.putObject("sampling");
    ObjectNode elicitation = caps.putObject("elicitation");
    elicitation.putObject("form");
    elicitation.putObject("url");
    caps.putObject("roots");
  }

  /**
   * What the gateway can relay to the client behind a call, as a 2026-07-28 upstream is told it: the
   * relayable capabilities the client declared (all of them for the gateway's own requests).
   */
  static void relayable(ObjectNode caps, Optional<ObjectNode> client) {
    if (client.isEmpty()) {
      relayable(caps);
      return;
    }
    ObjectNode declared = client.get();
    if (declared.has("sampling")) {
      caps.putObject("sampling");
    }
    if (declared.get("elicitation") instanceof ObjectNode e) {
      ObjectNode elicitation = caps.putObject("elicitation");
      if (e.has("form") || !e.has("url")) { // an empty elicitation object means form mode
        elicitation.putObject("form");
      }
      if (e.has("url")) {
        elicitation.putObject("url");
      }
    }
    if (declared.has("roots")) {
      caps.putObject("roots");
    }
    // Extensions whose messages cross the gateway unchanged: a task result and its tasks/* requests
    // (routed back by the task handle), MCP Apps' UI resources and tool metadata.
    for (String ext : McpHeaders.RELAYED_EXTENSIONS) {
      if (declared.path("extensions").get(ext) instanceof ObjectNode settings) {
        ((ObjectNode) (caps.get("extensions") instanceof ObjectNode e ? e : caps.putObject("extensions"))).set(ext, settings.deepCopy());
      }
    }
  }

  private volatile String clientVersion = "";

  /**
   * The stateless revision has no handshake: {@code server/discover} says which versions the upstream
   * serves (it must serve 2026-07-28), what it offers and who it is.
   */
  private Handshake discover(Duration timeout) throws IOException {
    JsonNode result;
    try {
      result = request("server/discover", Json.object(), CallContext.none(), timeout).join();
    } catch (RuntimeException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new IOException("server/discover failed: " + cause.getMessage(), cause);
    }
    boolean served = false;
    for (JsonNode v : result.path("supportedVersions")) {
      served |= STATELESS.equals(v.asText());
    }
    if (!served) {
      throw new IOException("upstream does not serve protocol version " + STATELESS + " (it serves " + result.path("supportedVersions") + ")");
    }
    transport.initialized(STATELESS);
    Handshake h = new Handshake(STATELESS,
        result.get("capabilities") instanceof ObjectNode c ? c : Json.object(),
        result.path("_meta").get("io.modelcontextprotocol/serverInfo") instanceof ObjectNode s ? s : Json.object(),
        Json.text(result, "instructions"));
    handshake = h;
    return h;
  }

  static final String STATELESS = UpstreamConfig.StreamableHttp.STATELESS;

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  /** Checks the upstream is still there: {@code ping}, or {@code server/discover} where ping does not exist. */
  CompletableFuture<JsonNode> ping(Duration timeout) {
    return request(transport.stateless() ? "server/discover" : "ping", Json.object(), CallContext.none(), timeout);
  }

  Handshake handshake() {
    return handshake;
  }

  long pid() {
    return transport.pid();
  }

  /**
   * Sends a request. {@code params} becomes ours: its progress token is rewritten. The future
   * completes with the result, or exceptionally with an {@link McpException}; cancelling it tells the
   * upstream.
   */
  CompletableFuture<JsonNode> request(String method, ObjectNode params, CallContext context, Duration timeout) {
    if (!transport.stateless()) {
      if (context.takesInputRequired() && context.clientCapabilities().map(c -> c.path("extensions").has(McpHeaders.TASKS_EXTENSION)).orElse(false)) {
        // A 2026-07-28 client's tasks (the extension) over the tasks of 2025-11-25.
        switch (method) {
          case "tools/call" -> {
            if (requiredTaskTools.contains(params.path("name").asText())) {
              params.putObject("task"); // such a tool runs as a task only; the upstream decides its ttl
              return send(method, params, context, timeout).thenApply(r -> r.get("task") instanceof ObjectNode t ? TaskBridge.modernCreated(t) : r);
            }
          }
          case "tasks/get", "tasks/update", "tasks/cancel" -> {
            return modernTask(method, params, context, timeout);
          }
          default -> { }
        }
      }
      return send(method, params, context, timeout);
    }
    if (method.equals("resources/subscribe") || method.equals("resources/unsubscribe")) {
      // 2026-07-28 removed both: a resource's updates come on a subscriptions/listen the transport keeps.
      String uri = params.path("uri").asText("");
      if (method.equals("resources/unsubscribe")) {
        transport.unsubscribe(uri);
        return CompletableFuture.completedFuture(Json.object());
      }
      Handshake h = handshake;
      if (h == null || !h.capabilities().path("resources").path("subscribe").asBoolean(false)) {
        return CompletableFuture.failedFuture(new McpException(McpException.METHOD_NOT_FOUND,
            "upstream '" + name + "' does not offer resource subscriptions (capabilities.resources.subscribe)"));
      }
      return transport.subscribe(uri).thenApply(v -> (JsonNode) Json.object());
    }
    boolean taskForSessionClient = false;
    if (!context.takesInputRequired() && context.relays()) {
      // A session-based client's tasks (2025-11-25) over the tasks extension of 2026-07-28.
      switch (method) {
        case "tools/call" -> taskForSessionClient = params.remove("task") != null;
        case "tasks/get", "tasks/cancel", "tasks/result" -> {
          return sessionTask(method, params.path("taskId").asText(""), context, timeout);
        }
        case "tasks/list" -> {
          return CompletableFuture.failedFuture(new McpException(McpException.METHOD_NOT_FOUND,
              "upstream '" + name + "' speaks " + STATELESS + ", whose tasks extension has no tasks/list"));
        }
        default -> { }
      }
    }
    stamp(params, context, taskForSessionClient);
    ObjectNode sent = params.deepCopy();
    CompletableFuture<JsonNode> first = send(method, params, context, timeout);
    CompletableFuture<JsonNode> done = McpHeaders.nameField(method).isEmpty() ? first
        : first.thenCompose(r -> rounds(method, sent, r, context, timeout, 1));
    return taskForSessionClient ? done.thenApply(r -> "task".equals(r.path("resultType").asText()) ? TaskBridge.created(r) : r) : done;
  }

  /** What a request to a 2026-07-28 upstream carries in {@code _meta}: who we are and what we can pass on. */
  private void stamp(ObjectNode params, CallContext context, boolean tasks) {
    ObjectNode meta = params.get("_meta") instanceof ObjectNode m ? m : params.putObject("_meta");
    meta.put("io.modelcontextprotocol/protocolVersion", STATELESS);
    ObjectNode caps = meta.putObject("io.modelcontextprotocol/clientCapabilities");
    relayable(caps, context.clientCapabilities());
    if (tasks) {
      (caps.get("extensions") instanceof ObjectNode e ? e : caps.putObject("extensions")).putObject(McpHeaders.TASKS_EXTENSION);
    }
    ObjectNode info = meta.putObject("io.modelcontextprotocol/clientInfo");
    info.put("name", "gatehouse");
    info.put("version", clientVersion);
  }

  /** A 2026-07-28 tasks request for a task of a session-based client: what a 2026 upstream is asked. */
  private CompletableFuture<JsonNode> taskRequest(String method, String taskId, ObjectNode extra, CallContext context, Duration timeout) {
    ObjectNode p = extra == null ? Json.object() : extra;
    p.put("taskId", taskId);
    stamp(p, context, true);
    return send(method, p, context, timeout);
  }

  /**
   * {@code tasks/get}, {@code tasks/cancel} and {@code tasks/result} of a session-based client, for a
   * task a 2026-07-28 upstream runs: the first two answered in the 2025-11-25 shape; the last waits for
   * the task to end (polling as the upstream suggests), asks the client what the task waits for as
   * requests of its revision and hands the answers over with {@code tasks/update}, then answers with the
   * task's result (or its error).
   */
  private CompletableFuture<JsonNode> sessionTask(String method, String taskId, CallContext context, Duration timeout) {
    return switch (method) {
      case "tasks/get" -> taskRequest("tasks/get", taskId, null, context, timeout).thenApply(TaskBridge::task);
      case "tasks/cancel" -> taskRequest("tasks/cancel", taskId, null, context, timeout)
          .thenCompose(ack -> taskRequest("tasks/get", taskId, null, context, timeout)).thenApply(TaskBridge::task);
      default -> awaitTask(taskId, context, timeout, System.nanoTime() + timeout.toNanos(), 0);
    };
  }

  private CompletableFuture<JsonNode> awaitTask(String taskId, CallContext context, Duration timeout, long deadline, int rounds) {
    return taskRequest("tasks/get", taskId, null, context, timeout).thenCompose(t -> {
      switch (t.path("status").asText()) {
        case "completed" -> {
          return CompletableFuture.completedFuture(TaskBridge.result(taskId, t));
        }
        case "failed", "cancelled" -> {
          return CompletableFuture.failedFuture(TaskBridge.error(t));
        }
        case "input_required" -> {
          if (rounds >= MAX_ROUNDS) {
            return CompletableFuture.failedFuture(new McpException(McpException.INTERNAL_ERROR,
                "upstream '" + name + "' asked for input more than " + MAX_ROUNDS + " times in one task"));
          }
          List<String> keys = new java.util.ArrayList<>();
          List<CompletableFuture<JsonNode>> answers = new java.util.ArrayList<>();
          t.path("inputRequests").properties().forEach(e -> {
            keys.add(e.getKey());
            answers.add(context.request(e.getValue().path("method").asText(),
                e.getValue().get("params") instanceof ObjectNode p ? p.deepCopy() : Json.object()));
          });
          return CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).thenCompose(v -> {
            ObjectNode update = Json.object();
            ObjectNode responses = update.putObject("inputResponses");
            for (int i = 0; i < keys.size(); i++) {
              responses.set(keys.get(i), answers.get(i).join());
            }
            return taskRequest("tasks/update", taskId, update, context, timeout);
          }).thenCompose(ack -> awaitTask(taskId, context, timeout, deadline, rounds + 1));
        }
        default -> {
          if (System.nanoTime() - deadline > 0) {
            return CompletableFuture.failedFuture(new McpException(McpException.UPSTREAM_TIMEOUT,
                "upstream '" + name + "': task " + taskId + " did not end within " + human(timeout)));
          }
          long wait = Math.clamp(t.path("pollIntervalMs").asLong(500), 50, 5_000);
          CompletableFuture<JsonNode> next = new CompletableFuture<>();
          timers.schedule(() -> awaitTask(taskId, context, timeout, deadline, rounds).whenComplete((r, e) -> {
            if (e != null) {
              next.completeExceptionally(e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e);
            } else {
              next.complete(r);
            }
          }), wait, TimeUnit.MILLISECONDS);
          return next;
        }
      }
    });
  }

  /** Tools the upstream runs as tasks only ({@code execution.taskSupport: required}), as it last listed them. */
  private final java.util.Set<String> requiredTaskTools = ConcurrentHashMap.newKeySet();

  /** What a 2025-11-25 upstream's tasks wait for, asked on 2026-07-28 clients' behalf; by upstream task id. */
  private final Map<String, TaskBridge.Inputs> taskInputs = new ConcurrentHashMap<>();

  /**
   * {@code tasks/get}, {@code tasks/update} and {@code tasks/cancel} of a 2026-07-28 client for a task a
   * 2025-11-25 upstream runs. {@code tasks/get} inlines the result or error of an ended task (from
   * {@code tasks/result}), and for a task that waits for input, keeps a {@code tasks/result} open
   * upstream on which the upstream's questions arrive: they are the task's {@code inputRequests}, and
   * {@code tasks/update} answers them.
   */
  private CompletableFuture<JsonNode> modernTask(String method, ObjectNode params, CallContext context, Duration timeout) {
    String taskId = params.path("taskId").asText("");
    ObjectNode ask = Json.object();
    ask.put("taskId", taskId);
    switch (method) {
      case "tasks/update" -> {
        TaskBridge.Inputs inputs = taskInputs.get(taskId);
        if (inputs != null && params.get("inputResponses") instanceof ObjectNode answers) {
          inputs.answer(answers);
        }
        return send("tasks/get", ask, CallContext.none(), timeout).thenApply(t -> (JsonNode) Json.object()); // unknown task: -32602
      }
      case "tasks/cancel" -> {
        TaskBridge.Inputs inputs = taskInputs.remove(taskId);
        if (inputs != null) {
          inputs.cancel();
        }
        return send("tasks/cancel", ask, CallContext.none(), timeout).thenApply(t -> (JsonNode) Json.object());
      }
      default -> {
        return send("tasks/get", ask, CallContext.none(), timeout).thenCompose(t -> {
          ObjectNode out = TaskBridge.modern(t);
          switch (t.path("status").asText()) {
            case "completed", "failed" -> {
              taskInputs.remove(taskId);
              return send("tasks/result", ask.deepCopy(), CallContext.none(), timeout).handle((r, e) -> {
                Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
                if (cause == null) {
                  ObjectNode result = r instanceof ObjectNode o ? o.deepCopy() : Json.object();
                  if (result.get("_meta") instanceof ObjectNode m) {
                    m.remove("io.modelcontextprotocol/related-task");
                  }
                  result.put("resultType", "complete");
                  out.set("result", result);
                } else {
                  out.set("error", TaskBridge.error(cause));
                }
                return (JsonNode) out;
              });
            }
            case "input_required" -> {
              TaskBridge.Inputs inputs = taskInputs.computeIfAbsent(taskId, k -> startInputs(k, context, timeout));
              return inputs.asked(Duration.ofSeconds(5)).thenApply(requests -> {
                if (requests.isEmpty()) {
                  out.put("status", "working"); // its questions have not arrived yet: ask again
                } else {
                  out.set("inputRequests", requests);
                }
                return (JsonNode) out;
              });
            }
            default -> {
              return CompletableFuture.completedFuture((JsonNode) out);
            }
          }
        });
      }
    }
  }

  /** Opens the {@code tasks/result} on which a 2025-11-25 upstream asks what its task {@code taskId} waits for. */
  private TaskBridge.Inputs startInputs(String taskId, CallContext context, Duration timeout) {
    if (taskInputs.size() >= MAX_TASK_INPUTS) {
      taskInputs.keySet().stream().findFirst().map(taskInputs::remove).ifPresent(TaskBridge.Inputs::cancel);
    }
    TaskBridge.Inputs inputs = new TaskBridge.Inputs(context.owner());
    ObjectNode ask = Json.object();
    ask.put("taskId", taskId);
    CompletableFuture<JsonNode> result = send("tasks/result", ask, inputs, Duration.ofMinutes(10));
    inputs.onCancel(() -> result.cancel(false));
    result.whenComplete((r, e) -> {
      taskInputs.remove(taskId, inputs);
      inputs.ended();
    });
    return inputs;
  }

  /** At most this many tasks of 2025-11-25 upstreams wait for a 2026-07-28 client's input at once, per upstream. */
  static final int MAX_TASK_INPUTS = 1000;

  /** At most this many input rounds for one call the gateway answers for a client that cannot. */
  static final int MAX_ROUNDS = 8;

  /**
   * An upstream's {@code input_required} result, for a client that does not take it as it is: each of
   * its requests goes to the client as a request of the session-based revisions, and the call is retried
   * with the answers and the upstream's {@code requestState}.
   */
  private CompletableFuture<JsonNode> rounds(String method, ObjectNode sent, JsonNode result, CallContext context, Duration timeout, int round) {
    if (!"input_required".equals(result.path("resultType").asText()) || context.takesInputRequired()) {
      return CompletableFuture.completedFuture(result);
    }
    if (round > MAX_ROUNDS) {
      return CompletableFuture.failedFuture(new McpException(McpException.INTERNAL_ERROR,
          "upstream '" + name + "' asked for input more than " + MAX_ROUNDS + " times in one call"));
    }
    List<String> keys = new java.util.ArrayList<>();
    List<CompletableFuture<JsonNode>> answers = new java.util.ArrayList<>();
    result.path("inputRequests").properties().forEach(e -> {
      keys.add(e.getKey());
      ObjectNode params = e.getValue().get("params") instanceof ObjectNode p ? p.deepCopy() : Json.object();
      answers.add(context.request(e.getValue().path("method").asText(), params));
    });
    return CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).thenCompose(v -> {
      ObjectNode retry = sent.deepCopy();
      ObjectNode responses = retry.putObject("inputResponses");
      for (int i = 0; i < keys.size(); i++) {
        responses.set(keys.get(i), answers.get(i).join());
      }
      if (result.has("requestState")) {
        retry.set("requestState", result.get("requestState"));
      } else {
        retry.remove("requestState");
      }
      ObjectNode again = retry.deepCopy();
      return send(method, retry, context, timeout).thenCompose(r -> rounds(method, again, r, context, timeout, round + 1));
    });
  }

  /** The input schemas of the upstream's tools as it last listed them, for the headers a call mirrors. */
  private final Map<String, JsonNode> toolSchemas = new ConcurrentHashMap<>();

  private CompletableFuture<JsonNode> send(String method, ObjectNode params, CallContext context, Duration timeout) {
    long id = ids.incrementAndGet();
    JsonNode token = null;
    if (context.progressToken().isPresent()) {
      token = context.progressToken().get();
      ObjectNode meta = params.get("_meta") instanceof ObjectNode m ? m : params.putObject("_meta");
      meta.put("progressToken", id);
    } else if (params.get("_meta") instanceof ObjectNode m) {
      m.remove("progressToken");
    }
    CompletableFuture<JsonNode> result = new CompletableFuture<>();
    context.onCancel(() -> result.cancel(false));
    Pending p = new Pending(id, method, context, token, result, System.nanoTime());
    pending.put(id, p);
    ScheduledFuture<?> timer = timers.schedule(() -> result.completeExceptionally(new McpException(
        McpException.UPSTREAM_TIMEOUT,
        "upstream '" + name + "' did not answer '" + method + "' within " + human(timeout))),
        timeout.toNanos(), TimeUnit.NANOSECONDS);
    result.whenComplete((r, e) -> {
      timer.cancel(false);
      if (pending.remove(id) != null && e != null && !closed.get()) {
        // Our caller gave up (timeout or cancellation): the upstream should stop working on it.
        ObjectNode cancel = Json.object();
        cancel.put("requestId", id);
        cancel.put("reason", e instanceof CancellationException ? "cancelled by the client" : e.getMessage());
        if (transport.stateless()) {
          transport.abort(JsonNodeFactory.instance.numberNode(id)); // 2026-07-28: closing the exchange cancels
        } else {
          notify("notifications/cancelled", cancel);
        }
      }
    });
    ObjectNode msg = Json.object();
    msg.put("jsonrpc", "2.0");
    msg.put("id", id);
    msg.put("method", method);
    msg.set("params", params);
    Map<String, String> headers = transport.stateless()
        ? McpHeaders.of(method, params, method.equals("tools/call") ? toolSchemas.get(params.path("name").asText()) : null)
        : Map.of();
    if (context.traceparent().isPresent()) {
      headers = new java.util.HashMap<>(headers);
      headers.put("traceparent", context.traceparent().get());
    }
    transport.send(msg, System.nanoTime() + timeout.toNanos(), headers, context.caller()).whenComplete((v, failure) -> {
      if (failure != null) {
        Throwable e = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        result.completeExceptionally(e instanceof McpException m ? m : new McpException(McpException.UPSTREAM_UNAVAILABLE,
            "upstream '" + name + "': " + e.getMessage(), null, e));
      }
    });
    return result;
  }

  void notify(String method, ObjectNode params) {
    if (transport.stateless()) {
      return; // 2026-07-28 defines no client notification over HTTP (a call is cancelled by closing its stream)
    }
    ObjectNode msg = Json.object();
    msg.put("jsonrpc", "2.0");
    msg.put("method", method);
    msg.set("params", params);
    transport.send(msg).whenComplete((v, e) -> {
      if (e != null) {
        log.debug("upstream '{}': notification {} not sent: {}", name, method, e.toString());
      }
    });
  }

  @Override
  public void onMessage(ObjectNode message, JsonNode relatedId) {
    JsonNode method = message.get("method");
    JsonNode id = message.get("id");
    if (method == null) {
      if (id != null && id.canConvertToLong()) {
        onResponse(id.asLong(), message);
      }
      return;
    }
    ObjectNode params = message.get("params") instanceof ObjectNode p ? p : Json.object();
    if (id != null && !id.isNull()) {
      onRequest(id, method.asText(), params, relatedId);
    } else {
      onNotification(method.asText(), params, relatedId);
    }
  }

  private void onResponse(long id, ObjectNode message) {
    Pending p = pending.remove(id);
    if (p == null) {
      return; // timed out or cancelled already
    }
    JsonNode error = message.get("error");
    if (error != null && !error.isNull()) {
      int code = error.path("code").asInt(McpException.INTERNAL_ERROR);
      String text = error.path("message").asText("upstream error");
      p.result().completeExceptionally(new McpException(code, text, error.get("data"), null));
    } else {
      JsonNode result = message.get("result");
      if (p.method().equals("tools/list") && transport.stateless()) {
        for (JsonNode t : result.path("tools")) {
          if (t.path("name").isTextual() && t.get("inputSchema") != null) {
            toolSchemas.put(t.path("name").asText(), t.get("inputSchema"));
          }
        }
      }
      if (p.method().equals("tools/list") && result != null) {
        for (JsonNode t : result.path("tools")) {
          if ("required".equals(t.path("execution").path("taskSupport").asText())) {
            requiredTaskTools.add(t.path("name").asText());
          } else {
            requiredTaskTools.remove(t.path("name").asText());
          }
        }
      }
      p.result().complete(result == null ? NullNode.getInstance() : result);
    }
  }

  private void onNotification(String method, ObjectNode params, JsonNode relatedId) {
    switch (method) {
      case "notifications/progress" -> {
        JsonNode token = params.get("progressToken");
        Pending p = token != null && token.canConvertToLong() ? pending.get(token.asLong()) : null;
        if (p != null && p.progressToken() != null) {
          ObjectNode relayed = params.deepCopy();
          relayed.set("progressToken", p.progressToken());
          p.context().notify(method, relayed);
        }
      }
      case "notifications/message" -> {
        CallContext target = contextFor(relatedId);
        if (target.relays()) {
          target.notify(method, params);
        } else {
          events.onNotification(this, method, params);
        }
      }
      case "notifications/cancelled" -> {
        CompletableFuture<JsonNode> f = inbound.remove(params.path("requestId").toString());
        if (f != null) {
          f.cancel(false);
        }
      }
      default -> events.onNotification(this, method, params);
    }
  }

  private void onRequest(JsonNode id, String method, ObjectNode params, JsonNode relatedId) {
    if (method.equals("ping")) {
      respond(id, Json.object(), null);
      return;
    }
    CallContext target = contextFor(relatedId);
    if (!target.relays()) {
      respond(id, null, new McpException(McpException.METHOD_NOT_FOUND,
          "'" + method + "' cannot be relayed: no single client call of this upstream is in flight"));
      return;
    }
    CompletableFuture<JsonNode> answer = target.request(method, params);
    inbound.put(id.toString(), answer);
    answer.whenComplete((r, e) -> {
      if (inbound.remove(id.toString()) == null && e instanceof CancellationException) {
        return; // the upstream cancelled it; it expects no answer
      }
      respond(id, r, e);
    });
  }

  /**
   * The downstream call a server-initiated message belongs to. Streamable HTTP tells us (the message
   * came on that call's stream); otherwise the single call in flight, or the calls of a single
   * client. Anything more ambiguous is not guessed: relaying one client's data to another is worse
   * than refusing.
   */
  private CallContext contextFor(JsonNode relatedId) {
    if (relatedId != null && relatedId.canConvertToLong()) {
      Pending p = pending.get(relatedId.asLong());
      if (p != null) {
        return p.context();
      }
    }
    CallContext only = CallContext.none();
    for (Pending p : pending.values()) {
      if (!p.context().relays()) {
        continue;
      }
      if (only.relays() && !only.owner().equals(p.context().owner())) {
        return CallContext.none();
      }
      if (!only.relays() || p.startedNanos() > startedOf(only)) {
        only = p.context();
      }
    }
    return only;
  }

  private long startedOf(CallContext c) {
    for (Pending p : pending.values()) {
      if (p.context() == c) {
        return p.startedNanos();
      }
    }
    return Long.MIN_VALUE;
  }

  private void respond(JsonNode id, JsonNode result, Throwable error) {
    ObjectNode msg = Json.object();
    msg.put("jsonrpc", "2.0");
    msg.set("id", id);
    if (error == null) {
      msg.set("result", result == null ? Json.object() : result);
    } else {
      Throwable cause = error.getCause() != null && !(error instanceof McpException) ? error.getCause() : error;
      msg.set("error", McpException.errorObject(cause, "request could not be relayed: "));
    }
    transport.send(msg).whenComplete((v, e) -> {
      if (e != null) {
        log.debug("upstream '{}': answer to {} not sent: {}", name, id, e.toString());
      }
    });
  }

  @Override
  public void onOversized(JsonNode id, long bytes, int limit) {
    Pending p = id != null && id.canConvertToLong() ? pending.remove(id.asLong()) : null;
    if (p != null) {
      p.result().completeExceptionally(new McpException(McpException.ANSWER_TOO_LARGE, "upstream '" + name + "' answered '"
          + p.method() + "' with " + bytes + " bytes, more than its max_message_bytes (" + limit + ")"));
    }
  }

  @Override
  public void onClosed(String reason) {
    close(reason);
    events.onClosed(this, reason);
  }

  /** Closes the transport and fails every call still waiting. */
  void close(String reason) {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    transport.close();
    McpException gone = new McpException(McpException.UPSTREAM_UNAVAILABLE,
        "upstream '" + name + "' disconnected: " + reason);
    for (Pending p : pending.values()) {
      p.result().completeExceptionally(gone);
    }
    pending.clear();
    inbound.values().forEach(f -> f.cancel(false));
    inbound.clear();
  }

  boolean isClosed() {
    return closed.get();
  }

  int inFlight() {
    return pending.size();
  }

  static String human(Duration d) {
    long ms = d.toMillis();
    return ms % 1000 == 0 ? ms / 1000 + " s" : ms + " ms";
  }

  static JsonNode nodeOf(long v) {
    return JsonNodeFactory.instance.numberNode(v);
  }
}
