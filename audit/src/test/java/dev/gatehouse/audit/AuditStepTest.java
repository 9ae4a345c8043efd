package dev.gatehouse.audit;

import static dev.gatehouse.audit.AuditFixtures.Json.parse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class AuditStepTest {

  @Test
  void digestIgnoresObjectKeyOrderAtEveryDepth() {
    String a = AuditStep.digest(parse("{\"b\":1,\"a\":{\"y\":[1,{\"q\":true,\"p\":null}],\"x\":\"s\"}}"));
    String b = AuditStep.digest(parse("{\"a\":{\"x\":\"s\",\"y\":[1,{\"p\":null,\"q\":true}]},\"b\":1}"));
    assertEquals(a, b);
    assertTrue(a.matches("sha256:[0-9a-f]{64}"), a);
  }

  @Test
  void digestIsSha256OfTheCompactSortedJson() throws Exception {
    byte[] canonical = "{\"a\":1,\"b\":[\"x\"]}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    String expected = "sha256:" + java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(canonical));
    assertEquals(expected, AuditStep.digest(parse("{ \"b\" : [\"x\"], \"a\" : 1 }")));
  }

  @Test
  void digestTellsDifferentValuesAndArrayOrderApart() {
    assertNotEquals(AuditStep.digest(parse("{\"a\":1}")), AuditStep.digest(parse("{\"a\":2}")));
    assertNotEquals(AuditStep.digest(parse("[1,2]")), AuditStep.digest(parse("[2,1]")));
    assertNotEquals(AuditStep.digest(parse("{\"a\":\"1\"}")), AuditStep.digest(parse("{\"a\":1}")));
  }

  @Test
  void startedAtIsKeptToTheMicrosecond() {
    AuditStep s = AuditFixtures.tool("c", "s", 0).startedAt(Instant.parse("2025-01-01T00:00:00.123456789Z")).build();
    assertEquals(Instant.parse("2025-01-01T00:00:00.123456Z"), s.startedAt());
  }

  @Test
  void invalidFieldsAreRejectedNamingTheField() {
    assertMessage("chain_id: 'has space'", () -> AuditFixtures.tool("has space", "s", 0).build());
    assertMessage("step_id: 'null'", () -> AuditFixtures.tool("c", null, 0).build());
    assertMessage("kind: missing", () -> AuditFixtures.tool("c", "s", 0).kind(null).build());
    assertMessage("decision: 'Allow'", () -> AuditFixtures.tool("c", "s", 0).decision("Allow").build());
    assertMessage("outcome: 'null'", () -> AuditFixtures.tool("c", "s", 0).outcome(null).build());
    assertMessage("tokens_in: -1 (expected: >= 0)", () -> AuditFixtures.tool("c", "s", 0).tokens(-1, 0).build());
    assertMessage("cost_usd: -0.01", () -> AuditFixtures.tool("c", "s", 0).costUsd(new BigDecimal("-0.01")).build());
    assertMessage("args_digest: 'md5:abc'", () -> AuditFixtures.tool("c", "s", 0).argsDigest("md5:abc").build());
    assertMessage("started_at: missing", () -> AuditFixtures.tool("c", "s", 0).startedAt(null).build());
    assertMessage("started_at: +1000000000-12-31T23:59:59.999999999Z", () -> AuditFixtures.tool("c", "s", 0).startedAt(Instant.MAX).build());
    assertMessage("started_at: 1969-12-31T23:59:59Z", () -> AuditFixtures.tool("c", "s", 0).startedAt(Instant.EPOCH.minusSeconds(1)).build());
    assertMessage("action: ''", () -> AuditFixtures.tool("c", "s", 0).action("").build());
  }

  @Test
  void chainIdsAreValidatedForHeaders() {
    assertTrue(AuditStep.isValidId("4bf92f3577b34da6a3ce929d0e0e4736"));
    assertFalse(AuditStep.isValidId(""));
    assertFalse(AuditStep.isValidId("a b"));
    assertFalse(AuditStep.isValidId("x".repeat(AuditStep.MAX_ID_LENGTH + 1)));
    assertFalse(AuditStep.isValidId("caf\u00e9"));
  }

  @Test
  void newIdsAreUniqueUuidV7Strings() {
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      String id = AuditStep.newId();
      assertTrue(id.matches("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"), id);
      assertTrue(ids.add(id), id);
    }
  }

  @Test
  void toBuilderCopiesEveryField() {
    AuditStep s = AuditFixtures.llm("c", "s", 3).parentStepId("p").toolCallId("call_1").argsPayload("{}").resultPayload("[]").reason("r").build();
    assertEquals(s, s.toBuilder().build());
  }

  private static void assertMessage(String prefix, org.junit.jupiter.api.function.Executable e) {
    IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
    assertTrue(x.getMessage().startsWith(prefix), x.getMessage());
    assertTrue(x.getMessage().contains("(expected: "), x.getMessage());
  }
}
