package dev.gatehouse.policy;

import dev.gatehouse.identity.Principal;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Decides whether a principal may perform an action, from the configured {@link PolicyRule}s. Pure
 * and in-memory: no I/O; the only state is the rate limiters' token buckets. Thread-safe.
 *
 * <p>Evaluation: a rule applies to a principal when its {@code when} matches and its CEL
 * {@code condition} (if any) is true for this principal and action. Among the applicable rules:
 * <ol>
 *   <li>a deny pattern of any of them covering the action → {@link Decision.Deny} (deny overrides allow);
 *   <li>no allow pattern of any of them covering it → {@link Decision.Deny} with rule
 *       {@code default-deny} (once any rule exists, what is not allowed is denied);
 *   <li>every argument constraint of every applicable rule for this tool, in config order: the first
 *       violation → {@link Decision.Deny} naming the argument and the rule;
 *   <li>the rate limits of the rules that allow the action (and of applicable rules that allow nothing
 *       themselves, i.e. pure limit rules): any bucket empty → {@link Decision.Limited}, and no token is
 *       taken from the others;
 *   <li>otherwise {@link Decision.Allow} naming the first rule (in config order) that allows it.
 * </ol>
 * A server pattern covers every tool, resource and prompt of that server, in allow and deny lists.
 * With no rules at all, everything is allowed (rule {@code none}).
 *
 * <p>A condition that fails to evaluate fails closed: the rule's allow patterns are ignored, while its
 * deny patterns and argument constraints still count.
 */
public interface PolicyEngine {

  /**
   * Compiles the rules (globs, regexes, CEL) once; rate limits run on the system's monotonic clock.
   *
   * @throws IllegalArgumentException naming the rule when an id repeats or a condition does not compile
   */
  static PolicyEngine create(List<PolicyRule> rules) {
    return DefaultPolicyEngine.create(rules, null, Map.of());
  }

  /** As {@link #create(List)}, with rate limits refilling by {@code clock} (for tests). */
  static PolicyEngine create(List<PolicyRule> rules, Clock clock) {
    return DefaultPolicyEngine.create(rules, Objects.requireNonNull(clock, "clock"), Map.of());
  }

  /**
   * The full decision for a request, including argument constraints; takes a rate-limit token when it
   * allows.
   */
  Decision decide(Principal principal, Action action);

  /**
   * {@link #decide}, with rate limits counted in {@code counters} (shared by replicas) instead of in
   * this process. The future never fails; counters that cannot be reached and refuse give a
   * {@link Decision.Limited} saying so.
   */
  default java.util.concurrent.CompletableFuture<Decision> decide(Principal principal, Action action, RateCounters counters) {
    return java.util.concurrent.CompletableFuture.completedFuture(decide(principal, action));
  }

  /**
   * The tightest daily USD budget among the rules that apply to {@code principal} for {@code action}
   * (usually a {@link Action.Model}), with that rule's fallback model if it names one. The caller
   * counts the spend; this module only says what the cap is.
   */
  java.util.Optional<Budget> budget(Principal principal, Action action);

  /** A daily spending cap and what to do when it is reached. */
  record Budget(String ruleId, java.math.BigDecimal usdPerDay, java.util.Optional<String> fallbackModel) {}

  /**
   * Every model limit that applies to {@code principal} for {@code action}: one per rule that sets
   * {@code tokens_per_minute}, {@code budget_usd_per_day} or {@code budget_usd_per_month}, each with
   * whom it is counted for (its {@code per} scope). The caller counts tokens and spend.
   */
  default java.util.List<ModelLimit> modelLimits(Principal principal, Action action) {
    return java.util.List.of();
  }

  /**
   * One rule's model limits for one caller.
   *
   * @param ruleId the rule
   * @param ownerIssuer with {@code ownerSubject}, whom the counts belong to: the principal's issuer and
   *     subject, or {@code gatehouse:key}, {@code gatehouse:tenant} or {@code gatehouse:group} and the
   *     key id, tenant or groups
   * @param ownerSubject see {@code ownerIssuer}
   * @param owner how a refusal names the owner: {@code tenant 'acme'}, {@code user 'alice'}
   */
  record ModelLimit(String ruleId, String ownerIssuer, String ownerSubject, String owner, java.util.OptionalInt tokensPerMinute,
      java.util.Optional<java.math.BigDecimal> usdPerDay, java.util.Optional<java.math.BigDecimal> usdPerMonth,
      java.util.Optional<String> fallbackModel) {}

  /**
   * Whether to list the action to this principal: allow/deny patterns, {@code when} and conditions
   * only. Argument constraints are not checked (a tool with constraints stays visible), no token is
   * taken, and a condition is evaluated with {@code args} unknown: one that depends on the arguments
   * lets the rule's allow patterns show the tool and holds its deny patterns back until the call.
   */
  boolean visible(Principal principal, Action action);

  /**
   * Admits one new MCP session of {@code principal}: takes a token from the {@code requests_per_minute}
   * of every rule that applies to the principal (its {@code when} matches and its condition, if any, is
   * true for {@link Action.Session}). {@link Decision.Limited} when one is empty, taking none then;
   * otherwise {@link Decision.Allow}. Sessions need no allow pattern.
   */
  Decision admit(Principal principal);

  /** The decision {@link #decide} would make now, with every rule's part in it; takes no token. */
  Explanation explain(Principal principal, Action action);

  /**
   * The rules whose allow or deny patterns cover {@code action}, whoever asks, in config order: what a
   * catalog view shows next to a tool. Whether a rule applies to a caller is {@link #explain}'s part.
   */
  default List<Coverage> covering(Action action) {
    return List.of();
  }

  /**
   * One rule covering an action.
   *
   * @param ruleId the rule
   * @param effect {@code allow} or {@code deny}
   * @param detail the pattern that covers it, in words
   * @param who to whom the rule applies, in words ({@code everyone}, {@code groups [eng]; condition …})
   */
  record Coverage(String ruleId, String effect, String detail, String who) {}

  /** Whether any rule is configured (else everything is allowed). */
  boolean active();

  /** The rules, in config order. */
  List<PolicyRule> rules();

  /**
   * A new engine for new rules (a hot reload). Each limit whose rule id, scope
   * ({@code requests_per_minute} or a {@code tools_per_minute} glob) and value are unchanged keeps its
   * token buckets, so a reload does not hand everyone a fresh burst. This engine keeps working.
   *
   * @throws IllegalArgumentException as {@link #create(List)}
   */
  PolicyEngine reconfigure(List<PolicyRule> rules);
}
