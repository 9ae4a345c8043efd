package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A task of the 2026-07-28 tasks extension (SEP-2663) in the shape of the 2025-11-25 tasks a
 * session-based client knows: {@code ttlMs} and {@code pollIntervalMs} become {@code ttl} and
 * {@code pollInterval}, a created task is wrapped in {@code task}, and what 2026 inlines in
 * {@code tasks/get} (result, error, input requests) is left to {@code tasks/result}.
 */
final class TaskBridge {
  private TaskBridge() {}

  /** The 2025-11-25 fields of a 2026-07-28 task. */
  static ObjectNode task(JsonNode t) {
    ObjectNode out = Json.object();
    for (String k : new String[] {"taskId", "status", "statusMessage", "createdAt", "lastUpdatedAt"}) {
      if (t.has(k)) {
        out.set(k, t.get(k));
      }
    }
    out.set("ttl", t.has("ttlMs") ? t.get("ttlMs") : Json.MAPPER.nullNode());
    if (t.has("pollIntervalMs")) {
      out.set("pollInterval", t.get("pollIntervalMs"));
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
