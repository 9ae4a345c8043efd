package dev.gatehouse.policy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.policy.PolicyRule.ArgumentConstraint;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * One {@link ArgumentConstraint} compiled for one argument path: the path split once, the regex
 * compiled once (RE2, linear time), the enum as a set.
 */
final class ArgumentCheck {

  /** Longest argument value quoted in a reason; longer ones are cut so reasons stay one line. */
  private static final int QUOTE_LIMIT = 80;

  private final String path;
  private final String[] segments;
  private final String prefix;
  // "/data" for prefix "/data/": the directory itself is inside it
  private final String prefixDir;
  private final com.google.re2j.Pattern regex;
  private final Set<String> allowed;
  private final List<String> allowedInOrder;
  private final int maxLength;
  private final BigDecimal min;
  private final BigDecimal max;
  private final boolean required;

  private ArgumentCheck(String path, ArgumentConstraint c) {
    this.path = path;
    this.segments = path.split("\\.", -1);
    this.prefix = c.prefix().orElse(null);
    this.prefixDir = prefix != null && prefix.length() > 1 && prefix.endsWith("/") ? prefix.substring(0, prefix.length() - 1) : null;
    this.regex = c.regex().map(ArgumentCheck::compileRegex).orElse(null);
    this.allowed = Set.copyOf(c.allowedValues());
    this.allowedInOrder = c.allowedValues();
    this.maxLength = c.maxLength().orElse(-1);
    this.min = c.min().orElse(null);
    this.max = c.max().orElse(null);
    this.required = c.required();
  }

  /** Compiles one constraint; errors name the path ({@code path.regex: ...}). */
  static ArgumentCheck compile(String path, ArgumentConstraint c) {
    if (path.isBlank() || path.startsWith(".") || path.endsWith(".") || path.contains("..")) {
      throw new IllegalArgumentException("'" + path + "' is not an argument path (expected: a name, or dotted names such as options.mode)");
    }
    if (c.prefix().isPresent()) {
      String p = c.prefix().get();
      String n = normalise(p);
      if (!n.equals(p)) {
        throw new IllegalArgumentException(path + ".prefix: '" + p + "' is not a normalised path (expected: '" + n + "')");
      }
    }
    try {
      return new ArgumentCheck(path, c);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(path + ".regex: " + e.getMessage(), e);
    }
  }

  private static com.google.re2j.Pattern compileRegex(String regex) {
    try {
      return com.google.re2j.Pattern.compile(regex);
    } catch (com.google.re2j.PatternSyntaxException e) {
      throw new IllegalArgumentException("'" + regex + "' is not a valid regular expression: " + e.getDescription()
          + " (expected: RE2 syntax; no backreferences or lookaround)", e);
    }
  }

  String path() {
    return path;
  }

  /**
   * The first violation in {@code arguments}, or null when the call satisfies this check (internal;
   * null keeps the common case allocation-free).
   */
  String violation(JsonNode arguments) {
    List<JsonNode> values = new ArrayList<>(1);
    // Tool arguments are an object; anything else carries no named argument.
    if (arguments.isObject()) {
      collect(arguments, 0, values);
    }
    if (values.isEmpty()) {
      return required ? "argument '" + path + "' is required" : null;
    }
    for (JsonNode v : values) {
      String problem = violationOf(v);
      if (problem != null) {
        return problem;
      }
    }
    return null;
  }

  /** What this check demands, for explanations: {@code prefix '/data/', max_length 200}. */
  String summary() {
    List<String> parts = new ArrayList<>();
    if (required) {
      parts.add("required");
    }
    if (prefix != null) {
      parts.add("prefix '" + prefix + "'");
    }
    if (regex != null) {
      parts.add("regex '" + regex.pattern() + "'");
    }
    if (!allowedInOrder.isEmpty()) {
      parts.add("enum " + allowedInOrder);
    }
    if (maxLength >= 0) {
      parts.add("max_length " + maxLength);
    }
    if (min != null) {
      parts.add("min " + min.toPlainString());
    }
    if (max != null) {
      parts.add("max " + max.toPlainString());
    }
    return String.join(", ", parts);
  }

  // Walks the dotted path; an array on the way (or at the end) fans out to each element.
  private void collect(JsonNode node, int i, List<JsonNode> out) {
    if (node == null || node.isMissingNode() || node.isNull()) {
      return;
    }
    if (node.isArray()) {
      for (JsonNode element : node) {
        if (i == segments.length) {
          if (!element.isNull()) {
            out.add(element);
          }
        } else {
          collect(element, i, out);
        }
      }
      return;
    }
    if (i == segments.length) {
      out.add(node);
    } else if (node.isObject()) {
      collect(node.get(segments[i]), i + 1, out);
    }
  }

