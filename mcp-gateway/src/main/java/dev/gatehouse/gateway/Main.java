package dev.gatehouse.gateway;

import dev.gatehouse.audit.AuditSettings;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code java -jar gatehouse.jar [--config FILE] [--port N] [--host H]}: runs the gateway until stopped. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** The config's audit settings with the store path resolved against the config file, for `audit verify`. */
  private static AuditSettings configuredAudit(CliOptions options) {
    Optional<Path> file = Cli.configFile(options, Path.of("").toAbsolutePath());
    try {
      AuditSettings a = file.map(f -> new ConfigLoader().load(f).audit()).orElseGet(AuditSettings::defaults);
      Path base = file.map(f -> f.toAbsolutePath().getParent()).orElse(Path.of("").toAbsolutePath());
      return a.postgres().isPresent() ? a : a.withStore("sqlite:" + base.resolve(a.sqlitePath()).normalize());
    } catch (ConfigException e) {
      System.err.println("gatehouse: " + e.getMessage() + " (pass --store to verify a store directly)");
      return AuditSettings.defaults();
    }
  }

  static int run(String[] args) {
    return run(args, System.out, System.err);
  }

  /** As {@link #run(String[])}, writing what a command prints to {@code out} and {@code err}. */
  static int run(String[] args, java.io.PrintStream out, java.io.PrintStream err) {
    CliOptions options;
    try {
      options = Cli.parse(args);
    } catch (Cli.UsageException e) {
      err.println("gatehouse: " + e.getMessage());
      err.println();
      err.print(Cli.usage());
      return Cli.EXIT_USAGE;
    }
    if (options.help()) {
      out.print(Cli.usage());
      return 0;
    }
    if (options.version()) {
      out.println(Cli.versionLine());
      return 0;
    }
    if (options.command().isPresent()) {
      return switch (options.command().get()) {
        case "keys" -> KeysCommand.run(options.commandArgs(), out, err);
        case "audit" -> AuditCommand.run(options.commandArgs(), configuredAudit(options), out, err);
        case "integrity" -> IntegrityCommand.run(options.commandArgs(), Cli.configFile(options, Path.of("").toAbsolutePath()),
            new ConfigLoader(), out, err);
        case "config" -> ConfigCommand.run(options.commandArgs(), Cli.configFile(options, Path.of("").toAbsolutePath()),
            new ConfigLoader(), out, err);
        default -> {
          err.println("gatehouse: unknown command " + options.command().get());
          yield Cli.EXIT_USAGE;
        }
      };
    }
    Logger log = LoggerFactory.getLogger(Main.class);
    Optional<Path> file = Cli.configFile(options, Path.of("").toAbsolutePath());
    GatewayConfig config;
    try {
      config = options.applyTo(file.map(f -> new ConfigLoader().load(f)).orElseGet(GatewayConfig::defaults));
    } catch (ConfigException e) {
      err.println("gatehouse: " + e.getMessage());
      return 1;
    }
    if (file.isEmpty()) {
      log.info("no config file (--config, or ./{}): running on built-in defaults with no upstreams", Cli.DEFAULT_CONFIG);
    }
    Gateway gateway;
    try {
      gateway = Gateway.start(config, file);
    } catch (Exception e) {
      err.println("gatehouse: cannot start: " + e.getMessage());
      return 1;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(gateway::close, "gatehouse-shutdown"));
    try {
      gateway.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return 0;
  }
}
