package dev.gatehouse.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 5, unit = TimeUnit.SECONDS)
class CliTest {

  private static final Set<String> COMMANDS = Set.of("keys", "audit");

  private static CliOptions parse(String... args) {
    return Cli.parse(List.of(args), COMMANDS);
  }

  private static Cli.UsageException usageError(String... args) {
    return assertThrows(Cli.UsageException.class, () -> parse(args));
  }

  @Test
  void noArgumentsRunsTheGatewayWithDefaults() {
    assertEquals(CliOptions.none(), Cli.parse());
  }

  @Test
  void optionsAreParsed() {
    CliOptions options = parse("--config", "conf/gw.yaml", "--port", "9090", "--host", "0.0.0.0");

    assertEquals(Optional.of(Path.of("conf/gw.yaml")), options.config());
    assertEquals(OptionalInt.of(9090), options.port());
    assertEquals(Optional.of("0.0.0.0"), options.host());
    assertFalse(options.help());
    assertFalse(options.version());
    assertEquals(Optional.empty(), options.command());
  }

  @Test
  void optionValuesMayFollowAnEqualsSign() {
    CliOptions options = parse("--config=gw.yaml", "--port=0", "--host=::1");

    assertEquals(Optional.of(Path.of("gw.yaml")), options.config());
    assertEquals(OptionalInt.of(0), options.port());
    assertEquals(Optional.of("::1"), options.host());
  }

  @Test
  void helpAndVersionAreFlags() {
    assertTrue(parse("--help").help());
    assertTrue(parse("-h").help());
    assertTrue(parse("--version").version());
  }

  @Test
  void unknownOptionIsAUsageErrorWithExitCode2() {
    Cli.UsageException e = usageError("--verbose");

    assertEquals("unknown option '--verbose'", e.getMessage());
    assertEquals(2, e.exitCode());
    assertEquals(2, Cli.EXIT_USAGE);
  }

  @Test
  void badOptionValuesAreUsageErrors() {
    assertEquals("--port needs a value", usageError("--port").getMessage());
    assertEquals("--port: 'abc' (expected: 0..65535, 0 = any free port)", usageError("--port", "abc").getMessage());
    assertEquals("--port: '65536' (expected: 0..65535, 0 = any free port)", usageError("--port=65536").getMessage());
    assertEquals("--port: '-1' (expected: 0..65535, 0 = any free port)", usageError("--port", "-1").getMessage());
    assertTrue(usageError("--host", "not a host").getMessage().startsWith("--host: 'not a host'"));
    assertEquals("--config: '' (expected: a file path)", usageError("--config=").getMessage());
    assertEquals("--help takes no value", usageError("--help=yes").getMessage());
    assertEquals("--port is given more than once", usageError("--port", "1", "--port", "2").getMessage());
  }

  @Test
  void firstWordIsASubcommandAndTheRestIsItsArguments() {
    CliOptions options = parse("--config", "gw.yaml", "keys", "create", "--name", "ci", "--port", "x");

    assertEquals(Optional.of(Path.of("gw.yaml")), options.config());
    assertEquals(Optional.of("keys"), options.command());
    assertEquals(List.of("create", "--name", "ci", "--port", "x"), options.commandArgs(), "left to the subcommand");
    assertEquals(OptionalInt.empty(), options.port());
  }

  @Test
  void doubleDashEndsTheOptions() {
    CliOptions options = parse("--", "audit", "verify");

    assertEquals(Optional.of("audit"), options.command());
    assertEquals(List.of("verify"), options.commandArgs());
  }

  @Test
  void unknownSubcommandIsAUsageError() {
    String message = usageError("serve").getMessage();

    assertTrue(message.startsWith("unknown command 'serve' (expected one of: "), message);
    assertTrue(message.contains("keys") && message.contains("audit"), message);
    CliOptions keys = Cli.parse("keys", "create", "--id", "x");
    assertEquals(java.util.Optional.of("keys"), keys.command());
    assertEquals(java.util.List.of("create", "--id", "x"), keys.commandArgs());
  }

  @Test
  void usageListsEveryOptionAndTheCommands() {
    String usage = Cli.usage();

    assertTrue(usage.startsWith("Usage: gatehouse [options] [command [args...]]"), usage);
    for (String option : List.of("--config FILE", "--host HOST", "--port N", "-h, --help", "--version")) {
      assertTrue(usage.contains(option), option);
    }
    assertTrue(usage.contains("Commands:"), usage);
  }

  @Test
  void versionComesFromTheFilteredResource() {
    String version = Cli.version();

    assertTrue(version.matches("\\d+\\.\\d+\\.\\d+.*"), version);
    assertEquals("gatehouse " + version, Cli.versionLine());
  }

  @Test
  void explicitConfigIsUsedEvenIfMissing(@TempDir Path dir) {
    Path missing = dir.resolve("missing.yaml");

    assertEquals(Optional.of(missing), Cli.configFile(parse("--config", missing.toString()), dir));
  }

  @Test
  void gatehouseYamlInTheWorkingDirectoryIsTheDefault(@TempDir Path dir) throws Exception {
    assertEquals(Optional.empty(), Cli.configFile(CliOptions.none(), dir), "no file: built-in defaults");

    Path file = Files.writeString(dir.resolve("gatehouse.yaml"), "server: {}\n");

    assertEquals(Optional.of(file), Cli.configFile(CliOptions.none(), dir));
  }

  @Test
  void hostAndPortOverrideTheConfigFile() {
    GatewayConfig config = GatewayConfig.defaults().withServer(ServerSettings.defaults().withPort(7000));

    GatewayConfig overridden = parse("--port", "0", "--host", "0.0.0.0").applyTo(config);

    assertEquals(0, overridden.server().port());
    assertEquals("0.0.0.0", overridden.server().host());
    assertEquals(7000, parse("--host", "localhost").applyTo(config).server().port());
    assertSame(config, CliOptions.none().applyTo(config));
  }
}
