package dev.gatehouse.audit;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Optional;

/**
 * The hash chain: how a stored step is encoded for hashing, read and written as a row, and verified.
 *
 * <p>{@code hash = SHA-256(canonical(prev_hash, seq, step))}. The canonical form is a domain tag
 * ({@code gatehouse-audit-v1}) followed by every field in a fixed order, each as a presence byte
 * (0 = absent) and, if present, a 4-byte big-endian length and the UTF-8 bytes of its text (numbers
 * in decimal, {@code started_at} in epoch microseconds, {@code cost_usd} as its exact decimal text,
 * {@code kind} in lower case). Length prefixes make the encoding unambiguous, so no two different
 * rows hash alike by shifting text between fields. Including {@code seq} makes renumbering evident.
 *
 * <p>What a walk detects: an edited field (the row's hash no longer matches), a deleted or reordered
 * row (a gap in seq, or a prev_hash that is not the previous row's hash), rows cut from the end
 * (fewer than the {@code head} records) or added after it. What it cannot: someone with write access
 * to the file can recompute every hash and the head; only a copy of a head hash kept elsewhere
 * ({@link AuditVerifyResult.Ok#headHash}) shows that.
 */
final class AuditChain {
  /** The prev_hash of the very first step. */
  static final String GENESIS = "0".repeat(64);

  /** The {@code steps} columns in the order {@link #read} expects. */
  static final String COLUMNS = "seq, chain_id, step_id, parent_step_id, kind, source, subject, issuer, tenant, action, "
      + "decision, rule, reason, outcome, status, started_at, duration_micros, tokens_in, tokens_out, cost_usd, "
      + "args_digest, result_digest, args_payload, result_payload, tool_call_id, prev_hash, hash";

  static final String INSERT = "INSERT INTO steps (" + COLUMNS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

  private static final byte[] DOMAIN = "gatehouse-audit-v1".getBytes(StandardCharsets.US_ASCII);
  private static final HexFormat HEX = HexFormat.of();

  private AuditChain() {}

  /** The hash of {@code step} stored at {@code seq} after a step whose hash is {@code prevHash}. */
  static String hash(MessageDigest sha, String prevHash, long seq, AuditStep s) {
    sha.reset();
    field(sha, DOMAIN);
    field(sha, prevHash);
    field(sha, Long.toString(seq));
    field(sha, s.chainId());
    field(sha, s.stepId());
    field(sha, s.parentStepId());
    field(sha, s.kind().wireName());
    field(sha, s.source());
    field(sha, s.subject());
    field(sha, s.issuer());
    field(sha, s.tenant());
    field(sha, s.action());
    field(sha, s.decision());
    field(sha, s.rule());
    field(sha, s.reason());
    field(sha, s.outcome());
    field(sha, Integer.toString(s.status()));
    field(sha, Long.toString(micros(s.startedAt())));
    field(sha, Long.toString(s.durationMicros()));
    field(sha, Long.toString(s.tokensIn()));
    field(sha, Long.toString(s.tokensOut()));
    field(sha, s.costUsd().toPlainString());
    field(sha, s.argsDigest());
    field(sha, s.resultDigest());
    field(sha, s.argsPayload());
    field(sha, s.resultPayload());
    field(sha, s.toolCallId());
    return HEX.formatHex(sha.digest());
  }

  private static void field(MessageDigest sha, Optional<String> value) {
    if (value.isEmpty()) {
      sha.update((byte) 0);
    } else {
      field(sha, value.get());
    }
  }

  private static void field(MessageDigest sha, String value) {
    field(sha, value.getBytes(StandardCharsets.UTF_8));
  }

