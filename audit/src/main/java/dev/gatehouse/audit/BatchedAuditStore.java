package dev.gatehouse.audit;

import java.math.BigDecimal;
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

/**
 * What every SQL audit store shares: the bounded queue with its line for back-pressure, the one writer
 * thread that takes whatever is queued (group commit) and hands it to {@link #commit}, completing the
 * steps' futures, retention purges between batches, queries that first wait for the steps queued
 * before them, and a graceful close that writes everything accepted. A store supplies the
 * transaction ({@link #commit}, {@link #purgeChunk}) and read connections ({@link #borrow}).
 */
abstract class BatchedAuditStore implements AuditStore {
  /** The most steps written in one transaction. */
  static final int MAX_BATCH = 512;
  /** The most steps one purge transaction deletes; {@link #purge} loops in such chunks. */
  static final int PURGE_CHUNK = 10_000;
  static final int EXPORT_PAGE = 500;
  private static final Duration PURGE_INTERVAL = Duration.ofHours(1);
  /**
   * With {@code durability: queued} nobody waits for a commit, so the writer lets a batch gather for
   * this long after its first step: far fewer commits at the price of a crash losing at most this
   * much more.
   */
  static final Duration QUEUED_LINGER = Duration.ofMillis(5);
  /** The longest a query waits for the steps queued before it to be committed. */
  private static final Duration SYNC_TIMEOUT = Duration.ofSeconds(5);
  /**
   * Batches up to this many steps complete their futures on the writer itself (what depends on them
   * must not block: the gateway's answers are written asynchronously); larger ones hand completing to
   * the completion threads, so the next commit is not held back.
   */
  static final int INLINE_COMPLETIONS = 8;
  static final Logger log = LoggerFactory.getLogger("gatehouse.audit");

  private sealed interface Op permits Append, Purge, Sync, Stop {}

  /** A step to write; {@code accepted} completes once it is in the queue (at once, or when room frees). */
  private record Append(AuditEntry entry, CompletableFuture<Void> done, CompletableFuture<Void> accepted) implements Op {}

  private record Purge(Instant cutoff, CompletableFuture<Integer> done) implements Op {}

  /** Completes once every step queued before it is committed. */
  private record Sync(CompletableFuture<Void> done) implements Op {}

  private record Stop() implements Op {}

  final AuditSettings settings;
  private final Listener listener;
  private final BlockingQueue<Op> queue;
  /** Steps that found the queue full, in arrival order; bounded by the calls in flight. */
  private final java.util.concurrent.ConcurrentLinkedQueue<Append> overflow = new java.util.concurrent.ConcurrentLinkedQueue<>();
  private final java.util.concurrent.locks.ReentrantLock overflowLock = new java.util.concurrent.locks.ReentrantLock();
  private final long linger;
  // Two platform threads complete the futures of committed batches, so what depends on them (answering
  // the call) never runs on the writer and no thread is created per batch.
  private final ExecutorService completions = Executors.newFixedThreadPool(2,
      Thread.ofPlatform().name("gatehouse-audit-done-", 0).daemon(true).factory());
  private ScheduledExecutorService purger;
  private Thread writer;
  // Appenders hold the read lock from their closed-check to their put; close() takes the write lock, so
  // every step accepted before close is queued ahead of the Stop and gets written.
  private final ReentrantReadWriteLock closing = new ReentrantReadWriteLock();
  volatile boolean closed;

  /** Test hook: runs on the writer thread just before each batch commits. */
  volatile Runnable beforeCommit = () -> {};

  BatchedAuditStore(AuditSettings settings, Listener listener) {
    this.settings = settings;
    this.listener = Objects.requireNonNull(listener, "listener");
    this.queue = new ArrayBlockingQueue<>(settings.queueCapacity());
    this.linger = settings.durability() == AuditSettings.Durability.QUEUED ? QUEUED_LINGER.toNanos() : 0;
  }

