package dev.gatehouse.policy;

import static dev.gatehouse.policy.Fixtures.call;
import static dev.gatehouse.policy.Fixtures.engine;
import static dev.gatehouse.policy.Fixtures.tool;
import static dev.gatehouse.policy.Fixtures.user;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatehouse.identity.Principal;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ArgumentConstraintTest {

  private static final Principal ALICE = user("alice", "engineering");

  private static final PolicyEngine ENGINE = engine("""
      - id: eng-files
        when: { groups: [engineering] }
        allow: { servers: [files, search, jobs] }
        arguments:
          "files__*":
            path: { prefix: /data/ }
            paths: { prefix: /data/ }
          files__chmod:
            mode: { regex: "[0-7]{3}", required: true }
          search__query:
            engine: { enum: [web, news] }
            q: { max_length: 10, required: true }
            options.limit: { min: 1, max: 100 }
            filters.site: { regex: "[a-z.]+" }
          jobs__run:
            priority: { enum: [1, 2, 3] }
      """);

  @Test
  void prefixAllowsPathsBelowIt() {
    assertAllowed("files__read_file", "{\"path\": \"/data/reports/q1.txt\"}");
    // the directory itself
    assertAllowed("files__list_directory", "{\"path\": \"/data\"}");
    // absent argument: only 'required' objects
    assertAllowed("files__list_allowed_directories", "{}");
  }

  @Test
  void prefixDeniesOtherPathsNamingArgumentAndRule() {
    Decision.Deny d = denied("files__read_file", "{\"path\": \"/etc/passwd\"}");
    assertEquals("eng-files", d.ruleId());
    assertEquals(Optional.of("path"), d.argument());
    assertEquals("argument 'path' = '/etc/passwd' does not start with '/data/' (rule 'eng-files')", d.reason());
    // no segment-boundary trick either
    assertEquals("argument 'path' = '/database/x' does not start with '/data/' (rule 'eng-files')",
        denied("files__read_file", "{\"path\": \"/database/x\"}").reason());
  }

  @Test
  void prefixNormalisesPathTraversalBeforeComparing() {
    assertEquals("argument 'path' = '/data/../etc/passwd' (normalised: '/etc/passwd') does not start with '/data/' (rule 'eng-files')",
        denied("files__read_file", "{\"path\": \"/data/../etc/passwd\"}").reason());
    denied("files__read_file", "{\"path\": \"/data/sub/../../etc/passwd\"}");
    denied("files__read_file", "{\"path\": \"/data/./../etc\"}");
    denied("files__read_file", "{\"path\": \"/data/..\\\\etc\\\\passwd\"}");
    denied("files__read_file", "{\"path\": \"/data/%2e%2e/etc/passwd\"}");
    denied("files__read_file", "{\"path\": \"/data/%2E%2E%2Fetc\"}");
    denied("files__read_file", "{\"path\": \"data/../../data/x\"}");
    // traversal that stays inside is fine, and so are dots inside names
    assertAllowed("files__read_file", "{\"path\": \"/data/a/../b.txt\"}");
    assertAllowed("files__read_file", "{\"path\": \"/data//x/./..file\"}");
  }

  @Test
  void normalisationKeepsSchemesAndResolvesDots() {
    assertEquals("/etc/passwd", ArgumentCheck.normalise("/data/../etc/passwd"));
    assertEquals("/etc", ArgumentCheck.normalise("/../../etc"));
    assertEquals("../x", ArgumentCheck.normalise("a/../../x"));
    assertEquals("/data/", ArgumentCheck.normalise("/data/x/.."));
    assertEquals("https://api.example.com/admin", ArgumentCheck.normalise("https://api.example.com/v1/../admin"));
    assertEquals("https://api.example.com/v1/x", ArgumentCheck.normalise("https://api.example.com/v1/x"));
  }

  @Test
  void prefixChecksEveryElementOfAnArray() {
    assertAllowed("files__read_multiple_files", "{\"paths\": [\"/data/a\", \"/data/b\"]}");
    Decision.Deny d = denied("files__read_multiple_files", "{\"paths\": [\"/data/a\", \"/root/.ssh/id_rsa\"]}");
    assertEquals("argument 'paths' = '/root/.ssh/id_rsa' does not start with '/data/' (rule 'eng-files')", d.reason());
  }

  @Test
  void prefixRefusesNonStrings() {
    assertEquals("argument 'path' = 42 is not a string (rule 'eng-files')",
        denied("files__read_file", "{\"path\": 42}").reason());
    assertEquals("argument 'path' = an object is not a string (rule 'eng-files')",
        denied("files__read_file", "{\"path\": {\"x\": 1}}").reason());
  }

  @Test
  void regexMustMatchTheWholeValue() {
    assertAllowed("files__chmod", "{\"mode\": \"644\"}");
    assertEquals("argument 'mode' = '6444' does not match regex '[0-7]{3}' (rule 'eng-files')",
        denied("files__chmod", "{\"mode\": \"6444\"}").reason());
    denied("files__chmod", "{\"mode\": \"x644\"}");
  }

  @Test
  void requiredArgumentMustBePresentAndNotNull() {
    Decision.Deny d = denied("files__chmod", "{}");
    assertEquals("argument 'mode' is required (rule 'eng-files')", d.reason());
    assertEquals(Optional.of("mode"), d.argument());
    denied("files__chmod", "{\"mode\": null}");
  }

  @Test
  void enumAcceptsListedValuesOnly() {
    assertAllowed("search__query", "{\"q\": \"cats\", \"engine\": \"news\"}");
    assertEquals("argument 'engine' = 'images' is not one of [web, news] (rule 'eng-files')",
        denied("search__query", "{\"q\": \"cats\", \"engine\": \"images\"}").reason());
    // numbers compare by their text
    assertAllowed("jobs__run", "{\"priority\": 2}");
    assertEquals("argument 'priority' = 7 is not one of [1, 2, 3] (rule 'eng-files')",
        denied("jobs__run", "{\"priority\": 7}").reason());
    assertEquals("argument 'priority' = an object is not one of [1, 2, 3] (rule 'eng-files')",
        denied("jobs__run", "{\"priority\": {\"p\": 1}}").reason());
    // an array is checked element by element
    assertAllowed("jobs__run", "{\"priority\": [1, 3]}");
    denied("jobs__run", "{\"priority\": [1, 4]}");
  }

  @Test
  void maxLengthCountsCharacters() {
    assertAllowed("search__query", "{\"q\": \"0123456789\"}");
    // ten emoji are ten characters, not twenty UTF-16 units
    assertAllowed("search__query", "{\"q\": \"😀😀😀😀😀😀😀😀😀😀\"}");
    assertEquals("argument 'q' is 11 characters long (expected: at most 10) (rule 'eng-files')",
        denied("search__query", "{\"q\": \"0123456789a\"}").reason());
  }

  @Test
  void numericRangeOnANestedPath() {
    assertAllowed("search__query", "{\"q\": \"x\", \"options\": {\"limit\": 100}}");
    assertAllowed("search__query", "{\"q\": \"x\", \"options\": {\"limit\": 1.5}}");
    Decision.Deny high = denied("search__query", "{\"q\": \"x\", \"options\": {\"limit\": 101}}");
    assertEquals("argument 'options.limit' = 101 is above the maximum 100 (rule 'eng-files')", high.reason());
    assertEquals(Optional.of("options.limit"), high.argument());
    assertEquals("argument 'options.limit' = 0 is below the minimum 1 (rule 'eng-files')",
        denied("search__query", "{\"q\": \"x\", \"options\": {\"limit\": 0}}").reason());
    assertEquals("argument 'options.limit' = 'ten' is not a number (rule 'eng-files')",
        denied("search__query", "{\"q\": \"x\", \"options\": {\"limit\": \"ten\"}}").reason());
  }

  @Test
  void nestedPathFansOutOverArraysOfObjects() {
    assertAllowed("search__query", "{\"q\": \"x\", \"filters\": [{\"site\": \"a.com\"}, {\"site\": \"b.org\"}]}");
    assertEquals("argument 'filters.site' = 'B.ORG' does not match regex '[a-z.]+' (rule 'eng-files')",
        denied("search__query", "{\"q\": \"x\", \"filters\": [{\"site\": \"a.com\"}, {\"site\": \"B.ORG\"}]}").reason());
  }

  @Test
  void constraintsComeFromEveryApplicableRuleEvenOnesThatAllowNothing() {
    PolicyEngine engine = engine("""
        - id: everyone-reads
          allow: { tools: ["files__read_*"] }
        - id: contractors-public-only
          when: { groups: [contractors] }
          arguments:
            "files__*": { path: { prefix: /data/public/ } }
        """);
    Principal employee = user("emma", "staff");
    Principal contractor = user("carl", "contractors");
    String secret = "{\"path\": \"/data/secret.txt\"}";
    assertTrue(engine.decide(employee, call("files__read_file", secret)).allowed());
    Decision.Deny d = assertInstanceOf(Decision.Deny.class, engine.decide(contractor, call("files__read_file", secret)));
    assertEquals("contractors-public-only", d.ruleId());
    assertTrue(engine.decide(contractor, call("files__read_file", "{\"path\": \"/data/public/a\"}")).allowed());
  }

  @Test
  void constrainedToolStaysVisible() {
    assertTrue(ENGINE.visible(ALICE, tool("files__chmod")));
    assertTrue(ENGINE.visible(ALICE, tool("files__read_file")));
  }

  @Test
  void argumentsThatAreNotAnObjectCountAsAbsent() {
    denied("files__chmod", "[]");
    assertAllowed("files__read_file", "null");
  }

  private static void assertAllowed(String tool, String args) {
    Decision d = ENGINE.decide(ALICE, call(tool, args));
    assertTrue(d.allowed(), () -> tool + " " + args + " -> " + d);
  }

  private static Decision.Deny denied(String tool, String args) {
    return assertInstanceOf(Decision.Deny.class, ENGINE.decide(ALICE, call(tool, args)), tool + " " + args);
  }
}
