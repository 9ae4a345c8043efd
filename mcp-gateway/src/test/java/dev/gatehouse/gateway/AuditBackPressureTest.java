package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.AuditFixtures.step;
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
 * A slow store (its writer held inside a commit by a test hook) with a tiny queue: producers block,
 * nothing is dropped, and everything drains once the writer moves again. Every wait below is for a
 * state (a latch, a thread parked in the queue), never for a length of time.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AuditBackPressureTest {
  @TempDir Path dir;
  private AuditStore store;
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
  void aFullQueueBlocksProducersAndLosesNothing() throws Exception {
    // durability: commit, so the writer takes steps as they come instead of gathering a batch first.
    store = AuditStore.open(dir.resolve("audit.db"), AuditFixtures.settings(4).withDurability(AuditSettings.Durability.COMMIT));
    holdFirstCommit();
    int producers = 3;
    int each = 20;
    List<CompletableFuture<Void>> futures = new CopyOnWriteArrayList<>();
    AtomicInteger returned = new AtomicInteger();
    List<Thread> threads = new ArrayList<>();
    for (int p = 0; p < producers; p++) {
      int producer = p;
      threads.add(Thread.ofPlatform().name("producer-" + p).start(() -> {
        for (int i = 0; i < each; i++) {
          futures.add(store.append(step("p" + producer, i)));
          returned.incrementAndGet();
        }
      }));
    }

    writerHeld.await();
    // Every producer ends up parked in the queue's put: the queue is full and they wait for room.
    while (!(store.queueDepth() == 4 && threads.stream().allMatch(AuditBackPressureTest::blockedInPut))) {
      Thread.sleep(1);
    }
    assertTrue(returned.get() < producers * each);
    assertTrue(futures.stream().noneMatch(CompletableFuture::isDone), "nothing is committed while the writer is held");
    assertTrue(threads.stream().allMatch(Thread::isAlive));

    releaseWriter.countDown();
    for (Thread t : threads) {
      t.join();
    }
    CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).join();
    assertEquals(producers * each, futures.size());
    Set<String> stored = new HashSet<>();
    store.export(java.time.Instant.EPOCH, r -> stored.add(r.step().stepId()));
    assertEquals(producers * each, stored.size());
    AuditVerifyResult.Ok ok = assertInstanceOf(AuditVerifyResult.Ok.class, store.verify());
    assertEquals(producers * each, ok.verified());
    assertEquals(0, store.queueDepth());
  }

  @Test
  void gracefulCloseWritesAFullQueue() throws Exception {
    Path db = dir.resolve("audit.db");
    store = AuditStore.open(db, AuditFixtures.settings(100));
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

    AuditVerifyResult.Ok ok = assertInstanceOf(AuditVerifyResult.Ok.class, AuditStore.verify(db));
    assertEquals(101, ok.verified());
  }

  @Test
  void aFailedCommitFailsItsStepsLoudlyAndLaterStepsStillChain() {
    store = AuditStore.open(dir.resolve("audit.db"), AuditFixtures.settings());
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
  void aProducerInterruptedWhileBlockedGetsAFailedFutureNotASilentDrop() throws Exception {
    store = AuditStore.open(dir.resolve("audit.db"), AuditFixtures.settings(1));
    holdFirstCommit();
    CompletableFuture<Void> held = store.append(step("c", 0));
    writerHeld.await();
    CompletableFuture<Void> queued = store.append(step("c", 1));
    List<CompletableFuture<Void>> blocked = new CopyOnWriteArrayList<>();
    Thread producer = Thread.ofPlatform().start(() -> blocked.add(store.append(step("c", 2))));
    while (!blockedInPut(producer)) {
      Thread.sleep(1);
    }
    producer.interrupt();
    producer.join();
    CompletionException e = assertThrows(CompletionException.class, () -> blocked.get(0).join());
    assertTrue(e.getCause().getMessage().startsWith("interrupted while waiting for room in the audit queue: step c-2 not recorded"),
        e.getCause().getMessage());

    releaseWriter.countDown();
    held.join();
    queued.join();
    assertEquals(List.of("c-0", "c-1"), store.chain("c").stream().map(r -> r.step().stepId()).toList());
    assertFalse(store.verify().message().contains("BROKEN"));
  }

  private static boolean blockedInPut(Thread t) {
    return t.getState() == Thread.State.WAITING
        && Arrays.stream(t.getStackTrace())
            .anyMatch(f -> f.getClassName().equals("java.util.concurrent.ArrayBlockingQueue") && f.getMethodName().equals("put"));
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
