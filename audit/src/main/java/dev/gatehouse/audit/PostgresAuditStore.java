package dev.gatehouse.audit;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;

/**
 * The chain audit in PostgreSQL, shared by every replica of a gateway: one chain, one {@code head}
 * row, written by many processes.
 *
 * <h2>One chain with several writers</h2>
 *
 * Each replica has its own queue and writer (group commit, back-pressure: as {@link BatchedAuditStore}).
 * A batch's transaction starts with {@code SELECT … FROM head FOR UPDATE}: the head row's lock
 * serialises the replicas' batches, so each batch continues the chain exactly where the last commit,
 * from whichever replica, left it, and updates the head in the same transaction. The chain stays one
 * sequence that {@code gatehouse audit verify} walks as it walks SQLite's; no merge step, no per-replica
 * chains to reconcile. The cost is that batches from different replicas commit one after the other:
 * a replica holds the lock for one batch's inserts and commit (about a millisecond on loopback), and
 * group commit makes batches larger as load grows.
 *
 * <h2>Outages</h2>
 *
 * When the database cannot be reached (connection refused or dropped, server shutting down), the
 * writer keeps the batch and retries it with backoff, reconnecting, instead of failing it: steps wait
 * in the queue, then in line, and calls with {@code durability: commit} are answered once the database
 * is back (back-pressure, nothing lost). If a commit's outcome was lost with its connection, the retry
 * first asks which of the batch's step ids are stored already and skips them, so no step is written
 * twice. While closing, the writer gives up after {@link #CLOSE_RETRY}; those steps fail, logged.
 *
 * <p>Reads go through a HikariCP pool of {@value #READERS} connections. Verification runs in one
 * {@code REPEATABLE READ} snapshot.
 */
public final class PostgresAuditStore extends BatchedAuditStore {
  static final int READERS = 4;
  /** How long a closing store keeps retrying a batch against an unreachable database. */
  static final Duration CLOSE_RETRY = Duration.ofSeconds(30);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(2);
  private static final String UNIQUE_VIOLATION = "23505";

  private final PostgresUrl url;
  private final HikariDataSource readers;
  private final MessageDigest sha = AuditStep.sha256();
  private Connection writeConnection; // the writer's own, reopened after an outage
  private volatile boolean outage;

  private PostgresAuditStore(PostgresUrl url, AuditSettings settings, Listener listener) {
    super(settings, listener);
    this.url = url;
    try {
      writeConnection = connect(url);
      AuditSchema.migrate(writeConnection, AuditSchema.Dialect.POSTGRESQL);
      writeConnection.setAutoCommit(false);
      try (Statement s = writeConnection.createStatement();
          ResultSet r = s.executeQuery("SELECT (SELECT coalesce(max(seq), 0) FROM steps), (SELECT seq FROM head WHERE id = 1)")) {
        r.next();
        if (r.getLong(1) > r.getLong(2)) {
          log.error("audit store {}: steps up to seq {} lie beyond the recorded head (seq {}); run 'gatehouse audit verify'",
              url, r.getLong(1), r.getLong(2));
        }
      }
      writeConnection.commit();
    } catch (SQLException e) {
      closeQuietly(writeConnection);
      throw new AuditException("cannot open audit store " + url + ": " + e.getMessage(), e);
    }
    HikariConfig pool = new HikariConfig();
    pool.setJdbcUrl(url.jdbcUrl());
    url.user().ifPresent(pool::setUsername);
    url.password().ifPresent(pool::setPassword);
    pool.setMaximumPoolSize(READERS);
    pool.setMinimumIdle(1);
    pool.setPoolName("gatehouse-audit-read");
    pool.setReadOnly(true);
    pool.setConnectionTimeout(5_000);
    // Do not fail at start when the database blips: the writer is connected already.
    pool.setInitializationFailTimeout(-1);
    readers = new HikariDataSource(pool);
    start();
  }

