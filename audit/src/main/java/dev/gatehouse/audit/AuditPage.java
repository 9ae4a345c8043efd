package dev.gatehouse.audit;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Optional;

/**
 * One page of {@link SqliteAuditStore#steps}: newest step first.
 *
 * @param steps at most the query's limit, in descending {@code seq}
 * @param nextCursor pass as {@code cursor} to get the next (older) page; empty on the last page
 */
public record AuditPage(List<AuditRecord> steps, Optional<String> nextCursor) {

  public AuditPage {
    steps = List.copyOf(steps);
    nextCursor = nextCursor == null ? Optional.empty() : nextCursor;
  }

  /** The body of {@code GET /v1/audit/steps}: {@code {"steps": [ … ], "next_cursor": "…" | null}}. */
  public ObjectNode toJson() {
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    ArrayNode array = o.putArray("steps");
    steps.forEach(r -> array.add(r.toJson()));
    o.put("next_cursor", nextCursor.orElse(null));
    return o;
  }
}
