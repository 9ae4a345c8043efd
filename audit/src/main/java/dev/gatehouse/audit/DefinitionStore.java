package dev.gatehouse.audit;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The upstream definitions (tools, prompts, resource templates) the gateway serves as approved, by
 * their fingerprint: the basis of tool integrity. Kept beside the audit chain (a table of the same
 * database), so a restart, or another replica, knows what was approved; in memory when audit is off.
 */
public interface DefinitionStore {

  /**
   * One approved definition: {@code kind} is {@code tool}, {@code prompt} or {@code resource_template},
   * {@code name} the upstream's own name (a template's URI template); {@code definition} its canonical
   * JSON, kept for diffs; {@code approvedBy} who approved it ({@code first-seen} when trusted on first
   * sight, {@code lock-file}, or a principal).
   */
  record Approved(String server, String kind, String name, String hash, String definition, Instant at, String approvedBy) {}

  /** Every approved definition. */
  List<Approved> all();

  /** Records {@code a} as the approved definition of its server, kind and name (replacing any). */
  void approve(Approved a);

  /** A store in this process only. */
  static DefinitionStore memory() {
    return new DefinitionStore() {
      private final Map<String, Approved> rows = new ConcurrentHashMap<>();

      @Override
      public List<Approved> all() {
        return List.copyOf(rows.values());
      }

      @Override
      public void approve(Approved a) {
        rows.put(a.server() + '\0' + a.kind() + '\0' + a.name(), a);
      }
    };
  }
}
