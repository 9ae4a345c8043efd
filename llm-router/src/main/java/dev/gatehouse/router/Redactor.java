package dev.gatehouse.router;

import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Makes provider text safe to show and log: every configured secret is replaced, then anything shaped
 * like a well-known credential (a provider may echo a key back, partly masked or not), and the text is
 * cut to one short line.
 */
final class Redactor {
  private static final Pattern CREDENTIAL = Pattern.compile(
      "(?i)\\b(?:sk|rk|pk|gsk|xai|sk-ant|sk-proj|sk-or)-[A-Za-z0-9_*.-]{6,}"
          + "|\\bAIza[0-9A-Za-z_-]{10,}"
          + "|\\b(?:AKIA|ASIA)[0-9A-Z]{12,}"
          + "|(?i)\\bbearer\\s+\\S+"
          + "|(?i)\\b(?:api[-_ ]?key|x-api-key|secret[-_ ]?(?:access[-_ ]?)?key|access[-_ ]?token|password)\\s*[:=]\\s*\\S+");
  private static final int MAX = 500;

  private final List<String> secrets;

  Redactor(List<String> secrets) {
    // Longest first, so a secret that contains another is replaced whole.
    this.secrets = secrets.stream().filter(s -> s != null && s.length() >= 4).distinct()
        .sorted(Comparator.comparingInt(String::length).reversed()).toList();
  }

  String scrub(String text) {
    if (text == null || text.isEmpty()) {
      return "";
    }
    String out = text;
    for (String s : secrets) {
      if (out.contains(s)) {
        out = out.replace(s, "[redacted]");
      }
    }
    out = CREDENTIAL.matcher(out).replaceAll("[redacted]");
    StringBuilder sb = new StringBuilder(Math.min(out.length(), MAX + 3));
    for (int i = 0; i < out.length() && sb.length() < MAX; i++) {
      char c = out.charAt(i);
      sb.append(c < 0x20 || c == 0x7f ? ' ' : c);
    }
    if (out.length() > MAX) {
      sb.append("...");
    }
    return sb.toString().strip();
  }
}
