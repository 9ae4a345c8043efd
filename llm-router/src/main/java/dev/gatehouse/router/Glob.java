package dev.gatehouse.router;

import java.util.regex.Pattern;

/**
 * A model-name pattern where {@code *} matches any run of characters ({@code /} included). Compiled once
 * at config time; specificity (the count of literal characters) ranks overlapping patterns.
 */
final class Glob {
  private final String text;
  private final Pattern pattern;
  private final boolean literal;

  private Glob(String text) {
    this.text = text;
    this.literal = text.indexOf('*') < 0;
    this.pattern = literal ? null : Pattern.compile(rebuild(text), Pattern.DOTALL);
  }

  private static String rebuild(String text) {
    StringBuilder re = new StringBuilder();
    String[] pieces = text.split("\\*", -1);
    for (int i = 0; i < pieces.length; i++) {
      if (i > 0) {
        re.append(".*");
      }
      if (!pieces[i].isEmpty()) {
        re.append(Pattern.quote(pieces[i]));
      }
    }
    return re.toString();
  }

  static Glob of(String text) {
    return new Glob(text);
  }

  boolean matches(String s) {
    return literal ? text.equals(s) : pattern.matcher(s).matches();
  }

  boolean literal() {
    return literal;
  }

  /** Literal characters; an exact name outranks every pattern. */
  int specificity() {
    return literal ? Integer.MAX_VALUE : text.length() - (int) text.chars().filter(c -> c == '*').count();
  }

  String text() {
    return text;
  }

  @Override
  public String toString() {
    return text;
  }
}
