package dev.gatehouse.audit;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * A filter over stored steps, the query of {@code GET /v1/audit/steps}. Filters combine with AND;
 * results come newest first (descending {@code seq}), {@code limit} at a time.
 *
 * <p>Pagination is by keyset: a page's {@code next_cursor} encodes the last {@code seq} it returned,
 * and the next page holds only smaller seqs. Steps written meanwhile get larger seqs, so paging
 * through never repeats or skips a step however much is being written.
 *
 * @param principal the step's subject, exactly
 * @param tool {@code server/tool} of an MCP step (tool, resource, prompt or completion), exactly, or
 *     a prefix ending in {@code *} such as {@code files/*}
 * @param model {@code provider/model} of a model step, exactly, or a prefix ending in {@code *}
 * @param decision {@code allow}, {@code deny}, …
 * @param since steps that started at or after this instant
 * @param until steps that started before this instant
 * @param limit the page size, 1..{@value #MAX_LIMIT}
 * @param cursor a previous page's {@code next_cursor}
 */
public record AuditQuery(
    Optional<String> principal,
    Optional<String> tool,
    Optional<String> model,
    Optional<String> decision,
    Optional<Instant> since,
    Optional<Instant> until,
    int limit,
    Optional<String> cursor) {

  static final int DEFAULT_LIMIT = 100;
  static final int MAX_LIMIT = 1000;
  private static final Set<String> PARAMS = Set.of("principal", "tool", "model", "decision", "since", "until", "limit", "cursor");
  private static final String CURSOR_PREFIX = "seq:";

  public AuditQuery {
    principal = blankToEmpty(principal);
    tool = blankToEmpty(tool);
    model = blankToEmpty(model);
    decision = blankToEmpty(decision);
    since = since == null ? Optional.empty() : since;
    until = until == null ? Optional.empty() : until;
    if (limit < 1 || limit > MAX_LIMIT) {
      throw new IllegalArgumentException("limit: " + limit + " (expected: 1.." + MAX_LIMIT + ")");
    }
    cursor = blankToEmpty(cursor);
    cursor.ifPresent(AuditQuery::decodeCursor);
  }

  /** Every step, {@value #DEFAULT_LIMIT} per page. */
  public static AuditQuery all() {
    return new AuditQuery(null, null, null, null, null, null, DEFAULT_LIMIT, null);
  }

  /**
   * The query in HTTP query parameters ({@code principal}, {@code tool}, {@code model},
   * {@code decision}, {@code since}, {@code until}, {@code limit}, {@code cursor}); times are ISO-8601
   * instants ({@code 2025-06-01T12:00:00Z}), offsets or dates (midnight UTC).
   *
   * @throws IllegalArgumentException for an unknown parameter or a bad value, naming it (a 400)
   */
  public static AuditQuery fromParams(Map<String, String> params) {
    for (String name : params.keySet()) {
      if (!PARAMS.contains(name)) {
        throw new IllegalArgumentException("unknown parameter '" + name
            + "' (expected: principal, tool, model, decision, since, until, limit, cursor)");
      }
    }
    int limit = DEFAULT_LIMIT;
    String l = params.get("limit");
    if (l != null && !l.isBlank()) {
      try {
        limit = Integer.parseInt(l.strip());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("limit: '" + l + "' (expected: an integer 1.." + MAX_LIMIT + ")");
      }
    }
    return new AuditQuery(
        Optional.ofNullable(params.get("principal")),
        Optional.ofNullable(params.get("tool")),
        Optional.ofNullable(params.get("model")),
        Optional.ofNullable(params.get("decision")),
        Optional.ofNullable(params.get("since")).filter(s -> !s.isBlank()).map(s -> instant("since", s)),
        Optional.ofNullable(params.get("until")).filter(s -> !s.isBlank()).map(s -> instant("until", s)),
        limit,
        Optional.ofNullable(params.get("cursor")));
  }

  public AuditQuery withPrincipal(String principal) {
    return new AuditQuery(Optional.of(principal), tool, model, decision, since, until, limit, cursor);
  }

  public AuditQuery withTool(String tool) {
    return new AuditQuery(principal, Optional.of(tool), model, decision, since, until, limit, cursor);
  }

  public AuditQuery withModel(String model) {
    return new AuditQuery(principal, tool, Optional.of(model), decision, since, until, limit, cursor);
  }

  public AuditQuery withDecision(String decision) {
    return new AuditQuery(principal, tool, model, Optional.of(decision), since, until, limit, cursor);
  }

  public AuditQuery withSince(Instant since) {
    return new AuditQuery(principal, tool, model, decision, Optional.of(since), until, limit, cursor);
  }

  public AuditQuery withUntil(Instant until) {
    return new AuditQuery(principal, tool, model, decision, since, Optional.of(until), limit, cursor);
  }

  public AuditQuery withLimit(int limit) {
    return new AuditQuery(principal, tool, model, decision, since, until, limit, cursor);
  }

  public AuditQuery withCursor(String cursor) {
    return new AuditQuery(principal, tool, model, decision, since, until, limit, Optional.of(cursor));
  }

  /** The seq the cursor stands for: the next page holds smaller ones. */
  OptionalLong cursorSeq() {
    return cursor.map(c -> OptionalLong.of(decodeCursor(c))).orElse(OptionalLong.empty());
  }

  /** The cursor that continues after {@code seq}. */
  static String cursorAfter(long seq) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString((CURSOR_PREFIX + seq).getBytes(StandardCharsets.US_ASCII));
  }

  private static long decodeCursor(String cursor) {
    try {
      String text = new String(Base64.getUrlDecoder().decode(cursor), StandardCharsets.US_ASCII);
      if (text.startsWith(CURSOR_PREFIX)) {
        long seq = Long.parseLong(text.substring(CURSOR_PREFIX.length()));
        if (seq > 0) {
          return seq;
        }
      }
    } catch (IllegalArgumentException e) {
      // NumberFormatException included: reported below
    }
    throw new IllegalArgumentException("cursor: '" + cursor + "' (expected: the next_cursor of a previous page)");
  }

  private static Instant instant(String field, String text) {
    String t = text.strip();
    try {
      return Instant.parse(t);
    } catch (DateTimeParseException e) {
      // try the other forms
    }
    try {
      return OffsetDateTime.parse(t).toInstant();
    } catch (DateTimeParseException e) {
      // try a date
    }
    try {
      return LocalDate.parse(t).atStartOfDay(ZoneOffset.UTC).toInstant();
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException(field + ": '" + text
          + "' (expected: an ISO-8601 instant such as 2025-06-01T12:00:00Z, or a date such as 2025-06-01)");
    }
  }

  private static Optional<String> blankToEmpty(Optional<String> o) {
    return o == null ? Optional.empty() : o.filter(s -> !s.isBlank());
  }
}
