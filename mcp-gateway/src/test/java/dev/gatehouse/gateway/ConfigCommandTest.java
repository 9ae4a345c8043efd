package dev.gatehouse.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code gatehouse config validate FILE}: the loader's verdict, its exit code, and the warnings. */
@Timeout(30)
class ConfigCommandTest {
  @TempDir
  Path dir;

  record Result(int exit, String out, String err) {}

  Result run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int exit = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void aValidFileIsOkWithItsWarnings() throws Exception {
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "upstreams:\n  files: { transport: stdio, command: npx }\n"
        + "policies:\n  - { id: staff, allow: { servers: [\"*\"] } }\n"
        + "agent_mode:\n  - { rules: [none], auto_execute: [\"files__read\"] }\n");
    Result r = run("config", "validate", file.toString());
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().startsWith("config OK: " + file + " (1 upstreams"), r.out());
    assertTrue(r.out().contains("warning: agent_mode[0]"), r.out());
  }

  @Test
  void anInvalidFileExitsWith1NamingFieldAndLine() throws Exception {
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server:\n  port: 0\nupstreams:\n  files:\n    transport stdio\n    command: npx\n");
    Result r = run("config", "validate", file.toString());
    assertEquals(1, r.exit());
    assertTrue(r.err().contains("line 5"), r.err());
    Files.writeString(file, "upstreams:\n  files: { transport: stdio, comand: npx }\n");
    r = run("--config", file.toString(), "config", "validate");
    assertEquals(1, r.exit());
    assertTrue(r.err().contains("upstreams.files (line 2") && r.err().contains("unknown key 'comand'"), r.err());
  }

  @Test
  void badUsageExitsWith2() {
    assertEquals(Cli.EXIT_USAGE, run("config", "check").exit());
  }
}
