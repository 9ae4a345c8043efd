package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.registry.Json;
import dev.gatehouse.registry.ToolRegistry;
import dev.gatehouse.registry.UpstreamStatus;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * {@code gatehouse integrity lock [--out FILE] [--timeout SECONDS]}: connects to every enabled upstream
 * of the config, fingerprints every tool, prompt and resource template they list, and writes them to a
 * lock file (default {@code gatehouse.lock} beside the config) to review in git like a package lock;
 * {@code integrity.lock_file} makes the gateway hold upstreams to it. Nothing is written unless every
 * enabled upstream connected.
 *
 * <p>Exit status: 0 written; 1 an upstream did not connect, or the config or the file failed; 2 usage.
 */
final class IntegrityCommand {
  static final String SUMMARY = "integrity lock [--out FILE] [--timeout SECONDS]: write the upstreams' definition fingerprints to a lock file";

  private IntegrityCommand() {}

  static int run(List<String> args, Optional<Path> configured, ConfigLoader loader, PrintStream out, PrintStream err) {
    if (args.isEmpty() || !args.get(0).equals("lock")) {
      err.println("gatehouse integrity: expected 'lock'\nusage: gatehouse " + SUMMARY);
      return Cli.EXIT_USAGE;
    }
    Optional<Path> target = Optional.empty();
    Duration timeout = Duration.ofSeconds(60);
    try {
      for (int i = 1; i < args.size(); i++) {
        switch (args.get(i)) {
          case "--out" -> target = Optional.of(Path.of(args.get(++i)));
          case "--timeout" -> timeout = Duration.ofSeconds(Long.parseLong(args.get(++i)));
          default -> throw new IllegalArgumentException("unknown option " + args.get(i));
        }
      }
    } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
      err.println("gatehouse integrity lock: " + (e instanceof IndexOutOfBoundsException ? "an option needs a value" : e.getMessage())
          + "\nusage: gatehouse " + SUMMARY);
      return Cli.EXIT_USAGE;
    }
    if (configured.isEmpty()) {
      err.println("gatehouse integrity lock: no --config and no ./" + Cli.DEFAULT_CONFIG + " (expected: the gateway's config file)");
      return Cli.EXIT_USAGE;
    }
    GatewayConfig config;
    try {
      config = loader.load(configured.get());
    } catch (ConfigException e) {
      err.println(e.getMessage());
      return 1;
    }
    Path file = target.orElse(configured.get().toAbsolutePath().getParent().resolve("gatehouse.lock"));
    try (ToolRegistry registry = ToolRegistry.create(Cli.version(), new ToolRegistry.Listener() {}, "gatehouse-lock")) {
      registry.apply(config.upstreams(), config.server().toolNameSeparator());
      long deadline = System.nanoTime() + timeout.toNanos();
      long enabled = config.upstreams().values().stream().filter(u -> u.enabled()).count();
      while (registry.status().stream().filter(UpstreamStatus::connected).count() < enabled && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      List<String> missing = registry.status().stream().filter(s -> !s.connected() && config.upstreams().get(s.name()).enabled())
          .map(s -> s.name() + " (" + s.lastError().orElse(s.state().toString()) + ")").toList();
      if (!missing.isEmpty()) {
        err.println("gatehouse integrity lock: not connected within " + timeout.toSeconds() + " s, nothing written: " + String.join(", ", missing));
        return 1;
      }
      ObjectNode lock = Integrity.lockFile(registry.catalog().servers(), Cli.version());
      Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
      Files.writeString(tmp, Json.MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(lock) + "\n");
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      int count = 0;
      for (var server : (Iterable<java.util.Map.Entry<String, com.fasterxml.jackson.databind.JsonNode>>) lock.path("definitions").properties()::iterator) {
        for (var kind : (Iterable<java.util.Map.Entry<String, com.fasterxml.jackson.databind.JsonNode>>) server.getValue().properties()::iterator) {
          count += kind.getValue().size();
        }
      }
      out.println("wrote " + count + " definitions of " + enabled + " upstreams to " + file);
      return 0;
    } catch (IOException e) {
      err.println("gatehouse integrity lock: writing " + file + " failed: " + e.getMessage());
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    } catch (Exception e) {
      err.println("gatehouse integrity lock: " + e.getMessage());
      return 1;
    }
  }
}
