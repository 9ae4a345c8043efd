package dev.gatehouse.audit;

import static dev.gatehouse.audit.AuditFixtures.step;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A slow store (its writer held inside a commit by a test hook) with a tiny queue: appenders wait in
 * line without being blocked, nothing is dropped, and everything drains in order once the writer moves again. Every wait below is for a
 * state (a latch, a thread parked in the queue), never for a length of time.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AuditBackPressureTest {
  @TempDir Path dir;
  private SqliteAuditStore store;
  private final CountDownLatch writerHeld = new CountDownLatch(1);
  private final CountDownLatch releaseWriter = new CountDownLatch(1);

  @AfterEach
  void close() {
    releaseWriter.countDown();
    if (store != null) {
      store.close();
    }
  }

  /** Holds the writer inside its first commit until {@link #releaseWriter}. */
  private void holdFirstCommit() {
    AtomicBoolean first = new AtomicBoolean(true);
    store.beforeCommit = () -> {
      if (first.getAndSet(false)) {
        writerHeld.countDown();
        awaitUninterruptibly(releaseWriter);
      }
    };
  }

  @Test
  void aFullQueueMakesAppendersWaitInLineWithoutBlockingAndLosesNothing() throws Exception {
    // durability: commit, so the writer takes steps as they come instead of gathering a batch first.
    store = SqliteAuditStore.open(dir.resolve("audit.db"), AuditFixtures.settings(4).withDurability(AuditSettings.Durability.COMMIT));
    holdFirstCommit();
    List<CompletableFuture<Void>> committed = new ArrayList<>();
    List<CompletableFuture<Void>> accepted = new ArrayList<>();
    CompletableFuture<Void> first = new CompletableFuture<>();
    committed.add(store.append(step("c", 0), first));
    writerHeld.await();
    for (int i = 1; i < 60; i++) {
      CompletableFuture<Void> a = new CompletableFuture<>();
      committed.add(store.append(step("c", i), a)); // returns at once: the caller is never blocked
      accepted.add(a);
    }
    assertTrue(first.isDone());
    assertEquals(59, store.queueDepth(), "4 in the queue, 55 in line");
    assertTrue(accepted.subList(0, 4).stream().allMatch(CompletableFuture::isDone), "the first four found room");
    assertTrue(accepted.subList(4, 59).stream().noneMatch(CompletableFuture::isDone), "the rest wait in line");
    assertTrue(committed.stream().noneMatch(CompletableFuture::isDone), "nothing is committed while the writer is held");

    releaseWriter.countDown();
    CompletableFuture.allOf(committed.toArray(CompletableFuture[]::new)).join();
    CompletableFuture.allOf(accepted.toArray(CompletableFuture[]::new)).join();
    List<String> stored = new ArrayList<>();
    store.export(java.time.Instant.EPOCH, r -> stored.add(r.step().stepId()));
    assertEquals(java.util.stream.IntStream.range(0, 60).mapToObj(i -> "c-" + i).toList(), stored, "in the order appended");
    AuditVerifyResult.Ok ok = assertInstanceOf(AuditVerifyResult.Ok.class, store.verify());
    assertEquals(60, ok.verified());
    assertEquals(0, store.queueDepth());
  }

  @Test
  void manyConcurrentAppendersAllGetRecorded() throws Exception {
    store = SqliteAuditStore.open(dir.resolve("audit.db"), AuditFixtures.settings(2).withDurability(AuditSettings.Durability.COMMIT));
    int producers = 4;
    int each = 50;
    List<CompletableFuture<Void>> futures = new CopyOnWriteArrayList<>();
    List<Thread> threads = new ArrayList<>();
    for (int p = 0; p < producers; p++) {
      int producer = p;
      threads.add(Thread.ofPlatform().name("producer-" + p).start(() -> {
        for (int i = 0; i < each; i++) {
          futures.add(store.append(step("p" + producer, i)));
        }
      }));
    }
    for (Thread t : threads) {
      t.join();
    }
    CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).join();
    Set<String> stored = new HashSet<>();
    store.export(java.time.Instant.EPOCH, r -> stored.add(r.step().stepId()));
    assertEquals(producers * each, stored.size());
    assertEquals(producers * each, assertInstanceOf(AuditVerifyResult.Ok.class, store.verify()).verified());
  }

  @Test
  void gracefulCloseWritesAFullQueue() throws Exception {
    Path db = dir.resolve("audit.db");
    store = SqliteAuditStore.open(db, AuditFixtures.settings(100));
    holdFirstCommit();
    List<CompletableFuture<Void>> futures = new ArrayList<>();
    futures.add(store.append(step("c", 0)));
    writerHeld.await();
    for (int i = 1; i <= 100; i++) {
      futures.add(store.append(step("c", i)));
    }
    assertEquals(100, store.queueDepth());

    Thread closer = Thread.ofPlatform().name("closer").start(store::close);
    // close() waits for room to queue its stop marker behind the 100 steps.
    while (closer.getState() != Thread.State.WAITING) {
      Thread.sleep(1);
    }
    assertTrue(futures.stream().noneMatch(CompletableFuture::isDone));
    releaseWriter.countDown();
    closer.join();
    assertTrue(futures.stream().allMatch(f -> f.isDone() && !f.isCompletedExceptionally()));
    store = null;

    AuditVerifyResult.Ok ok = assertInstanceOf(AuditVerifyResult.Ok.class, SqliteAuditStore.verify(db));
    assertEquals(101, ok.verified());
  }

  @Test
  void aFailedCommitFailsItsStepsLoudlyAndLaterStepsStillChain() {
    store = SqliteAuditStore.open(dir.resolve("audit.db"), AuditFixtures.settings());
    AtomicInteger failures = new AtomicInteger();
    store.beforeCommit = () -> {
      if (failures.getAndIncrement() == 0) {
        throw new IllegalStateException("disk on fire");
      }
    };
    CompletableFuture<Void> failed = store.append(step("c", 1));
    CompletionException e = assertThrows(CompletionException.class, failed::join);
    assertInstanceOf(AuditException.class, e.getCause());
    assertTrue(e.getCause().getMessage().contains("disk on fire"), e.getCause().getMessage());

    store.append(step("c", 2)).join();
    assertEquals(List.of("c-2"), store.chain("c").stream().map(r -> r.step().stepId()).toList());
    AuditVerifyResult.Ok ok = assertInstanceOf(AuditVerifyResult.Ok.class, store.verify());
    assertEquals(1, ok.headSeq());
  }

  @Test
  void gracefulCloseWritesTheStepsWaitingInLine() throws Exception {
    Path db = dir.resolve("audit.db");
    store = SqliteAuditStore.open(db, AuditFixtures.settings(2));
    holdFirstCommit();
    List<CompletableFuture<Void>> futures = new ArrayList<>();
    futures.add(store.append(step("c", 0)));
    writerHeld.await();
    for (int i = 1; i <= 10; i++) {
      futures.add(store.append(step("c", i)));
    }
    Thread closer = Thread.ofPlatform().name("closer").start(store::close);
    while (closer.getState() != Thread.State.WAITING) {
      Thread.sleep(1);
    }
    CompletionException late = assertThrows(CompletionException.class, () -> store.append(step("c", 99)).join());
    assertTrue(late.getCause().getMessage().startsWith("the audit store is closed"), late.getCause().getMessage());
    releaseWriter.countDown();
    closer.join();
    assertTrue(futures.stream().allMatch(f -> f.isDone() && !f.isCompletedExceptionally()));
    store = null;
    assertEquals(11, assertInstanceOf(AuditVerifyResult.Ok.class, SqliteAuditStore.verify(db)).verified());
  }

  private static void awaitUninterruptibly(CountDownLatch latch) {
    boolean interrupted = false;
    while (true) {
      try {
        latch.await();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
