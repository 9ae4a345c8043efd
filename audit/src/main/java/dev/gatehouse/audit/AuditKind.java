package dev.gatehouse.audit;

import java.util.Locale;

/**
 * What a chain step was: the kind of call the gateway governed. Stored and shown in lower case
 * ({@code tool}, {@code llm}, …), the form {@link #wireName()} returns and {@link #parse} accepts.
 */
public enum AuditKind {
  /** An MCP {@code tools/call}, through {@code /mcp} or {@code POST /v1/mcp/tool/execute}. */
  TOOL,
  /** An MCP {@code resources/read}. */
  RESOURCE,
  /** An MCP {@code prompts/get}. */
  PROMPT,
  /** An MCP {@code completion/complete} (argument completion, not a model call). */
  COMPLETION,
  /**
   * {@code tasks/get}, {@code tasks/update} or {@code tasks/cancel} of a task a tool call created (MCP
   * 2026-07-28, tasks extension); the step names the tool.
   */
  TASK,
  /** A model call through {@code /v1/chat/completions}. */
  LLM,
  /**
   * Tool integrity: an upstream definition that changed after it was approved, that looks poisoned,
   * or an admin's approval or rejection of one; the step names the definition and, for a decision,
   * the admin.
   */
  INTEGRITY,
  /** A request refused before it named a target: missing, invalid or expired credentials. */
  AUTH,
  /**
   * A credential toward an upstream ({@code auth:} of an upstream): a token issued to the gateway or
   * exchanged for a caller, a failure to get one, an upstream's refusal of one. Never the token.
   */
  UPSTREAM_AUTH;

  private final String wireName = name().toLowerCase(Locale.ROOT);

  /** The stored and JSON form, e.g. {@code tool}. */
  public String wireName() {
    return wireName;
  }

  /** The kind whose {@link #wireName()} is {@code name} (case-insensitive). */
  public static AuditKind parse(String name) {
    for (AuditKind k : values()) {
      if (k.wireName.equalsIgnoreCase(name)) {
        return k;
      }
    }
    throw new IllegalArgumentException("kind: '" + name + "' (expected: tool, resource, prompt, completion, task, llm, integrity, auth or upstream_auth)");
  }
}
