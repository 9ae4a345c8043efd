package dev.gatehouse.policy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.identity.Principal;
import dev.gatehouse.policy.CelCondition.Outcome;
import dev.gatehouse.policy.CelCondition.State;
import dev.gatehouse.policy.CompiledRule.Hit;
import dev.gatehouse.policy.CompiledRule.LimitKey;
import dev.gatehouse.policy.CompiledRule.ToolLimit;
import dev.gatehouse.policy.Explanation.RuleCheck;
import dev.gatehouse.policy.Explanation.Verdict;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/** The {@link PolicyEngine}: compiled rules in config order, evaluated by one loop. */
final class DefaultPolicyEngine implements PolicyEngine {

  private static final Decision.Allow NO_POLICIES = new Decision.Allow(PolicyRule.NONE, "no policies configured");

  private final List<PolicyRule> rules;
  private final List<CompiledRule> compiled;
  private final Map<LimitKey, RateLimiter> limiters;
  // null: System.nanoTime, monotonic; tests pass a Clock they move by hand
  private final Clock clock;

  private DefaultPolicyEngine(List<PolicyRule> rules, List<CompiledRule> compiled, Map<LimitKey, RateLimiter> limiters,
      Clock clock) {
    this.rules = rules;
    this.compiled = compiled;
    this.limiters = limiters;
    this.clock = clock;
  }

