package dev.gatehouse.gateway;

import dev.gatehouse.identity.ApiKeys;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * {@code gatehouse keys create --id ID --subject SUBJECT [--group G]… [--role R]… [--scope S]…
 * [--tenant T] [--expires 2027-01-01T00:00:00Z | --expires 90d]}: mints a gateway API key, prints
 * it once, and prints the {@code identity.api_keys} entry (holding only its hash) to paste into the
 * config. The key itself is never stored anywhere by the gateway.
 */
final class KeysCommand {
  static final String SUMMARY = "keys create --id ID --subject S [--group G]... [--role R]... [--scope S]... [--tenant T] [--expires WHEN]: mint an API key";
  private static final Pattern ID = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$");
  private static final Pattern DAYS = Pattern.compile("^([1-9][0-9]{0,4})d$");

  private KeysCommand() {}

  static int run(List<String> args, PrintStream out, PrintStream err) {
    if (args.isEmpty() || !args.get(0).equals("create")) {
      err.println("gatehouse keys: expected 'create'\nusage: gatehouse " + SUMMARY);
      return Cli.EXIT_USAGE;
    }
    String id = null;
    String subject = null;
    String tenant = null;
    Instant expires = null;
    List<String> groups = new ArrayList<>();
    List<String> roles = new ArrayList<>();
    List<String> scopes = new ArrayList<>();
    try {
      for (int i = 1; i < args.size(); i++) {
        String a = args.get(i);
        String v = i + 1 < args.size() ? args.get(i + 1) : null;
        if (v == null || v.startsWith("--")) {
          throw new IllegalArgumentException(a + " needs a value");
        }
        i++;
        switch (a) {
          case "--id" -> id = v;
          case "--subject" -> subject = v;
          case "--tenant" -> tenant = v;
          case "--group" -> groups.add(v);
          case "--role" -> roles.add(v);
          case "--scope" -> scopes.add(v);
          case "--expires" -> expires = expiry(v);
          default -> throw new IllegalArgumentException("unknown option " + a);
        }
      }
      if (id == null || !ID.matcher(id).matches()) {
        throw new IllegalArgumentException("--id: '" + id + "' (expected: letters, digits, '.', '_' or '-', at most 64)");
      }
      if (subject == null || subject.isBlank()) {
        throw new IllegalArgumentException("--subject is required");
      }
    } catch (IllegalArgumentException e) {
      err.println("gatehouse keys create: " + e.getMessage() + "\nusage: gatehouse " + SUMMARY);
      return Cli.EXIT_USAGE;
    }
    String key = ApiKeys.generate();
    out.println("API key (shown only now; store it in your secret manager):");
    out.println();
    out.println("  " + key);
    out.println();
    out.println("Add this entry under identity.api_keys in the gateway's config (it holds only the hash):");
    out.println();
    out.println("    - id: " + id);
    out.println("      hash: \"" + ApiKeys.hash(key) + "\"");
    out.println("      subject: " + yaml(subject));
    if (tenant != null) {
      out.println("      tenant: " + yaml(tenant));
    }
    printList(out, "groups", groups);
    printList(out, "roles", roles);
    printList(out, "scopes", scopes);
    if (expires != null) {
      out.println("      expires: \"" + expires + "\"");
    }
    return 0;
  }

  private static Instant expiry(String v) {
    var m = DAYS.matcher(v);
    if (m.matches()) {
      return Instant.now().plus(Duration.ofDays(Long.parseLong(m.group(1)))).truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
    }
    try {
      return Instant.parse(v);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("--expires: '" + v + "' (expected: an ISO-8601 instant such as 2027-01-01T00:00:00Z, or days such as 90d)");
    }
  }

  private static void printList(PrintStream out, String name, List<String> values) {
    if (!values.isEmpty()) {
      out.println("      " + name + ": [" + String.join(", ", values.stream().map(KeysCommand::yaml).toList()) + "]");
    }
  }

  /** Quotes a scalar for YAML when it is not a plain word. */
  private static String yaml(String s) {
    return s.matches("^[A-Za-z0-9][A-Za-z0-9._@/-]*$") ? s : "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }
}