  /**
   * Opens the store at {@code url}, creating or migrating its schema (replicas starting together take
   * turns), and starts its writer.
   *
   * @throws AuditException if the database cannot be reached or is newer than this code
   */
  public static PostgresAuditStore open(PostgresUrl url, AuditSettings settings, Listener listener) {
    return new PostgresAuditStore(url, settings, listener);
  }

  /** Verifies the store at {@code url} without starting a writer: what {@code gatehouse audit verify} runs. */
  public static AuditVerifyResult verify(PostgresUrl url) {
    try (Connection c = connect(url)) {
      return snapshot(c);
    } catch (SQLException e) {
      throw new AuditException("cannot read audit store " + url + ": " + e.getMessage(), e);
    }
  }

  private static Connection connect(PostgresUrl url) throws SQLException {
    Properties p = new Properties();
    url.user().ifPresent(u -> p.setProperty("user", u));
    url.password().ifPresent(pw -> p.setProperty("password", pw));
    p.setProperty("connectTimeout", "5");
    p.setProperty("ApplicationName", "gatehouse-audit");
    return DriverManager.getConnection(url.jdbcUrl(), p);
  }

  @Override
  AuditVerifyResult verifyIn(Connection c) throws SQLException {
    return snapshot(c);
  }

  private static AuditVerifyResult snapshot(Connection c) throws SQLException {
    boolean auto = c.getAutoCommit();
    c.setAutoCommit(false);
    c.setTransactionIsolation(Connection.TRANSACTION_REPEATABLE_READ);
    try {
      return AuditChain.verify(c);
    } finally {
      c.rollback();
      c.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
      c.setAutoCommit(auto);
    }
  }

  @Override
  public String location() {
    return url.toString();
  }

  /** Whether the writer is retrying against an unreachable database now. */
  public boolean outage() {
    return outage;
  }

  // ---- the writer ----

  @Override
  List<String> commit(List<AuditStep> steps) throws Exception {
    return retrying("write " + steps.size() + " step(s)", (c, retry) -> write(c, steps, retry));
  }

  /**
   * One round trip to lock the head, one to find which of the batch's ids are stored already (under the
   * head lock no other writer inserts meanwhile), one pipelined batch of inserts, then the head update
   * and the commit.
   */
  private List<String> write(Connection c, List<AuditStep> steps, boolean retry) throws SQLException {
    AuditChain.Link head = lockHead(c);
    Set<String> stored = stored(c, steps);
    Set<String> batch = new HashSet<>();
    long seq = head.seq();
    String prev = head.hash();
    List<String> outcome = new ArrayList<>(steps.size());
    try (PreparedStatement insert = c.prepareStatement(AuditChain.INSERT)) {
      for (AuditStep step : steps) {
        if (stored.contains(step.stepId()) || !batch.add(step.stepId())) {
          // On a retry, a stored id was committed by the attempt whose answer was lost; otherwise it is a duplicate.
          outcome.add(retry && stored.contains(step.stepId()) ? null
              : SqliteAuditStore.duplicate(step, new SQLException("duplicate key value violates unique constraint on step_id", UNIQUE_VIOLATION)));
          continue;
        }
        long next = seq + 1;
        String hash = AuditChain.hash(sha, prev, next, step);
        AuditChain.bind(insert, next, step, prev, hash);
        insert.addBatch();
        seq = next;
        prev = hash;
        outcome.add(null);
      }
      if (seq != head.seq()) {
        insert.executeBatch();
      }
    }
    if (seq != head.seq()) {
      try (PreparedStatement p = c.prepareStatement("UPDATE head SET seq = ?, hash = ? WHERE id = 1")) {
        p.setLong(1, seq);
        p.setString(2, prev);
        p.executeUpdate();
      }
    }
    beforeCommit.run();
    c.commit();
    return outcome;
  }

