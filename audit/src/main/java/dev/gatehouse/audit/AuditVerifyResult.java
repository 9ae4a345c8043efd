package dev.gatehouse.audit;

import java.util.Optional;

/**
 * What {@link SqliteAuditStore#verify} found: the chain is intact from its start (genesis or the latest
 * retention checkpoint) to the recorded head, or the first record where it is not.
 */
public sealed interface AuditVerifyResult permits AuditVerifyResult.Ok, AuditVerifyResult.Broken {

  /** Whether the chain verified. */
  boolean ok();

  /** One line for people, e.g. what {@code gatehouse audit verify} prints. */
  String message();

  /**
   * Every step from the starting point to the head recomputed to its stored hash.
   *
   * @param verified how many steps were checked
   * @param checkpointSeq the seq of the last purged step the walk started after, 0 for genesis
   * @param headSeq the last step's seq, as the head records it
   * @param headHash the last step's hash; export it elsewhere to detect a rewrite of the whole store
   */
  record Ok(long verified, long checkpointSeq, long headSeq, String headHash) implements AuditVerifyResult {
    @Override
    public boolean ok() {
      return true;
    }

    @Override
    public String message() {
      String from = checkpointSeq == 0 ? "from genesis" : "from the retention checkpoint at seq " + checkpointSeq;
      return "audit chain OK: " + verified + " step" + (verified == 1 ? "" : "s") + " verified " + from
          + "; head seq " + headSeq + " hash " + headHash;
    }
  }

  /**
   * The first record that does not verify.
   *
   * @param seq the record's seq (for a truncated tail: the seq the head says should exist)
   * @param stepId the record's step id, when there is a record to name
   * @param reason what is wrong and what it suggests (fields edited, a row deleted, the tail cut)
   */
  record Broken(long seq, Optional<String> stepId, String reason) implements AuditVerifyResult {
    @Override
    public boolean ok() {
      return false;
    }

    @Override
    public String message() {
      return "audit chain BROKEN at seq " + seq + stepId.map(id -> " (step " + id + ")").orElse("") + ": " + reason;
    }
  }
}
