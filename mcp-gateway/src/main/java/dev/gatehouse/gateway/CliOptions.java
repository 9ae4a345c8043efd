package dev.gatehouse.gateway;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The parsed command line (see {@link Cli}). {@code command} is the subcommand, if any, and
 * {@code commandArgs} everything after it, untouched, for the subcommand to parse.
 */
record CliOptions(
    Optional<Path> config,
    OptionalInt port,
    Optional<String> host,
    boolean help,
    boolean version,
    Optional<String> command,
    List<String> commandArgs) {

  CliOptions {
    commandArgs = List.copyOf(commandArgs);
  }

  /** No options: run the gateway with the default config lookup. */
  static CliOptions none() {
    return new CliOptions(Optional.empty(), OptionalInt.empty(), Optional.empty(), false, false, Optional.empty(), List.of());
  }

  /** {@code config} with {@code --host} and {@code --port} applied over its server settings. */
  GatewayConfig applyTo(GatewayConfig config) {
    ServerSettings server = config.server();
    if (host.isPresent()) {
      server = server.withHost(host.get());
    }
    if (port.isPresent()) {
      server = server.withPort(port.getAsInt());
    }
    return server.equals(config.server()) ? config : config.withServer(server);
  }
}
