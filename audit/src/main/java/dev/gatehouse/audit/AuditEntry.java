package dev.gatehouse.audit;

/**
 * A chain step as handed to {@link AuditStore#append}: either a finished {@link AuditStep}, or one
 * whose redaction, digests and payloads are still to be made. The store's writer calls {@link #seal}
 * once, in order, off the caller's path; whatever it reads must not change after the append.
 */
@FunctionalInterface
public interface AuditEntry {
  /** The finished step; an {@link IllegalArgumentException} fails this step only. */
  AuditStep seal();
}
