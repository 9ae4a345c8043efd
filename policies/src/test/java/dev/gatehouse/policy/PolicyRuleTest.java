package dev.gatehouse.policy;

import static dev.gatehouse.policy.Fixtures.rules;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class PolicyRuleTest {

  @Test
  void bindsTheDesignSketchFromYaml() {
    PolicyRule r = rules("""
        - id: engineering-files
          when: { groups: [engineering] }
          allow: { tools: ["files__read_*", "files__list_*"], models: ["openai/*"] }
          deny:  { tools: ["files__write_*"] }
          limits: { requests_per_minute: 120, budget_usd_per_day: 20 }
        """).get(0);
    assertEquals("engineering-files", r.id());
    assertEquals("", r.description());
    assertEquals(List.of("engineering"), r.when().groups());
    assertEquals(List.of("files__read_*", "files__list_*"), r.allow().tools());
    assertEquals(List.of("openai/*"), r.allow().models());
    assertEquals(List.of("files__write_*"), r.deny().tools());
    assertEquals(OptionalInt.of(120), r.limits().requestsPerMinute());
    assertEquals(Optional.of(new BigDecimal("20")), r.limits().budgetUsdPerDay());
    assertEquals(Optional.empty(), r.condition());
  }

  @Test
  void bindsEveryFieldIncludingArgumentConstraints() {
    PolicyRule r = rules("""
        - id: full
          description: everything at once
          when:
            issuers: ["https://idp/*"]
            subjects: [alice]
            tenants: [acme]
            roles: [admin]
            scopes: [files]
            claims: { realm_access.roles: [ops] }
          condition: principal.subject == "alice"
          allow: { servers: [a], tools: [a__b], resources: ["a+x://*"], prompts: [a__p], models: ["m/*"] }
          arguments:
            "files__*":
              path: { prefix: /data/, max_length: 200, required: true }
              mode: { enum: [r, w], regex: "[rw]" }
              options.depth: { min: 0, max: 5.5 }
          limits:
            tools_per_minute: { "files__write_*": 5 }
        """).get(0);
    assertEquals("everything at once", r.description());
    assertEquals(Map.of("realm_access.roles", List.of("ops")), r.when().claims());
    assertEquals(Optional.of("principal.subject == \"alice\""), r.condition());
    PolicyRule.ArgumentConstraint path = r.arguments().get("files__*").get("path");
    assertEquals(Optional.of("/data/"), path.prefix());
    assertEquals(OptionalInt.of(200), path.maxLength());
    assertTrue(path.required());
    assertEquals(List.of("r", "w"), r.arguments().get("files__*").get("mode").allowedValues());
    assertEquals(Optional.of(new BigDecimal("5.5")), r.arguments().get("files__*").get("options.depth").max());
    assertEquals(List.of("path", "mode", "options.depth"), List.copyOf(r.arguments().get("files__*").keySet()));
    assertEquals(Map.of("files__write_*", 5), r.limits().toolsPerMinute());
  }

  @Test
  void unknownKeyIsRejected() {
    UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> rules("""
        - id: typo
          allow: { tools: ["*"] }
          limit: { requests_per_minute: 5 }
        """));
    assertInstanceOf(UnrecognizedPropertyException.class, e.getCause());
  }

  @Test
  void nonPositiveLimitIsRejectedWithTheFieldAndExpectation() {
    IllegalArgumentException e = invalid("""
        - id: zero
          allow: { tools: ["*"] }
          limits: { requests_per_minute: 0 }
        """);
    assertEquals("requests_per_minute: 0 (expected: > 0)", e.getMessage());
    assertEquals("tools_per_minute.files__*: -1 (expected: > 0)", invalid("""
        - id: negative
          allow: { tools: ["*"] }
          limits: { tools_per_minute: { "files__*": -1 } }
        """).getMessage());
  }

  @Test
  void badGlobNamesTheRuleAndField() {
    assertEquals("policy 'globs': deny.tools[1]: 'files__\\x' has unsupported escape '\\x' (expected: \\*, \\? or \\\\)",
        invalid("""
            - id: globs
              deny: { tools: ["files__write_*", "files__\\\\x"] }
            """).getMessage());
    assertTrue(invalid("""
        - id: blank
          allow: { servers: [""] }
        """).getMessage().startsWith("policy 'blank': allow.servers[0]: '' is not a valid glob"));
    assertEquals("policy 'spaces': when.groups[0]: 'engineering ' has leading or trailing whitespace (expected: none)",
        invalid("""
            - id: spaces
              when: { groups: ["engineering "] }
              allow: { tools: ["*"] }
            """).getMessage());
  }

  @Test
  void badRegexNamesTheRuleToolAndArgument() {
    IllegalArgumentException e = invalid("""
        - id: regexes
          allow: { tools: ["*"] }
          arguments:
            files__chmod: { mode: { regex: "[0-7" } }
        """);
    assertTrue(e.getMessage().startsWith("policy 'regexes': arguments.files__chmod.mode.regex: '[0-7' is not a valid regular expression"),
        e.getMessage());
    // RE2 has no backreferences: refused at load, not at the first call
    assertTrue(invalid("""
        - id: backref
          allow: { tools: ["*"] }
          arguments:
            x__y: { a: { regex: "(a)\\\\1" } }
        """).getMessage().startsWith("policy 'backref': arguments.x__y.a.regex: "));
  }

  @Test
  void inconsistentConstraintsAreRejected() {
    assertEquals("min: 5 is above max 1 (expected: min <= max)", invalid("""
        - id: range
          arguments: { "x__*": { n: { min: 5, max: 1 } } }
        """).getMessage());
    assertEquals("min/max cannot be combined with prefix, regex or max_length (expected: string checks or numeric checks)",
        invalid("""
            - id: mixed
              arguments: { "x__*": { n: { min: 1, prefix: a } } }
            """).getMessage());
    assertEquals("no checks (expected: at least one of prefix, regex, enum, max_length, min, max, required)", invalid("""
        - id: empty
          arguments: { "x__*": { n: {} } }
        """).getMessage());
    assertEquals("policy 'dots': arguments.files__*.path.prefix: '/data/../etc/' is not a normalised path (expected: '/etc/')",
        invalid("""
            - id: dots
              arguments: { "files__*": { path: { prefix: /data/../etc/ } } }
            """).getMessage());
  }

  @Test
  void idIsRequiredWellFormedAndNotReserved() {
    assertTrue(invalid("""
        - allow: { tools: ["*"] }
        """).getMessage().startsWith("id: ''"));
    assertTrue(invalid("""
        - id: default-deny
          allow: { tools: ["*"] }
        """).getMessage().contains("reserved"));
    assertTrue(invalid("""
        - id: "has space"
          allow: { tools: ["*"] }
        """).getMessage().startsWith("id: 'has space'"));
  }

  @Test
  void ruleThatDoesNothingIsRejected() {
    assertEquals("policy 'idle': has no allow, deny, arguments or limits (expected: at least one)", invalid("""
        - id: idle
          when: { groups: [x] }
        """).getMessage());
  }

  @Test
  void duplicateIdsAreRejectedByCreate() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PolicyEngine.create(rules("""
        - id: a
          allow: { tools: ["*"] }
        - id: b
          allow: { tools: ["*"] }
        - id: a
          deny: { tools: ["*"] }
        """)));
    assertEquals("policies[2]: id 'a' is already used by policies[0] (expected: unique ids)", e.getMessage());
  }

  @Test
  void copiesAreEqualAndWithersValidate() {
    PolicyRule r = new PolicyRule("r", PolicyRule.Match.any(), PolicyRule.Targets.tools("x__*"), PolicyRule.Targets.none());
    assertEquals(r, new PolicyRule("r", PolicyRule.Match.any(), PolicyRule.Targets.tools("x__*"), PolicyRule.Targets.none()));
    PolicyRule limited = r.withLimits(PolicyRule.Limits.requestsPerMinute(10));
    assertEquals(OptionalInt.of(10), limited.limits().requestsPerMinute());
    assertEquals("/data/", r.withArguments(Map.of("x__*", Map.of("p", PolicyRule.ArgumentConstraint.startingWith("/data/"))))
        .arguments().get("x__*").get("p").prefix().orElseThrow());
    assertThrows(IllegalArgumentException.class, () -> r.withCondition(" "));
  }

  private static IllegalArgumentException invalid(String yaml) {
    UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> rules(yaml));
    ValueInstantiationException v = assertInstanceOf(ValueInstantiationException.class, e.getCause());
    return assertInstanceOf(IllegalArgumentException.class, v.getCause());
  }
}
