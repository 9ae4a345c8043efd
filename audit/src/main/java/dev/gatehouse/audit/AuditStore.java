package dev.gatehouse.audit;

import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Where chain steps are kept: appended in order, hash-chained, queried, exported, verified and purged
 * by retention. {@link SqliteAuditStore} is the embedded one,
 * {@link PostgresAuditStore} the one replicas share; every implementation gives the same
 * guarantees:
 *
 * <ul>
 *   <li>{@link #append} never blocks its caller and never drops a step. Its future completes once the
 *       step is committed (it survives the process being killed); when more steps wait than the store
 *       takes at once, later appends wait in line and complete later (back-pressure as a callback).
 *   <li>Steps appended while a commit runs go into the next one (group commit): latency is one commit
 *       when idle and batches grow with load.
 *   <li>Queries see every step whose future completed before the query started.
 *   <li>Step digests and the chain's hashes are computed by the store's writer, off the caller's path.
 *   <li>The futures may complete on the store's own threads, the writer's included: what depends on
 *       them must not block.
 * </ul>
 */
public interface AuditStore extends AutoCloseable {

  /**
   * Observes the writer, e.g. to feed metrics. Called on the writer's thread: return quickly.
   */
  interface Listener {
    Listener NONE = new Listener() {};

    /** A batch of {@code steps} committed; {@code micros} from the writer taking it to the commit returning. */
    default void committed(int steps, long micros) {}

    /** A batch of {@code steps} failed to commit; their futures have failed with {@code error}. */
    default void failed(int steps, Throwable error) {}
  }

  /**
   * Opens the store {@code settings} name, relative paths against {@code baseDir}.
   *
   * @throws AuditException if it cannot be opened, or another process has it open
   */
  static AuditStore open(AuditSettings settings, Path baseDir, Listener listener) {
    java.util.Optional<PostgresUrl> postgres = settings.postgres();
    if (postgres.isPresent()) {
      return PostgresAuditStore.open(postgres.get(), settings, listener);
    }
    return SqliteAuditStore.open(baseDir.resolve(settings.sqlitePath()).normalize(), settings, listener);
  }

  /**
   * Queues {@code step}; never blocks.
   *
   * @return completes once the step is committed; fails with {@link AuditException} if it could not be
   *     (its batch failed, its id exists already, or the store is closed)
   */
  CompletableFuture<Void> append(AuditEntry step);

  /**
   * Queues {@code step}, or, when the queue is full, completes {@code accepted} once it has room.
   * What {@code durability: queued} waits for: a full queue slows callers down instead of growing.
   * The line is bounded only by callers waiting for one of the two futures before appending again.
   */
  CompletableFuture<Void> append(AuditEntry step, CompletableFuture<Void> accepted);

  /** The steps of {@code chainId} in the order they were recorded; empty for an unknown chain. */
  List<AuditRecord> chain(String chainId);

  /** One page of steps matching {@code query}. */
  AuditPage steps(AuditQuery query);

  /** Every step started at or after {@code since}, in order, to {@code out}; memory stays flat. */
  void export(Instant since, Consumer<AuditRecord> out);

  /** What a principal's model calls cost since {@code since} (budgets survive a restart). */
  BigDecimal spentSince(String subject, String issuer, Instant since);

  /** What the model calls of a tenant's principals cost since {@code since}: the sum of their {@code llm} steps' cost. */
  default BigDecimal spentSinceByTenant(String tenant, Instant since) {
    return BigDecimal.ZERO;
  }

  /**
   * Totals of the steps that started in {@code [since, until)}: per day, principal, model and tool
   * (see {@link AuditSummary}); memory stays bounded.
   *
   * @throws IllegalArgumentException for a window {@link AuditSummary} refuses
   */
  AuditSummary summary(Instant since, Instant until);

  /** Verifies the chain as it is now committed. */
  AuditVerifyResult verify();

  /** Deletes steps that started before {@code cutoff} from the start of the chain; how many. */
  int purge(Instant cutoff);

  /** Steps waiting for the writer now. */
  int queueDepth();

  /** Where the steps are kept, for logs ("a file path", "a database URL without credentials"). */
  String location();

  /** The approved upstream definitions (tool integrity), in the same database. */
  DefinitionStore definitions();

  /** The sealed upstream tokens users consented to give (user_consent), in the same database. */
  UserTokenStore userTokens();

  /** Writes everything queued, then closes; a graceful shutdown loses nothing. */
  @Override
  void close();
}
