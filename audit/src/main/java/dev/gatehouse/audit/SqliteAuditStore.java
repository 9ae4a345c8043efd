package dev.gatehouse.audit;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;

/**
 * The chain audit store: an embedded SQLite database (WAL) holding every step, hash-chained, with
 * batched writes off the request path, paginated queries, export, verification and retention.
 *
 * <h2>Writes</h2>
 *
 * {@link #append} puts a step into a bounded queue and returns at once, unless the queue is full: then
 * it <em>blocks</em> its caller until there is room (back-pressure; a step is never dropped), so call
 * it from a virtual thread. One platform thread owns the write connection; it takes whatever is
 * queued (up to {@value #MAX_BATCH} steps), assigns seqs, computes each hash from the previous one,
 * writes them and the new head in one transaction and commits, then completes the steps' futures. No
 * timer holds a batch back: steps that arrive while one batch commits go into the next (group
 * commit), so batches grow with load and latency stays one commit when idle.
 *
 * <p>A returned future completes when the step is committed: with {@code synchronous=NORMAL} in WAL
 * mode the commit has reached the operating system, so it survives the gateway being killed
 * (SIGKILL, OOM killer, crash) but not a power loss or kernel crash, which may lose the last
 * transactions (never corrupt the file). The futures of a small batch complete on the writer, of a
 * larger one on two completion threads, so dependent stages must not block. A batch that fails to commit fails its
 * futures and is logged; nothing is lost silently. {@link #close} writes everything queued before it.
 *
 * <h2>Reads</h2>
 *
 * Queries use a small pool of read-only connections, concurrently with the writer (WAL readers see
 * the last committed snapshot and never block it). Exports read in short pages, so a slow consumer
 * holds no transaction open.
 *
 * <h2>Retention</h2>
 *
 * {@link #purge} deletes steps only from the start of the chain, and records the seq and hash of the
 * last deleted step as a checkpoint in the same transaction, so {@link #verify} starts there and still
 * passes. Before deleting, it verifies the range it is about to delete and refuses if that is broken:
 * retention never erases evidence of tampering. With {@code retention_days} set, a background purge
 * runs at startup and hourly.
 *
 * <p>One process at a time may open a store: a lock file next to it ({@code <db>.lock}) says who.
 * Verification ({@link #verify(Path)}) needs no lock and works while a gateway is writing.
 */
public final class SqliteAuditStore extends BatchedAuditStore {
  private static final int READERS = 4;
  private static final int BUSY_TIMEOUT_MILLIS = 10_000;
  private static final int SQLITE_CONSTRAINT = 19;
  /** How often a background connection copies the WAL into the database (a passive checkpoint). */
  private static final Duration CHECKPOINT_INTERVAL = Duration.ofMillis(500);
  /** The writer's own checkpoint, a safety net when the background one cannot keep up (pages). */
  private static final int WRITER_AUTOCHECKPOINT_PAGES = 20_000;

  private final Path file;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private final Connection writeConnection;
  // BEGIN/COMMIT by hand in auto-commit mode: sqlite-jdbc's setAutoCommit(false) would begin the next
  // (immediate) transaction right after each commit and so hold the write lock between batches.
  private final Statement transactions;
  private final PreparedStatement insert;
  private final PreparedStatement updateHead;
  private final BlockingQueue<Connection> readers;
  private final List<Connection> allReaders;
  private final ScheduledExecutorService checkpointer;
  private final Connection checkpointConnection;
  private volatile long committedBatches;
  private long checkpointedBatches;

  // Owned by the writer thread once it starts.
  private final MessageDigest sha = AuditStep.sha256();
  private long headSeq;
  private String headHash;

