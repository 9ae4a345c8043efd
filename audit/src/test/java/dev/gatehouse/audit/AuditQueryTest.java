package dev.gatehouse.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class AuditQueryTest {

  @Test
  void paramsMapToFilters() {
    AuditQuery q = AuditQuery.fromParams(Map.of("principal", "alice", "tool", "files/*", "decision", "deny",
        "since", "2025-06-01", "until", "2025-06-02T00:00:00+02:00", "limit", "50"));
    assertEquals(Optional.of("alice"), q.principal());
    assertEquals(Optional.of("files/*"), q.tool());
    assertEquals(Optional.of("deny"), q.decision());
    assertEquals(Optional.of(Instant.parse("2025-06-01T00:00:00Z")), q.since());
    assertEquals(Optional.of(Instant.parse("2025-06-01T22:00:00Z")), q.until());
    assertEquals(50, q.limit());
    assertEquals(AuditQuery.all(), AuditQuery.fromParams(Map.of()));
    assertEquals(100, AuditQuery.all().limit());
  }

  @Test
  void cursorsRoundTripAndForgedOnesAreRejected() {
    String cursor = AuditQuery.cursorAfter(42);
    assertEquals(OptionalLong.of(42), AuditQuery.all().withCursor(cursor).cursorSeq());
    assertStarts("cursor: 'nope' (expected: the next_cursor of a previous page)", () -> AuditQuery.all().withCursor("nope"));
  }

  @Test
  void badParamsAreRejectedNamingThem() {
    assertStarts("unknown parameter 'princpal'", () -> AuditQuery.fromParams(Map.of("princpal", "x")));
    assertStarts("limit: 1001 (expected: 1..1000)", () -> AuditQuery.fromParams(Map.of("limit", "1001")));
    assertStarts("limit: 'ten'", () -> AuditQuery.fromParams(Map.of("limit", "ten")));
    assertStarts("since: 'yesterday' (expected: an ISO-8601 instant", () -> AuditQuery.fromParams(Map.of("since", "yesterday")));
  }

  private static void assertStarts(String prefix, org.junit.jupiter.api.function.Executable e) {
    IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
    assertTrue(x.getMessage().startsWith(prefix), x.getMessage());
  }
}
