package dev.gatehouse.audit;

import static dev.gatehouse.audit.AuditFixtures.sql;
import static dev.gatehouse.audit.AuditFixtures.step;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AuditRetentionTest {
  @TempDir Path dir;
  private SqliteAuditStore store;

  @AfterEach
  void close() {
    if (store != null) {
      store.close();
    }
  }

  private SqliteAuditStore open(AuditSettings settings) {
    store = SqliteAuditStore.open(dir.resolve("audit.db"), settings);
    return store;
  }

  @Test
  void purgingAPrefixKeepsTheChainVerifiableFromItsCheckpoint() {
    open(AuditFixtures.settings());
    for (int i = 0; i < 20; i++) {
      store.append(step("c", i));
    }
    store.append(step("c", 20)).join();

    assertEquals(10, store.purge(AuditFixtures.T0.plusSeconds(10)));

    List<AuditRecord> left = store.chain("c");
    assertEquals(11, left.size());
    assertEquals(11, left.get(0).seq());
    assertTrue(left.stream().noneMatch(r -> r.step().startedAt().isBefore(AuditFixtures.T0.plusSeconds(10))));
    AuditVerifyResult.Ok ok = assertInstanceOf(AuditVerifyResult.Ok.class, store.verify());
    assertEquals(11, ok.verified());
    assertEquals(10, ok.checkpointSeq());
    assertTrue(ok.message().contains("from the retention checkpoint at seq 10"), ok.message());

    // Appends continue the chain, and verification from outside agrees after a restart.
    store.append(step("c", 21)).join();
    store.close();
    assertInstanceOf(AuditVerifyResult.Ok.class, SqliteAuditStore.verify(dir.resolve("audit.db")));
    store = null;
  }

  @Test
  void purgeStopsAtTheFirstStepNotOlderThanTheCutoff() {
    open(AuditFixtures.settings());
    // Recorded in this order; the third started late, the fourth is an old long-running call.
    store.append(step("c", 1));
    store.append(step("c", 2));
    store.append(step("c", 100));
    store.append(step("c", 3));
    store.append(step("c", 101)).join();

    assertEquals(2, store.purge(AuditFixtures.T0.plusSeconds(50)));
    assertEquals(List.of("c-100", "c-3", "c-101"), store.chain("c").stream().map(r -> r.step().stepId()).toList());
    assertTrue(store.verify().ok());
    // Nothing newer than the cutoff goes, however often purge runs.
    assertEquals(0, store.purge(AuditFixtures.T0.plusSeconds(50)));
    assertEquals(3, store.chain("c").size());
  }

  @Test
  void purgingEverythingLeavesAnEmptyButVerifiableChain() {
    open(AuditFixtures.settings());
    for (int i = 0; i < 5; i++) {
      store.append(step("c", i));
    }
    store.append(step("c", 5)).join();
    assertEquals(6, store.purge(Instant.now()));
    AuditVerifyResult.Ok ok = assertInstanceOf(AuditVerifyResult.Ok.class, store.verify());
    assertEquals(0, ok.verified());
    assertEquals(6, ok.checkpointSeq());
    assertEquals(6, ok.headSeq());
    store.append(step("c", 6)).join();
    assertEquals(7, store.chain("c").get(0).seq());
    assertTrue(store.verify().ok());
  }

  @Test
  void largePurgesRunInChunksEachWithItsCheckpoint() throws Exception {
    open(AuditFixtures.settings());
    int n = SqliteAuditStore.PURGE_CHUNK + 500;
    List<CompletableFuture<Void>> fs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      fs.add(store.append(step("c", i)));
    }
    store.append(AuditFixtures.tool("keep", "keep", n + 10).startedAt(Instant.now()).build());
    CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).join();
    assertEquals(n, store.purge(Instant.now().minus(Duration.ofDays(1))));
    assertTrue(store.verify().ok());
    store.close();
    store = null;
    try (Connection c = AuditFixtures.jdbc(dir.resolve("audit.db"));
        ResultSet r = c.createStatement().executeQuery("SELECT seq, deleted FROM checkpoints ORDER BY seq")) {
      assertTrue(r.next());
      assertEquals(SqliteAuditStore.PURGE_CHUNK, r.getLong(1));
      assertTrue(r.next());
      assertEquals(n, r.getLong(1));
      assertEquals(500, r.getLong(2));
    }
  }

  @Test
  void purgeRefusesToDeleteARangeThatDoesNotVerify() throws Exception {
    Path db = dir.resolve("audit.db");
    open(AuditFixtures.settings());
    for (int i = 0; i < 5; i++) {
      store.append(step("c", i));
    }
    store.close();
    sql(db, "UPDATE steps SET decision = 'deny' WHERE seq = 2");
    open(AuditFixtures.settings());
    AuditException e = assertThrows(AuditException.class, () -> store.purge(Instant.now()));
    assertTrue(e.getMessage().contains("refusing to purge") && e.getMessage().contains("BROKEN at seq 2"), e.getMessage());
    assertEquals(5, store.chain("c").size(), "the evidence stays");
  }

  @Test
  void retentionDaysPurgesExpiredStepsAtStartup() throws Exception {
    open(AuditFixtures.settings());
    Instant now = Instant.now();
    store.append(AuditFixtures.tool("c", "old", 0).startedAt(now.minus(Duration.ofDays(40))).build());
    store.append(AuditFixtures.tool("c", "new", 0).startedAt(now.minus(Duration.ofDays(1))).build()).join();
    store.close();

    open(AuditFixtures.settings().withRetentionDays(30));
    // The startup purge runs in the background; wait for its effect (bounded by the class timeout).
    while (store.chain("c").size() != 1) {
      Thread.sleep(10);
    }
    assertEquals("new", store.chain("c").get(0).step().stepId());
    assertTrue(store.verify().ok());
    assertEquals(0, store.purgeExpired());
  }
}
