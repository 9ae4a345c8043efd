package dev.gatehouse.gateway;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Properties;
import java.util.Set;

/**
 * The command line: {@code gatehouse [options] [command [args…]]}.
 *
 * <p>Global options come first; the first word that is not an option names a subcommand and
 * everything after it is left to that subcommand. Intended use in {@code Main}:
 *
 * <pre>{@code
 * CliOptions options;
 * try {
 *   options = Cli.parse(args);
 * } catch (Cli.UsageException e) {
 *   System.err.println("gatehouse: " + e.getMessage());
 *   System.err.print(Cli.usage());
 *   System.exit(Cli.EXIT_USAGE);
 * }
 * if (options.help()) { System.out.print(Cli.usage()); return; }
 * if (options.version()) { System.out.println(Cli.versionLine()); return; }
 * GatewayConfig config = Cli.configFile(options, Path.of(""))
 *     .map(new ConfigLoader()::load)
 *     .orElseGet(GatewayConfig::defaults);
 * config = options.applyTo(config);
 * }</pre>
 */
final class Cli {

  /** Exit code for a command line that cannot be parsed. */
  static final int EXIT_USAGE = 2;

  /** The config file used when {@code --config} is absent, if it exists in the working directory. */
  static final String DEFAULT_CONFIG = "gatehouse.yaml";

  /**
   * Subcommands, name to one-line summary, in the order {@code --help} lists them. Add an entry here
   * when a subcommand (such as {@code keys} or {@code audit}) is implemented; unknown names are
   * usage errors.
   */
  static final Map<String, String> COMMANDS = commands();

