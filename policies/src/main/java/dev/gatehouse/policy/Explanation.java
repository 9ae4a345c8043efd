package dev.gatehouse.policy;

import java.util.List;

/**
 * What {@link PolicyEngine#explain} found: the decision {@link PolicyEngine#decide} would make right
 * now (without taking a rate-limit token), and every rule in config order with what it said.
 *
 * @param principal the principal, as {@code Principal.toString()} describes it
 * @param action the action, e.g. {@code tool 'files__read_file'}
 * @param decision the decision
 * @param rules every configured rule, in the order they are consulted
 */
public record Explanation(String principal, String action, Decision decision, List<RuleCheck> rules) {

  public Explanation {
    rules = List.copyOf(rules);
  }

  /** What one rule said about the action. */
  public enum Verdict {
    /** The rule applies and an allow pattern covers the action. */
    ALLOWS,
    /** A deny pattern of the rule covers the action. */
    DENIES,
    /** The rule applies but none of its patterns covers the action (it may still constrain or limit it). */
    SILENT,
    /** The rule does not apply to this principal and action. */
    NOT_APPLICABLE
  }

  /**
   * One rule's part in a decision.
   *
   * @param ruleId the rule
   * @param applies whether {@code when} matched and the condition was true
   * @param why why it applies or not: the failing matcher ({@code when.groups: [finance] matches none
   *     of [engineering]}), {@code condition false}, or the condition's error
   * @param verdict what it said about the action
   * @param detail the pattern involved ({@code tool 'x' matches deny pattern 'x*'}), or why it is silent
   * @param constraints its argument checks for this call and their results
   * @param limits its rate limits for this principal and their state
   */
  public record RuleCheck(String ruleId, boolean applies, String why, Verdict verdict, String detail,
      List<String> constraints, List<String> limits) {
    public RuleCheck {
      constraints = List.copyOf(constraints);
      limits = List.copyOf(limits);
    }
  }

  /** A multi-line rendering for people: the decision, then one block per rule. */
  public String text() {
    StringBuilder b = new StringBuilder();
    b.append(principal).append(" -> ").append(action).append('\n');
    b.append(switch (decision) {
      case Decision.Allow a -> "ALLOW";
      case Decision.Deny d -> "DENY";
      case Decision.Limited l -> "LIMITED";
    }).append(" (rule '").append(decision.ruleId()).append("'): ").append(decision.reason()).append('\n');
    for (int i = 0; i < rules.size(); i++) {
      RuleCheck r = rules.get(i);
      b.append(i + 1).append(". ").append(r.ruleId()).append(": ").append(r.verdict()).append(" - ").append(r.why());
      if (!r.detail().isEmpty()) {
        b.append("; ").append(r.detail());
      }
      b.append('\n');
      for (String c : r.constraints()) {
        b.append("   argument check: ").append(c).append('\n');
      }
      for (String l : r.limits()) {
        b.append("   limit: ").append(l).append('\n');
      }
    }
    return b.toString();
  }
}
