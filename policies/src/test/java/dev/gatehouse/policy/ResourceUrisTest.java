package dev.gatehouse.policy;

import static dev.gatehouse.policy.Fixtures.engine;
import static dev.gatehouse.policy.Fixtures.user;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Every spelling of a URI meets the same policy: normal forms, refused ambiguous forms, deny over aliases. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ResourceUrisTest {

  @Test
  void equivalentSpellingsNormalizeToOne() {
    // "secret.txt" is the authority of these URIs: case-insensitive, like the scheme
    for (String s : List.of("stub://secret.txt", "STUB://secret.txt", "Stub://SECRET.TXT", "stub://%73ecret.txt",
        "stub://%73%65cret%2Etxt", "stub://%53ECRET.txt")) {
      assertEquals("stub://secret.txt", ResourceUris.normalize(s), s);
    }
    // the host is case-insensitive, the path is not; other escapes keep their meaning with upper-case hex
    assertEquals("file://host/Dir/a%20b", ResourceUris.normalize("FILE://HOST/Dir/a%20b"));
    assertEquals("file:///a%C3%A9", ResourceUris.normalize("file:///a%c3%a9"));
    assertEquals("https://user@example.com:8443/x?q=a%2Fb", ResourceUris.normalize("HTTPS://user@EXAMPLE.com:8443/x?q=a%2fb"));
    assertEquals("urn:isbn:0451450523", ResourceUris.normalize("URN:isbn:0451450523"));
  }

  @Test
  void ambiguousSpellingsAreRefusedNamingWhy() {
    assertTrue(message("stub://a/../secret.txt").contains("dot segment"));
    assertTrue(message("stub://a/%2e%2e/secret.txt").contains("dot segment"));
    assertTrue(message("stub://a/./secret.txt").contains("dot segment"));
    assertTrue(message("stub://a\\secret.txt").contains("backslash"));
    assertTrue(message("stub://a/%5Csecret.txt").contains("encoded"));
    assertTrue(message("stub://a/x%2Fsecret.txt").contains("encoded '/'"));
    assertTrue(message("stub://a/%00").contains("NUL"));
    assertTrue(message("stub://a/%zz").contains("malformed"));
    assertTrue(message("no-scheme").contains("not an absolute URI"));
  }

  static String message(String uri) {
    return assertThrows(IllegalArgumentException.class, () -> ResourceUris.normalize(uri)).getMessage();
  }

  @Test
  void aDenyPatternHoldsForEverySpellingOfTheAuthority() {
    PolicyEngine engine = engine("""
        - id: stub-readers
          allow: { servers: [stub] }
          deny: { resources: ["stub+stub://secret*"] }
        """);
    for (String uri : List.of("stub+stub://secret.txt", "stub+stub:/secret.txt", "stub+stub:///secret.txt")) {
      Decision d = engine.decide(user("a"), new Action.Resource("stub", uri));
      assertFalse(d.allowed(), uri);
      assertFalse(engine.visible(user("a"), new Action.Resource("stub", uri)), uri);
    }
    assertTrue(engine.decide(user("a"), new Action.Resource("stub", "stub+stub://public.txt")).allowed());
  }
}
