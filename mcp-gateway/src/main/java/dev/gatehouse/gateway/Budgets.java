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
 *
 * <p>With {@code limits.store: redis://…} the day's total lives in Redis ({@link SharedLimits}), shared
 * by every replica: read before each budgeted call, seeded from the audit store by the first replica
 * that needs it, added to as calls finish. The in-memory total is still kept, for {@code fail_open}.
 */
final class Budgets {
  private record Day(LocalDate date, BigDecimal usd) {}

  private final Clock clock;
  private final java.util.function.Supplier<Optional<AuditStore>> store;
  private final Map<String, Day> spend = new ConcurrentHashMap<>();

  private final SharedLimits shared;
  private final java.util.concurrent.Executor blocking;

  Budgets(Clock clock, java.util.function.Supplier<Optional<AuditStore>> store) {
    this(clock, store, null, Runnable::run);
  }

  Budgets(Clock clock, java.util.function.Supplier<Optional<AuditStore>> store, SharedLimits shared,
      java.util.concurrent.Executor blocking) {
    this.clock = clock;
    this.store = store;
    this.shared = shared;
    this.blocking = blocking;
  }

  /**
   * Today's spend, without blocking the caller: from Redis when shared (seeding it from the audit
   * store on {@code blocking} the first time that day), else from memory or the audit store. Fails
   * with {@link SharedLimits.Unavailable} when Redis cannot be reached and limits fail closed.
   */
  java.util.concurrent.CompletableFuture<BigDecimal> spentAsync(Principal p) {
    if (shared == null) {
      return known(p) ? java.util.concurrent.CompletableFuture.completedFuture(spent(p))
          : java.util.concurrent.CompletableFuture.supplyAsync(() -> spent(p), blocking);
    }
    LocalDate today = LocalDate.now(clock.withZone(ZoneOffset.UTC));
    return shared.spent(p, today)
        .thenCompose(v -> v.isPresent() ? java.util.concurrent.CompletableFuture.completedFuture(v.get())
            : java.util.concurrent.CompletableFuture.supplyAsync(() -> load(p, today), blocking).thenCompose(base -> shared.seed(p, today, base)))
        .exceptionallyCompose(e -> shared.failOpen()
            ? java.util.concurrent.CompletableFuture.supplyAsync(() -> spent(p), blocking)
            : java.util.concurrent.CompletableFuture.failedFuture(e));
  }

  private static String key(Principal p) {
    return p.issuer() + "\u0000" + p.subject();
  }

  /** Whether today's spend of {@code p} is in memory already (else {@link #spent} reads the audit store); never when shared. */
  boolean known(Principal p) {
    if (shared != null) {
      return false;
    }
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
    if (shared != null) {
      shared.add(p, today, usd);
      // The local total serves fail_open only: kept when known, never read from the audit store here.
      spend.computeIfPresent(key(p), (k, d) -> d.date().equals(today) ? new Day(today, d.usd().add(usd)) : null);
      return;
    }
    spend.compute(key(p), (k, d) -> d != null && d.date().equals(today)
        ? new Day(today, d.usd().add(usd))
        : new Day(today, load(p, today).add(usd)));
  }

  private BigDecimal load(Principal p, LocalDate day) {
    return store.get().map(s -> s.spentSince(p.subject(), p.issuer(), day.atStartOfDay().toInstant(ZoneOffset.UTC)))
        .orElse(BigDecimal.ZERO);
  }
}