  private SqliteAuditStore(Path file, AuditSettings settings, Listener listener) {
    super(settings, listener);
    this.file = file;
    List<AutoCloseable> opened = new ArrayList<>();
    try {
      Path parent = file.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      Path lockFile = file.resolveSibling(file.getFileName() + ".lock");
      lockChannel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      opened.add(lockChannel);
      FileLock l;
      try {
        l = lockChannel.tryLock();
      } catch (OverlappingFileLockException e) {
        l = null;
      }
      if (l == null) {
        throw new AuditException("audit store " + file + " is in use by another Gatehouse process (" + lockFile
            + " is locked); use a different audit.store per process");
      }
      lock = l;
      writeConnection = writeConfig().createConnection(url(file));
      opened.add(writeConnection);
      AuditSchema.migrate(writeConnection);
      AuditChain.Link head = AuditChain.head(writeConnection)
          .orElseThrow(() -> new AuditException("audit store " + file + " has no head row: run 'gatehouse audit verify'"));
      headSeq = head.seq();
      headHash = head.hash();
      long maxSeq = maxSeq(writeConnection);
      if (maxSeq > headSeq) {
        // Rows past the head were not written by a gateway; continue after them so appends still work,
        // and let verify report the break.
        log.error("audit store {}: steps up to seq {} lie beyond the recorded head (seq {}); run 'gatehouse audit verify'",
            file, maxSeq, headSeq);
        headSeq = maxSeq;
      }
      transactions = writeConnection.createStatement();
      // Checkpoints run in the background (below), not inside a commit that callers may wait for.
      transactions.execute("PRAGMA wal_autocheckpoint=" + WRITER_AUTOCHECKPOINT_PAGES);
      checkpointConnection = writeConfig().createConnection(url(file));
      opened.add(checkpointConnection);
      insert = writeConnection.prepareStatement(AuditChain.INSERT);
      updateHead = writeConnection.prepareStatement("UPDATE head SET seq = ?, hash = ? WHERE id = 1");
      readers = new ArrayBlockingQueue<>(READERS);
      allReaders = new ArrayList<>();
      for (int i = 0; i < READERS; i++) {
        Connection c = readConfig().createConnection(url(file));
        opened.add(c);
        allReaders.add(c);
        readers.add(c);
      }
    } catch (IOException | SQLException e) {
      closeAll(opened);
      throw new AuditException("cannot open audit store " + file + ": " + e.getMessage(), e);
    } catch (RuntimeException e) {
      closeAll(opened);
      throw e;
    }
    checkpointer = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("gatehouse-audit-checkpoint").daemon(true).factory());
    checkpointer.scheduleWithFixedDelay(this::checkpoint, CHECKPOINT_INTERVAL.toMillis(), CHECKPOINT_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    start();
  }

  /**
   * Opens (creating if needed, with its parent directories) the store at {@code dbFile} and starts its
   * writer, and with {@code retention_days} its background purge. Only {@code queue_capacity} and
   * {@code retention_days} of {@code settings} matter here.
   *
   * @throws AuditException if the file cannot be opened or migrated, or another process has it open
   */
  public static SqliteAuditStore open(Path dbFile, AuditSettings settings) {
    return open(dbFile, settings, Listener.NONE);
  }

  /** {@link #open(Path, AuditSettings)} with a listener for batch commits (metrics). */
  public static SqliteAuditStore open(Path dbFile, AuditSettings settings, Listener listener) {
    return new SqliteAuditStore(dbFile, settings, Objects.requireNonNull(listener, "listener"));
  }

  /**
   * Verifies the store at {@code dbFile} without opening it for writing: what {@code gatehouse audit
   * verify} runs. Safe while a gateway is writing to it (it checks one consistent snapshot).
   *
   * @throws AuditException if there is no file, or it is not an audit store
   */
  public static AuditVerifyResult verify(Path dbFile) {
    if (!Files.isRegularFile(dbFile)) {
      throw new AuditException("no audit store at " + dbFile + " (expected: the file audit.store names)");
    }
    // Not read-only: after a crash the first connection replays the WAL, which needs write access.
    SQLiteConfig config = new SQLiteConfig();
    config.setBusyTimeout(BUSY_TIMEOUT_MILLIS);
    try (Connection c = config.createConnection(url(dbFile))) {
      return verifySnapshot(c);
    } catch (SQLException e) {
      throw new AuditException("cannot read audit store " + dbFile + ": " + e.getMessage(), e);
    }
  }

  @Override
  AuditVerifyResult verifyIn(Connection c) throws SQLException {
    return verifySnapshot(c);
  }

  private static AuditVerifyResult verifySnapshot(Connection c) throws SQLException {
    c.setAutoCommit(false);
    try {
      return AuditChain.verify(c);
    } finally {
      c.rollback();
      c.setAutoCommit(true);
    }
  }

  @Override
  public String location() {
    return file.toString();
  }

  /** The database file. */
  Path file() {
    return file;
  }

  @Override
  List<String> commit(List<AuditStep> steps) throws SQLException {
    long seq = headSeq;
    String prev = headHash;
    List<String> outcome = new ArrayList<>(steps.size());
    try {
      transactions.execute("BEGIN IMMEDIATE");
      for (AuditStep step : steps) {
        long next = seq + 1;
        String hash = AuditChain.hash(sha, prev, next, step);
        try {
          AuditChain.bind(insert, next, step, prev, hash);
          insert.executeUpdate();
        } catch (SQLException e) {
          // A constraint (a duplicate step id) fails this step only: SQLite rolls back the statement,
          // not the transaction. Anything else fails the batch.
          if ((e.getErrorCode() & 0xff) != SQLITE_CONSTRAINT) {
            throw e;
          }
          outcome.add(duplicate(step, e));
          continue;
        }
        seq = next;
        prev = hash;
        outcome.add(null);
      }
      if (seq != headSeq) {
        updateHead.setLong(1, seq);
        updateHead.setString(2, prev);
        updateHead.executeUpdate();
      }
      beforeCommit.run();
      transactions.execute("COMMIT");
    } catch (SQLException | RuntimeException e) {
      rollbackQuietly();
      throw e;
    }
    headSeq = seq;
    headHash = prev;
    committedBatches++;
    return outcome;
  }

