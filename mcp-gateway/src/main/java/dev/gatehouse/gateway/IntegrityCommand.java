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
  static final String SUMMARY = "integrity lock [--out FILE] [--timeout SECONDS] | list | approve|reject SERVER KIND NAME HASH [--url URL]: "
      + "pin definitions in a lock file; list changes and findings, decide on one (admin API, key in GATEHOUSE_ADMIN_KEY)";

  private IntegrityCommand() {}

  /**
   * {@code list}, {@code approve} and {@code reject} through a running gateway's admin API: the URL is
   * {@code --url}, else {@code http://127.0.0.1:<server.port>} of the config; the admin's key comes
   * from {@code GATEHOUSE_ADMIN_KEY}, never from the command line.
   */
  private static int admin(List<String> args, Optional<Path> configured, ConfigLoader loader, String key, PrintStream out, PrintStream err) {
    List<String> rest = new java.util.ArrayList<>(args);
    String url = null;
    int at = rest.indexOf("--url");
    if (at >= 0) {
      if (at + 1 >= rest.size()) {
        err.println("gatehouse integrity: --url needs a value");
        return Cli.EXIT_USAGE;
      }
      url = rest.get(at + 1);
      rest.remove(at + 1);
      rest.remove(at);
    }
    boolean list = rest.get(0).equals("list");
    if (list ? rest.size() != 1 : rest.size() != 5) {
      err.println("gatehouse integrity: expected 'list' or '" + rest.get(0) + " SERVER KIND NAME HASH'\nusage: gatehouse " + SUMMARY);
      return Cli.EXIT_USAGE;
    }
    if (key == null || key.isBlank()) {
      err.println("gatehouse integrity " + rest.get(0) + ": set GATEHOUSE_ADMIN_KEY to an admin's API key");
      return Cli.EXIT_USAGE;
    }
    if (url == null) {
      try {
        int port = configured.map(loader::load).orElseGet(GatewayConfig::defaults).server().port();
        url = "http://127.0.0.1:" + port;
      } catch (ConfigException e) {
        err.println(e.getMessage());
        return 1;
      }
    }
    try {
      java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
      java.net.http.HttpRequest.Builder b = java.net.http.HttpRequest.newBuilder(java.net.URI.create(url + (list
          ? "/admin/integrity" : "/admin/integrity/decisions"))).header("Authorization", "Bearer " + key).timeout(Duration.ofSeconds(30));
      if (!list) {
        ObjectNode body = Json.object();
        body.put("server", rest.get(1));
        body.put("kind", rest.get(2));
        body.put("name", rest.get(3));
        body.put("hash", rest.get(4));
        body.put("decision", rest.get(0));
        b.header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString(Json.write(body)));
      }
      java.net.http.HttpResponse<String> r = http.send(b.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        err.println("gatehouse integrity " + rest.get(0) + ": HTTP " + r.statusCode() + ": "
            + Json.MAPPER.readTree(r.body()).path("error").path("message").asText(r.body()));
        return 1;
      }
      if (!list) {
        out.println(rest.get(1) + "/" + rest.get(2) + "/" + rest.get(3) + " " + (rest.get(0).equals("approve") ? "approved" : "rejected"));
      }
      print(Json.MAPPER.readTree(r.body()), out);
      return 0;
    } catch (IOException | IllegalArgumentException e) {
      err.println("gatehouse integrity " + rest.get(0) + ": " + url + ": " + e.getMessage());
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
  }

  /** The integrity report, readably: each change with its diff, each finding with its span. */
  static void print(com.fasterxml.jackson.databind.JsonNode report, PrintStream out) {
    out.println(report.path("changes").size() + " changed, " + report.path("findings").size() + " findings, "
        + report.path("fingerprints").asInt() + " definitions fingerprinted");
    for (com.fasterxml.jackson.databind.JsonNode c : report.path("changes")) {
      out.println("changed  " + c.path("server").asText() + " " + c.path("kind").asText() + " " + c.path("name").asText() + " "
          + c.path("hash").asText() + (c.path("withheld").asBoolean() ? "  (withheld)" : "  (served)"));
      c.path("diff").forEach(d -> out.println("    " + d.asText()));
    }
    for (com.fasterxml.jackson.databind.JsonNode f : report.path("findings")) {
      out.println("finding  " + f.path("server").asText() + " " + f.path("kind").asText() + " " + f.path("name").asText() + " "
          + f.path("hash").asText() + "  " + f.path("rule").asText() + " in " + f.path("field").asText() + ": \"" + f.path("excerpt").asText() + "\""
          + (f.path("withheld").asBoolean() ? "  (withheld)" : ""));
    }
  }

  static int run(List<String> args, Optional<Path> configured, ConfigLoader loader, PrintStream out, PrintStream err) {
    return run(args, configured, loader, System.getenv("GATEHOUSE_ADMIN_KEY"), out, err);
  }

  static int run(List<String> args, Optional<Path> configured, ConfigLoader loader, String adminKey, PrintStream out, PrintStream err) {
    if (!args.isEmpty() && List.of("list", "approve", "reject").contains(args.get(0))) {
      return admin(args, configured, loader, adminKey, out, err);
    }
    if (args.isEmpty() || !args.get(0).equals("lock")) {
      err.println("gatehouse integrity: expected 'lock', 'list', 'approve' or 'reject'\nusage: gatehouse " + SUMMARY);
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