  private String violationOf(JsonNode v) {
    if (prefix != null || regex != null || maxLength >= 0) {
      if (!v.isTextual()) {
        return "argument '" + path + "' = " + render(v) + " is not a string";
      }
      String s = v.textValue();
      if (prefix != null) {
        String n = normalise(s);
        if (!(n.startsWith(prefix) || n.equals(prefixDir))) {
          return "argument '" + path + "' = " + quote(s) + (n.equals(s) ? "" : " (normalised: " + quote(n) + ")")
              + " does not start with '" + prefix + "'";
        }
      }
      if (regex != null && !regex.matches(s)) {
        return "argument '" + path + "' = " + quote(s) + " does not match regex '" + regex.pattern() + "'";
      }
      if (maxLength >= 0) {
        int length = s.codePointCount(0, s.length());
        if (length > maxLength) {
          return "argument '" + path + "' is " + length + " characters long (expected: at most " + maxLength + ")";
        }
      }
    }
    if (!allowed.isEmpty() && (!v.isValueNode() || !allowed.contains(v.asText()))) {
      return "argument '" + path + "' = " + render(v) + " is not one of " + allowedInOrder;
    }
    if (min != null || max != null) {
      if (!v.isNumber()) {
        return "argument '" + path + "' = " + render(v) + " is not a number";
      }
      BigDecimal n = v.decimalValue();
      if (min != null && n.compareTo(min) < 0) {
        return "argument '" + path + "' = " + render(v) + " is below the minimum " + min.toPlainString();
      }
      if (max != null && n.compareTo(max) > 0) {
        return "argument '" + path + "' = " + render(v) + " is above the maximum " + max.toPlainString();
      }
    }
    return null;
  }

  private static String render(JsonNode v) {
    if (v.isTextual()) {
      return quote(v.textValue());
    }
    if (v.isNumber() || v.isBoolean()) {
      return v.asText();
    }
    return v.isArray() ? "an array" : v.isObject() ? "an object" : v.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
  }

  private static String quote(String s) {
    return s.length() <= QUOTE_LIMIT ? "'" + s + "'" : "'" + s.substring(0, QUOTE_LIMIT) + "…' (" + s.length() + " characters)";
  }

  /**
   * Lexical path normalisation for prefix checks: percent-encoded {@code . / \} decoded, {@code \}
   * read as {@code /} (a Windows upstream would), empty and {@code .} segments dropped, {@code ..}
   * resolved; a leading {@code scheme://} is kept as is. {@code ..} above the root stays at the root
   * for absolute paths and is kept for relative ones, which then match no absolute prefix.
   */
  static String normalise(String value) {
    String v = value;
    if (v.indexOf('%') >= 0) {
      v = decodeSeparators(v);
    }
    if (v.indexOf('\\') >= 0) {
      v = v.replace('\\', '/');
    }
    int start = schemeEnd(v);
    String rest = v.substring(start);
    if (!rest.contains("//") && !rest.contains("/.") && !rest.startsWith(".")) {
      return v;
    }
    boolean absolute = rest.startsWith("/");
    boolean trailing = rest.endsWith("/") || rest.endsWith("/.") || rest.endsWith("/..") || rest.equals(".") || rest.equals("..");
    List<String> out = new ArrayList<>();
    for (String segment : rest.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".")) {
        continue;
      }
      if (segment.equals("..")) {
        if (!out.isEmpty() && !out.get(out.size() - 1).equals("..")) {
          out.remove(out.size() - 1);
        } else if (!absolute) {
          out.add("..");
        }
        continue;
      }
      out.add(segment);
    }
    StringBuilder b = new StringBuilder(v.length()).append(v, 0, start);
    if (absolute) {
      b.append('/');
    }
    b.append(String.join("/", out));
    if (trailing && !out.isEmpty()) {
      b.append('/');
    }
    return b.toString();
  }

  private static int schemeEnd(String v) {
    int colon = v.indexOf("://");
    if (colon <= 0) {
      return 0;
    }
    for (int i = 0; i < colon; i++) {
      char c = v.charAt(i);
      boolean ok = Character.isLetter(c) || (i > 0 && (Character.isDigit(c) || c == '+' || c == '-' || c == '.'));
      if (!ok || c > 127) {
        return 0;
      }
    }
    return colon + 3;
  }

  private static String decodeSeparators(String v) {
    StringBuilder b = new StringBuilder(v.length());
    for (int i = 0; i < v.length(); i++) {
      char c = v.charAt(i);
      if (c == '%' && i + 2 < v.length()) {
        String hex = v.substring(i + 1, i + 3).toLowerCase(java.util.Locale.ROOT);
        char decoded = switch (hex) {
          case "2e" -> '.';
          case "2f" -> '/';
          case "5c" -> '\\';
          default -> 0;
        };
        if (decoded != 0) {
          b.append(decoded);
          i += 2;
          continue;
        }
      }
      b.append(c);
    }
    return b.toString();
  }
}