  /** The head, locked until this transaction ends: every other writer waits here. */
  private static AuditChain.Link lockHead(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT seq, hash FROM head WHERE id = 1 FOR UPDATE")) {
      if (!r.next()) {
        throw new AuditException("the audit store has no head row: run 'gatehouse audit verify'");
      }
      return new AuditChain.Link(r.getLong(1), r.getString(2));
    }
  }

  private static Set<String> stored(Connection c, List<AuditStep> steps) throws SQLException {
    Set<String> found = new HashSet<>();
    try (PreparedStatement p = c.prepareStatement("SELECT step_id FROM steps WHERE step_id = ANY (?)")) {
      p.setArray(1, c.createArrayOf("text", steps.stream().map(AuditStep::stepId).toArray()));
      try (ResultSet r = p.executeQuery()) {
        while (r.next()) {
          found.add(r.getString(1));
        }
      }
    }
    return found;
  }

  @Override
  int purgeChunk(Instant cutoff) throws Exception {
    return retrying("purge", (c, retry) -> {
      AuditChain.Link head = lockHead(c); // one purge at a time, across replicas, and never past a commit
      int deleted = purgeRange(c, cutoff, head.seq());
      c.commit();
      return deleted;
    });
  }

  private interface Attempt<T> {
    T run(Connection c, boolean retry) throws SQLException;
  }

  /**
   * Runs {@code attempt} in a transaction on the writer's connection; when the database cannot be
   * reached, reconnects and runs it again, with backoff, until it can (or, closing, until
   * {@link #CLOSE_RETRY}). Any other failure rolls back and is thrown.
   */
  private <T> T retrying(String what, Attempt<T> attempt) throws Exception {
    boolean retry = false;
    long backoff = 50;
    long since = 0;
    while (true) {
      try {
        if (writeConnection == null) {
          writeConnection = connect(url);
          writeConnection.setAutoCommit(false);
        }
        T result = attempt.run(writeConnection, retry);
        if (outage) {
          outage = false;
          log.warn("audit: the database {} is reachable again; queued steps are being written", url);
        }
        return result;
      } catch (SQLException e) {
        if (!unreachable(e, writeConnection)) {
          rollbackQuietly();
          throw e;
        }
        closeQuietly(writeConnection);
        writeConnection = null;
        if (!outage) {
          outage = true;
          since = System.nanoTime();
          log.error("audit: the database {} cannot be reached ({}): steps wait in the queue and are written once it is back",
              url, e.getMessage());
        } else if (since == 0) {
          since = System.nanoTime();
        }
        if (closed && System.nanoTime() - since > CLOSE_RETRY.toNanos()) {
          throw new AuditException("the audit database " + url + " stayed unreachable while closing: could not " + what, e);
        }
        retry = true;
        sleepQuietly(backoff);
        backoff = Math.min(MAX_BACKOFF.toMillis(), backoff * 2);
      } catch (RuntimeException e) {
        rollbackQuietly();
        throw e;
      }
    }
  }

  /** Connection-class SQL states (08…), the server shutting down (57P…), or a connection that died. */
  static boolean unreachable(SQLException e, Connection c) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException s && s.getSQLState() != null
          && (s.getSQLState().startsWith("08") || s.getSQLState().startsWith("57P"))) {
        return true;
      }
    }
    try {
      return c == null || c.isClosed() || !c.isValid(2);
    } catch (SQLException x) {
      return true;
    }
  }

  private void rollbackQuietly() {
    try {
      if (writeConnection != null) {
        writeConnection.rollback();
      }
    } catch (SQLException e) {
      log.debug("audit: rollback: {}", e.getMessage());
    }
  }

  private static void closeQuietly(Connection c) {
    if (c != null) {
      try {
        c.close();
      } catch (SQLException e) {
        // gone already
      }
    }
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // ---- reads ----

  @Override
  Connection borrow() throws SQLException {
    Connection c = readers.getConnection();
    c.setAutoCommit(true);
    return c;
  }

  @Override
  void giveBack(Connection c) {
    closeQuietly(c); // back to the pool
  }

  @Override
  Connection borrowWriter() throws SQLException {
    return borrow(); // pooled connections write as well as read
  }

  @Override
  void giveBackWriter(Connection c) {
    giveBack(c);
  }

  @Override
  void closeResources() {
    readers.close();
    closeQuietly(writeConnection);
  }
}
