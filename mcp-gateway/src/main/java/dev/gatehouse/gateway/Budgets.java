package dev.gatehouse.gateway;

import dev.gatehouse.audit.AuditStore;
import dev.gatehouse.identity.Principal;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Daily model spend per principal (issuer + subject), in USD, for budget checks. A principal's
 * total for the current UTC day is read once from the audit store (the cost of its recorded model
 * calls), so budgets survive a restart, then kept in memory and added to as calls finish. Calls in
 * flight are counted when they finish, so a burst can overshoot a budget by the calls it had running.
 */
final class Budgets {
  private record Day(LocalDate date, BigDecimal usd) {}

  private final Clock clock;
  private final java.util.function.Supplier<Optional<AuditStore>> store;
  private final Map<String, Day> spend = new ConcurrentHashMap<>();

  Budgets(Clock clock, java.util.function.Supplier<Optional<AuditStore>> store) {
    this.clock = clock;
    this.store = store;
  }

  private static String key(Principal p) {
    return p.issuer() + "\u0000" + p.subject();
  }

  /** Whether today's spend of {@code p} is in memory already (else {@link #spent} reads the audit store). */
  boolean known(Principal p) {
    Day d = spend.get(key(p));
    return d != null && d.date().equals(LocalDate.now(clock.withZone(ZoneOffset.UTC)));
  }

  /** Today's spend so far. */
  BigDecimal spent(Principal p) {
    LocalDate today = LocalDate.now(clock.withZone(ZoneOffset.UTC));
    return spend.compute(key(p), (k, d) -> d != null && d.date().equals(today) ? d : new Day(today, load(p, today))).usd();
  }

  void add(Principal p, BigDecimal usd) {
    if (usd.signum() <= 0) {
      return;
    }
    LocalDate today = LocalDate.now(clock.withZone(ZoneOffset.UTC));
    spend.compute(key(p), (k, d) -> d != null && d.date().equals(today)
        ? new Day(today, d.usd().add(usd))
        : new Day(today, load(p, today).add(usd)));
  }

  private BigDecimal load(Principal p, LocalDate day) {
    return store.get().map(s -> s.spentSince(p.subject(), p.issuer(), day.atStartOfDay().toInstant(ZoneOffset.UTC)))
        .orElse(BigDecimal.ZERO);
  }
}
