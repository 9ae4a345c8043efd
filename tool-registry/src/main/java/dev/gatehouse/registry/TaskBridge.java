package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Tasks across the two revisions. A task of the 2026-07-28 tasks extension (SEP-2663) in the shape of
 * the 2025-11-25 tasks a session-based client knows: {@code ttlMs} and {@code pollIntervalMs} become
 * {@code ttl} and {@code pollInterval}, a created task is wrapped in {@code task}, and what 2026
 * inlines in {@code tasks/get} (result, error, input requests) is left to {@code tasks/result}; and
 * the reverse for a 2026-07-28 client of a 2025-11-25 upstream ({@link #modern}, {@link Inputs}).
 */
final class TaskBridge {
  private TaskBridge() {}

  /** The 2025-11-25 fields of a 2026-07-28 task. */
  static ObjectNode task(JsonNode t) {
    ObjectNode out = common(t);
    out.set("ttl", t.has("ttlMs") ? t.get("ttlMs") : Json.MAPPER.nullNode());
    if (t.has("pollIntervalMs")) {
      out.set("pollInterval", t.get("pollIntervalMs"));
    }
    return out;
  }

  /** The fields both revisions' tasks share, copied from {@code t}. */
  private static ObjectNode common(JsonNode t) {
    ObjectNode out = Json.object();
    for (String k : new String[] {"taskId", "status", "statusMessage", "createdAt", "lastUpdatedAt"}) {
      if (t.has(k)) {
        out.set(k, t.get(k));
      }
    }
    return out;
  }

  /** A {@code CreateTaskResult} of 2026-07-28 ({@code resultType: "task"}) as 2025-11-25 has it. */
  static ObjectNode created(JsonNode r) {
    ObjectNode out = Json.object();
    out.set("task", task(r));
    if (r.get("_meta") instanceof ObjectNode meta) {
      out.set("_meta", meta);
    }
    return out;
  }

  /** What {@code tasks/result} answers for a completed task: its result, tied to the task. */
  static ObjectNode result(String taskId, JsonNode t) {
    ObjectNode out = t.get("result") instanceof ObjectNode r ? r.deepCopy() : Json.object();
    out.remove("resultType");
    ObjectNode meta = out.get("_meta") instanceof ObjectNode m ? m : out.putObject("_meta");
    meta.putObject("io.modelcontextprotocol/related-task").put("taskId", taskId);
    return out;
  }

  /** A 2025-11-25 task (flat, as {@code tasks/get} answers) in the fields of 2026-07-28. */
  static ObjectNode modern(JsonNode t) {
    ObjectNode out = common(t);
    if (!out.has("lastUpdatedAt") && out.has("createdAt")) {
      out.set("lastUpdatedAt", out.get("createdAt"));
    }
    out.set("ttlMs", t.get("ttl") != null && t.get("ttl").canConvertToLong() ? t.get("ttl") : Json.MAPPER.nullNode());
    if (t.path("pollInterval").canConvertToLong()) {
      out.put("pollIntervalMs", t.path("pollInterval").asLong());
    }
    return out;
  }

  /** A 2025-11-25 {@code CreateTaskResult}'s task as the 2026-07-28 one ({@code resultType: "task"}). */
  static ObjectNode modernCreated(ObjectNode task) {
    ObjectNode out = modern(task);
    out.put("resultType", "task");
    return out;
  }

  /** A failure as the JSON-RPC error object a failed 2026-07-28 task inlines. */
  static ObjectNode error(Throwable failure) {
    return McpException.errorObject(failure, "");
  }

  /**
   * What a 2025-11-25 upstream's task waits for, on behalf of a 2026-07-28 client: the context of the
   * {@code tasks/result} kept open upstream. Each request the upstream makes on it becomes an input
   * request (key {@code input-N}); {@link #answer} hands the client's {@code tasks/update} to it.
   */
  static final class Inputs implements CallContext {
    private final Object owner;
    private final java.util.List<Runnable> cancelHooks = new java.util.concurrent.CopyOnWriteArrayList<>();
    // Guarded by this.
    private final java.util.Map<String, ObjectNode> asked = new java.util.LinkedHashMap<>();
    private final java.util.Map<String, java.util.concurrent.CompletableFuture<JsonNode>> answers = new java.util.LinkedHashMap<>();
    private java.util.concurrent.CompletableFuture<Void> arrived = new java.util.concurrent.CompletableFuture<>();
    private int keys;
    private boolean ended;

    Inputs(Object owner) {
      this.owner = owner;
    }

    @Override
    public synchronized java.util.concurrent.CompletableFuture<JsonNode> request(String method, ObjectNode params) {
      java.util.concurrent.CompletableFuture<JsonNode> answer = new java.util.concurrent.CompletableFuture<>();
      if (ended) {
        answer.completeExceptionally(new McpException(McpException.REQUEST_CANCELLED, "the task's client is gone"));
        return answer;
      }
      String key = "input-" + (++keys);
      ObjectNode request = Json.object();
      request.put("method", method);
      request.set("params", params);
      asked.put(key, request);
      answers.put(key, answer);
      arrived.complete(null);
      return answer;
    }

    @Override
    public Object owner() {
      return owner;
    }

    @Override
    public void onCancel(Runnable action) {
      cancelHooks.add(action);
    }

    /** The requests not answered yet, once there is one (or {@code wait} has passed, or the task's result came). */
    java.util.concurrent.CompletableFuture<ObjectNode> asked(java.time.Duration wait) {
      java.util.concurrent.CompletableFuture<Void> signal;
      synchronized (this) {
        if (!asked.isEmpty() || ended) {
          return java.util.concurrent.CompletableFuture.completedFuture(snapshot());
        }
        signal = arrived;
      }
      return signal.copy().completeOnTimeout(null, wait.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)
          .thenApply(v -> snapshot());
    }

    private synchronized ObjectNode snapshot() {
      ObjectNode out = Json.object();
      asked.forEach((k, v) -> out.set(k, v.deepCopy()));
      return out;
    }

    /** The client's answers ({@code tasks/update}): those to requests still open go upstream; others are ignored. */
    void answer(ObjectNode responses) {
      java.util.Map<java.util.concurrent.CompletableFuture<JsonNode>, JsonNode> deliver = new java.util.LinkedHashMap<>();
      synchronized (this) {
        responses.properties().forEach(e -> {
          if (e.getValue() instanceof ObjectNode && answers.containsKey(e.getKey())) {
            deliver.put(answers.remove(e.getKey()), e.getValue());
            asked.remove(e.getKey());
          }
        });
        if (asked.isEmpty()) {
          arrived = new java.util.concurrent.CompletableFuture<>();
        }
      }
      deliver.forEach(java.util.concurrent.CompletableFuture::complete);
    }

    /** The task's result came (or the wait ended): nothing more is asked here. */
    void ended() {
      java.util.List<java.util.concurrent.CompletableFuture<JsonNode>> open;
      synchronized (this) {
        ended = true;
        open = java.util.List.copyOf(answers.values());
        answers.clear();
        asked.clear();
        arrived.complete(null);
      }
      McpException gone = new McpException(McpException.REQUEST_CANCELLED, "the task ended");
      open.forEach(f -> f.completeExceptionally(gone));
    }

    /** The client cancelled the task: what waits for it fails, the {@code tasks/result} upstream ends. */
    void cancel() {
      ended();
      cancelHooks.forEach(Runnable::run);
    }
  }

  /** What {@code tasks/result} fails with for a failed or cancelled task. */
  static McpException error(JsonNode t) {
    if ("cancelled".equals(t.path("status").asText())) {
      return new McpException(McpException.INVALID_PARAMS, "task " + t.path("taskId").asText() + " was cancelled");
    }
    JsonNode e = t.path("error");
    return new McpException(e.path("code").asInt(McpException.INTERNAL_ERROR), e.path("message").asText("the task failed"),
        e.get("data"), null);
  }
}