  private static void field(MessageDigest sha, byte[] bytes) {
    int n = bytes.length;
    sha.update((byte) 1);
    sha.update(new byte[] {(byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n});
    sha.update(bytes);
  }

  static long micros(Instant t) {
    return Math.addExact(Math.multiplyExact(t.getEpochSecond(), 1_000_000L), t.getNano() / 1_000);
  }

  static Instant instant(long micros) {
    return Instant.ofEpochSecond(Math.floorDiv(micros, 1_000_000L), Math.floorMod(micros, 1_000_000L) * 1_000L);
  }

  /** Binds an {@link #INSERT} of {@code step} at {@code seq}. */
  static void bind(PreparedStatement p, long seq, AuditStep s, String prevHash, String hash) throws SQLException {
    p.setLong(1, seq);
    p.setString(2, s.chainId());
    p.setString(3, s.stepId());
    text(p, 4, s.parentStepId());
    p.setString(5, s.kind().wireName());
    p.setString(6, s.source());
    p.setString(7, s.subject());
    p.setString(8, s.issuer());
    text(p, 9, s.tenant());
    p.setString(10, s.action());
    p.setString(11, s.decision());
    text(p, 12, s.rule());
    text(p, 13, s.reason());
    p.setString(14, s.outcome());
    p.setInt(15, s.status());
    p.setLong(16, micros(s.startedAt()));
    p.setLong(17, s.durationMicros());
    p.setLong(18, s.tokensIn());
    p.setLong(19, s.tokensOut());
    p.setString(20, s.costUsd().toPlainString());
    text(p, 21, s.argsDigest());
    text(p, 22, s.resultDigest());
    text(p, 23, s.argsPayload());
    text(p, 24, s.resultPayload());
    text(p, 25, s.toolCallId());
    p.setString(26, prevHash);
    p.setString(27, hash);
  }

  private static void text(PreparedStatement p, int i, Optional<String> value) throws SQLException {
    if (value.isPresent()) {
      p.setString(i, value.get());
    } else {
      p.setNull(i, Types.VARCHAR);
    }
  }

  /**
   * The row at {@code r}, selected with {@link #COLUMNS}.
   *
   * @throws IllegalArgumentException if a field no longer makes a valid step (it was edited)
   */
  static AuditRecord read(ResultSet r) throws SQLException {
    AuditStep step = new AuditStep(
        r.getString(2),
        r.getString(3),
        Optional.ofNullable(r.getString(4)),
        AuditKind.parse(r.getString(5)),
        r.getString(6),
        r.getString(7),
        r.getString(8),
        Optional.ofNullable(r.getString(9)),
        r.getString(10),
        r.getString(11),
        Optional.ofNullable(r.getString(12)),
        Optional.ofNullable(r.getString(13)),
        r.getString(14),
        r.getInt(15),
        instant(r.getLong(16)),
        r.getLong(17),
        r.getLong(18),
        r.getLong(19),
        decimal(r.getString(20)),
        Optional.ofNullable(r.getString(21)),
        Optional.ofNullable(r.getString(22)),
        Optional.ofNullable(r.getString(23)),
        Optional.ofNullable(r.getString(24)),
        Optional.ofNullable(r.getString(25)));
    return new AuditRecord(r.getLong(1), step, r.getString(26), r.getString(27));
  }

  static BigDecimal decimal(String text) {
    try {
      return new BigDecimal(text);
    } catch (NumberFormatException | NullPointerException e) {
      throw new IllegalArgumentException("cost_usd: '" + text + "' (expected: a decimal number)");
    }
  }

  /** A position in the chain: a seq and the hash of the step there (0 and {@link #GENESIS} before any). */
  record Link(long seq, String hash) {}

  /**
   * How a walk ended: {@code count} steps intact up to {@code last}, then {@code broken} if the walk
   * stopped at a bad record.
   */
  record Walk(long count, Link last, Optional<AuditVerifyResult.Broken> broken) {
    static Walk broken(long count, Link last, AuditVerifyResult.Broken broken) {
      return new Walk(count, last, Optional.of(broken));
    }
  }

  /** The latest retention checkpoint, or genesis. */
  static Link checkpoint(Connection c) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT seq, hash FROM checkpoints ORDER BY seq DESC LIMIT 1");
        ResultSet r = p.executeQuery()) {
      return r.next() ? new Link(r.getLong(1), r.getString(2)) : new Link(0, GENESIS);
    }
  }

  /** The head row; empty if it is missing. */
  static Optional<Link> head(Connection c) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT seq, hash FROM head WHERE id = 1"); ResultSet r = p.executeQuery()) {
      return r.next() ? Optional.of(new Link(r.getLong(1), r.getString(2))) : Optional.empty();
    }
  }

  /**
   * Recomputes every step with {@code from.seq < seq <= toSeq}, in order, starting from {@code from}:
   * each must be the next seq, name the previous hash, and hash to what it stores.
   */
  static Walk walk(Connection c, Link from, long toSeq) throws SQLException {
    MessageDigest sha = AuditStep.sha256();
    long expectedSeq = from.seq() + 1;
    String prev = from.hash();
    long count = 0;
    try (PreparedStatement p = c.prepareStatement("SELECT " + COLUMNS + " FROM steps WHERE seq > ? AND seq <= ? ORDER BY seq")) {
      p.setLong(1, from.seq());
      p.setLong(2, toSeq);
      try (ResultSet r = p.executeQuery()) {
        while (r.next()) {
          long seq = r.getLong(1);
          Optional<String> stepId = Optional.ofNullable(r.getString(3));
          Link intact = new Link(expectedSeq - 1, prev);
          if (seq != expectedSeq) {
            return Walk.broken(count, intact, new AuditVerifyResult.Broken(seq, stepId, "the step before it is missing (expected seq " + expectedSeq
                + " next): " + (seq - expectedSeq) + " step(s) deleted"));
          }
          AuditRecord record;
          try {
            record = read(r);
          } catch (IllegalArgumentException e) {
            return Walk.broken(count, intact, new AuditVerifyResult.Broken(seq, stepId,
                "the row no longer holds a valid step (" + e.getMessage() + "): it was edited"));
          }
          if (!record.prevHash().equals(prev)) {
            return Walk.broken(count, intact, new AuditVerifyResult.Broken(seq, stepId, "prev_hash does not match the hash of seq "
                + (seq - 1) + ": that step was rewritten, or steps were deleted or reordered"));
          }
          String hash = hash(sha, prev, seq, record.step());
          if (!hash.equals(record.hash())) {
            return Walk.broken(count, intact, new AuditVerifyResult.Broken(seq, stepId,
                "hash mismatch: the step's fields or its hash were changed after it was written"));
          }
          prev = hash;
          expectedSeq++;
          count++;
        }
      }
    }
    return new Walk(count, new Link(expectedSeq - 1, prev), Optional.empty());
  }

  /**
   * Verifies the whole store at {@code c}, which should be inside one read transaction so the rows,
   * the checkpoint and the head are the same snapshot.
   */
  static AuditVerifyResult verify(Connection c) throws SQLException {
    int version = AuditSchema.version(c);
    if (version == 0) {
      throw new AuditException("not a Gatehouse audit store (no schema_version table)");
    }
    if (version > AuditSchema.CURRENT) {
      throw new AuditException("the audit store has schema version " + version + ", newer than this Gatehouse reads (" + AuditSchema.CURRENT + ")");
    }
    Link checkpoint = checkpoint(c);
    Optional<Link> head = head(c);
    if (head.isEmpty()) {
      return new AuditVerifyResult.Broken(0, Optional.empty(), "the head row is missing: it was deleted");
    }
    try (PreparedStatement p = c.prepareStatement("SELECT seq, step_id FROM steps WHERE seq <= ? ORDER BY seq LIMIT 1")) {
      p.setLong(1, checkpoint.seq());
      try (ResultSet r = p.executeQuery()) {
        if (r.next()) {
          return new AuditVerifyResult.Broken(r.getLong(1), Optional.ofNullable(r.getString(2)),
              "the step is at or before the retention checkpoint at seq " + checkpoint.seq()
                  + ", which should have purged it: the checkpoint was forged or the step inserted");
        }
      }
    }
    Walk walk = walk(c, checkpoint, Long.MAX_VALUE);
    if (walk.broken().isPresent()) {
      return walk.broken().get();
    }
    Link last = walk.last();
    Link h = head.get();
    if (last.seq() < h.seq()) {
      return new AuditVerifyResult.Broken(last.seq() + 1, Optional.empty(), "the head records seq " + h.seq()
          + " but the chain ends at seq " + last.seq() + ": the last " + (h.seq() - last.seq()) + " step(s) were deleted");
    }
    if (last.seq() > h.seq()) {
      return new AuditVerifyResult.Broken(h.seq() + 1, stepId(c, h.seq() + 1), "the step is after the recorded head (seq " + h.seq()
          + "): it was written outside the gateway, or the head was rolled back");
    }
    if (!last.hash().equals(h.hash())) {
      return new AuditVerifyResult.Broken(h.seq(), stepId(c, h.seq()), "the step's hash differs from the one the head records: "
          + "the head or the chain up to it was rewritten");
    }
    return new AuditVerifyResult.Ok(walk.count(), checkpoint.seq(), h.seq(), h.hash());
  }

  private static Optional<String> stepId(Connection c, long seq) throws SQLException {
    try (PreparedStatement p = c.prepareStatement("SELECT step_id FROM steps WHERE seq = ?")) {
      p.setLong(1, seq);
      try (ResultSet r = p.executeQuery()) {
        return r.next() ? Optional.ofNullable(r.getString(1)) : Optional.empty();
      }
    }
  }
}
