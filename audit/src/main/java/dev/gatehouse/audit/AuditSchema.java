package dev.gatehouse.audit;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * The audit database's schema and its versioned migrations. {@code schema_version} holds one row per
 * applied migration; {@link #migrate} applies the missing ones in order, each in its own transaction,
 * and refuses a database written by a newer Gatehouse. Migrations are append-only: never edit one
 * that has shipped, add the next.
 *
 * <p>Version 1:
 *
 * <ul>
 *   <li>{@code steps}: one row per {@link AuditStep}, {@code seq} its position in the hash chain
 *       ({@code INTEGER PRIMARY KEY}, assigned by the writer, not by SQLite), {@code started_at} in
 *       microseconds since the epoch, {@code cost_usd} as exact decimal text, optional fields NULL
 *       when absent, then {@code prev_hash} and {@code hash} (64 hex digits each).
 *   <li>{@code head}: a single row, the last seq and hash, updated in the same transaction as every
 *       batch, so cutting rows off the end of {@code steps} is detectable.
 *   <li>{@code checkpoints}: one row per retention purge: the seq and hash of the last purged step,
 *       from which verification starts.
 * </ul>
 */
final class AuditSchema {
  /** The schema this code writes and reads. */
  static final int CURRENT = 3;

  /** Migration 2: what the gateway approved of each upstream definition, by fingerprint. */
  private static final String DEFINITIONS = """
      CREATE TABLE definitions (
        server      TEXT   NOT NULL,
        kind        TEXT   NOT NULL,
        name        TEXT   NOT NULL,
        hash        TEXT   NOT NULL,
        definition  TEXT   NOT NULL,
        approved_at BIGINT NOT NULL,
        approved_by TEXT   NOT NULL,
        PRIMARY KEY (server, kind, name)
      )""";

  /** Migration 3: the upstream tokens users consented to give (user_consent), sealed by the gateway. */
  private static final String USER_TOKENS = """
      CREATE TABLE user_tokens (
        upstream   TEXT   NOT NULL,
        principal  TEXT   NOT NULL,
        sealed     TEXT   NOT NULL,
        updated_at BIGINT NOT NULL,
        PRIMARY KEY (upstream, principal)
      )""";

  private static final List<List<String>> MIGRATIONS = List.of(
      // 1: the chain
      List.of(
          """
          CREATE TABLE steps (
            seq             INTEGER PRIMARY KEY,
            chain_id        TEXT    NOT NULL,
            step_id         TEXT    NOT NULL UNIQUE,
            parent_step_id  TEXT,
            kind            TEXT    NOT NULL,
            source          TEXT    NOT NULL,
            subject         TEXT    NOT NULL,
            issuer          TEXT    NOT NULL,
            tenant          TEXT,
            action          TEXT    NOT NULL,
            decision        TEXT    NOT NULL,
            rule            TEXT,
            reason          TEXT,
            outcome         TEXT    NOT NULL,
            status          INTEGER NOT NULL,
            started_at      INTEGER NOT NULL,
            duration_micros INTEGER NOT NULL,
            tokens_in       INTEGER NOT NULL,
            tokens_out      INTEGER NOT NULL,
            cost_usd        TEXT    NOT NULL,
            args_digest     TEXT,
            result_digest   TEXT,
            args_payload    TEXT,
            result_payload  TEXT,
            tool_call_id    TEXT,
            prev_hash       TEXT    NOT NULL,
            hash            TEXT    NOT NULL
          )""",
          "CREATE INDEX steps_chain_id ON steps (chain_id, seq)",
          "CREATE INDEX steps_started_at ON steps (started_at)",
          "CREATE INDEX steps_subject ON steps (subject, seq)",
          "CREATE INDEX steps_action ON steps (action, seq)",
          "CREATE INDEX steps_decision ON steps (decision, seq)",
          """
          CREATE TABLE head (
            id   INTEGER PRIMARY KEY CHECK (id = 1),
            seq  INTEGER NOT NULL,
            hash TEXT    NOT NULL
          )""",
          "INSERT INTO head (id, seq, hash) VALUES (1, 0, '" + AuditChain.GENESIS + "')",
          """
          CREATE TABLE checkpoints (
            seq       INTEGER PRIMARY KEY,
            hash      TEXT    NOT NULL,
            purged_at INTEGER NOT NULL,
            cutoff    INTEGER NOT NULL,
            deleted   INTEGER NOT NULL
          )"""),
      // 2: approved upstream definitions (tool integrity), beside the chain
      List.of(DEFINITIONS.replace("BIGINT", "INTEGER")),
      // 3: users' upstream tokens (user_consent), sealed
      List.of(USER_TOKENS.replace("BIGINT", "INTEGER")));

  /**
   * The same schema for PostgreSQL, where {@code INTEGER} is 32 bits: seqs, times and counts are
   * {@code BIGINT}. Its own append-only list, versioned alike.
   */
  private static final List<List<String>> POSTGRESQL_MIGRATIONS = List.of(
      List.of(
          MIGRATIONS.get(0).get(0).replace("INTEGER PRIMARY KEY", "BIGINT PRIMARY KEY").replace("INTEGER NOT NULL", "BIGINT NOT NULL")
              .replace("status          BIGINT", "status          INTEGER"),
          MIGRATIONS.get(0).get(1),
          MIGRATIONS.get(0).get(2),
          MIGRATIONS.get(0).get(3),
          MIGRATIONS.get(0).get(4),
          MIGRATIONS.get(0).get(5),
          """
          CREATE TABLE head (
            id   INTEGER PRIMARY KEY CHECK (id = 1),
            seq  BIGINT  NOT NULL,
            hash TEXT    NOT NULL
          )""",
          MIGRATIONS.get(0).get(7),
          """
          CREATE TABLE checkpoints (
            seq       BIGINT PRIMARY KEY,
            hash      TEXT   NOT NULL,
            purged_at BIGINT NOT NULL,
            cutoff    BIGINT NOT NULL,
            deleted   BIGINT NOT NULL
          )"""),
      List.of(DEFINITIONS),
      List.of(USER_TOKENS));

  /** Which SQL a database speaks. */
  enum Dialect {
    SQLITE, POSTGRESQL;

    List<List<String>> migrations() {
      return this == SQLITE ? MIGRATIONS : POSTGRESQL_MIGRATIONS;
    }
  }

  private AuditSchema() {}

  static void migrate(Connection c) throws SQLException {
    migrate(c, Dialect.SQLITE);
  }

  /**
   * Brings the database at {@code c} (auto-commit on, as opened) to {@link #CURRENT}.
   *
   * @throws AuditException if the database is newer than this code
   */
  static void migrate(Connection c, Dialect dialect) throws SQLException {
    if (dialect == Dialect.POSTGRESQL) {
      // Replicas starting together: one migrates, the others wait here and then find it done.
      try (Statement s = c.createStatement()) {
        s.execute("SELECT pg_advisory_lock(" + MIGRATION_LOCK + ")");
      }
      try {
        migrateLocked(c, dialect);
      } finally {
        try (Statement s = c.createStatement()) {
          s.execute("SELECT pg_advisory_unlock(" + MIGRATION_LOCK + ")");
        }
      }
    } else {
      migrateLocked(c, dialect);
    }
  }

  /** The advisory lock key replicas take while migrating ("gh-audit" in ASCII). */
  private static final long MIGRATION_LOCK = 0x67682d6175646974L;

  private static void migrateLocked(Connection c, Dialect dialect) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at " + (dialect == Dialect.SQLITE ? "INTEGER" : "BIGINT")
          + " NOT NULL)");
    }
    int version = version(c);
    if (version > CURRENT) {
      throw new AuditException("the audit store has schema version " + version + ", written by a newer Gatehouse; this one reads up to "
          + CURRENT + " (expected: the same or an older store)");
    }
    for (int v = version + 1; v <= CURRENT; v++) {
      boolean auto = c.getAutoCommit();
      c.setAutoCommit(false);
      try (Statement s = c.createStatement()) {
        // Re-read inside the (immediate) transaction: another process may have migrated meanwhile.
        if (version(c) >= v) {
          c.rollback();
          continue;
        }
        for (String sql : dialect.migrations().get(v - 1)) {
          s.execute(sql);
        }
        try (PreparedStatement p = c.prepareStatement("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)")) {
          p.setInt(1, v);
          p.setLong(2, System.currentTimeMillis());
          p.executeUpdate();
        }
        c.commit();
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      } finally {
        c.setAutoCommit(auto);
      }
    }
  }

  /** The highest applied migration, 0 for an empty database or one that is not an audit store. */
  static int version(Connection c) throws SQLException {
    // Through the driver's metadata, so it reads SQLite and PostgreSQL alike.
    try (ResultSet table = c.getMetaData().getTables(null, null, "schema_version", null)) {
      if (!table.next()) {
        return 0;
      }
    }
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT max(version) FROM schema_version")) {
      return r.next() ? r.getInt(1) : 0;
    }
  }
}
