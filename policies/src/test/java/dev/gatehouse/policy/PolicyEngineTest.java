package dev.gatehouse.policy;

import static dev.gatehouse.policy.Fixtures.engine;
import static dev.gatehouse.policy.Fixtures.tool;
import static dev.gatehouse.policy.Fixtures.user;
import static dev.gatehouse.policy.Fixtures.withClaims;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatehouse.identity.Principal;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class PolicyEngineTest {

  private static final String TEAMS = """
      - id: engineering-files
        when: { groups: [engineering] }
        allow: { tools: ["files__read_*", "files__list_*"], models: ["openai/*"] }
        deny:  { tools: ["files__write_*"] }
      - id: finance-ledger
        when: { groups: [finance] }
        allow: { tools: ["ledger__*"] }
      """;

  private static final List<String> CATALOG = List.of(
      "files__read_file", "files__list_directory", "files__write_file", "ledger__query", "ledger__post_entry");

  @Test
  void principalsInDifferentGroupsSeeDifferentToolsFromTheSameList() {
    PolicyEngine engine = engine(TEAMS);
    Principal alice = user("alice", "engineering");
    Principal bob = user("bob", "finance");

    assertEquals(List.of("files__read_file", "files__list_directory"), visibleTo(engine, alice));
    assertEquals(List.of("ledger__query", "ledger__post_entry"), visibleTo(engine, bob));
  }

  @Test
  void eachPrincipalIsRefusedTheOthersToolsNamingTheRule() {
    PolicyEngine engine = engine(TEAMS);

    Decision aliceOnLedger = engine.decide(user("alice", "engineering"), tool("ledger__query"));
    Decision.Deny d1 = assertInstanceOf(Decision.Deny.class, aliceOnLedger);
    assertEquals("default-deny", d1.ruleId());
    assertEquals("no policy allows tool 'ledger__query' for user 'alice' (groups: [engineering]); default deny", d1.reason());

    Decision.Deny d2 = assertInstanceOf(Decision.Deny.class, engine.decide(user("bob", "finance"), tool("files__read_file")));
    assertEquals("no policy allows tool 'files__read_file' for user 'bob' (groups: [finance]); default deny", d2.reason());

    Decision.Allow ok = assertInstanceOf(Decision.Allow.class, engine.decide(user("bob", "finance"), tool("ledger__post_entry")));
    assertEquals("finance-ledger", ok.ruleId());
    assertEquals("allowed by rule 'finance-ledger': tool 'ledger__post_entry' matches allow pattern 'ledger__*'", ok.reason());
  }

  @Test
  void denyInTheSameRuleOverridesAllow() {
    PolicyEngine engine = engine("""
        - id: everything-but-writes
          allow: { servers: [files] }
          deny:  { tools: ["files__write_*"] }
        """);
    Decision.Deny d = assertInstanceOf(Decision.Deny.class, engine.decide(user("alice"), tool("files__write_file")));
    assertEquals("everything-but-writes", d.ruleId());
    assertEquals("denied by rule 'everything-but-writes': tool 'files__write_file' matches deny pattern 'files__write_*'", d.reason());
    assertTrue(d.argument().isEmpty());
  }

  @Test
  void denyInALaterRuleOverridesAllowInAnEarlierOne() {
    PolicyEngine engine = engine("""
        - id: engineering
          when: { groups: [engineering] }
          allow: { tools: ["files__*"] }
        - id: no-writes
          deny: { tools: ["files__write_*"] }
        """);
    Principal alice = user("alice", "engineering");
    Decision.Deny d = assertInstanceOf(Decision.Deny.class, engine.decide(alice, tool("files__write_file")));
    assertEquals("no-writes", d.ruleId());
    assertEquals("denied by rule 'no-writes': tool 'files__write_file' matches deny pattern 'files__write_*'", d.reason());
    assertFalse(engine.visible(alice, tool("files__write_file")));
    assertTrue(engine.decide(alice, tool("files__read_file")).allowed());
  }

  @Test
  void withAtLeastOneRuleWhatIsNotAllowedIsDenied() {
    PolicyEngine engine = engine("""
        - id: only-reads
          allow: { tools: ["files__read_*"] }
        """);
    assertTrue(engine.active());
    assertEquals("default-deny", engine.decide(user("alice"), tool("github__create_issue")).ruleId());
    assertFalse(engine.visible(user("alice"), tool("github__create_issue")));
    assertEquals("default-deny", engine.decide(user("alice"), new Action.Model("openai/gpt-4o")).ruleId());
  }

  @Test
  void withNoRulesEverythingIsAllowed() {
    PolicyEngine engine = PolicyEngine.create(List.of());
    assertFalse(engine.active());
    Decision.Allow a = assertInstanceOf(Decision.Allow.class, engine.decide(user("alice"), tool("files__write_file")));
    assertEquals("none", a.ruleId());
    assertEquals("no policies configured", a.reason());
    assertTrue(engine.visible(user("alice"), new Action.Model("anthropic/claude")));
    assertEquals("none", engine.explain(user("alice"), tool("files__write_file")).decision().ruleId());
  }

  @Test
  void claimPathMatcherReadsNestedArrayClaims() {
    PolicyEngine engine = engine("""
        - id: realm-admins
          when: { claims: { realm_access.roles: [admin, "ops-*"] } }
          allow: { servers: [admin] }
        """);
    Principal admin = withClaims("carol", Map.of("realm_access", Map.of("roles", List.of("user", "ops-oncall"))));
    Principal plain = withClaims("dave", Map.of("realm_access", Map.of("roles", List.of("user"))));
    Principal none = withClaims("erin", Map.of());

    assertTrue(engine.decide(admin, tool("admin__restart")).allowed());
    assertFalse(engine.decide(plain, tool("admin__restart")).allowed());
    assertFalse(engine.decide(none, tool("admin__restart")).allowed());
    assertEquals("when.claims.realm_access.roles: [user] matches none of [admin, ops-*]",
        engine.explain(plain, tool("admin__restart")).rules().get(0).why());
    assertEquals("when.claims.realm_access.roles: claim absent (expected one of [admin, ops-*])",
        engine.explain(none, tool("admin__restart")).rules().get(0).why());
  }

  @Test
  void stringAndNumericClaimsMatchTheirText() {
    PolicyEngine engine = engine("""
        - id: verified-level-2
          when: { claims: { email_verified: ["true"], acr: ["2"], email: ["*@acme.example"] } }
          allow: { tools: ["*"] }
        """);
    Principal ok = withClaims("f", Map.of("email_verified", true, "acr", 2, "email", "f@acme.example"));
    Principal other = withClaims("g", Map.of("email_verified", true, "acr", 2, "email", "g@evil.example"));
    assertTrue(engine.decide(ok, tool("x__y")).allowed());
    assertFalse(engine.decide(other, tool("x__y")).allowed());
  }

  @Test
  void principalMatchersCombineAcrossFieldsAndAnyOfWithin() {
    PolicyEngine engine = engine("""
        - id: acme-engineering-writers
          when:
            issuers: ["https://idp.example.com/*"]
            tenants: [acme, "acme-*"]
            groups: [engineering, platform]
            scopes: ["files:write"]
          allow: { tools: ["files__write_*"] }
        """);
    Principal ok = new Principal("h", Fixtures.ISSUER, Optional.of("acme-eu"), Set.of("platform"), Set.of(),
        Set.of("files:write", "openid"), Map.of(), Principal.Kind.JWT, Optional.empty());
    Principal noScope = new Principal("i", Fixtures.ISSUER, Optional.of("acme"), Set.of("platform"), Set.of(),
        Set.of("openid"), Map.of(), Principal.Kind.JWT, Optional.empty());
    Principal noTenant = new Principal("j", Fixtures.ISSUER, Optional.empty(), Set.of("platform"), Set.of(),
        Set.of("files:write"), Map.of(), Principal.Kind.JWT, Optional.empty());

    assertTrue(engine.decide(ok, tool("files__write_file")).allowed());
    assertFalse(engine.decide(noScope, tool("files__write_file")).allowed());
    assertEquals("when.scopes: [openid] matches none of [files:write]",
        engine.explain(noScope, tool("files__write_file")).rules().get(0).why());
    assertEquals("when.tenants: no tenant (expected one of [acme, acme-*])",
        engine.explain(noTenant, tool("files__write_file")).rules().get(0).why());
  }

  @Test
  void serverPatternAllowsEveryToolResourceAndPromptOfThatServer() {
    PolicyEngine engine = engine("""
        - id: files-server
          allow: { servers: [files] }
        """);
    Principal p = user("alice");
    Decision.Allow a = assertInstanceOf(Decision.Allow.class, engine.decide(p, tool("files__anything")));
    assertEquals("allowed by rule 'files-server': tool 'files__anything' is on server 'files', which matches allow servers pattern 'files'",
        a.reason());
    assertTrue(engine.decide(p, new Action.Resource("files", "files+file:///data/a.txt")).allowed());
    assertTrue(engine.decide(p, new Action.Prompt("files", "files__summarise")).allowed());
    assertFalse(engine.decide(p, tool("github__create_issue")).allowed());
    // models have no server
    assertFalse(engine.decide(p, new Action.Model("files/x")).allowed());
  }

  @Test
  void serverPatternInDenyDeniesEverythingOfThatServer() {
    PolicyEngine engine = engine("""
        - id: all
          allow: { tools: ["*"], resources: ["*"] }
        - id: not-github
          deny: { servers: ["git*"] }
        """);
    Decision.Deny d = assertInstanceOf(Decision.Deny.class, engine.decide(user("a"), tool("github__list_repos")));
    assertEquals("not-github", d.ruleId());
    assertFalse(engine.decide(user("a"), new Action.Resource("gitlab", "gitlab+repo://x")).allowed());
    assertTrue(engine.decide(user("a"), tool("files__read_file")).allowed());
  }

  @Test
  void resourcesAreMatchedByFederatedUriGlobs() {
    PolicyEngine engine = engine("""
        - id: public-docs
          allow: { resources: ["files+file:///data/public/*"] }
          deny:  { resources: ["*.key"] }
        """);
    Principal p = user("alice");
    assertTrue(engine.decide(p, new Action.Resource("files", "files+file:///data/public/readme.md")).allowed());
    assertFalse(engine.decide(p, new Action.Resource("files", "files+file:///data/private/readme.md")).allowed());
    Decision.Deny d = assertInstanceOf(Decision.Deny.class,
        engine.decide(p, new Action.Resource("files", "files+file:///data/public/server.key")));
    assertEquals("denied by rule 'public-docs': resource 'files+file:///data/public/server.key' matches deny pattern '*.key'", d.reason());
    // tools are not resources
    assertFalse(engine.decide(p, tool("files__read_file")).allowed());
  }

  @Test
  void promptsAreMatchedByFederatedName() {
    PolicyEngine engine = engine("""
        - id: prompts
          allow: { prompts: ["docs__*"] }
          deny:  { prompts: ["docs__internal_?"] }
        """);
    Principal p = user("alice");
    assertTrue(engine.decide(p, new Action.Prompt("docs", "docs__summarise")).allowed());
    assertFalse(engine.decide(p, new Action.Prompt("docs", "docs__internal_1")).allowed());
    assertTrue(engine.decide(p, new Action.Prompt("docs", "docs__internal_10")).allowed());
    // a prompt pattern does not allow a tool of the same name
    assertFalse(engine.decide(p, tool("docs__summarise")).allowed());
  }

  @Test
  void modelsAreMatchedAsProviderSlashModel() {
    PolicyEngine engine = engine(TEAMS);
    Principal alice = user("alice", "engineering");
    Decision.Allow a = assertInstanceOf(Decision.Allow.class, engine.decide(alice, new Action.Model("openai/gpt-4o-mini")));
    assertEquals("allowed by rule 'engineering-files': model 'openai/gpt-4o-mini' matches allow pattern 'openai/*'", a.reason());
    assertFalse(engine.decide(alice, new Action.Model("anthropic/claude-sonnet")).allowed());
    assertTrue(engine.visible(alice, new Action.Model("openai/o3")));
    assertFalse(engine.visible(user("bob", "finance"), new Action.Model("openai/o3")));
  }

  @Test
  void aModelDenialNamesTheServerGrantThatDoesNotCoverModels() {
    PolicyEngine engine = engine("""
        - id: everything
          when: { groups: [finance] }
          allow: { servers: ["*"] }
        """);
    Decision.Deny d = assertInstanceOf(Decision.Deny.class, engine.decide(user("bob", "finance"), new Action.Model("openai/gpt-4o")));
    assertEquals("default-deny", d.ruleId());
    assertTrue(d.reason().contains("rule 'everything' applies to you but grants no models"), d.reason());
    assertTrue(d.reason().contains("add allow.models"), d.reason());
    // A tool denial carries no such hint.
    assertFalse(assertInstanceOf(Decision.Deny.class, engine.decide(user("eve", "other"), tool("files__x"))).reason().contains("models"));
  }

  @Test
  void allowNamesTheFirstAllowingRuleInConfigOrder() {
    PolicyEngine engine = engine("""
        - id: first
          allow: { tools: ["files__read_file"] }
        - id: second
          allow: { servers: [files] }
        """);
    assertEquals("first", engine.decide(user("a"), tool("files__read_file")).ruleId());
    assertEquals("second", engine.decide(user("a"), tool("files__list_directory")).ruleId());
  }

  @Test
  void ruleWithoutWhenAppliesToAnonymousCallersToo() {
    PolicyEngine engine = engine("""
        - id: public
          allow: { tools: ["time__*"] }
        """);
    assertTrue(engine.decide(Principal.anonymous(), tool("time__now")).allowed());
    assertEquals("no policy allows tool 'files__read_file' for user 'anonymous'; default deny",
        engine.decide(Principal.anonymous(), tool("files__read_file")).reason());
  }

  @Test
  void programmaticRulesWorkLikeConfiguredOnes() {
    PolicyEngine engine = PolicyEngine.create(List.of(
        new PolicyRule("eng", PolicyRule.Match.groups("engineering"), PolicyRule.Targets.servers("files"),
            PolicyRule.Targets.tools("files__write_*"))));
    assertTrue(engine.decide(user("a", "engineering"), tool("files__read_file")).allowed());
    assertFalse(engine.decide(user("a", "engineering"), tool("files__write_file")).allowed());
    assertFalse(engine.decide(user("b"), tool("files__read_file")).allowed());
  }

  private static List<String> visibleTo(PolicyEngine engine, Principal p) {
    return CATALOG.stream().filter(t -> engine.visible(p, tool(t))).collect(Collectors.toList());
  }
}
