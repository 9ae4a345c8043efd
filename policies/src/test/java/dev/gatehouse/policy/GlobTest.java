package dev.gatehouse.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class GlobTest {

  @Test
  void starMatchesAnyRunIncludingNone() {
    Glob g = Glob.compile("files__read_*");
    assertTrue(g.matches("files__read_"));
    assertTrue(g.matches("files__read_file"));
    assertFalse(g.matches("files__write_file"));
    assertTrue(Glob.compile("*").matches(""));
    assertTrue(Glob.compile("*.key").matches("files+file:///a/b.key"));
    assertTrue(Glob.compile("a*b*c").matches("abc"));
    assertTrue(Glob.compile("a*b*c").matches("aXbYbZc"));
    assertFalse(Glob.compile("a*b*c").matches("aXbYcZ"));
    assertTrue(Glob.compile("**x").matches("yyx"));
  }

  @Test
  void questionMarkMatchesExactlyOneCharacter() {
    Glob g = Glob.compile("docs__v?");
    assertTrue(g.matches("docs__v1"));
    assertFalse(g.matches("docs__v"));
    assertFalse(g.matches("docs__v10"));
    assertTrue(Glob.compile("?*").matches("a"));
    assertFalse(Glob.compile("?*").matches(""));
  }

  @Test
  void matchingIsCaseSensitiveAndLiteralOtherwise() {
    assertFalse(Glob.compile("files__*").matches("FILES__read"));
    assertTrue(Glob.compile("a.b[1]{x}").matches("a.b[1]{x}"));
    assertFalse(Glob.compile("a.b").matches("aXb"));
  }

  @Test
  void escapesMakeWildcardsLiteral() {
    Glob g = Glob.compile("what\\?*");
    assertTrue(g.matches("what?now"));
    assertFalse(g.matches("whatXnow"));
    assertTrue(Glob.compile("a\\*").matches("a*"));
    assertFalse(Glob.compile("a\\*").matches("ab"));
    assertTrue(Glob.compile("a\\\\b").matches("a\\b"));
  }

  @Test
  void badPatternsAreRejectedWithTheReason() {
    assertThrows(IllegalArgumentException.class, () -> Glob.compile(""));
    assertThrows(IllegalArgumentException.class, () -> Glob.compile("   "));
    assertEquals("'x\\' ends with a lone '\\' (expected: \\*, \\? or \\\\)",
        assertThrows(IllegalArgumentException.class, () -> Glob.compile("x\\")).getMessage());
  }

  @Test
  void listFindsLiteralAndWildcardPatterns() {
    GlobList list = GlobList.compile("tools", List.of("a__exact", "b__*", "c__?"));
    assertEquals("a__exact", list.match("a__exact").source());
    assertEquals("b__*", list.match("b__x").source());
    assertEquals("c__?", list.matchAny(List.of("zzz", "c__1")).source());
    assertEquals(null, list.match("a__exactly"));
    assertEquals("tools[1]: '' is not a valid glob (expected: a non-empty pattern where * matches any characters and ? one character)",
        assertThrows(IllegalArgumentException.class, () -> GlobList.compile("tools", List.of("a", ""))).getMessage());
  }
}
