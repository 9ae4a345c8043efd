package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks an upstream definition's text (description, title, argument and property descriptions) for
 * the marks of tool poisoning: instructions aimed at the model, invisible or bidirectional characters,
 * other servers' tools named in it (shadowing), and length past what any honest description needs.
 * The patterns are fixed here, never taken from a request or the config. Each finding names its rule
 * and the offending span.
 */
final class Poisoning {
  private Poisoning() {}

  /** A mark of poisoning in one text field of a definition; {@code start}/{@code end} index that field. */
  record Finding(String rule, String field, int start, int end, String excerpt) {}

  /** Instructions to the model that a description has no business giving, each a rule of its own. */
  private static final List<Rule> INSTRUCTIONS = List.of(
      new Rule("override-instructions", Pattern.compile(
          "\\b(ignore|disregard|forget|override)\\s+(all\\s+|any\\s+|the\\s+)?(previous|prior|above|earlier|other|system)\\s+"
              + "(instructions?|prompts?|rules?|messages?)", Pattern.CASE_INSENSITIVE)),
      new Rule("hidden-tags", Pattern.compile(
          "<\\s*/?\\s*(important|system|instructions?|secret|hidden|admin|assistant)\\s*>", Pattern.CASE_INSENSITIVE)),
      new Rule("conceal-from-user", Pattern.compile(
          "\\b(do\\s+not|don'?t|never)\\s+(tell|mention|inform|reveal|show|disclose)(\\s+\\w+){0,3}?\\s+(to\\s+)?(the\\s+)?user\\b"
              + "|\\bwithout\\s+(telling|informing|notifying)\\s+the\\s+user\\b", Pattern.CASE_INSENSITIVE)),
      new Rule("read-secrets", Pattern.compile(
          "(~/\\.ssh|\\bid_(rsa|ed25519|ecdsa)\\b|\\.aws/credentials|\\.netrc\\b|/etc/(passwd|shadow)\\b|\\.env\\b"
              + "|\\b(read|cat|open|send|include|pass|upload)\\b[^.\\n]{0,60}\\b(private\\s+keys?|ssh\\s+keys?|api[_\\s-]?keys?|passwords?"
              + "|credentials|secrets?|tokens?|mcp\\.json|config\\.json)\\b)", Pattern.CASE_INSENSITIVE)),
      new Rule("exfiltrate", Pattern.compile(
          "\\b(send|post|forward|upload|transmit|copy|exfiltrate)\\b[^.\\n]{0,80}\\b(to|at)\\s+(https?://|\\S+@\\S+\\.\\w+|this\\s+(url|address|endpoint))",
          Pattern.CASE_INSENSITIVE)),
      new Rule("call-other-tools", Pattern.compile(
          "\\b(before|after|instead\\s+of)\\s+(using|calling|running)\\s+(any\\s+other|the\\s+other|this|any|other)\\s+tools?\\b[^.\\n]{0,80}"
              + "\\b(must|always|first|call|use|run)\\b"
              + "|\\b(always|must|first)\\s+(call|use|invoke|run)\\s+(the\\s+)?[`'\"]?[a-z0-9_.-]+[`'\"]?\\s+(tool\\s+)?(first|before)\\b",
          Pattern.CASE_INSENSITIVE)));

  private record Rule(String id, Pattern pattern) {}

  /** Characters a reader does not see: zero-width, bidirectional controls, Unicode tags, other format characters. */
  static boolean invisible(int cp) {
    return (cp >= 0x200B && cp <= 0x200F && cp != 0x200D) || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x206F)
        || cp == 0xFEFF || cp == 0x00AD || cp == 0x180E || (cp >= 0xE0000 && cp <= 0xE007F)
        || (Character.getType(cp) == Character.FORMAT && cp != 0x200D); // ZWJ joins emoji; counted above when alone
  }

  /**
   * The findings in {@code definition} (a tool's, prompt's or template's, as the upstream sent it):
   * {@code otherTools} are the names other servers' tools are known by (shadowing);
   * {@code maxDescriptionChars} bounds a description.
   */
  static List<Finding> check(JsonNode definition, Set<String> otherTools, int maxDescriptionChars) {
    List<Finding> out = new ArrayList<>();
    List<String[]> texts = new ArrayList<>();
    collect(definition, "", texts, 0);
    for (String[] t : texts) {
      String field = t[0];
      String text = t[1];
      for (Rule r : INSTRUCTIONS) {
        Matcher m = r.pattern().matcher(text);
        if (m.find()) {
          out.add(finding(r.id(), field, text, m.start(), m.end()));
        }
      }
      for (int i = 0; i < text.length(); ) {
        int cp = text.codePointAt(i);
        if (invisible(cp)) {
          out.add(new Finding("invisible-characters", field, i, i + Character.charCount(cp),
              String.format(Locale.ROOT, "U+%04X", cp) + " in \"" + clip(text, i, i + 1) + "\""));
          break;
        }
        i += Character.charCount(cp);
      }
      String lower = text.toLowerCase(Locale.ROOT);
      for (String other : otherTools) {
        int at = wordAt(lower, other.toLowerCase(Locale.ROOT));
        if (at >= 0) {
          out.add(finding("shadowing", field, text, at, at + other.length()));
          break;
        }
      }
      if (field.endsWith("description") && text.length() > maxDescriptionChars) {
        out.add(new Finding("long-description", field, maxDescriptionChars, text.length(),
            text.length() + " characters (at most " + maxDescriptionChars + ")"));
      }
    }
    return out;
  }

  /** Where {@code word} occurs in {@code text} on its own (not inside a longer name), or -1. */
  private static int wordAt(String text, String word) {
    int from = 0;
    while (true) {
      int at = text.indexOf(word, from);
      if (at < 0) {
        return -1;
      }
      int end = at + word.length();
      boolean before = at == 0 || !nameChar(text.charAt(at - 1));
      boolean after = end == text.length() || !nameChar(text.charAt(end));
      if (before && after) {
        return at;
      }
      from = at + 1;
    }
  }

  private static boolean nameChar(char c) {
    return Character.isLetterOrDigit(c) || c == '_' || c == '-';
  }

  private static Finding finding(String rule, String field, String text, int start, int end) {
    return new Finding(rule, field, start, end, clip(text, start, end));
  }

  /** The span with a little context, at most about 160 characters, on one line. */
  private static String clip(String text, int start, int end) {
    int from = Math.max(0, start - 30);
    int to = Math.min(text.length(), Math.max(end, start + 1) + 30);
    String s = text.substring(from, Math.min(to, from + 160)).replaceAll("[\\r\\n\\t]+", " ");
    return (from > 0 ? "…" : "") + s + (to < text.length() ? "…" : "");
  }

  /** The text fields a model reads: descriptions and titles anywhere, at most 16 levels deep. */
  private static void collect(JsonNode node, String path, List<String[]> out, int depth) {
    if (node == null || depth > 16) {
      return;
    }
    if (node.isObject()) {
      node.properties().forEach(e -> {
        String p = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
        if ((e.getKey().equals("description") || e.getKey().equals("title")) && e.getValue().isTextual()) {
          out.add(new String[] {p, e.getValue().asText()});
        } else if (!e.getKey().equals("name")) {
          collect(e.getValue(), p, out, depth + 1);
        }
      });
    } else if (node.isArray()) {
      for (int i = 0; i < node.size(); i++) {
        collect(node.get(i), path + "[" + i + "]", out, depth + 1);
      }
    }
  }
}
