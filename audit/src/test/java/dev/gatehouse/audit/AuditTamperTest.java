package dev.gatehouse.audit;

import static dev.gatehouse.audit.AuditFixtures.sql;
import static dev.gatehouse.audit.AuditFixtures.step;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Rows edited or deleted behind the gateway's back, with plain SQL, make verify fail at that row. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AuditTamperTest {
  @TempDir Path dir;
  private Path db;

  @BeforeEach
  void tenSteps() {
    db = dir.resolve("audit.db");
    try (SqliteAuditStore store = SqliteAuditStore.open(db, AuditFixtures.settings())) {
      for (int i = 1; i <= 10; i++) {
        store.append(step("c", i));
      }
    }
    assertTrue(SqliteAuditStore.verify(db).ok());
  }

  @Test
  void untouchedStoreVerifiesWithItsHead() {
    AuditVerifyResult.Ok ok = assertInstanceOf(AuditVerifyResult.Ok.class, SqliteAuditStore.verify(db));
    assertEquals(10, ok.verified());
    assertEquals(10, ok.headSeq());
    assertEquals(0, ok.checkpointSeq());
    assertTrue(ok.message().startsWith("audit chain OK: 10 steps verified from genesis; head seq 10 hash "), ok.message());
  }

  @Test
  void editingAnyFieldOfAMiddleRowFailsAtThatRow() throws Exception {
    for (String edit : new String[] {"decision = 'deny'", "subject = 'mallory'", "started_at = started_at + 1",
        "args_digest = NULL", "cost_usd = '0.0'", "rule = NULL", "tenant = 'x'", "status = 1"}) {
      Path copy = copy(edit.hashCode());
      sql(copy, "UPDATE steps SET " + edit + " WHERE seq = 5");
      AuditVerifyResult.Broken broken = assertInstanceOf(AuditVerifyResult.Broken.class, SqliteAuditStore.verify(copy), edit);
      assertEquals(5, broken.seq(), edit);
      assertEquals(Optional.of("c-5"), broken.stepId(), edit);
      assertTrue(broken.reason().startsWith("hash mismatch"), broken.reason());
      assertTrue(broken.message().startsWith("audit chain BROKEN at seq 5 (step c-5): hash mismatch"), broken.message());
    }
  }

  @Test
  void editingARowAndItsHashFailsAtTheNextRow() throws Exception {
    sql(db, "UPDATE steps SET decision = 'deny', hash = '" + "ab".repeat(32) + "' WHERE seq = 5");
    AuditVerifyResult.Broken broken = assertInstanceOf(AuditVerifyResult.Broken.class, SqliteAuditStore.verify(db));
    // Row 5's own hash no longer matches its fields; a consistent rewrite would move the break to 6.
    assertEquals(5, broken.seq());
  }

  @Test
  void deletingAMiddleRowFailsAtTheNextRow() throws Exception {
    sql(db, "DELETE FROM steps WHERE seq = 5");
    AuditVerifyResult.Broken broken = assertInstanceOf(AuditVerifyResult.Broken.class, SqliteAuditStore.verify(db));
    assertEquals(6, broken.seq());
    assertEquals(Optional.of("c-6"), broken.stepId());
    assertTrue(broken.reason().contains("expected seq 5"), broken.reason());
  }

  @Test
  void renumberingRowsToCloseTheGapFailsAtTheMovedRow() throws Exception {
    sql(db, "DELETE FROM steps WHERE seq = 5");
    sql(db, "UPDATE steps SET seq = seq - 1 WHERE seq > 5");
    sql(db, "UPDATE head SET seq = 9");
    AuditVerifyResult.Broken broken = assertInstanceOf(AuditVerifyResult.Broken.class, SqliteAuditStore.verify(db));
    assertEquals(5, broken.seq());
    assertEquals(Optional.of("c-6"), broken.stepId());
    assertTrue(broken.reason().startsWith("prev_hash does not match"), broken.reason());
  }

  @Test
  void deletingTheLastRowsFailsAtTheHead() throws Exception {
    sql(db, "DELETE FROM steps WHERE seq >= 9");
    AuditVerifyResult.Broken broken = assertInstanceOf(AuditVerifyResult.Broken.class, SqliteAuditStore.verify(db));
    assertEquals(9, broken.seq());
    assertEquals(Optional.empty(), broken.stepId());
    assertTrue(broken.reason().contains("the last 2 step(s) were deleted"), broken.reason());
  }

  @Test
  void insertingARowAfterTheHeadFails() throws Exception {
    sql(db, "INSERT INTO steps SELECT 11, chain_id, 'forged', parent_step_id, kind, source, subject, issuer, tenant, action, decision, "
        + "rule, reason, outcome, status, started_at, duration_micros, tokens_in, tokens_out, cost_usd, args_digest, result_digest, "
        + "args_payload, result_payload, tool_call_id, hash, hash FROM steps WHERE seq = 10");
    AuditVerifyResult.Broken broken = assertInstanceOf(AuditVerifyResult.Broken.class, SqliteAuditStore.verify(db));
    assertEquals(11, broken.seq());
    assertEquals(Optional.of("forged"), broken.stepId());
  }

  @Test
  void aFieldEditedIntoAnInvalidValueIsReportedAtThatRow() throws Exception {
    sql(db, "UPDATE steps SET kind = 'bogus' WHERE seq = 3");
    AuditVerifyResult.Broken broken = assertInstanceOf(AuditVerifyResult.Broken.class, SqliteAuditStore.verify(db));
    assertEquals(3, broken.seq());
    assertTrue(broken.reason().contains("no longer holds a valid step"), broken.reason());
  }

  @Test
  void aForgedCheckpointOverRemainingRowsFails() throws Exception {
    sql(db, "INSERT INTO checkpoints (seq, hash, purged_at, cutoff, deleted) SELECT seq, hash, 0, 0, 0 FROM steps WHERE seq = 4");
    AuditVerifyResult.Broken broken = assertInstanceOf(AuditVerifyResult.Broken.class, SqliteAuditStore.verify(db));
    assertEquals(1, broken.seq());
    assertTrue(broken.reason().contains("retention checkpoint at seq 4"), broken.reason());
  }

  @Test
  void aStoreOpenedAfterTamperingKeepsWritingAndVerifyStillFails() throws Exception {
    sql(db, "UPDATE steps SET subject = 'mallory' WHERE seq = 2");
    try (SqliteAuditStore store = SqliteAuditStore.open(db, AuditFixtures.settings())) {
      store.append(step("c", 11)).join();
      assertFalse(store.verify().ok());
      assertEquals(2, ((AuditVerifyResult.Broken) store.verify()).seq());
    }
  }

  private Path copy(int salt) throws Exception {
    Path copy = dir.resolve("copy-" + Integer.toHexString(salt) + ".db");
    // VACUUM INTO makes a consistent copy including what is still in the WAL.
    sql(db, "VACUUM INTO '" + copy.toAbsolutePath() + "'");
    return copy;
  }
}
