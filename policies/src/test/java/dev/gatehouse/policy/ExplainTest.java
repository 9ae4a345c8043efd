package dev.gatehouse.policy;

import static dev.gatehouse.policy.Fixtures.call;
import static dev.gatehouse.policy.Fixtures.engine;
import static dev.gatehouse.policy.Fixtures.tool;
import static dev.gatehouse.policy.Fixtures.user;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatehouse.identity.Principal;
import dev.gatehouse.policy.Explanation.RuleCheck;
import dev.gatehouse.policy.Explanation.Verdict;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ExplainTest {

  private static final PolicyEngine ENGINE = engine("""
      - id: finance
        when: { groups: [finance] }
        allow: { tools: ["ledger__*"] }
      - id: engineering-files
        when: { groups: [engineering] }
        allow: { tools: ["files__read_*", "files__list_*"] }
        deny:  { tools: ["files__write_*"] }
        arguments:
          "files__read_*": { path: { prefix: /data/ } }
        limits: { requests_per_minute: 120 }
      - id: no-secrets
        deny: { resources: ["*.key"] }
      """);

  private static final Principal ALICE = user("alice", "engineering");

  @Test
  void listsEveryRuleInOrderWithWhatItSaid() {
    Explanation e = ENGINE.explain(ALICE, call("files__read_file", "{\"path\": \"/data/a.txt\"}"));
    assertEquals(List.of("finance", "engineering-files", "no-secrets"), e.rules().stream().map(RuleCheck::ruleId).toList());

    RuleCheck finance = e.rules().get(0);
    assertFalse(finance.applies());
    assertEquals(Verdict.NOT_APPLICABLE, finance.verdict());
    assertEquals("when.groups: [engineering] matches none of [finance]", finance.why());

    RuleCheck eng = e.rules().get(1);
    assertTrue(eng.applies());
    assertEquals("when matches", eng.why());
    assertEquals(Verdict.ALLOWS, eng.verdict());
    assertEquals("tool 'files__read_file' matches allow pattern 'files__read_*'", eng.detail());
    assertEquals(List.of("argument 'path' ok (prefix '/data/')"), eng.constraints());
    assertEquals(List.of("requests_per_minute 120: 120 of 120 left for this principal"), eng.limits());

    RuleCheck secrets = e.rules().get(2);
    assertTrue(secrets.applies());
    assertEquals("applies to everyone", secrets.why());
    assertEquals(Verdict.SILENT, secrets.verdict());
    assertEquals("no allow or deny pattern covers tool 'files__read_file'", secrets.detail());

    assertEquals(ENGINE.decide(ALICE, call("files__read_file", "{\"path\": \"/data/a.txt\"}")), e.decision());
    assertEquals("engineering-files", e.decision().ruleId());
  }

  @Test
  void showsTheDenyingPatternAndStillConsultsLaterRules() {
    Explanation e = ENGINE.explain(ALICE, tool("files__write_file"));
    assertEquals("denied by rule 'engineering-files': tool 'files__write_file' matches deny pattern 'files__write_*'",
        e.decision().reason());
    assertEquals(Verdict.DENIES, e.rules().get(1).verdict());
    assertEquals(3, e.rules().size());
    assertEquals(Verdict.SILENT, e.rules().get(2).verdict());
  }

  @Test
  void showsConstraintViolationsAndTheResultingDeny() {
    Explanation e = ENGINE.explain(ALICE, call("files__read_file", "{\"path\": \"/etc/passwd\"}"));
    assertEquals("argument 'path' = '/etc/passwd' does not start with '/data/' (rule 'engineering-files')", e.decision().reason());
    assertEquals(List.of("argument 'path' = '/etc/passwd' does not start with '/data/' (prefix '/data/')"),
        e.rules().get(1).constraints());
  }

  @Test
  void explainsDefaultDeny() {
    Explanation e = ENGINE.explain(user("bob", "finance"), tool("files__read_file"));
    assertEquals("default-deny", e.decision().ruleId());
    assertEquals(Verdict.SILENT, e.rules().get(0).verdict());
    assertEquals("no allow or deny pattern covers tool 'files__read_file'", e.rules().get(0).detail());
    String text = e.text();
    assertTrue(text.startsWith("jwt:bob@" + Fixtures.ISSUER + " groups=[finance] -> tool 'files__read_file'\n"
        + "DENY (rule 'default-deny'): no policy allows tool 'files__read_file' for user 'bob' (groups: [finance]); default deny\n"
        + "1. finance: SILENT - when matches; no allow or deny pattern covers tool 'files__read_file'\n"), text);
    assertTrue(text.contains("2. engineering-files: NOT_APPLICABLE - when.groups: [finance] matches none of [engineering]\n"), text);
  }

  @Test
  void coveringNamesTheRulesWhosePatternsCoverAToolWhoeverAsks() {
    assertEquals(List.of(new PolicyEngine.Coverage("finance", "allow", "tool 'ledger__post' matches allow pattern 'ledger__*'",
        "groups [finance]")), ENGINE.covering(tool("ledger__post")));
    assertEquals(List.of(new PolicyEngine.Coverage("engineering-files", "deny",
        "tool 'files__write_file' matches deny pattern 'files__write_*'", "groups [engineering]")), ENGINE.covering(tool("files__write_file")));
    assertEquals(List.of(), ENGINE.covering(tool("weather__forecast")), "no rule covers it: default deny");
  }
}
