package dev.gatehouse.audit;

import static dev.gatehouse.audit.AuditFixtures.Json.parse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class AuditRedactionTest {

  @Test
  void bareNameIsRedactedAtAnyDepthIgnoringCase() {
    JsonNode in = parse("{\"password\":\"p1\",\"user\":{\"Password\":\"p2\",\"name\":\"n\"},\"list\":[{\"PASSWORD\":{\"deep\":1}}]}");
    assertEquals(parse("{\"password\":\"[REDACTED]\",\"user\":{\"Password\":\"[REDACTED]\",\"name\":\"n\"},\"list\":[{\"PASSWORD\":\"[REDACTED]\"}]}"),
        AuditRedaction.redact(in, List.of("password")));
  }

  @Test
  void dottedPathIsAnchoredAtTheRoot() {
    JsonNode in = parse("{\"auth\":{\"token\":\"t\",\"user\":\"u\"},\"other\":{\"auth\":{\"token\":\"keep\"}}}");
    assertEquals(parse("{\"auth\":{\"token\":\"[REDACTED]\",\"user\":\"u\"},\"other\":{\"auth\":{\"token\":\"keep\"}}}"),
        AuditRedaction.redact(in, List.of("auth.token")));
    assertEquals(parse("{\"token\":\"[REDACTED]\",\"x\":{\"token\":\"keep\"}}"),
        AuditRedaction.redact(parse("{\"token\":\"t\",\"x\":{\"token\":\"keep\"}}"), List.of("$.token")));
  }

  @Test
  void starStepsIntoArrayElementsAndAnyKey() {
    JsonNode in = parse("{\"items\":[{\"secret\":1,\"id\":1},{\"secret\":2,\"id\":2}],\"env\":{\"A\":\"a\",\"B\":\"b\"}}");
    assertEquals(parse("{\"items\":[{\"secret\":\"[REDACTED]\",\"id\":1},{\"secret\":\"[REDACTED]\",\"id\":2}],\"env\":{\"A\":\"[REDACTED]\",\"B\":\"[REDACTED]\"}}"),
        AuditRedaction.redact(in, List.of("items[*].secret", "env.*")));
    assertEquals(parse("[\"[REDACTED]\",\"[REDACTED]\"]"), AuditRedaction.redact(parse("[1,2]"), List.of("[*]")));
  }

  @Test
  void theInputIsNeverModifiedAndNoPathsMeansTheSameNode() {
    JsonNode in = parse("{\"password\":\"p\"}");
    AuditRedaction.redact(in, List.of("password"));
    assertEquals(parse("{\"password\":\"p\"}"), in);
    assertSame(in, AuditRedaction.of(List.of()).apply(in));
    assertTrue(AuditRedaction.of(List.of()).isEmpty());
  }

  @Test
  void pathsThatDoNotFitTheValueAreIgnored() {
    JsonNode in = parse("{\"auth\":\"flat\",\"items\":{\"not\":\"an array\"}}");
    assertEquals(in, AuditRedaction.redact(in, List.of("auth.token", "items[*].secret")));
  }

  @Test
  void malformedPathsAreRejectedNamingTheEntry() {
    for (String bad : List.of("a..b", ".a", "a.", "", "a[0]", "a*b")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AuditRedaction.of(List.of("ok", bad)));
      assertTrue(e.getMessage().startsWith("redact[1]: '" + bad + "'"), e.getMessage());
    }
  }

  @Test
  void defaultSettingsRedactCommonCredentialKeys() {
    AuditRedaction r = AuditRedaction.of(AuditSettings.defaults().redact());
    JsonNode out = r.apply(parse("{\"api_key\":\"k\",\"headers\":{\"Authorization\":\"Bearer x\"},\"q\":\"hello\"}"));
    assertEquals(parse("{\"api_key\":\"[REDACTED]\",\"headers\":{\"Authorization\":\"[REDACTED]\"},\"q\":\"hello\"}"), out);
  }
}
