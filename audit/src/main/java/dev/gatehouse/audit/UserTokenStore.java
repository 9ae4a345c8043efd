package dev.gatehouse.audit;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The upstream tokens users consented to give the gateway ({@code auth: {mode: user_consent}}), one
 * row per upstream and principal. The gateway seals each row (AES-GCM) before it comes here: this
 * store never sees a token in clear. Kept beside the audit chain (a table of the same database), so a
 * restart or another replica finds them; in memory when audit is off.
 */
public interface UserTokenStore {

  /** One sealed row; {@code principal} is {@code subject@issuer}. */
  record Row(String upstream, String principal, String sealed, Instant updatedAt) {}

  Optional<Row> get(String upstream, String principal);

  /** The most recently updated row of {@code upstream}, if any. */
  Optional<Row> latest(String upstream);

  /** Every row of {@code upstream} (for the admin view), newest first. */
  List<Row> all(String upstream);

  /** Stores {@code row}, replacing the one of its upstream and principal. */
  void put(Row row);

  /** Deletes the row of {@code upstream} and {@code principal}; whether there was one. */
  boolean delete(String upstream, String principal);

  /** A store in this process only. */
  static UserTokenStore memory() {
    return new UserTokenStore() {
      private final Map<String, Row> rows = new ConcurrentHashMap<>();

      @Override
      public Optional<Row> get(String upstream, String principal) {
        return Optional.ofNullable(rows.get(upstream + '\0' + principal));
      }

      @Override
      public Optional<Row> latest(String upstream) {
        return all(upstream).stream().findFirst();
      }

      @Override
      public List<Row> all(String upstream) {
        return rows.values().stream().filter(r -> r.upstream().equals(upstream))
            .sorted(Comparator.comparing(Row::updatedAt).reversed()).toList();
      }

      @Override
      public void put(Row row) {
        rows.put(row.upstream() + '\0' + row.principal(), row);
      }

      @Override
      public boolean delete(String upstream, String principal) {
        return rows.remove(upstream + '\0' + principal) != null;
      }
    };
  }
}
