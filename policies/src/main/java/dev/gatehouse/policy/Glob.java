package dev.gatehouse.policy;

/**
 * A compiled glob: {@code *} matches any run of characters (including none), {@code ?} exactly one,
 * {@code \*}, {@code \?} and {@code \\} match themselves; everything else is literal and
 * case-sensitive. {@link #matches} allocates nothing and builds no regular expression: it never
 * backtracks further than the last {@code *}, so it takes at most (pattern length × input length)
 * steps, whatever the pattern. The one glob matcher of Gatehouse: policies, agent mode, audit capture,
 * the tools a request asks to be offered, model prices.
 */
public final class Glob {

  private static final char STAR = '*';
  private static final char ONE = '?';

  private enum Shape { LITERAL, ANY, PREFIX, SUFFIX, GENERAL }

  private final String source;
  private final Shape shape;
  // LITERAL/PREFIX/SUFFIX: the literal part; GENERAL: unused
  private final String literal;
  // GENERAL: the pattern, with wildcards marked in a parallel array so escaped '*' stays literal
  private final char[] chars;
  private final boolean[] wild;

  private Glob(String source, Shape shape, String literal, char[] chars, boolean[] wild) {
    this.source = source;
    this.shape = shape;
    this.literal = literal;
    this.chars = chars;
    this.wild = wild;
  }

  /**
   * Compiles a glob.
   *
   * @throws IllegalArgumentException when the pattern is blank, has surrounding whitespace (a YAML
   *     slip that would never match) or an escape other than {@code \*}, {@code \?}, {@code \\}
   */
  public static Glob compile(String pattern) {
    if (pattern == null || pattern.isBlank()) {
      throw new IllegalArgumentException("'" + (pattern == null ? "" : pattern) + "' is not a valid glob (expected: "
          + "a non-empty pattern where * matches any characters and ? one character)");
    }
    if (!pattern.strip().equals(pattern)) {
      throw new IllegalArgumentException("'" + pattern + "' has leading or trailing whitespace (expected: none)");
    }
    StringBuilder chars = new StringBuilder(pattern.length());
    boolean[] wild = new boolean[pattern.length()];
    int n = 0;
    for (int i = 0; i < pattern.length(); i++) {
      char c = pattern.charAt(i);
      if (c == '\\') {
        if (i + 1 == pattern.length()) {
          throw new IllegalArgumentException("'" + pattern + "' ends with a lone '\\' (expected: \\*, \\? or \\\\)");
        }
        char next = pattern.charAt(++i);
        if (next != STAR && next != ONE && next != '\\') {
          throw new IllegalArgumentException(
              "'" + pattern + "' has unsupported escape '\\" + next + "' (expected: \\*, \\? or \\\\)");
        }
        chars.append(next);
        n++;
      } else if (c == STAR && n > 0 && wild[n - 1] && chars.charAt(n - 1) == STAR) {
        // "**" means the same as "*"; collapsing keeps the matcher linear in the common case
      } else {
        chars.append(c);
        wild[n++] = c == STAR || c == ONE;
      }
    }
    char[] cs = chars.toString().toCharArray();
    boolean[] ws = java.util.Arrays.copyOf(wild, n);
    int stars = 0;
    int ones = 0;
    for (int i = 0; i < n; i++) {
      if (ws[i]) {
        if (cs[i] == STAR) {
          stars++;
        } else {
          ones++;
        }
      }
    }
    if (stars == 0 && ones == 0) {
      return new Glob(pattern, Shape.LITERAL, new String(cs), null, null);
    }
    if (ones == 0 && stars == 1) {
      if (n == 1) {
        return new Glob(pattern, Shape.ANY, "", null, null);
      }
      if (ws[n - 1]) {
        return new Glob(pattern, Shape.PREFIX, new String(cs, 0, n - 1), null, null);
      }
      if (ws[0]) {
        return new Glob(pattern, Shape.SUFFIX, new String(cs, 1, n - 1), null, null);
      }
    }
    return new Glob(pattern, Shape.GENERAL, null, cs, ws);
  }

  /** The pattern as written. */
  public String source() {
    return source;
  }

  /** Whether this glob has no wildcards, i.e. matches exactly one string. */
  public boolean literal() {
    return shape == Shape.LITERAL;
  }

  /** The one string a {@link #literal()} glob matches. */
  String literalText() {
    return literal;
  }

  /** How many characters of the pattern are not wildcards: a rank among overlapping patterns. */
  public int literalChars() {
    if (chars == null) {
      return literal.length();
    }
    int n = 0;
    for (boolean w : wild) {
      n += w ? 0 : 1;
    }
    return n;
  }

  /** Whether the whole of {@code s} matches. */
  public boolean matches(String s) {
    return switch (shape) {
      case LITERAL -> literal.equals(s);
      case ANY -> true;
      case PREFIX -> s.startsWith(literal);
      case SUFFIX -> s.endsWith(literal);
      case GENERAL -> general(s);
    };
  }

  // Greedy match, backtracking only to the last '*': linear for patterns with one star, O(n*m) worst case.
  private boolean general(String s) {
    int si = 0;
    int pi = 0;
    int starP = -1;
    int starS = 0;
    int n = s.length();
    int m = chars.length;
    while (si < n) {
      if (pi < m && wild[pi] && chars[pi] == STAR) {
        starP = pi++;
        starS = si;
      } else if (pi < m && ((wild[pi] && chars[pi] == ONE) || (!wild[pi] && chars[pi] == s.charAt(si)))) {
        si++;
        pi++;
      } else if (starP >= 0) {
        pi = starP + 1;
        si = ++starS;
      } else {
        return false;
      }
    }
    while (pi < m && wild[pi] && chars[pi] == STAR) {
      pi++;
    }
    return pi == m;
  }

  @Override
  public String toString() {
    return source;
  }
}
