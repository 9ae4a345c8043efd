package dev.gatehouse.gateway;

import dev.gatehouse.audit.AuditException;
import dev.gatehouse.audit.AuditSettings;
import dev.gatehouse.audit.SqliteAuditStore;
import dev.gatehouse.audit.AuditVerifyResult;
import java.io.PrintStream;
import java.nio.file.Path;
import java.nio.file.InvalidPathException;
import java.util.List;
import java.util.regex.Pattern;

/**
 * {@code gatehouse audit verify [--store sqlite:PATH | --store PATH | --store postgresql://…]}: checks the audit store's hash
 * chain from its latest retention checkpoint (or the first step) to its head, without starting the
 * gateway and safely while one is writing. Prints one line: OK with the number of steps and the head
 * hash, or the first broken record (seq, step id) and why.
 *
 * <p>Exit status: 0 the chain verifies; 1 it is broken; 2 usage error; 3 the store cannot be read.
 */
final class AuditCommand {
  static final String SUMMARY = "audit verify [--store sqlite:PATH | postgresql://…]: check the audit hash chain, name the first broken record";
  static final int EXIT_BROKEN = 1;
  static final int EXIT_UNREADABLE = 3;
  private static final Pattern SCHEME = Pattern.compile("[A-Za-z][A-Za-z0-9+.-]+:");

  private AuditCommand() {}

  /** Runs with {@code --store} required. */
  static int run(List<String> args, PrintStream out, PrintStream err) {
    return verify(args, null, out, err);
  }

  /** Runs with {@code --store} defaulting to the configured {@code audit.store}. */
  static int run(List<String> args, AuditSettings configured, PrintStream out, PrintStream err) {
    return verify(args, configured.store(), out, err);
  }

  // defaultStore is null when there is no config to fall back on.
  private static int verify(List<String> args, String defaultStore, PrintStream out, PrintStream err) {
    if (args.isEmpty() || !args.get(0).equals("verify")) {
      err.println("gatehouse audit: expected 'verify'\nusage: gatehouse " + SUMMARY);
      return Cli.EXIT_USAGE;
    }
    String store = defaultStore;
    for (int i = 1; i < args.size(); i++) {
      String a = args.get(i);
      if (a.startsWith("--store=")) {
        store = a.substring("--store=".length());
      } else if (a.equals("--store") && i + 1 < args.size()) {
        store = args.get(++i);
      } else {
        err.println("gatehouse audit verify: " + (a.equals("--store") ? "--store needs a value" : "unknown argument '" + a + "'")
            + "\nusage: gatehouse " + SUMMARY);
        return Cli.EXIT_USAGE;
      }
    }
    if (store == null) {
      err.println("gatehouse audit verify: --store is required (or a config file with audit.store)\nusage: gatehouse " + SUMMARY);
      return Cli.EXIT_USAGE;
    }
    AuditVerifyResult result;
    java.util.Optional<dev.gatehouse.audit.PostgresUrl> postgres;
    try {
      postgres = AuditSettings.postgres(store);
    } catch (IllegalArgumentException e) {
      err.println("gatehouse audit verify: " + e.getMessage());
      return Cli.EXIT_USAGE;
    }
    if (postgres.isPresent()) {
      try {
        result = dev.gatehouse.audit.PostgresAuditStore.verify(postgres.get());
      } catch (AuditException e) {
        err.println("gatehouse audit verify: " + e.getMessage());
        return EXIT_UNREADABLE;
      }
      return report(result, out, err);
    }
    Path path;
    try {
      // "sqlite:PATH" like the config, or a plain file path; other schemes get the config's message.
      path = SCHEME.matcher(store).lookingAt() ? AuditSettings.sqlitePath(store) : Path.of(store);
    } catch (InvalidPathException e) {
      err.println("gatehouse audit verify: --store: '" + store + "': " + e.getReason());
      return Cli.EXIT_USAGE;
    } catch (IllegalArgumentException e) {
      err.println("gatehouse audit verify: " + e.getMessage());
      return Cli.EXIT_USAGE;
    }
    try {
      result = SqliteAuditStore.verify(path);
    } catch (AuditException e) {
      err.println("gatehouse audit verify: " + e.getMessage());
      return EXIT_UNREADABLE;
    }
    return report(result, out, err);
  }

  private static int report(AuditVerifyResult result, PrintStream out, PrintStream err) {
    if (result.ok()) {
      out.println(result.message());
      return 0;
    }
    err.println(result.message());
    return EXIT_BROKEN;
  }
}
