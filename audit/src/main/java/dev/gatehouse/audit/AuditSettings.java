package dev.gatehouse.audit;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The {@code audit:} section: where chain steps are stored, how long they are kept, and what is
 * redacted from captured arguments and results.
 *
 * <pre>{@code
 * audit:
 *   enabled: true                          # default true
 *   store: "sqlite:./data/gatehouse.db"    # default; relative paths are against the working directory
 *   retention_days: 30                     # default: keep forever
 *   queue_capacity: 10000                  # steps waiting to be written before callers block
 *   redact: [password, token, auth.secret, "items[*].key"]   # see AuditRedaction for the syntax
 * }</pre>
 *
 * @param enabled whether steps are recorded at all
 * @param store {@code sqlite:PATH} (embedded, one process) or {@code postgresql://USER:PASSWORD@HOST:PORT/DB}
 *     (shared by every replica; also {@code postgres://} and {@code jdbc:postgresql://})
 * @param retentionDays steps that started more than this many days ago are purged, hourly and at
 *     startup; empty keeps them forever
 * @param queueCapacity how many steps the writer takes at once; when full, later steps wait in line
 *     (their calls are answered later: back-pressure) instead of being dropped
 * @param redact JSON paths replaced by {@code "[REDACTED]"} in arguments and results before they
 *     are digested or captured; an explicit empty list turns redaction off
 * @param durability {@code commit} (default): a call is answered only once its step is committed
 *     (group commit: every step that arrives while a commit runs goes into the next), so every
 *     acknowledged call survives a process crash; {@code queued}: a call is answered as soon as its
 *     step is queued; the writer commits within a few milliseconds, a graceful shutdown loses nothing,
 *     a crash (SIGKILL, power loss) can lose the steps of its last few milliseconds
 * @param capture ids (globs) of policy rules whose allowed calls also store their arguments and
 *     results in full, redacted; every other call stores SHA-256 digests only
 */
public record AuditSettings(
    boolean enabled,
    String store,
    OptionalInt retentionDays,
    int queueCapacity,
    List<String> redact,
    Durability durability,
    List<String> capture) {

  /** When a call is answered relative to its audit step's commit. */
  public enum Durability {
    COMMIT, QUEUED;

    @com.fasterxml.jackson.annotation.JsonCreator
    public static Durability parse(String s) {
      for (Durability d : values()) {
        if (d.name().equalsIgnoreCase(s)) {
          return d;
        }
      }
      throw new IllegalArgumentException("durability: '" + s + "' (expected: commit or queued)");
    }
  }

  static final String DEFAULT_STORE = "sqlite:./data/gatehouse.db";
  static final int DEFAULT_QUEUE_CAPACITY = 10_000;
  static final int MAX_QUEUE_CAPACITY = 1_000_000;
  static final int MAX_RETENTION_DAYS = 36_500;
  static final List<String> DEFAULT_REDACT = List.of(
      "password", "passwd", "secret", "client_secret", "token", "access_token", "refresh_token", "id_token",
      "api_key", "apikey", "authorization", "cookie", "private_key");

  public AuditSettings {
    if (postgres(store).isEmpty()) {
      sqlitePath(store);
    }
    retentionDays = retentionDays == null ? OptionalInt.empty() : retentionDays;
    if (retentionDays.isPresent() && (retentionDays.getAsInt() < 1 || retentionDays.getAsInt() > MAX_RETENTION_DAYS)) {
      throw new IllegalArgumentException("retention_days: " + retentionDays.getAsInt() + " (expected: 1.." + MAX_RETENTION_DAYS
          + ", or leave it out to keep steps forever)");
    }
    if (queueCapacity < 1 || queueCapacity > MAX_QUEUE_CAPACITY) {
      throw new IllegalArgumentException("queue_capacity: " + queueCapacity + " (expected: 1.." + MAX_QUEUE_CAPACITY + ")");
    }
    if (redact == null) {
      throw new IllegalArgumentException("redact: missing (expected: a list of JSON paths, possibly empty)");
    }
    redact = List.copyOf(redact);
    AuditRedaction.of(redact);
    durability = durability == null ? Durability.COMMIT : durability;
    capture = capture == null ? List.of() : List.copyOf(capture);
    try {
      dev.gatehouse.policy.GlobList.of(capture);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("capture" + e.getMessage(), e);
    }
  }

  /** Everything at its default: enabled, {@value #DEFAULT_STORE}, kept forever, the default redactions. */
  public static AuditSettings defaults() {
    return fromConfig(null, null, null, null, null, null, null);
  }

  /** The YAML form: absent or null keys take their defaults. */
  @JsonCreator
  public static AuditSettings fromConfig(
      @JsonProperty("enabled") Boolean enabled,
      @JsonProperty("store") String store,
      @JsonProperty("retention_days") Integer retentionDays,
      @JsonProperty("queue_capacity") Integer queueCapacity,
      @JsonProperty("redact") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> redact,
      @JsonProperty("durability") Durability durability,
      @JsonProperty("capture") @JsonFormat(with = JsonFormat.Feature.ACCEPT_SINGLE_VALUE_AS_ARRAY) List<String> capture) {
    return new AuditSettings(
        enabled == null || enabled,
        store == null ? DEFAULT_STORE : store,
        retentionDays == null ? OptionalInt.empty() : OptionalInt.of(retentionDays),
        queueCapacity == null ? DEFAULT_QUEUE_CAPACITY : queueCapacity,
        redact == null ? DEFAULT_REDACT : redact,
        durability,
        capture);
  }

  /** The PostgreSQL database {@link #store} names, if it names one. */
  public Optional<PostgresUrl> postgres() {
    return postgres(store);
  }

  /**
   * The PostgreSQL database in {@code store}, if it is a {@code postgresql://}, {@code postgres://} or
   * {@code jdbc:postgresql://} URL.
   *
   * @throws IllegalArgumentException if it is one but malformed
   */
  public static Optional<PostgresUrl> postgres(String store) {
    if (store == null) {
      return Optional.empty();
    }
    String lower = store.strip().toLowerCase(Locale.ROOT);
    if (!(lower.startsWith("postgres:") || lower.startsWith("postgresql:") || lower.startsWith("jdbc:postgresql:"))) {
      return Optional.empty();
    }
    return Optional.of(PostgresUrl.parse(store.strip()));
  }

  /** The SQLite database file {@link #store} names (not yet resolved against any directory). */
  public Path sqlitePath() {
    return sqlitePath(store);
  }

  public AuditSettings withStore(String store) {
    return new AuditSettings(enabled, store, retentionDays, queueCapacity, redact, durability, capture);
  }

  public AuditSettings withRetentionDays(int days) {
    return new AuditSettings(enabled, store, OptionalInt.of(days), queueCapacity, redact, durability, capture);
  }

  public AuditSettings withQueueCapacity(int queueCapacity) {
    return new AuditSettings(enabled, store, retentionDays, queueCapacity, redact, durability, capture);
  }

  public AuditSettings withRedact(List<String> redact) {
    return new AuditSettings(enabled, store, retentionDays, queueCapacity, redact, durability, capture);
  }

  public AuditSettings withDurability(Durability durability) {
    return new AuditSettings(enabled, store, retentionDays, queueCapacity, redact, durability, capture);
  }

  public AuditSettings withCapture(List<String> capture) {
    return new AuditSettings(enabled, store, retentionDays, queueCapacity, redact, durability, capture);
  }

  public AuditSettings withEnabled(boolean enabled) {
    return new AuditSettings(enabled, store, retentionDays, queueCapacity, redact, durability, capture);
  }

  /**
   * The path in {@code sqlite:PATH} (also {@code sqlite://PATH}, so {@code sqlite:///var/lib/g.db}
   * is absolute).
   */
  public static Path sqlitePath(String store) {
    String expected = "(expected: sqlite:PATH, e.g. " + DEFAULT_STORE + ")";
    if (store == null || store.isBlank()) {
      throw new IllegalArgumentException("store: '" + store + "' " + expected);
    }
    String lower = store.strip().toLowerCase(Locale.ROOT);
    if (lower.startsWith("postgres:") || lower.startsWith("postgresql:") || lower.startsWith("jdbc:postgresql:")) {
      throw new IllegalArgumentException("store: '" + PostgresUrl.redact(store) + "' is a PostgreSQL store, not a file " + expected);
    }
    if (!lower.startsWith("sqlite:")) {
      throw new IllegalArgumentException("store: '" + store + "' is not a supported store " + expected);
    }
    String path = store.strip().substring("sqlite:".length());
    if (path.startsWith("//")) {
      path = path.substring(2);
    }
    // sqlite-jdbc reads '?' as the start of connection options; ':memory:' would not survive a restart.
    if (path.isEmpty() || path.contains("?") || path.startsWith(":memory:")) {
      throw new IllegalArgumentException("store: '" + store + "' needs a database file path without '?' " + expected);
    }
    try {
      return Path.of(path);
    } catch (InvalidPathException e) {
      throw new IllegalArgumentException("store: '" + store + "': " + e.getReason() + " " + expected);
    }
  }
}