  static DefaultPolicyEngine create(List<PolicyRule> rules, Clock clock, Map<LimitKey, RateLimiter> previous) {
    Objects.requireNonNull(rules, "rules");
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < rules.size(); i++) {
      PolicyRule r = Objects.requireNonNull(rules.get(i), "rules[" + i + "]");
      Integer before = seen.putIfAbsent(r.id(), i);
      if (before != null) {
        throw new IllegalArgumentException("policies[" + i + "]: id '" + r.id() + "' is already used by policies["
            + before + "] (expected: unique ids)");
      }
    }
    Map<LimitKey, RateLimiter> limiters = new HashMap<>();
    List<CompiledRule> compiled = new ArrayList<>(rules.size());
    for (PolicyRule r : rules) {
      compiled.add(CompiledRule.compile(r,
          key -> limiters.computeIfAbsent(key, k -> previous.getOrDefault(k, new RateLimiter(k.perMinute())))));
    }
    return new DefaultPolicyEngine(List.copyOf(rules), List.copyOf(compiled), Map.copyOf(limiters), clock);
  }

  @Override
  public Decision decide(Principal principal, Action action) {
    if (compiled.isEmpty()) {
      return NO_POLICIES;
    }
    return evaluate(principal, action, null);
  }

  @Override
  public Decision admit(Principal principal) {
    if (compiled.isEmpty()) {
      return NO_POLICIES;
    }
    Action session = new Action.Session();
    CelCondition.Vars vars = null;
    List<CompiledRule> limiting = null;
    for (CompiledRule r : compiled) {
      if (r.requests == null || !r.when.matches(principal)) {
        continue;
      }
      if (r.condition != null) {
        vars = vars == null ? new CelCondition.Vars(principal, session) : vars;
        if (r.condition.evaluate(vars, false).state() != State.TRUE) {
          continue;
        }
      }
      limiting = add(limiting, r);
    }
    Decision limited = takeLimits(principal, session, limiting);
    return limited != null ? limited : new Decision.Allow(limiting == null ? PolicyRule.NONE : limiting.get(0).id,
        "session admitted" + (limiting == null ? "" : " within the request limits of rule '" + limiting.get(0).id + "'"));
  }

  @Override
  public boolean visible(Principal principal, Action action) {
    if (compiled.isEmpty()) {
      return true;
    }
    CelCondition.Vars vars = null;
    boolean allowed = false;
    for (CompiledRule r : compiled) {
      if (!r.when.matches(principal)) {
        continue;
      }
      State s = State.TRUE;
      if (r.condition != null) {
        vars = vars == null ? new CelCondition.Vars(principal, action) : vars;
        s = r.condition.evaluate(vars, action instanceof Action.Tool).state();
      }
      if (s == State.FALSE) {
        continue;
      }
      // A condition that hinges on the arguments cannot hide a tool; the call decides.
      if (s != State.UNKNOWN && r.deny.matchDeny(action) != null) {
        return false;
      }
      if (s != State.ERROR && !allowed && r.allow.match(action) != null) {
        allowed = true;
      }
    }
    return allowed;
  }

  @Override
  public Explanation explain(Principal principal, Action action) {
    String who = principal.toString();
    String what = action.kind() + " '" + action.target() + "'";
    if (compiled.isEmpty()) {
      return new Explanation(who, what, NO_POLICIES, List.of());
    }
    Map<CompiledRule, Trace> traces = new IdentityHashMap<>();
    for (CompiledRule r : compiled) {
      traces.put(r, new Trace(r.id));
    }
    Decision d = evaluate(principal, action, traces);
    List<RuleCheck> checks = new ArrayList<>(compiled.size());
    for (CompiledRule r : compiled) {
      checks.add(traces.get(r).done());
    }
    return new Explanation(who, what, d, checks);
  }

  @Override
  public java.util.Optional<Budget> budget(Principal principal, Action action) {
    Budget tightest = null;
    CelCondition.Vars vars = null;
    for (CompiledRule r : compiled) {
      var limits = r.rule.limits();
      if (limits.budgetUsdPerDay().isEmpty() || !r.when.matches(principal)) {
        continue;
      }
      if (r.condition != null) {
        vars = vars == null ? new CelCondition.Vars(principal, action) : vars;
        if (r.condition.evaluate(vars, false).state() != State.TRUE) {
          continue;
        }
      }
      java.math.BigDecimal usd = limits.budgetUsdPerDay().get();
      if (tightest == null || usd.compareTo(tightest.usdPerDay()) < 0) {
        tightest = new Budget(r.id, usd, limits.budgetFallbackModel());
      }
    }
    return java.util.Optional.ofNullable(tightest);
  }

  @Override
  public List<ModelLimit> modelLimits(Principal principal, Action action) {
    List<ModelLimit> out = null;
    CelCondition.Vars vars = null;
    for (CompiledRule r : compiled) {
      var limits = r.rule.limits();
      if (limits.tokensPerMinute().isEmpty() && limits.budgetUsdPerDay().isEmpty() && limits.budgetUsdPerMonth().isEmpty()
          || !r.when.matches(principal)) {
        continue;
      }
      if (r.condition != null) {
        vars = vars == null ? new CelCondition.Vars(principal, action) : vars;
        if (r.condition.evaluate(vars, false).state() != State.TRUE) {
          continue;
        }
      }
      RateLimiter.Key owner = r.scope(principal);
      out = out == null ? new ArrayList<>(2) : out;
      out.add(new ModelLimit(r.id, owner.issuer(), owner.subject(), CompiledRule.describe(owner, describe(principal)),
          limits.tokensPerMinute(), limits.budgetUsdPerDay(), limits.budgetUsdPerMonth(), limits.budgetFallbackModel()));
    }
    return out == null ? List.of() : out;
  }

  @Override
  public boolean active() {
    return !compiled.isEmpty();
  }

  @Override
  public List<Coverage> covering(Action action) {
    List<Coverage> out = new ArrayList<>();
    for (CompiledRule r : compiled) {
      CompiledRule.Hit deny = r.deny.matchDeny(action);
      CompiledRule.Hit allow = deny == null ? r.allow.match(action) : null;
      if (deny != null || allow != null) {
        out.add(new Coverage(r.id, deny != null ? "deny" : "allow", (deny != null ? deny : allow).describe(action), who(r.rule)));
      }
    }
    return out;
  }

  private static String who(PolicyRule rule) {
    PolicyRule.Match m = rule.when();
    StringBuilder b = new StringBuilder();
    appendList(b, "issuers", m.issuers());
    appendList(b, "subjects", m.subjects());
    appendList(b, "tenants", m.tenants());
    appendList(b, "groups", m.groups());
    appendList(b, "roles", m.roles());
    appendList(b, "scopes", m.scopes());
    m.claims().forEach((claim, accepted) -> appendList(b, "claim " + claim, accepted));
    if (b.isEmpty()) {
      b.append("everyone");
    }
    rule.condition().ifPresent(c -> b.append("; if ").append(c));
    return b.toString();
  }

  private static void appendList(StringBuilder b, String name, List<String> values) {
    if (!values.isEmpty()) {
      b.append(b.isEmpty() ? "" : "; ").append(name).append(' ').append(values);
    }
  }

  @Override
  public List<PolicyRule> rules() {
    return rules;
  }

  @Override
  public PolicyEngine reconfigure(List<PolicyRule> rules) {
    return create(rules, clock, limiters);
  }

  /** Live buckets across all limits, for tests of eviction. */
  int bucketCount() {
    return limiters.values().stream().mapToInt(RateLimiter::size).sum();
  }

  /**
   * The one evaluation loop. With {@code traces} null it is {@link #decide}: it stops at the first
   * deny and takes tokens. With traces it is {@link #explain}: it consults every rule, records what
   * each said, and only peeks at the buckets.
   */
  private Decision evaluate(Principal p, Action a, Map<CompiledRule, Trace> traces) {
    return evaluate(p, a, traces, null);
  }

  /** The buckets a call needs from shared counters, and what a refusal of each means. */
  private static final class Needs {
    final List<RateCounters.Bucket> buckets = new ArrayList<>(2);
    final List<CompiledRule> rules = new ArrayList<>(2);
    final List<String> limits = new ArrayList<>(2);
  }

  @Override
  public java.util.concurrent.CompletableFuture<Decision> decide(Principal p, Action a, RateCounters counters) {
    if (compiled.isEmpty() || counters == null) {
      return java.util.concurrent.CompletableFuture.completedFuture(decide(p, a));
    }
    Needs needs = new Needs();
    Decision d = evaluate(p, a, null, needs);
    if (!(d instanceof Decision.Allow) || needs.buckets.isEmpty()) {
      return java.util.concurrent.CompletableFuture.completedFuture(d);
    }
    return counters.take(needs.buckets).thenApply(t -> {
      if (t.local()) {
        return decide(p, a);
      }
      if (t.unavailable().isPresent()) {
        return new Decision.Limited(needs.rules.get(0).id, "rate limits of rule '" + needs.rules.get(0).id + "' cannot be counted: "
            + t.unavailable().get(), Duration.ofSeconds(1));
      }
      return t.ok() ? d : limited(p, needs.rules.get(t.refused()), needs.limits.get(t.refused()), t.waitNanos());
    });
  }

  private static void need(Needs needs, Principal p, CompiledRule r, RateLimiter limiter, String what, String description) {
    RateLimiter.Key owner = r.scope(p);
    needs.buckets.add(new RateCounters.Bucket(r.id + "\u0000" + what + "\u0000" + limiter.perMinute(), owner.issuer(), owner.subject(),
        limiter.perMinute()));
    needs.rules.add(r);
    needs.limits.add(description);
  }

  private Decision evaluate(Principal p, Action a, Map<CompiledRule, Trace> traces, Needs needs) {
    boolean explain = traces != null;
    CelCondition.Vars vars = null;
    Decision decision = null;
    CompiledRule allowedBy = null;
    Hit allowHit = null;
    List<CompiledRule> constraining = null;
    List<CompiledRule> limiting = null;
    List<CompiledRule> grantNoModels = null;
    for (CompiledRule r : compiled) {
      Trace t = explain ? traces.get(r) : null;
      if (!r.when.matches(p)) {
        if (explain) {
          t.why = r.when.describeMismatch(p).orElse("when does not match");
        }
        continue;
      }
      Outcome c = Outcome.TRUE;
      if (r.condition != null) {
        vars = vars == null ? new CelCondition.Vars(p, a) : vars;
        c = r.condition.evaluate(vars, false);
      }
      if (c.state() == State.FALSE) {
        if (explain) {
          t.why = "condition false: " + r.condition.source();
        }
        continue;
      }
      boolean failed = c.state() != State.TRUE;
      if (explain) {
        t.applies = !failed;
        t.why = failed
            ? "condition error: " + c.error() + "; failing closed: its deny patterns and argument constraints count, its allow patterns do not"
            : (r.when.match().isAny() ? "applies to everyone" : "when matches") + (r.condition == null ? "" : "; condition true");
      }
      Hit denyHit = r.deny.matchDeny(a);
      if (denyHit != null) {
        if (decision == null) {
          decision = new Decision.Deny(r.id, "denied by rule '" + r.id + "': " + denyHit.describe(a)
              + (failed ? " (its condition could not be evaluated, so its deny patterns count)" : ""));
        }
        if (!explain) {
          return decision;
        }
        t.verdict = Verdict.DENIES;
        t.detail = denyHit.describe(a);
      }
      if (!r.arguments.isEmpty() && a instanceof Action.Tool) {
        constraining = add(constraining, r);
      }
      if (failed) {
        continue;
      }
      Hit hit = r.allow.match(a);
      if (hit == null && a instanceof Action.Model && r.allow.withoutModels()) {
        grantNoModels = add(grantNoModels, r);
      }
      if (hit != null) {
        if (allowedBy == null) {
          allowedBy = r;
          allowHit = hit;
        }
        if (r.limited()) {
          limiting = add(limiting, r);
        }
      } else if (r.allow.isEmpty() && r.limited()) {
        limiting = add(limiting, r);
      }
      if (explain && t.verdict != Verdict.DENIES) {
        t.verdict = hit != null ? Verdict.ALLOWS : Verdict.SILENT;
        t.detail = hit != null ? hit.describe(a) : silence(r, a);
      }
    }
    if (decision == null && allowedBy == null) {
      decision = new Decision.Deny(PolicyRule.DEFAULT_DENY,
          "no policy allows " + a.kind() + " '" + a.target() + "' for " + describe(p) + "; default deny" + modelHint(grantNoModels));
      if (!explain) {
        return decision;
      }
    }
    if (constraining != null) {
      JsonNode args = ((Action.Tool) a).arguments();
      for (CompiledRule r : constraining) {
        for (ArgumentCheck check : r.checksFor(a)) {
          String violation = check.violation(args);
          if (violation != null && decision == null) {
            decision = new Decision.Deny(r.id, violation + " (rule '" + r.id + "')", Optional.of(check.path()));
            if (!explain) {
              return decision;
            }
          }
          if (explain) {
            traces.get(r).constraints.add(violation == null
                ? "argument '" + check.path() + "' ok (" + check.summary() + ")"
                : violation + " (" + check.summary() + ")");
          }
        }
      }
    }
    Decision limited = explain ? peekLimits(p, a, limiting, traces) : needs != null ? needLimits(p, a, limiting, needs) : takeLimits(p, a, limiting);
    if (decision == null) {
      decision = limited;
    }
    if (decision == null) {
      decision = new Decision.Allow(allowedBy.id, "allowed by rule '" + allowedBy.id + "': " + allowHit.describe(a));
    }
    return decision;
  }

  private static Decision needLimits(Principal p, Action a, List<CompiledRule> limiting, Needs needs) {
    if (limiting == null) {
      return null;
    }
    for (CompiledRule r : limiting) {
      if (r.requests != null) {
        need(needs, p, r, r.requests, "requests", r.requests.perMinute() + " requests per minute");
      }
      for (ToolLimit tl : r.toolLimits) {
        if (a instanceof Action.Tool tool && tl.tools().matches(tool.name())) {
          need(needs, p, r, tl.limiter(), "tools:" + tl.tools().source(),
              tl.limiter().perMinute() + " calls per minute to tools '" + tl.tools().source() + "'");
        }
      }
    }
    return null;
  }

  private Decision takeLimits(Principal p, Action a, List<CompiledRule> limiting) {
    if (limiting == null) {
      return null;
    }
    long now = now();
    List<RateLimiter> taken = new ArrayList<>(2);
    List<RateLimiter.Key> takenFrom = new ArrayList<>(2);
    long worst = 0;
    CompiledRule worstRule = null;
    String worstLimit = null;
    for (CompiledRule r : limiting) {
      RateLimiter.Key key = r.scope(p);
      if (r.requests != null) {
        long wait = r.requests.tryAcquire(key, now);
        if (wait == 0) {
          taken.add(r.requests);
          takenFrom.add(key);
        } else if (wait > worst) {
          worst = wait;
          worstRule = r;
          worstLimit = r.requests.perMinute() + " requests per minute";
        }
      }
      for (ToolLimit tl : r.toolLimits) {
        if (a instanceof Action.Tool tool && tl.tools().matches(tool.name())) {
          long wait = tl.limiter().tryAcquire(key, now);
          if (wait == 0) {
            taken.add(tl.limiter());
            takenFrom.add(key);
          } else if (wait > worst) {
            worst = wait;
            worstRule = r;
            worstLimit = tl.limiter().perMinute() + " calls per minute to tools '" + tl.tools().source() + "'";
          }
        }
      }
    }
    if (worstRule == null) {
      return null;
    }
    // All or nothing: a refused request must not use up the limits that had room.
    for (int i = 0; i < taken.size(); i++) {
      taken.get(i).refund(takenFrom.get(i), now);
    }
    return limited(p, worstRule, worstLimit, worst);
  }

  private Decision peekLimits(Principal p, Action a, List<CompiledRule> limiting, Map<CompiledRule, Trace> traces) {
    long now = now();
    long worst = 0;
    CompiledRule worstRule = null;
    String worstLimit = null;
    for (CompiledRule r : compiled) {
      Trace t = traces.get(r);
      if (!r.limited() || !t.applies) {
        continue;
      }
      RateLimiter.Key key = r.scope(p);
      if (limiting == null || !limiting.contains(r)) {
        t.limits.add("not counted: the rule does not allow this action");
        continue;
      }
      if (r.requests != null) {
        long wait = peek(r.requests, key, now, "requests_per_minute " + r.requests.perMinute(), t);
        if (wait > worst) {
          worst = wait;
          worstRule = r;
          worstLimit = r.requests.perMinute() + " requests per minute";
        }
      }
      for (ToolLimit tl : r.toolLimits) {
        if (a instanceof Action.Tool tool && tl.tools().matches(tool.name())) {
          String name = "tools_per_minute '" + tl.tools().source() + "' " + tl.limiter().perMinute();
          long wait = peek(tl.limiter(), key, now, name, t);
          if (wait > worst) {
            worst = wait;
            worstRule = r;
            worstLimit = tl.limiter().perMinute() + " calls per minute to tools '" + tl.tools().source() + "'";
          }
        }
      }
    }
    return worstRule == null ? null : limited(p, worstRule, worstLimit, worst);
  }

  private static long peek(RateLimiter limiter, RateLimiter.Key key, long now, String name, Trace t) {
    double available = limiter.available(key, now);
    long wait = limiter.nanosUntilOne(available);
    t.limits.add(wait == 0
        ? name + ": " + (long) Math.floor(available) + " of " + limiter.perMinute() + " left for " + CompiledRule.describe(key, "this principal")
        : name + ": none left for " + CompiledRule.describe(key, "this principal") + "; next in " + seconds(wait));
    return wait;
  }

  private static Decision limited(Principal p, CompiledRule r, String limit, long waitNanos) {
    Duration retryAfter = Duration.ofMillis(Math.max(1, (waitNanos + 999_999) / 1_000_000));
    return new Decision.Limited(r.id, "rate limit of rule '" + r.id + "' reached for " + CompiledRule.describe(r.scope(p), describe(p))
        + ": " + limit
        + "; retry after " + seconds(waitNanos), retryAfter);
  }

  /** Why a server grant did not let a model through: models are granted only by {@code allow.models}. */
  private static String modelHint(List<CompiledRule> grantNoModels) {
    if (grantNoModels == null) {
      return "";
    }
    List<String> ids = grantNoModels.stream().map(r -> "'" + r.id + "'").toList();
    return " (rule" + (ids.size() == 1 ? " " : "s ") + String.join(", ", ids) + (ids.size() == 1 ? " applies" : " apply")
        + " to you but grant" + (ids.size() == 1 ? "s" : "") + " no models: servers, tools, resources and prompts grants"
        + " do not cover models; add allow.models, e.g. models: [\"openai/*\"])";
  }

  private static String seconds(long nanos) {
    return ((nanos + 999_999_999L) / 1_000_000_000L) + " s";
  }

  private static String silence(CompiledRule r, Action a) {
    if (r.allow.isEmpty() && r.deny.isEmpty()) {
      return "allows and denies nothing itself";
    }
    return "no allow or deny pattern covers " + a.kind() + " '" + a.target() + "'";
  }

  private static String describe(Principal p) {
    return "user '" + p.subject() + "'" + (p.groups().isEmpty() ? "" : " (groups: " + CompiledRule.sorted(p.groups()) + ")");
  }

  private long now() {
    if (clock == null) {
      return System.nanoTime();
    }
    Instant i = clock.instant();
    return i.getEpochSecond() * 1_000_000_000L + i.getNano();
  }

  private static List<CompiledRule> add(List<CompiledRule> list, CompiledRule r) {
    List<CompiledRule> l = list == null ? new ArrayList<>(2) : list;
    l.add(r);
    return l;
  }

  /** What explain() learns about one rule while the loop runs. */
  private static final class Trace {
    final String ruleId;
    boolean applies;
    String why = "";
    Verdict verdict = Verdict.NOT_APPLICABLE;
    String detail = "";
    final List<String> constraints = new ArrayList<>();
    final List<String> limits = new ArrayList<>();

    Trace(String ruleId) {
      this.ruleId = ruleId;
    }

    RuleCheck done() {
      return new RuleCheck(ruleId, applies, why, verdict, detail, constraints, limits);
    }
  }
}
