package dev.gatehouse.policy;

import static dev.gatehouse.policy.Fixtures.call;
import static dev.gatehouse.policy.Fixtures.tool;
import static dev.gatehouse.policy.Fixtures.user;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.identity.Principal;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The worked example of docs/policies.md, read from the doc itself, does what the doc says. */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class DocumentedPolicyTest {

  private static final Path DOC = Path.of("../docs/policies.md");

  private final Fixtures.ManualClock clock = new Fixtures.ManualClock();
  private PolicyEngine engine;

  private final Principal alice = user("alice", "engineering");
  private final Principal bob = user("bob", "finance");
  private final Principal carl = user("carl", "contractors");

  @BeforeEach
  void loadTheDocumentedFile() throws IOException {
    String doc = Files.readString(DOC);
    int start = doc.indexOf("```yaml\npolicies:\n");
    String yaml = doc.substring(start + "```yaml\n".length(), doc.indexOf("```", start + 7));
    JsonNode list = Fixtures.YAML.readTree(yaml).get("policies");
    List<PolicyRule> rules = new ArrayList<>();
    for (JsonNode rule : list) {
      rules.add(Fixtures.YAML.treeToValue(rule, PolicyRule.class));
    }
    engine = PolicyEngine.create(rules, clock);
  }

  @Test
  void teamsGetTheirOwnTools() {
    assertEquals("allowed by rule 'engineering-files': tool 'files__read_file' matches allow pattern 'files__read_*'",
        engine.decide(alice, call("files__read_file", "{\"path\": \"/data/a.txt\"}")).reason());
    assertEquals("denied by rule 'engineering-files': tool 'files__write_file' matches deny pattern 'files__write_*'",
        engine.decide(alice, tool("files__write_file")).reason());
    assertEquals("no policy allows tool 'ledger__query' for user 'alice' (groups: [engineering]); default deny",
        engine.decide(alice, tool("ledger__query")).reason());
    assertEquals("allowed by rule 'finance-ledger': tool 'ledger__query' is on server 'ledger', which matches allow servers pattern 'ledger'",
        engine.decide(bob, tool("ledger__query")).reason());
    assertEquals("default-deny", engine.decide(bob, tool("files__read_file")).ruleId());
    assertFalse(engine.decide(bob, tool("ledger__delete_entry")).allowed());
    assertTrue(engine.decide(bob, new Action.Model("openai/gpt-4o-mini")).allowed());
    assertFalse(engine.decide(bob, new Action.Model("openai/gpt-4o")).allowed());
  }

  @Test
  void ciArgumentsAreConstrained() {
    assertTrue(engine.decide(alice, call("ci__run_pipeline",
        "{\"branch\": \"release/1.4\", \"environment\": \"staging\", \"options\": {\"parallelism\": 4}}")).allowed());
    assertEquals("argument 'branch' = 'feature/x' does not match regex 'main|release/[0-9]+\\.[0-9]+' (rule 'engineering-ci')",
        engine.decide(alice, call("ci__run_pipeline", "{\"branch\": \"feature/x\"}")).reason());
    assertEquals("argument 'environment' = 'dev' is not one of [staging, production] (rule 'engineering-ci')",
        engine.decide(alice, call("ci__run_pipeline", "{\"branch\": \"main\", \"environment\": \"dev\"}")).reason());
    assertEquals("argument 'options.parallelism' = 32 is above the maximum 8 (rule 'engineering-ci')",
        engine.decide(alice, call("ci__run_pipeline", "{\"branch\": \"main\", \"options\": {\"parallelism\": 32}}")).reason());
    assertEquals("argument 'branch' is required (rule 'engineering-ci')",
        engine.decide(alice, call("ci__run_pipeline", "{}")).reason());
  }

  @Test
  void contractorsStayInsideTheSharedDirectory() {
    assertTrue(engine.decide(carl, call("files__read_file", "{\"path\": \"/data/shared/plan.md\"}")).allowed());
    Decision.Deny d = assertInstanceOf(Decision.Deny.class,
        engine.decide(carl, call("files__read_file", "{\"path\": \"/data/shared/../hr/pay.csv\"}")));
    assertEquals("argument 'path' = '/data/shared/../hr/pay.csv' (normalised: '/data/hr/pay.csv') does not start with "
        + "'/data/shared/' (rule 'contractors-read-only')", d.reason());
    assertEquals(Optional.of("path"), d.argument());
    assertEquals("argument 'path' is 600 characters long (expected: at most 512) (rule 'contractors-read-only')",
        engine.decide(carl, call("files__read_file", "{\"path\": \"/data/shared/" + "x".repeat(600 - 13) + "\"}")).reason());
    assertFalse(engine.decide(carl, tool("files__write_file")).allowed());
  }

  @Test
  void contractorsAreRateLimited() {
    String ok = "{\"path\": \"/data/shared/a\"}";
    for (int i = 0; i < 20; i++) {
      assertTrue(engine.decide(carl, call("files__read_file", ok)).allowed());
    }
    Decision.Limited l = assertInstanceOf(Decision.Limited.class, engine.decide(carl, call("files__read_file", ok)));
    assertEquals(Duration.ofSeconds(3), l.retryAfter());
    assertEquals("rate limit of rule 'contractors-read-only' reached for user 'carl' (groups: [contractors]): "
        + "20 requests per minute; retry after 3 s", l.reason());
  }

  @Test
  void searchHasItsOwnLimit() {
    for (int i = 0; i < 10; i++) {
      assertTrue(engine.decide(alice, tool("files__search_files")).allowed());
    }
    assertEquals("rate limit of rule 'engineering-files' reached for user 'alice' (groups: [engineering]): "
        + "10 calls per minute to tools 'files__search_*'; retry after 6 s", engine.decide(alice, tool("files__search_files")).reason());
  }

  @Test
  void adminsNeedTheNestedRoleTheTenantAndConfirm() {
    Principal dana = new Principal("dana", Fixtures.ISSUER, Optional.of("acme"), Set.of(), Set.of(), Set.of(),
        Map.of("realm_access", Map.of("roles", List.of("gatehouse-admin"))), Principal.Kind.JWT, Optional.empty());
    assertTrue(engine.decide(dana, tool("admin__list_tenants")).allowed());
    assertEquals("default-deny", engine.decide(dana, call("admin__drop_tenant", "{}")).ruleId());
    assertTrue(engine.decide(dana, call("admin__drop_tenant", "{\"confirm\": true}")).allowed());
    // listed, since with a confirm argument it would be allowed
    assertTrue(engine.visible(dana, tool("admin__drop_tenant")));
  }

  @Test
  void nobodyReadsPrivateKeys() {
    assertEquals("denied by rule 'no-private-key-paths': tool 'files__read_file' is on server 'files', which matches deny servers pattern 'files'",
        engine.decide(alice, call("files__read_file", "{\"path\": \"/data/id.pem\"}")).reason());
    assertFalse(engine.decide(alice, new Action.Resource("files", "files+file:///data/tls.key")).allowed());
    assertTrue(engine.decide(alice, new Action.Resource("files", "files+file:///data/readme.md")).allowed());
    // the path condition needs arguments, so the tool stays listed
    assertTrue(engine.visible(alice, tool("files__read_file")));
  }

  @Test
  void explainTextMatchesTheDoc() throws IOException {
    String doc = Files.readString(DOC);
    int start = doc.indexOf("```\njwt:bob@");
    String documented = doc.substring(start + 4, doc.indexOf("```", start + 4));
    assertEquals(documented, engine.explain(bob, tool("files__read_file")).text());
  }
}
