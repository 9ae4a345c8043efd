package dev.gatehouse.audit;

/**
 * The audit store could not do what was asked: the database cannot be opened or written, the
 * store is closed, or a purge found the range it was about to delete already broken. Expected
 * outcomes of {@code verify} are values ({@link AuditVerifyResult}), not this exception.
 */
public final class AuditException extends RuntimeException {
  public AuditException(String message) {
    super(message);
  }

  public AuditException(String message, Throwable cause) {
    super(message, cause);
  }
}