  /** Starts the writer and, with {@code retention_days}, the hourly purge: the end of a store's constructor. */
  final void start() {
    writer = Thread.ofPlatform().name("gatehouse-audit-writer").daemon(true).unstarted(this::runWriter);
    writer.start();
    if (settings.retentionDays().isPresent()) {
      purger = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().name("gatehouse-audit-purge").daemon(true).factory());
      purger.scheduleWithFixedDelay(this::purgeInBackground, 0, PURGE_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  // ---- what a store supplies ----

  /**
   * Writes {@code steps} (sealed, in queue order) in one transaction after the chain's head, and
   * commits. Returns, per step, null when it was written or why it was not (a duplicate step id: that
   * step alone fails). Throws when the batch as a whole could not be committed: every step fails then.
   */
  abstract List<String> commit(List<AuditStep> steps) throws Exception;

  /** Deletes one chunk (at most {@value #PURGE_CHUNK}) of steps before {@code cutoff} in one transaction. */
  abstract int purgeChunk(Instant cutoff) throws Exception;

  /** A read connection, waiting for one if all are in use. */
  abstract Connection borrow() throws SQLException, InterruptedException;

  /** Gives back a connection from {@link #borrow}. */
  abstract void giveBack(Connection c);

  /** Closes connections and threads of the store; the writer has stopped, no query runs. */
  abstract void closeResources();

  /** A connection that may write outside the chain's writer (the definitions table), for {@link #definitions}. */
  abstract Connection borrowWriter() throws SQLException, InterruptedException;

  /** Gives back a connection from {@link #borrowWriter}. */
  abstract void giveBackWriter(Connection c);

  private final DefinitionStore definitions = new DefinitionStore() {
    @Override
    public List<Approved> all() {
      try {
        Connection c = borrow();
        try (java.sql.Statement s = c.createStatement();
            java.sql.ResultSet r = s.executeQuery(
                "SELECT server, kind, name, hash, definition, approved_at, approved_by FROM definitions")) {
          List<Approved> out = new java.util.ArrayList<>();
          while (r.next()) {
            out.add(new Approved(r.getString(1), r.getString(2), r.getString(3), r.getString(4), r.getString(5),
                Instant.ofEpochMilli(r.getLong(6)), r.getString(7)));
          }
          return out;
        } finally {
          giveBack(c);
        }
      } catch (SQLException e) {
        throw new AuditException("reading approved definitions from " + location() + " failed: " + e.getMessage(), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AuditException("interrupted while reading approved definitions", e);
      }
    }

    @Override
    public void approve(Approved a) {
      besideChain("recording an approved definition", c -> {
        try (java.sql.PreparedStatement p = c.prepareStatement("""
            INSERT INTO definitions (server, kind, name, hash, definition, approved_at, approved_by) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (server, kind, name) DO UPDATE SET hash = excluded.hash, definition = excluded.definition,
              approved_at = excluded.approved_at, approved_by = excluded.approved_by""")) {
          p.setString(1, a.server());
          p.setString(2, a.kind());
          p.setString(3, a.name());
          p.setString(4, a.hash());
          p.setString(5, a.definition());
          p.setLong(6, a.at().toEpochMilli());
          p.setString(7, a.approvedBy());
          return p.executeUpdate();
        }
      });
    }
  };

  @Override
  public DefinitionStore definitions() {
    return definitions;
  }

  /** A read or write of a table beside the chain (definitions, user_tokens), on a connection that may write outside the chain's writer. */
  private <T> T besideChain(String what, SqlFunction<T> work) {
    try {
      Connection c = borrowWriter();
      try {
        return work.apply(c);
      } finally {
        giveBackWriter(c);
      }
    } catch (SQLException e) {
      throw new AuditException(what + " in " + location() + " failed: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AuditException("interrupted: " + what, e);
    }
  }

  private static List<UserTokenStore.Row> rows(PreparedStatement p) throws SQLException {
    List<UserTokenStore.Row> out = new ArrayList<>();
    try (ResultSet r = p.executeQuery()) {
      while (r.next()) {
        out.add(new UserTokenStore.Row(r.getString(1), r.getString(2), r.getString(3), Instant.ofEpochMilli(r.getLong(4))));
      }
    }
    return out;
  }

  private final UserTokenStore userTokens = new UserTokenStore() {
    private static final String COLUMNS = "SELECT upstream, principal, sealed, updated_at FROM user_tokens ";

    @Override
    public Optional<Row> get(String upstream, String principal) {
      return besideChain("reading a user token", c -> {
        try (PreparedStatement p = c.prepareStatement(COLUMNS + "WHERE upstream = ? AND principal = ?")) {
          p.setString(1, upstream);
          p.setString(2, principal);
          return rows(p).stream().findFirst();
        }
      });
    }

    @Override
    public Optional<Row> latest(String upstream) {
      return all(upstream).stream().findFirst();
    }

    @Override
    public List<Row> all(String upstream) {
      return besideChain("reading user tokens", c -> {
        try (PreparedStatement p = c.prepareStatement(COLUMNS + "WHERE upstream = ? ORDER BY updated_at DESC, principal")) {
          p.setString(1, upstream);
          return rows(p);
        }
      });
    }

    @Override
    public void put(Row row) {
      besideChain("storing a user token", c -> {
        try (PreparedStatement p = c.prepareStatement("""
            INSERT INTO user_tokens (upstream, principal, sealed, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (upstream, principal) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at""")) {
          p.setString(1, row.upstream());
          p.setString(2, row.principal());
          p.setString(3, row.sealed());
          p.setLong(4, row.updatedAt().toEpochMilli());
          return p.executeUpdate();
        }
      });
    }

    @Override
    public boolean delete(String upstream, String principal) {
      return besideChain("deleting a user token", c -> {
        try (PreparedStatement p = c.prepareStatement("DELETE FROM user_tokens WHERE upstream = ? AND principal = ?")) {
          p.setString(1, upstream);
          p.setString(2, principal);
          return p.executeUpdate() > 0;
        }
      });
    }
  };

  @Override
  public UserTokenStore userTokens() {
    return userTokens;
  }

  /** Verifies the chain inside one consistent snapshot of {@code c}. */
  abstract AuditVerifyResult verifyIn(Connection c) throws SQLException;

  @Override
  public AuditVerifyResult verify() {
    return read(this::verifyIn);
  }

  /**
   * Queues {@code step} for writing; never blocks (see {@link AuditStore#append(AuditEntry)}).
   *
   * @return completes when the step is committed; fails with {@link AuditException} if its batch could
   *     not be written, the step id already exists, or the store is closed
   */
  @Override
  public CompletableFuture<Void> append(AuditEntry entry) {
    return append(entry, new CompletableFuture<>());
  }

  @Override
  public CompletableFuture<Void> append(AuditEntry entry, CompletableFuture<Void> accepted) {
    Objects.requireNonNull(entry, "entry");
    CompletableFuture<Void> done = new CompletableFuture<>();
    Append a = new Append(entry, done, accepted);
    Lock r = closing.readLock();
    r.lock();
    try {
      if (closed) {
        AuditException e = new AuditException("the audit store is closed: step " + (entry instanceof AuditStep st ? st.stepId() + " " : "")
            + "not recorded");
        accepted.completeExceptionally(e);
        return CompletableFuture.failedFuture(e);
      }
      if (overflow.isEmpty() && queue.offer(a)) {
        accepted.complete(null);
        return done;
      }
      overflow.add(a); // the queue is full: wait in line, without a thread
    } finally {
      r.unlock();
    }
    moveOverflow();
    return done;
  }

  /**
   * Moves steps waiting in line into the queue while it has room, completing their {@code accepted}
   * off this thread. Called by appenders after joining the line and by the writer after each drain;
   * the loop closes the window where an appender joins the line just as the mover finishes.
   */
  private void moveOverflow() {
    while (!overflow.isEmpty() && queue.remainingCapacity() > 0 && overflowLock.tryLock()) {
      List<CompletableFuture<Void>> moved = new ArrayList<>();
      try {
        Append a;
        while ((a = overflow.peek()) != null && queue.offer(a)) {
          overflow.poll();
          moved.add(a.accepted());
        }
      } finally {
        overflowLock.unlock();
      }
      if (!moved.isEmpty()) {
        completions.execute(() -> moved.forEach(f -> f.complete(null)));
      }
    }
  }

  /** Steps waiting for the writer now (a gauge: past {@code queue_capacity}, appenders wait in line). */
  @Override
  public int queueDepth() {
    return queue.size() + overflow.size();
  }

  /** The queue's capacity, from {@code queue_capacity}. */
  int queueCapacity() {
    return settings.queueCapacity();
  }

  /** The steps of {@code chainId} in the order they were recorded; empty for an unknown chain. */
  @Override
  public List<AuditRecord> chain(String chainId) {
    return read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT " + AuditChain.COLUMNS + " FROM steps WHERE chain_id = ? ORDER BY seq")) {
        p.setString(1, chainId);
        return records(p);
      }
    });
  }

  @Override
  public AuditSummary summary(Instant since, Instant until) {
    AuditSummary summary = new AuditSummary(since, until);
    return read(c -> {
      try (PreparedStatement p = c.prepareStatement("SELECT started_at, kind, subject, action, decision, outcome, duration_micros, "
          + "tokens_in, tokens_out, cost_usd FROM steps WHERE started_at >= ? AND started_at < ?")) {
        p.setLong(1, AuditChain.micros(since));
        p.setLong(2, AuditChain.micros(until));
        p.setFetchSize(EXPORT_PAGE);
        try (ResultSet r = p.executeQuery()) {
          while (r.next()) {
            summary.add(AuditChain.instant(r.getLong(1)), AuditKind.parse(r.getString(2)), r.getString(3), r.getString(4),
                r.getString(5), r.getString(6), r.getLong(7), r.getLong(8), r.getLong(9), AuditChain.decimal(r.getString(10)));
          }
        }
      }
      return summary;
    });
  }

  /**
   * What a principal's model calls cost since {@code since}: the sum of {@code cost_usd} of its
   * {@code llm} steps. Budgets read it once per principal and day, so they survive a restart.
   */
  @Override
  public java.math.BigDecimal spentSince(String subject, String issuer, Instant since) {
    return sumCost("subject = ? AND issuer = ?", since, subject, issuer);
  }

  @Override
  public java.math.BigDecimal spentSinceByTenant(String tenant, Instant since) {
    return sumCost("tenant = ?", since, tenant);
  }

  /** The sum of {@code cost_usd} of the {@code llm} steps since {@code since} that match {@code where}. */
  private java.math.BigDecimal sumCost(String where, Instant since, String... values) {
    return read(c -> {
      try (PreparedStatement p = c.prepareStatement(
          "SELECT cost_usd FROM steps WHERE " + where + " AND kind = 'llm' AND started_at >= ?")) {
        int i = 1;
        for (String v : values) {
          p.setString(i++, v);
        }
        p.setLong(i, since.getEpochSecond() * 1_000_000L + since.getNano() / 1000);
        java.math.BigDecimal sum = java.math.BigDecimal.ZERO;
        try (var rs = p.executeQuery()) {
          while (rs.next()) {
            sum = sum.add(new java.math.BigDecimal(rs.getString(1)));
          }
        }
        return sum;
      }
    });
  }

  /** One page of steps matching {@code q}, newest first; see {@link AuditQuery} for the cursor. */
  @Override
  public AuditPage steps(AuditQuery q) {
    StringBuilder sql = new StringBuilder("SELECT " + AuditChain.COLUMNS + " FROM steps WHERE 1 = 1");
    List<Object> args = new ArrayList<>();
    q.principal().ifPresent(p -> {
      sql.append(" AND subject = ?");
      args.add(p);
    });
    q.tool().ifPresent(t -> {
      sql.append(" AND kind IN ('tool', 'resource', 'prompt', 'completion')");
      action(sql, args, t);
    });
    q.model().ifPresent(m -> {
      sql.append(" AND kind = 'llm'");
      action(sql, args, m);
    });
    q.decision().ifPresent(d -> {
      sql.append(" AND decision = ?");
      args.add(d);
    });
    q.since().ifPresent(s -> {
      sql.append(" AND started_at >= ?");
      args.add(AuditChain.micros(s));
    });
    q.until().ifPresent(u -> {
      sql.append(" AND started_at < ?");
      args.add(AuditChain.micros(u));
    });
    OptionalLong after = q.cursorSeq();
    if (after.isPresent()) {
      sql.append(" AND seq < ?");
      args.add(after.getAsLong());
    }
    sql.append(" ORDER BY seq DESC LIMIT ?");
    args.add(q.limit() + 1);
    List<AuditRecord> rows = read(c -> {
      try (PreparedStatement p = c.prepareStatement(sql.toString())) {
        for (int i = 0; i < args.size(); i++) {
          p.setObject(i + 1, args.get(i));
        }
        return records(p);
      }
    });
    if (rows.size() <= q.limit()) {
      return new AuditPage(rows, Optional.empty());
    }
    List<AuditRecord> page = rows.subList(0, q.limit());
    return new AuditPage(page, Optional.of(AuditQuery.cursorAfter(page.get(page.size() - 1).seq())));
  }

  // Exact, or a prefix when the value ends in '*' (substr rather than LIKE: no wildcards to escape).
  private static void action(StringBuilder sql, List<Object> args, String value) {
    if (value.endsWith("*")) {
      String prefix = value.substring(0, value.length() - 1);
      sql.append(" AND substr(action, 1, ?) = ?");
      args.add(prefix.length());
      args.add(prefix);
    } else {
      sql.append(" AND action = ?");
      args.add(value);
    }
  }

  /**
   * Streams every step that started at or after {@code since}, in seq order, up to the last step
   * committed when the export began ({@code Instant.EPOCH} for everything). Reads in pages of
   * {@value #EXPORT_PAGE} without holding a transaction across calls to {@code out}, so memory stays
   * flat and a slow consumer does not hold the database. An exception from {@code out} ends the export.
   */
  @Override
  public void export(Instant since, Consumer<AuditRecord> out) {
    long sinceMicros = AuditChain.micros(since);
    long upTo = read(BatchedAuditStore::maxSeq);
    long after = 0;
    while (true) {
      long from = after;
      // Up to the head read above, after its sync: the pages need not wait for the writer again.
      List<AuditRecord> page = readCommitted(c -> {
        try (PreparedStatement p = c.prepareStatement("SELECT " + AuditChain.COLUMNS
            + " FROM steps WHERE seq > ? AND seq <= ? AND started_at >= ? ORDER BY seq LIMIT " + EXPORT_PAGE)) {
          p.setLong(1, from);
          p.setLong(2, upTo);
          p.setLong(3, sinceMicros);
          return records(p);
        }
      });
      page.forEach(out);
      if (page.size() < EXPORT_PAGE) {
        return;
      }
      after = page.get(page.size() - 1).seq();
    }
  }

  /**
   * Deletes the steps at the start of the chain that started before {@code cutoff}, stopping at the
   * first step that did not (so a long call that started early but was recorded late can hold a few
   * older steps back until it expires too; nothing newer than the cutoff is ever deleted). Each chunk
   * of up to {@value #PURGE_CHUNK} steps is one transaction that also records its checkpoint, and
   * appends interleave between chunks.
   *
   * @return how many steps were deleted
   * @throws AuditException if the range to delete does not verify (nothing is deleted then), the
   *     database fails, or the store is closed
   */
  @Override
  public int purge(Instant cutoff) {
    int total = 0;
    while (true) {
      CompletableFuture<Integer> done = new CompletableFuture<>();
      enqueue(new Purge(cutoff, done));
      int deleted;
      try {
        deleted = done.join();
      } catch (CompletionException e) {
        throw e.getCause() instanceof AuditException a ? a : new AuditException("purge failed: " + e.getCause().getMessage(), e.getCause());
      }
      total += deleted;
      if (deleted < PURGE_CHUNK) {
        return total;
      }
    }
  }

  /** {@link #purge} with the cutoff {@code retention_days} before now; 0 without retention. */
  int purgeExpired() {
    if (settings.retentionDays().isEmpty()) {
      return 0;
    }
    return purge(Instant.now().minus(Duration.ofDays(settings.retentionDays().getAsInt())));
  }

  private void purgeInBackground() {
    try {
      int deleted = purgeExpired();
      if (deleted > 0) {
        log.info("audit retention: purged {} step(s) older than {} days", deleted, settings.retentionDays().getAsInt());
      }
    } catch (AuditException e) {
      if (!closed) {
        log.error("audit retention purge failed: {}", e.getMessage(), e);
      }
    } catch (RuntimeException e) {
      log.error("audit retention purge failed", e);
    }
  }

  /**
   * Stops accepting steps, writes everything already queued, commits, and closes the database.
   * Blocks until then, however long the queue takes: a graceful shutdown loses nothing. Idempotent.
   */
  @Override
  public void close() {
    Lock w = closing.writeLock();
    w.lock();
    try {
      if (closed) {
        return;
      }
      closed = true; // appends from now on fail; those before are in the queue or in line
    } finally {
      w.unlock();
    }
    putUninterruptibly(new Stop()); // outside the lock: appenders never wait for room
    if (purger != null) {
      purger.shutdownNow();
    }
    joinUninterruptibly(writer);
    completions.close();
    // No query is in flight (they hold the lock taken above) and none can start.
    closeResources();
  }

  // ---- the writer ----

  private void enqueue(Op op) {
    Lock r = closing.readLock();
    r.lock();
    try {
      if (closed) {
        throw new AuditException("the audit store is closed");
      }
      queue.put(op);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AuditException("interrupted while waiting for room in the audit queue", e);
    } finally {
      r.unlock();
    }
  }

  private void runWriter() {
    List<Op> ops = new ArrayList<>(MAX_BATCH);
    List<Append> appends = new ArrayList<>(MAX_BATCH);
    boolean stop = false;
    while (!stop) {
      ops.clear();
      try {
        Op first = queue.take();
        ops.add(first);
        if (linger > 0 && first instanceof Append && queue.size() < MAX_BATCH - 1) {
          gather();
        }
      } catch (InterruptedException e) {
        // Nothing interrupts the writer on purpose; keep draining until Stop.
        if (ops.isEmpty()) {
          continue;
        }
      }
      queue.drainTo(ops, MAX_BATCH - ops.size());
      moveOverflow();
      for (Op op : ops) {
        switch (op) {
          case Append a -> appends.add(a);
          case Purge p -> {
            write(appends);
            runPurge(p);
          }
          case Sync sync -> {
            write(appends);
            sync.done().complete(null);
          }
          case Stop s -> stop = true;
        }
      }
      write(appends);
    }
    // Steps accepted before close() but queued or in line behind the stop: written too, nothing is lost.
    List<Op> rest = new ArrayList<>();
    queue.drainTo(rest);
    for (Op op : rest) {
      switch (op) {
        case Append a -> {
          appends.add(a);
          if (appends.size() == MAX_BATCH) {
            write(appends);
          }
        }
        case Sync sync -> sync.done().complete(null);
        case Purge p -> p.done().completeExceptionally(new AuditException("the audit store is closed"));
        case Stop x -> { }
      }
    }
    Append late;
    while ((late = overflow.poll()) != null) {
      CompletableFuture<Void> accepted = late.accepted();
      completions.execute(() -> accepted.complete(null));
      appends.add(late);
      if (appends.size() == MAX_BATCH) {
        write(appends);
      }
    }
    write(appends);
  }

  /**
   * Lets steps gather for {@link #QUEUED_LINGER} after the first: the writer sleeps rather than waits
   * on the queue, so steps arriving meanwhile do not each wake it. (A producer that finds the queue
   * full meanwhile waits for the end of the sleep: back-pressure, as ever.)
   */
  private void gather() throws InterruptedException {
    Thread.sleep(Duration.ofNanos(linger));
  }

  /**
   * Waits until every step queued before this call is committed (at most {@link #SYNC_TIMEOUT}), so
   * a query sees every call that was answered before it, whatever the durability.
   */
  private void sync() {
    if (closed) {
      return;
    }
    CompletableFuture<Void> done = new CompletableFuture<>();
    try {
      enqueue(new Sync(done));
      done.get(SYNC_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (AuditException | java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      log.debug("audit: query proceeds without waiting for the writer: {}", e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AuditException("interrupted while waiting for the audit writer", e);
    }
  }

  private void write(List<Append> appends) {
    if (appends.isEmpty()) {
      return;
    }
    long start = System.nanoTime();
    List<AuditStep> steps = new ArrayList<>(appends.size());
    List<Append> sealed = new ArrayList<>(appends.size());
    List<CompletableFuture<Void>> written = new ArrayList<>(appends.size());
    List<Append> rejected = new ArrayList<>(0);
    List<String> reasons = new ArrayList<>(0);
    for (Append a : appends) {
      try {
        steps.add(a.entry().seal()); // digests and payloads are made here, off the caller's path
        sealed.add(a);
      } catch (RuntimeException e) {
        log.error("audit: a step could not be made: {}", e.toString());
        rejected.add(a);
        reasons.add("a step could not be made: " + e.getMessage());
      }
    }
    try {
      List<String> outcome = steps.isEmpty() ? List.of() : commit(steps);
      for (int i = 0; i < sealed.size(); i++) {
        if (outcome.get(i) == null) {
          written.add(sealed.get(i).done());
        } else {
          rejected.add(sealed.get(i));
          reasons.add(outcome.get(i));
        }
      }
    } catch (Throwable e) {
      log.error("audit: a batch of {} step(s) could not be written: {}", appends.size(), e.toString(), e);
      AuditException failure = new AuditException("the audit store could not write the step: " + e.getMessage(), e);
      List<CompletableFuture<Void>> all = appends.stream().map(Append::done).toList();
      appends.clear();
      notify(() -> listener.failed(all.size(), e));
      completions.execute(() -> all.forEach(f -> f.completeExceptionally(failure)));
      return;
    }
    long micros = (System.nanoTime() - start) / 1000;
    int count = written.size();
    // The listener first, so metrics already count a step when its caller hears it is stored.
    notify(() -> listener.committed(count, micros));
    appends.clear();
    Runnable complete = () -> {
      written.forEach(f -> f.complete(null));
      for (int i = 0; i < rejected.size(); i++) {
        rejected.get(i).done().completeExceptionally(new AuditException(reasons.get(i)));
      }
    };
    if (written.size() + rejected.size() <= INLINE_COMPLETIONS) {
      complete.run(); // a small batch: its callers go on from here, without waking another thread
    } else {
      completions.execute(complete);
    }
  }

  private void runPurge(Purge p) {
    try {
      p.done().complete(purgeChunk(p.cutoff()));
    } catch (Throwable e) {
      p.done().completeExceptionally(e instanceof AuditException ? e : new AuditException("purge failed: " + e.getMessage(), e));
    }
  }

  /**
   * Deletes steps from the start of the chain up to the first that started at or after {@code cutoff}
   * (at most {@value #PURGE_CHUNK}, never past {@code headSeq}) and records the checkpoint, inside the
   * caller's transaction on {@code c}; refuses a range that does not verify.
   */
  static int purgeRange(Connection c, Instant cutoff, long headSeq) throws SQLException {
    AuditChain.Link checkpoint = AuditChain.checkpoint(c);
    long limit;
    try (PreparedStatement p = c.prepareStatement("SELECT min(seq) FROM steps WHERE seq > ? AND started_at >= ?")) {
      p.setLong(1, checkpoint.seq());
      p.setLong(2, AuditChain.micros(cutoff));
      try (ResultSet r = p.executeQuery()) {
        long firstKept = r.next() ? r.getLong(1) : 0;
        limit = firstKept > 0 ? firstKept - 1 : headSeq;
      }
    }
    limit = Math.min(limit, checkpoint.seq() + PURGE_CHUNK);
    if (limit <= checkpoint.seq()) {
      return 0;
    }
    AuditChain.Walk walk = AuditChain.walk(c, checkpoint, limit);
    if (walk.broken().isPresent()) {
      throw new AuditException("refusing to purge a range that does not verify, to keep the evidence: "
          + walk.broken().get().message());
    }
    if (walk.count() == 0) {
      return 0;
    }
    AuditChain.Link cut = walk.last();
    int deleted;
    try (PreparedStatement p = c.prepareStatement("DELETE FROM steps WHERE seq > ? AND seq <= ?")) {
      p.setLong(1, checkpoint.seq());
      p.setLong(2, cut.seq());
      deleted = p.executeUpdate();
    }
    try (PreparedStatement p = c.prepareStatement("INSERT INTO checkpoints (seq, hash, purged_at, cutoff, deleted) VALUES (?, ?, ?, ?, ?)")) {
      p.setLong(1, cut.seq());
      p.setString(2, cut.hash());
      p.setLong(3, AuditChain.micros(Instant.now()));
      p.setLong(4, AuditChain.micros(cutoff));
      p.setLong(5, deleted);
      p.executeUpdate();
    }
    return deleted;
  }

  static void notify(Runnable call) {
    try {
      call.run();
    } catch (RuntimeException e) {
      log.warn("audit: listener failed", e);
    }
  }

  // ---- reads ----

  interface SqlFunction<T> {
    T apply(Connection c) throws SQLException;
  }

  /** A query that first waits for the steps queued before it (see {@link #sync}). */
  <T> T read(SqlFunction<T> query) {
    sync();
    return readCommitted(query);
  }

  // Under the closing read lock, so close() waits for queries in flight and later ones see it closed.
  /** A query over what is committed now, without waiting for the steps still queued. */
  private <T> T readCommitted(SqlFunction<T> query) {
    Lock r = closing.readLock();
    r.lock();
    try {
      if (closed) {
        throw new AuditException("the audit store is closed");
      }
      Connection c = borrow();
      try {
        return query.apply(c);
      } finally {
        giveBack(c);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AuditException("interrupted while waiting for an audit read connection", e);
    } catch (SQLException e) {
      throw new AuditException("audit query failed: " + e.getMessage(), e);
    } finally {
      r.unlock();
    }
  }

  private static List<AuditRecord> records(PreparedStatement p) throws SQLException {
    List<AuditRecord> out = new ArrayList<>();
    try (ResultSet r = p.executeQuery()) {
      while (r.next()) {
        try {
          out.add(AuditChain.read(r));
        } catch (IllegalArgumentException e) {
          throw new AuditException("the audit store holds a step that is no longer valid at seq " + r.getLong(1) + " (" + e.getMessage()
              + "): run 'gatehouse audit verify'", e);
        }
      }
    }
    return out;
  }

  static long maxSeq(Connection c) throws SQLException {
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT coalesce(max(seq), 0) FROM steps")) {
      return r.next() ? r.getLong(1) : 0;
    }
  }

  private void putUninterruptibly(Op op) {
    boolean interrupted = false;
    while (true) {
      try {
        queue.put(op);
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  private static void joinUninterruptibly(Thread t) {
    boolean interrupted = false;
    while (true) {
      try {
        t.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  static void closeAll(List<? extends AutoCloseable> resources) {
    for (AutoCloseable r : resources) {
      try {
        r.close();
      } catch (Exception e) {
        log.warn("audit: closing {} failed", r, e);
      }
    }
  }
}
