package dev.gatehouse.policy;

import static dev.gatehouse.policy.Fixtures.call;
import static dev.gatehouse.policy.Fixtures.engine;
import static dev.gatehouse.policy.Fixtures.rules;
import static dev.gatehouse.policy.Fixtures.tenantUser;
import static dev.gatehouse.policy.Fixtures.tool;
import static dev.gatehouse.policy.Fixtures.user;
import static dev.gatehouse.policy.Fixtures.withClaims;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatehouse.identity.Principal;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 20, unit = TimeUnit.SECONDS)
class CelConditionTest {

  @Test
  void trueConditionLetsTheRuleApply() {
    PolicyEngine engine = engine("""
        - id: acme-only
          condition: principal.tenant == "acme" && "engineering" in principal.groups
          allow: { tools: ["files__*"] }
        """);
    assertTrue(engine.decide(tenantUser("a", "acme", "engineering"), tool("files__read_file")).allowed());
  }

  @Test
  void falseConditionMeansTheRuleDoesNotApply() {
    PolicyEngine engine = engine("""
        - id: acme-only
          condition: principal.tenant == "acme"
          allow: { tools: ["files__*"] }
        """);
    Principal globex = tenantUser("b", "globex");
    assertEquals("default-deny", engine.decide(globex, tool("files__read_file")).ruleId());
    // no tenant is "", not an error
    assertEquals("default-deny", engine.decide(user("c"), tool("files__read_file")).ruleId());
    Explanation.RuleCheck check = engine.explain(globex, tool("files__read_file")).rules().get(0);
    assertFalse(check.applies());
    assertEquals("condition false: principal.tenant == \"acme\"", check.why());
  }

  @Test
  void conditionSeesArgumentsToolServerKindAndClaims() {
    PolicyEngine engine = engine("""
        - id: small-reads
          condition: >-
            kind == "tool" && server == "files" && tool.startsWith("files__read")
            && args.path.endsWith(".txt") && claims.level >= 2
          allow: { servers: [files] }
        """);
    Principal p = withClaims("d", Map.of("level", 3));
    assertTrue(engine.decide(p, call("files__read_file", "{\"path\": \"/data/a.txt\"}")).allowed());
    assertFalse(engine.decide(p, call("files__read_file", "{\"path\": \"/data/a.csv\"}")).allowed());
    assertFalse(engine.decide(withClaims("e", Map.of("level", 1)), call("files__read_file", "{\"path\": \"/data/a.txt\"}")).allowed());
  }

  @Test
  void evaluationErrorFailsClosedForAllows() {
    PolicyEngine engine = engine("""
        - id: needs-path
          condition: args.path.startsWith("/data/")
          allow: { tools: ["files__*"] }
        """);
    Decision d = engine.decide(user("a"), call("files__read_file", "{}"));
    assertEquals("default-deny", d.ruleId());
    Explanation.RuleCheck check = engine.explain(user("a"), call("files__read_file", "{}")).rules().get(0);
    assertFalse(check.applies());
    assertTrue(check.why().startsWith("condition error: "), check.why());
    assertTrue(check.why().contains("failing closed"), check.why());
  }

  @Test
  void evaluationErrorStillLetsTheRuleDeny() {
    PolicyEngine engine = engine("""
        - id: all-files
          allow: { servers: [files] }
        - id: no-deletes-unless-admin
          condition: claims.role != "admin"
          deny: { tools: ["files__delete_*"] }
        """);
    // no 'role' claim: the condition errors, and a deny rule that cannot be evaluated still denies
    Decision.Deny d = assertInstanceOf(Decision.Deny.class, engine.decide(user("a"), tool("files__delete_file")));
    assertEquals("no-deletes-unless-admin", d.ruleId());
    assertTrue(d.reason().contains("could not be evaluated"), d.reason());
    assertTrue(engine.decide(withClaims("b", Map.of("role", "admin")), tool("files__delete_file")).allowed());
  }

  @Test
  void nonBooleanResultIsAnErrorNotATruth() {
    PolicyEngine engine = engine("""
        - id: weird
          condition: claims.flag
          allow: { tools: ["*"] }
        """);
    assertFalse(engine.decide(withClaims("a", Map.of("flag", "yes")), tool("x__y")).allowed());
    assertTrue(engine.decide(withClaims("a", Map.of("flag", true)), tool("x__y")).allowed());
  }

  @Test
  void visibleTreatsArgumentsAsUnknown() {
    PolicyEngine engine = engine("""
        - id: reads-in-data
          condition: args.path.startsWith("/data/")
          allow: { tools: ["files__read_*"] }
        - id: no-secrets
          condition: args.path.contains("secret")
          deny: { tools: ["files__*"] }
        - id: acme-admin
          condition: principal.tenant == "acme" && args.force == true
          allow: { tools: ["admin__*"] }
        """);
    Principal p = user("a");
    // both conditions depend on arguments: the allow shows the tool, the deny waits for the call
    assertTrue(engine.visible(p, tool("files__read_file")));
    assertFalse(engine.decide(p, call("files__read_file", "{\"path\": \"/data/secret.txt\"}")).allowed());
    assertTrue(engine.decide(p, call("files__read_file", "{\"path\": \"/data/notes.txt\"}")).allowed());
    // decided by the principal alone, arguments or not
    assertFalse(engine.visible(p, tool("admin__reset")));
    assertTrue(engine.visible(tenantUser("b", "acme"), tool("admin__reset")));
  }

  @Test
  void standardMacrosAreAvailable() {
    PolicyEngine engine = engine("""
        - id: macros
          condition: >-
            principal.groups.exists(g, g.startsWith("eng")) && has(args.path)
            && args.tags.all(t, t in ["a", "b"]) && args.tags.filter(t, t == "a").size() == 1
          allow: { tools: ["*"] }
        """);
    assertTrue(engine.decide(user("a", "engineering"), call("x__y", "{\"path\": \"p\", \"tags\": [\"a\", \"b\"]}")).allowed());
    assertFalse(engine.decide(user("a", "engineering"), call("x__y", "{\"tags\": [\"a\"]}")).allowed());
  }

  @Test
  void compileErrorNamesTheRuleAndQuotesCel() {
    List<PolicyRule> bad = rules("""
        - id: broken
          condition: "principal.groups.exists(g, g == "
          allow: { tools: ["*"] }
        """);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PolicyEngine.create(bad));
    assertTrue(e.getMessage().startsWith("policy 'broken': condition: CEL error: "), e.getMessage());
  }

  @Test
  void undeclaredVariableAndNonBooleanTypeAreCompileErrors() {
    IllegalArgumentException undeclared = assertThrows(IllegalArgumentException.class, () -> PolicyEngine.create(rules("""
        - id: typo
          condition: princpal.subject == "x"
          allow: { tools: ["*"] }
        """)));
    assertTrue(undeclared.getMessage().contains("policy 'typo'"), undeclared.getMessage());
    assertTrue(undeclared.getMessage().contains("undeclared reference to 'princpal'"), undeclared.getMessage());

    IllegalArgumentException notBool = assertThrows(IllegalArgumentException.class, () -> PolicyEngine.create(rules("""
        - id: number
          condition: 1 + 2
          allow: { tools: ["*"] }
        """)));
    assertTrue(notBool.getMessage().startsWith("policy 'number': condition: CEL error"), notBool.getMessage());
  }
}