  static String duplicate(AuditStep step, Exception e) {
    return "step " + step.stepId() + " not recorded: " + e.getMessage() + " (expected: a step id not already stored)";
  }

  @Override
  int purgeChunk(Instant cutoff) throws SQLException {
    try {
      transactions.execute("BEGIN IMMEDIATE");
      int deleted = purgeRange(writeConnection, cutoff, headSeq);
      transactions.execute("COMMIT");
      return deleted;
    } catch (SQLException | RuntimeException e) {
      rollbackQuietly();
      throw e;
    }
  }

  @Override
  Connection borrow() throws InterruptedException {
    return readers.take();
  }

  @Override
  void giveBack(Connection c) {
    readers.add(c);
  }

  /** Writes to the definitions table, one at a time (opened at first use; SQLite has one writer at a time anyway). */
  private final java.util.concurrent.locks.ReentrantLock definitionsLock = new java.util.concurrent.locks.ReentrantLock();
  private Connection definitionsConnection;

  @Override
  Connection borrowWriter() throws SQLException {
    definitionsLock.lock();
    try {
      if (definitionsConnection == null) {
        SQLiteConfig config = writeConfig();
        config.setTransactionMode(SQLiteConfig.TransactionMode.DEFERRED);
        definitionsConnection = config.createConnection(url(file));
      }
      return definitionsConnection;
    } catch (SQLException | RuntimeException e) {
      definitionsLock.unlock();
      throw e;
    }
  }

  @Override
  void giveBackWriter(Connection c) {
    definitionsLock.unlock();
  }

  @Override
  void closeResources() {
    definitionsLock.lock();
    try {
      if (definitionsConnection != null) {
        try {
          definitionsConnection.close();
        } catch (SQLException ignored) {
          // closing anyway
        }
      }
    } finally {
      definitionsLock.unlock();
    }
    checkpointer.shutdownNow();
    try {
      checkpointer.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    List<AutoCloseable> resources = new ArrayList<>(allReaders);
    resources.add(insert);
    resources.add(updateHead);
    resources.add(transactions);
    resources.add(writeConnection);
    resources.add(checkpointConnection);
    resources.add(lock);
    resources.add(lockChannel);
    closeAll(resources);
  }

  /** A passive checkpoint when something was committed since the last: never blocks the writer. */
  private void checkpoint() {
    long batches = committedBatches;
    if (batches == checkpointedBatches) {
      return;
    }
    try (Statement st = checkpointConnection.createStatement()) {
      st.execute("PRAGMA wal_checkpoint(PASSIVE)");
      checkpointedBatches = batches;
    } catch (SQLException e) {
      log.debug("audit: background checkpoint failed: {}", e.toString());
    }
  }

  private void rollbackQuietly() {
    try {
      transactions.execute("ROLLBACK");
    } catch (SQLException e) {
      // Also when SQLite already rolled back on its own (e.g. after an I/O error): nothing to undo then.
      log.debug("audit: rollback: {}", e.getMessage());
    }
  }

  // ---- plumbing ----

  private static String url(Path file) {
    return "jdbc:sqlite:" + file.toAbsolutePath();
  }

  private static SQLiteConfig writeConfig() {
    SQLiteConfig config = new SQLiteConfig();
    config.setJournalMode(SQLiteConfig.JournalMode.WAL);
    // In WAL mode, NORMAL writes each commit to the WAL without fsync: durable against a process
    // crash, not against power loss, at a fraction of FULL's cost.
    config.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
    config.setBusyTimeout(BUSY_TIMEOUT_MILLIS);
    // Take the write lock when the transaction starts, so a concurrent migration or verify cannot
    // turn into a deadlock on upgrade.
    config.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
    // The writer assigns seq itself; fetching generated keys would cost a query per insert.
    config.setGetGeneratedKeys(false);
    return config;
  }

  private static SQLiteConfig readConfig() {
    SQLiteConfig config = new SQLiteConfig();
    config.setReadOnly(true);
    config.setBusyTimeout(BUSY_TIMEOUT_MILLIS);
    return config;
  }

}