  private static Map<String, String> commands() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("keys", KeysCommand.SUMMARY.substring("keys ".length()));
    m.put("audit", AuditCommand.SUMMARY.startsWith("audit ") ? AuditCommand.SUMMARY.substring("audit ".length()) : AuditCommand.SUMMARY);
    m.put("config", ConfigCommand.SUMMARY.substring("config ".length()));
    m.put("integrity", IntegrityCommand.SUMMARY.substring("integrity ".length()));
    return Collections.unmodifiableMap(m);
  }

  private static final String VERSION_RESOURCE = "/gatehouse-version.properties";

  private Cli() {}

  /** Parses {@code args} against {@link #COMMANDS}. */
  static CliOptions parse(String... args) {
    return parse(List.of(args), COMMANDS.keySet());
  }

  /**
   * Parses {@code args}, accepting the given subcommand names.
   *
   * @throws UsageException for an unknown option or command, a missing or bad option value, or a
   *     repeated option
   */
  static CliOptions parse(List<String> args, Set<String> commands) {
    Optional<Path> config = Optional.empty();
    OptionalInt port = OptionalInt.empty();
    Optional<String> host = Optional.empty();
    boolean help = false;
    boolean version = false;
    List<String> seen = new ArrayList<>();
    int i = 0;
    while (i < args.size()) {
      String arg = args.get(i);
      if (arg.equals("--")) {
        i++;
        break;
      }
      if (!arg.startsWith("-") || arg.equals("-")) {
        break;
      }
      int eq = arg.indexOf('=');
      String name = arg.startsWith("--") && eq > 0 ? arg.substring(0, eq) : arg;
      String inline = name.length() < arg.length() ? arg.substring(eq + 1) : null;
      String canonical = name.equals("-h") ? "--help" : name;
      if (seen.contains(canonical)) {
        throw new UsageException(canonical + " is given more than once");
      }
      seen.add(canonical);
      switch (canonical) {
        case "--help" -> help = flag(name, inline);
        case "--version" -> version = flag(name, inline);
        case "--config" -> {
          String value = inline != null ? inline : value(args, ++i, name);
          config = Optional.of(path(value));
        }
        case "--port" -> {
          String value = inline != null ? inline : value(args, ++i, name);
          port = OptionalInt.of(port(value));
        }
        case "--host" -> {
          String value = inline != null ? inline : value(args, ++i, name);
          try {
            // The same rule as server.host in the config file.
            ServerSettings.defaults().withHost(value);
          } catch (IllegalArgumentException e) {
            throw new UsageException("--host: '" + value + "' (expected: a host name or IP address, e.g. 127.0.0.1 or 0.0.0.0)");
          }
          host = Optional.of(value);
        }
        default -> throw new UsageException("unknown option '" + name + "'");
      }
      i++;
    }
    Optional<String> command = Optional.empty();
    List<String> commandArgs = List.of();
    if (i < args.size()) {
      String word = args.get(i);
      if (!commands.contains(word)) {
        throw new UsageException(
            "unknown command '" + word + "'" + (commands.isEmpty() ? " (this version has none)" : " (expected one of: " + String.join(", ", commands) + ")"));
      }
      command = Optional.of(word);
      commandArgs = args.subList(i + 1, args.size());
    }
    return new CliOptions(config, port, host, help, version, command, commandArgs);
  }

  /**
   * The config file to load: {@code --config} if given (whether or not it exists, so a typo is an
   * error rather than a silent fallback), else {@value #DEFAULT_CONFIG} in {@code workingDir} if it
   * is a file, else none (built-in defaults).
   */
  static Optional<Path> configFile(CliOptions options, Path workingDir) {
    if (options.config().isPresent()) {
      return options.config();
    }
    Path fallback = workingDir.resolve(DEFAULT_CONFIG);
    return Files.isRegularFile(fallback) ? Optional.of(fallback) : Optional.empty();
  }

  /** The {@code --help} text. */
  static String usage() {
    StringBuilder out = new StringBuilder();
    out.append("Usage: gatehouse [options] [command [args...]]\n\n");
    out.append("Runs the Gatehouse MCP gateway; with a command, runs that command instead.\n\n");
    out.append("Options:\n");
    out.append("  --config FILE   config file, YAML or JSON (default: ./" + DEFAULT_CONFIG + " if present,\n");
    out.append("                  else built-in defaults with no upstreams)\n");
    out.append("  --host HOST     address to listen on; overrides server.host\n");
    out.append("  --port N        port to listen on, 0 for any free port; overrides server.port\n");
    out.append("  -h, --help      show this help and exit\n");
    out.append("  --version       print the version and exit\n\n");
    out.append("Commands:\n");
    if (COMMANDS.isEmpty()) {
      out.append("  (none in this version)\n");
    }
    int width = COMMANDS.keySet().stream().mapToInt(String::length).max().orElse(0);
    COMMANDS.forEach((name, summary) -> out.append("  ").append(name).append(" ".repeat(width - name.length() + 3)).append(summary).append('\n'));
    out.append("\nThe config file is reloaded when it changes; see docs/configuration.md.\n");
    return out.toString();
  }

  /** {@code gatehouse <version>}, the {@code --version} output. */
  static String versionLine() {
    return "gatehouse " + version();
  }

  /** The project version the build stamped into {@value #VERSION_RESOURCE}, or {@code unknown}. */
  static String version() {
    try (InputStream in = Cli.class.getResourceAsStream(VERSION_RESOURCE)) {
      if (in == null) {
        return "unknown";
      }
      Properties properties = new Properties();
      properties.load(in);
      String version = properties.getProperty("version", "").trim();
      // An unfiltered resource (a run from an IDE without the Maven build) still says ${project.version}.
      return version.isEmpty() || version.contains("${") ? "unknown" : version;
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static boolean flag(String name, String inline) {
    if (inline != null) {
      throw new UsageException(name + " takes no value");
    }
    return true;
  }

  private static String value(List<String> args, int index, String name) {
    if (index >= args.size()) {
      throw new UsageException(name + " needs a value");
    }
    return args.get(index);
  }

  private static Path path(String value) {
    try {
      if (!value.isBlank()) {
        return Path.of(value);
      }
    } catch (InvalidPathException e) {
      // reported below
    }
    throw new UsageException("--config: '" + value + "' (expected: a file path)");
  }

  private static int port(String value) {
    try {
      int port = Integer.parseInt(value);
      if (port >= 0 && port <= 65535) {
        return port;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new UsageException("--port: '" + value + "' (expected: 0..65535, 0 = any free port)");
  }

  /** A command line that cannot be parsed; the message says why, without the usage text. */
  static final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }

    /** The process exit code for this error, {@link #EXIT_USAGE}. */
    int exitCode() {
      return EXIT_USAGE;
    }
  }
}
