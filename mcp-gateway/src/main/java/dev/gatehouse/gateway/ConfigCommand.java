package dev.gatehouse.gateway;

import java.io.PrintStream;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * {@code gatehouse config validate [FILE]}: reads a config file exactly as the gateway would at start
 * or on reload (syntax, every key, environment variables, policies with their CEL conditions, providers
 * and aliases) and says whether it would be accepted, without starting anything. Errors name the field
 * and the line; warnings (valid but almost certainly not meant) follow an OK.
 *
 * <p>Exit status: 0 valid (warnings or not); 1 invalid; 2 usage error. FILE defaults to
 * {@code --config}, else {@code ./gatehouse.yaml}.
 */
final class ConfigCommand {
  static final String SUMMARY = "config validate [FILE]: check a config file as the gateway would load it; errors name field and line";

  private ConfigCommand() {}

  static int run(List<String> args, Optional<Path> configured, ConfigLoader loader, PrintStream out, PrintStream err) {
    if (args.isEmpty() || !args.get(0).equals("validate") || args.size() > 2) {
      err.println("gatehouse config: expected 'validate [FILE]'\nusage: gatehouse " + SUMMARY);
      return Cli.EXIT_USAGE;
    }
    Optional<Path> file;
    try {
      file = args.size() == 2 ? Optional.of(Path.of(args.get(1))) : configured;
    } catch (InvalidPathException e) {
      err.println("gatehouse config validate: '" + args.get(1) + "' is not a file path");
      return Cli.EXIT_USAGE;
    }
    if (file.isEmpty()) {
      err.println("gatehouse config validate: no file given and no ./" + Cli.DEFAULT_CONFIG + " (expected: a config file)");
      return Cli.EXIT_USAGE;
    }
    GatewayConfig config;
    try {
      config = loader.load(file.get());
    } catch (ConfigException e) {
      err.println(e.getMessage());
      return 1;
    }
    out.println("config OK: " + file.get() + " (" + config.upstreams().size() + " upstreams, " + config.providers().size()
        + " providers, " + config.policies().size() + " policies, " + config.identity().issuers().size() + " issuers, "
        + config.identity().apiKeys().size() + " API keys)");
    config.warnings().forEach(w -> out.println("warning: " + w));
    return 0;
  }
}
