package dev.gatehouse.gateway;

import dev.gatehouse.audit.AuditStore;
import dev.gatehouse.identity.Principal;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Instant;
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
  /** The periods a budget covers: the UTC day, the UTC calendar month. */
  enum Period {
    DAY, MONTH;

    /** The period containing {@code today}: {@code 2026-12-07} or {@code 2026-12}. */
    String label(LocalDate today) {
      return this == DAY ? today.toString() : java.time.YearMonth.from(today).toString();
    }

    Instant start(LocalDate today) {
      return (this == DAY ? today : today.withDayOfMonth(1)).atStartOfDay().toInstant(ZoneOffset.UTC);
    }
  }

  /**
   * Whom a spend total belongs to: a principal (its issuer and subject), or a scope owner
   * ({@code gatehouse:key}, {@code gatehouse:tenant}, {@code gatehouse:group} and its value).
   */
  record Owner(String issuer, String subject) {
    static Owner of(Principal p) {
      return new Owner(p.issuer(), p.subject());
    }

    static Owner of(dev.gatehouse.policy.PolicyEngine.ModelLimit l) {
      return new Owner(l.ownerIssuer(), l.ownerSubject());
    }

    String key(Period period, LocalDate today) {
      return issuer + "\u0000" + subject + "\u0000" + period.label(today);
    }
  }

  private record Total(String period, BigDecimal usd) {}

  private final Clock clock;
  private final java.util.function.Supplier<Optional<AuditStore>> store;
  /** By owner and period kind; the period label says which day or month the total is for. */
  private final Map<String, Total> spend = new ConcurrentHashMap<>();

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

  private LocalDate today() {
    return LocalDate.now(clock.withZone(ZoneOffset.UTC));
  }

  /**
   * The owner's spend in the current period, without blocking the caller: from Redis when shared
   * (seeding it from the audit store on {@code blocking} the first time that period), else from memory
   * or the audit store. Fails with {@link SharedLimits.Unavailable} when Redis cannot be reached and
   * limits fail closed.
   */
  java.util.concurrent.CompletableFuture<BigDecimal> spentAsync(Owner o, Period period) {
    if (shared == null) {
      return known(o, period) ? java.util.concurrent.CompletableFuture.completedFuture(spent(o, period))
          : java.util.concurrent.CompletableFuture.supplyAsync(() -> spent(o, period), blocking);
    }
    LocalDate today = today();
    String label = period.label(today);
    return shared.spent(o.issuer(), o.subject(), label)
        .thenCompose(v -> v.isPresent() ? java.util.concurrent.CompletableFuture.completedFuture(v.get())
            : java.util.concurrent.CompletableFuture.supplyAsync(() -> load(o, period, today), blocking)
                .thenCompose(base -> shared.seed(o.issuer(), o.subject(), label, base)))
        .exceptionallyCompose(e -> shared.failOpen()
            ? java.util.concurrent.CompletableFuture.supplyAsync(() -> spent(o, period), blocking)
            : java.util.concurrent.CompletableFuture.failedFuture(e));
  }

  /** Today's spend of a principal, as {@link #spentAsync}. */
  java.util.concurrent.CompletableFuture<BigDecimal> spentAsync(Principal p) {
    return spentAsync(Owner.of(p), Period.DAY);
  }

  /** Whether the owner's spend this period is in memory already (else {@link #spent} reads the audit store); never when shared. */
  boolean known(Owner o, Period period) {
    if (shared != null) {
      return false;
    }
    LocalDate today = today();
    Total t = spend.get(o.issuer() + "\u0000" + o.subject() + "\u0000" + period);
    return t != null && t.period().equals(period.label(today));
  }

  boolean known(Principal p) {
    return known(Owner.of(p), Period.DAY);
  }

  /** The owner's spend so far this period. */
  BigDecimal spent(Owner o, Period period) {
    LocalDate today = today();
    String label = period.label(today);
    return spend.compute(o.issuer() + "\u0000" + o.subject() + "\u0000" + period,
        (k, t) -> t != null && t.period().equals(label) ? t : new Total(label, load(o, period, today))).usd();
  }

  /** Today's spend so far of a principal. */
  BigDecimal spent(Principal p) {
    return spent(Owner.of(p), Period.DAY);
  }

  /** Adds a finished call's cost to the owner's day and month. */
  void add(Owner o, BigDecimal usd) {
    if (usd.signum() <= 0) {
      return;
    }
    LocalDate today = today();
    for (Period period : Period.values()) {
      String label = period.label(today);
      String key = o.issuer() + "\u0000" + o.subject() + "\u0000" + period;
      if (shared != null) {
        shared.add(o.issuer(), o.subject(), label, usd);
        // The local total serves fail_open only: kept when known, never read from the audit store here.
        spend.computeIfPresent(key, (k, t) -> t.period().equals(label) ? new Total(label, t.usd().add(usd)) : null);
        continue;
      }
      spend.compute(key, (k, t) -> t != null && t.period().equals(label)
          ? new Total(label, t.usd().add(usd))
          : new Total(label, load(o, period, today).add(usd)));
    }
  }

  void add(Principal p, BigDecimal usd) {
    add(Owner.of(p), usd);
  }

  /**
   * What the audit store recorded for the owner this period: a principal's own model steps, or a
   * tenant's. Key and group totals are not in the audit trail: they start at 0 in a new process
   * (with Redis they live as long as the period).
   */
  private BigDecimal load(Owner o, Period period, LocalDate today) {
    Instant since = period.start(today);
    return store.get().map(s -> switch (o.issuer()) {
      case "gatehouse:tenant" -> s.spentSinceByTenant(o.subject(), since);
      case "gatehouse:key", "gatehouse:group" -> BigDecimal.ZERO;
      default -> s.spentSince(o.subject(), o.issuer(), since);
    }).orElse(BigDecimal.ZERO);
  }
}
