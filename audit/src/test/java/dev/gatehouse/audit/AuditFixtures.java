package dev.gatehouse.audit;

import java.math.BigDecimal;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Instant;

/** Steps, settings and raw database access shared by the audit tests. */
public final class AuditFixtures {
  static final Instant T0 = Instant.parse("2025-06-01T12:00:00Z");

  private AuditFixtures() {}

  /** An allowed tool call by alice on files/read_file, started {@code i} seconds after {@link #T0}. */
  static AuditStep.Builder tool(String chainId, String stepId, int i) {
    return AuditStep.builder()
        .chainId(chainId)
        .stepId(stepId)
        .kind(AuditKind.TOOL)
        .source("mcp")
        .principal("alice", "https://idp.example.com")
        .action("files/read_file")
        .decision("allow")
        .rule("engineering-files")
        .outcome("ok")
        .status(0)
        .startedAt(T0.plusSeconds(i))
        .durationMicros(1200 + i)
        .argsDigest(AuditStep.digest(Json.object("path", "a" + i + ".txt")))
        .resultDigest(AuditStep.digest(Json.object("content", "x")));
  }

  public static AuditStep step(String chainId, int i) {
    return tool(chainId, chainId + "-" + i, i).build();
  }

  /** A model call by bob on openai/gpt-4o. */
  static AuditStep.Builder llm(String chainId, String stepId, int i) {
    return AuditStep.builder()
        .chainId(chainId)
        .stepId(stepId)
        .kind(AuditKind.LLM)
        .source("chat")
        .principal("bob", "https://idp.example.com")
        .tenant("acme")
        .action("openai/gpt-4o")
        .decision("allow")
        .outcome("ok")
        .status(0)
        .startedAt(T0.plusSeconds(i))
        .durationMicros(250_000)
        .tokens(120, 40)
        .costUsd(new BigDecimal("0.00123"));
  }

  public static AuditSettings settings() {
    return AuditSettings.defaults();
  }

  static AuditSettings settings(int queueCapacity) {
    return AuditSettings.defaults().withQueueCapacity(queueCapacity);
  }

  /** A plain JDBC connection, as an attacker or an operator with sqlite3 would have. */
  static Connection jdbc(Path db) throws SQLException {
    return DriverManager.getConnection("jdbc:sqlite:" + db.toAbsolutePath());
  }

  public static void sql(Path db, String sql) throws SQLException {
    try (Connection c = jdbc(db); var s = c.createStatement()) {
      s.executeUpdate(sql);
    }
  }

  /** Tiny JSON builder for test payloads. */
  static final class Json {
    private static final com.fasterxml.jackson.databind.ObjectMapper MAPPER = new com.fasterxml.jackson.databind.ObjectMapper();

    private Json() {}

    static com.fasterxml.jackson.databind.node.ObjectNode object(String key, String value) {
      return MAPPER.createObjectNode().put(key, value);
    }

    static com.fasterxml.jackson.databind.JsonNode parse(String json) {
      try {
        return MAPPER.readTree(json);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalArgumentException(e);
      }
    }
  }
}
