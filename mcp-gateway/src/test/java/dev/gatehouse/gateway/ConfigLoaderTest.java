package dev.gatehouse.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatehouse.registry.UpstreamConfig;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class ConfigLoaderTest {

  // Not a valid host, URL, number or duration, so every use below is an error.
  private static final String SECRET = "hunter2 s3cr3t!";

  private final Map<String, String> env = new HashMap<>();
  private final ConfigLoader loader = new ConfigLoader(env::get);

  private GatewayConfig parse(String yaml) {
    return loader.parse(yaml, "gatehouse.yaml");
  }

  private ConfigException error(String yaml) {
    return assertThrows(ConfigException.class, () -> parse(yaml));
  }

  private static String lines(String... lines) {
    return String.join("\n", lines) + "\n";
  }

  // ---- structure and defaults ----

  @Test
  void fileWithOnlyEmptySectionsGivesTheDefaults() {
    GatewayConfig config = parse(lines("server: {}", "upstreams: {}"));

    assertEquals(GatewayConfig.defaults(), config);
    ServerSettings server = config.server();
    assertEquals("127.0.0.1", server.host());
    assertEquals(8080, server.port());
    assertEquals(4L * 1024 * 1024, server.maxRequestBytes());
    assertEquals("__", server.toolNameSeparator());
    assertEquals(Optional.empty(), server.publicBaseUrl());
    assertTrue(server.allowedOrigins().contains("http://localhost:*"));
    assertTrue(server.allowedOrigins().contains("https://[::1]:*"));
    assertEquals(List.of("localhost", "127.0.0.1", "[::1]"), server.allowedHosts());
  }

  @Test
  void everySettingIsRead() {
    env.put("TOKEN", SECRET);
    GatewayConfig config =
        parse(
            lines(
                "server:",
                "  host: 0.0.0.0",
                "  port: 0",
                "  allowed_origins: ['https://app.example.com', 'http://localhost:*', 'https://*:8443']",
                "  allowed_hosts: ['*']",
                "  max_request_bytes: 1048576",
                "  tool_name_separator: '-'",
                "  public_base_url: https://gatehouse.example.com",
                "upstreams:",
                "  zeta:",
                "    transport: stdio",
                "    command: npx",
                "    args: [-y, '@modelcontextprotocol/server-filesystem', /tmp]",
                "    env: {LOG_LEVEL: debug}",
                "    cwd: /tmp",
                "    enabled: false",
                "    timeouts: {connect: 10s, call: 2m, health: 0s}",
                "  alpha:",
                "    transport: streamable-http",
                "    url: https://mcp.example.com/mcp",
                "    headers:",
                "      Authorization: Bearer ${env:TOKEN}",
                "  mid:",
                "    transport: sse",
                "    url: http://localhost:9000/sse"));

    ServerSettings server = config.server();
    assertEquals("0.0.0.0", server.host());
    assertEquals(0, server.port());
    assertEquals(List.of("https://app.example.com", "http://localhost:*", "https://*:8443"), server.allowedOrigins());
    assertEquals(List.of("*"), server.allowedHosts());
    assertEquals(1048576, server.maxRequestBytes());
    assertEquals("-", server.toolNameSeparator());
    assertEquals(Optional.of("https://gatehouse.example.com"), server.publicBaseUrl());

    assertEquals(List.of("zeta", "alpha", "mid"), List.copyOf(config.upstreams().keySet()), "file order is kept");
    UpstreamConfig.Stdio zeta = (UpstreamConfig.Stdio) config.upstreams().get("zeta");
    assertEquals("npx", zeta.command());
    assertEquals(List.of("-y", "@modelcontextprotocol/server-filesystem", "/tmp"), zeta.args());
    assertEquals(Map.of("LOG_LEVEL", "debug"), zeta.env());
    assertEquals("/tmp", zeta.cwd());
    assertFalse(zeta.enabled());
    assertEquals(new UpstreamConfig.Timeouts(Duration.ofSeconds(10), Duration.ofMinutes(2), Duration.ZERO), zeta.timeouts());
    UpstreamConfig.StreamableHttp alpha = (UpstreamConfig.StreamableHttp) config.upstreams().get("alpha");
    assertEquals(URI.create("https://mcp.example.com/mcp"), alpha.url());
    assertEquals(Map.of("Authorization", "Bearer " + SECRET), alpha.headers());
    assertTrue(alpha.enabled());
    assertEquals(UpstreamConfig.Timeouts.defaults(), alpha.timeouts());
    UpstreamConfig.Sse mid = (UpstreamConfig.Sse) config.upstreams().get("mid");
    assertEquals(URI.create("http://localhost:9000/sse"), mid.url());
  }

  @Test
  void sameFileGivesEqualConfigs() {
    String yaml = lines("upstreams:", "  a: {transport: stdio, command: x}", "  b: {transport: sse, url: 'http://h/sse'}");
    assertEquals(parse(yaml), parse(yaml));
  }

  @Test
  void jsonFileIsRead(@TempDir Path dir) throws Exception {
    // Tab-indented, which YAML alone would refuse.
    String json = "{\n\t\"server\": {\"port\": 1234},\n\t\"upstreams\": {\n\t\t\"a\": {\"transport\": \"sse\", \"url\": \"http://h/sse\"}\n\t}\n}\n";
    Path file = dir.resolve("gatehouse.json");
    Files.writeString(file, json);

    GatewayConfig config = loader.load(file);

    assertEquals(1234, config.server().port());
    assertEquals(URI.create("http://h/sse"), ((UpstreamConfig.Sse) config.upstreams().get("a")).url());
  }

  @Test
  void jsonContentInAYamlFileIsRead() {
    String compact = "{\"server\": {\"port\": 1234}, \"upstreams\": {\"a\": {\"transport\": \"stdio\", \"command\": \"x\"}}}";
    String tabbed = "{\n\t\"server\": {\n\t\t\"port\": 1234\n\t}\n}\n";

    assertEquals(1234, parse(compact).server().port());
    assertEquals("x", ((UpstreamConfig.Stdio) parse(compact).upstreams().get("a")).command());
    assertEquals(1234, parse(tabbed).server().port());
  }

  @Test
  void jsonErrorsHaveLineNumbers() {
    ConfigException e =
        assertThrows(ConfigException.class, () -> loader.parse("{\n  \"server\": {\"port\": 1,}\n}\n", "gatehouse.json"));

    assertTrue(e.getMessage().startsWith("config error in gatehouse.json (line 2, column "), e.getMessage());
    assertTrue(e.getMessage().contains("JSON syntax"), e.getMessage());
  }

  @Test
  void loadReportsAMissingFile(@TempDir Path dir) {
    Path missing = dir.resolve("nope.yaml");

    ConfigException e = assertThrows(ConfigException.class, () -> loader.load(missing));

    assertEquals("config error in " + missing + ": file not found", e.getMessage());
  }

  @Test
  void fileThatIsNotUtf8IsRejected() {
    byte[] latin1 = "server:\n  host: caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1);

    ConfigException e = assertThrows(ConfigException.class, () -> loader.parse(latin1, "gatehouse.yaml"));

    assertEquals("config error in gatehouse.yaml: the file is not UTF-8 text", e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "\n\n", "# only a comment\n", "---\n", "~\n"})
  void emptyFileIsAnError(String text) {
    assertEquals(
        "config error in gatehouse.yaml: the file is empty (expected: a map with the sections server, upstreams, identity, policies, access, audit, providers, aliases, prices, agent_mode, logging, limits, integrity, tracing, console)",
        error(text).getMessage());
  }

  @Test
  void topLevelThatIsNotAMapIsAnError() {
    assertEquals(
        "config error at the top level (line 1, column 1): expected a map with the sections server, upstreams, identity, policies, access, audit, providers, aliases, prices, agent_mode, logging, limits, got a list",
        error(lines("- server", "- upstreams")).getMessage());
    assertEquals(
        "config error at the top level (line 1, column 1): expected a map with the sections server, upstreams, identity, policies, access, audit, providers, aliases, prices, agent_mode, logging, limits, got a string",
        error("hello\n").getMessage());
  }

  @Test
  void yamlSyntaxErrorHasLineAndColumn() {
    ConfigException e = error(lines("server:", " port: 1", "  host: x"));

    assertEquals("config error in gatehouse.yaml (line 3, column 7): YAML syntax: mapping values are not allowed here", e.getMessage());
    assertEquals(OptionalInt.of(3), e.line());
    assertEquals(OptionalInt.of(7), e.column());
    assertEquals(Optional.empty(), e.path());
  }

  @Test
  void aMissingColonIsReportedOnItsOwnLine() {
    ConfigException e = error(lines("server:", "  port: 0", "upstreams:", "  files:", "    transport stdio", "    command: npx"));
    assertEquals(OptionalInt.of(5), e.line(), e.getMessage());
    assertTrue(e.getMessage().contains("line 5"), e.getMessage());
    ConfigException flow = error(lines("server:", "  host 127.0.0.1", "  port: 0"));
    assertEquals(OptionalInt.of(2), flow.line(), flow.getMessage());
  }

  @Test
  void anAgentModeEntryThatNoPolicyCanReachIsWarnedAbout() {
    String agent = "agent_mode:\n  - { rules: [none], offer_tools: [\"tools__*\"], auto_execute: [\"tools__calc\"] }\n";
    assertEquals(List.of(), parse(agent).warnings(), "with no policies 'none' is the rule id");
    List<String> w = parse(agent + "policies:\n  - { id: staff, allow: { servers: [\"*\"], models: [\"*\"] } }\n").warnings();
    assertEquals(1, w.size(), w.toString());
    assertTrue(w.get(0).contains("agent_mode[0]") && w.get(0).contains("[staff]") && w.get(0).contains("never used"), w.get(0));
    List<String> noModels = parse(agent.replace("[none]", "[staff]")
        + "policies:\n  - { id: staff, allow: { servers: [\"*\"] } }\n").warnings();
    assertTrue(noModels.get(0).contains("allow no models"), noModels.toString());
  }

  @Test
  void secondYamlDocumentIsRejected() {
    assertEquals(
        "config error in gatehouse.yaml (line 3, column 1): more than one YAML document (expected: one)",
        error(lines("server: {}", "---", "server: {}")).getMessage());
  }

  @Test
  void duplicateKeyIsRejected() {
    assertEquals(
        "config error at server.port (line 3, column 3): duplicate key 'port'",
        error(lines("server:", "  port: 1", "  port: 2")).getMessage());
  }

  @Test
  void errorsCarryNoCause() {
    // A Jackson cause could quote values from the environment.
    assertNull(error(lines("server:", "  port: abc")).getCause());
  }

  // ---- unknown keys ----

  @Test
  void unknownKeyIsNamedWithItsPathLineAndTheValidKeys() {
    ConfigException e =
        error(
            lines(
                "server:",
                "  port: 9090",
                "upstreams:",
                "  files:",
                "    transport: stdio",
                "    command: npx",
                "    comand: npx"));

    assertEquals(
        "config error at upstreams.files (line 7, column 5): unknown key 'comand' "
            + "(expected one of: command, args, env, cwd, enabled, timeouts, max_message_bytes, protocol_version, integrity, transport)",
        e.getMessage());
    assertEquals(Optional.of("upstreams.files"), e.path());
    assertEquals(OptionalInt.of(7), e.line());
  }

  @Test
  void misspeltRequiredKeyIsReportedAsUnknownNotAsMissing() {
    ConfigException e = error(lines("upstreams:", "  files:", "    comand: npx", "    transport: stdio"));

    assertEquals(
        "config error at upstreams.files (line 3, column 5): unknown key 'comand' "
            + "(expected one of: command, args, env, cwd, enabled, timeouts, max_message_bytes, protocol_version, integrity, transport)",
        e.getMessage());
  }

  @Test
  void unknownTopLevelAndServerKeysAreNamed() {
    assertEquals(
        "config error at the top level (line 1, column 1): unknown key 'servers' (expected one of: server, upstreams, identity, policies, access, audit, providers, aliases, prices, agent_mode, logging, limits, integrity, tracing, console)",
        error(lines("servers: {}")).getMessage());
    assertEquals(
        "config error at server (line 2, column 3): unknown key 'allowedOrigins' (expected one of: host, port, "
            + "allowed_origins, allowed_hosts, max_request_bytes, tool_name_separator, public_base_url, max_batch_size, sessions, readiness)",
        error(lines("server:", "  allowedOrigins: []")).getMessage());
  }

  // ---- transports ----

  @Test
  void missingTransportListsTheValidOnes() {
    assertEquals(
        "config error at upstreams.files (line 2, column 3): missing 'transport' (expected one of: stdio, streamable-http, sse)",
        error(lines("upstreams:", "  files:", "    command: npx")).getMessage());
  }

  @Test
  void unknownTransportListsTheValidOnes() {
    assertEquals(
        "config error at upstreams.files.transport (line 3, column 16): unknown transport 'http' "
            + "(expected one of: stdio, streamable-http, sse)",
        error(lines("upstreams:", "  files:", "    transport: http", "    url: http://x/mcp")).getMessage());
  }

  @Test
  void upstreamThatIsNotAMapIsAnError() {
    assertEquals(
        "config error at upstreams.files (line 2, column 10): expected a map with 'transport', got 'npx' "
            + "(expected one of: stdio, streamable-http, sse)",
        error(lines("upstreams:", "  files: npx")).getMessage());
    assertEquals(
        "config error at upstreams.files (line 2, column 3): no value (expected: a value, or remove the entry)",
        error(lines("upstreams:", "  files:")).getMessage());
  }

  // ---- upstream names ----

  @Test
  void invalidUpstreamNameIsReportedAtItsKey() {
    ConfigException e = error(lines("upstreams:", "  ok: {transport: stdio, command: x}", "  bad.name:", "    transport: stdio", "    command: x"));

    assertEquals(
        "config error at upstreams.bad.name (line 3, column 3): upstream name: 'bad.name' "
            + "(expected: letters, digits, '-' or single '_', starting with a letter or digit)",
        e.getMessage());
  }

  @Test
  void upstreamNameContainingTheSeparatorIsRejected() {
    ConfigException e =
        error(lines("server:", "  tool_name_separator: '-'", "upstreams:", "  my-files:", "    transport: stdio", "    command: x"));

    assertEquals(
        "config error at upstreams.my-files (line 4, column 3): upstream name: 'my-files' contains the tool-name separator '-'",
        e.getMessage());
  }

  @Test
  void upstreamNameRunningIntoTheSeparatorIsRejected() {
    ConfigException e =
        error(lines("server:", "  tool_name_separator: '--'", "upstreams:", "  files-:", "    transport: stdio", "    command: x"));

    assertTrue(e.getMessage().startsWith("config error at upstreams.files- (line 4, column 3): upstream name: 'files-' runs into"), e.getMessage());
  }

  @Test
  void upstreamNamesAreCheckedForProgrammaticConfigsToo() {
    Map<String, UpstreamConfig> upstreams = new LinkedHashMap<>();
    upstreams.put("a__b", new UpstreamConfig.Stdio("x", List.of()));

    assertThrows(IllegalArgumentException.class, () -> GatewayConfig.defaults().withUpstreams(upstreams));
  }

  // ---- values ----

  @Test
  void recordValidationErrorPointsAtTheField() {
    assertEquals(
        "config error at server.port (line 2, column 9): 70000 (expected: 0..65535, 0 = any free port)",
        error(lines("server:", "  port: 70000")).getMessage());
    assertEquals(
        "config error at upstreams.a.timeouts.call (line 5, column 13): PT0S (expected: > 0)",
        error(lines("upstreams:", "  a:", "    transport: stdio", "    timeouts:", "      call: 0s", "    command: x")).getMessage());
  }

  @Test
  void recordValidationErrorForAnAbsentFieldPointsAtTheRecord() {
    assertEquals(
        "config error at upstreams.a (line 2, column 3): url: missing (expected: an absolute http or https URL)",
        error(lines("upstreams:", "  a:", "    transport: sse")).getMessage());
  }

  @Test
  void typeMismatchNamesTheExpectedType() {
    assertEquals(
        "config error at server.port (line 2, column 9): expected a whole number, got 'abc'",
        error(lines("server:", "  port: abc")).getMessage());
    assertEquals(
        "config error at server.port (line 2, column 9): expected a whole number, got 1.5",
        error(lines("server:", "  port: 1.5")).getMessage());
    assertEquals(
        "config error at server.allowed_origins (line 2, column 20): expected a list, got 'http://x'",
        error(lines("server:", "  allowed_origins: http://x")).getMessage());
    assertEquals(
        "config error at upstreams.a.args[1] (line 5, column 15): expected a string, got a map",
        error(lines("upstreams:", "  a:", "    transport: stdio", "    command: x", "    args: [1, {b: 2}]")).getMessage());
    assertEquals(
        "config error at upstreams.a.url (line 4, column 10): expected a URL, got 'ht tp://x'",
        error(lines("upstreams:", "  a:", "    transport: sse", "    url: 'ht tp://x'")).getMessage());
  }

  @Test
  void emptyEntryInAMapIsAnError() {
    assertEquals(
        "config error at upstreams.a.env.LOG (line 6, column 7): no value (expected: a value, or remove the entry)",
        error(lines("upstreams:", "  a:", "    transport: stdio", "    command: x", "    env:", "      LOG:")).getMessage());
  }

  @ParameterizedTest
  @CsvSource({"500ms, PT0.5S", "30s, PT30S", "2m, PT2M", "1h, PT1H", "PT30S, PT30S", "PT1M30S, PT1M30S", "pt2s, PT2S"})
  void durationsAcceptUnitsAndIso8601(String written, String expected) {
    GatewayConfig config = parse(lines("upstreams:", "  a:", "    transport: stdio", "    command: x", "    timeouts: {call: " + written + "}"));

    assertEquals(Duration.parse(expected), config.upstreams().get("a").timeouts().call());
  }

  @Test
  void bareNumberIsNotADuration() {
    assertEquals(
        "config error at upstreams.a.timeouts.call (line 5, column 22): 30 has no unit "
            + "(expected: a duration with a unit, e.g. 500ms, 30s, 2m, 1h, or ISO-8601 such as PT30S)",
        error(lines("upstreams:", "  a:", "    transport: stdio", "    command: x", "    timeouts: {call: 30}")).getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"'30'", "3 s", "30sec", "1d", "PTX", "1.5s"})
  void malformedDurationIsRejected(String written) {
    ConfigException e = error(lines("upstreams:", "  a:", "    transport: stdio", "    command: x", "    timeouts: {call: " + written + "}"));

    assertTrue(e.getMessage().startsWith("config error at upstreams.a.timeouts.call (line 5, column "), e.getMessage());
    assertTrue(e.getMessage().endsWith("(expected: e.g. 500ms, 30s, 2m, 1h, or ISO-8601 such as PT30S)"), e.getMessage());
  }

  // ---- environment interpolation ----

  @Test
  void environmentVariablesAreInterpolatedAnywhereInAString() {
    env.put("TOKEN", SECRET);
    env.put("HOST", "mcp.example.com");
    env.put("PORT", "9443");
    GatewayConfig config =
        parse(
            lines(
                "server:",
                "  port: ${env:PORT}",
                "upstreams:",
                "  a:",
                "    transport: streamable-http",
                "    url: https://${env:HOST}:${env:PORT}/mcp",
                "    headers: {Authorization: 'Bearer ${env:TOKEN}'}"));

    assertEquals(9443, config.server().port(), "numbers can come from the environment");
    UpstreamConfig.StreamableHttp a = (UpstreamConfig.StreamableHttp) config.upstreams().get("a");
    assertEquals(URI.create("https://mcp.example.com:9443/mcp"), a.url());
    assertEquals("Bearer " + SECRET, a.headers().get("Authorization"));
  }

  @Test
  void defaultIsUsedWhenTheVariableIsUnsetOrEmpty() {
    env.put("EMPTY", "");
    env.put("SET", "10.0.0.1");

    assertEquals("0.0.0.0", parse(lines("server:", "  host: ${env:UNSET:-0.0.0.0}")).server().host());
    assertEquals("0.0.0.0", parse(lines("server:", "  host: ${env:EMPTY:-0.0.0.0}")).server().host());
    assertEquals("10.0.0.1", parse(lines("server:", "  host: ${env:SET:-0.0.0.0}")).server().host());
    assertEquals(Optional.empty(), parse(lines("server:", "  public_base_url: ${env:UNSET:-}")).server().publicBaseUrl());
  }

  @Test
  void missingVariableNamesTheFieldAndTheVariable() {
    ConfigException e = error(lines("upstreams:", "  a:", "    transport: stdio", "    command: x", "    env:", "      API_KEY: ${env:FILES_API_KEY}"));

    assertEquals(
        "config error at upstreams.a.env.API_KEY (line 6, column 16): environment variable 'FILES_API_KEY' is not set "
            + "(give a default with ${env:FILES_API_KEY:-value})",
        e.getMessage());
  }

  @Test
  void doubleDollarEscapesALiteralPlaceholder() {
    env.put("X", SECRET);
    GatewayConfig config =
        parse(lines("upstreams:", "  a:", "    transport: stdio", "    command: sh", "    args: ['$${env:X}', 'cost: $$5', 'a$b']"));

    assertEquals(List.of("${env:X}", "cost: $$5", "a$b"), ((UpstreamConfig.Stdio) config.upstreams().get("a")).args());
  }

  @Test
  void malformedPlaceholdersAreRejected() {
    assertEquals(
        "config error at server.host (line 2, column 9): unsupported placeholder '${HOST}' "
            + "(expected: ${env:NAME} or ${env:NAME:-default}; write $${ for a literal ${)",
        error(lines("server:", "  host: ${HOST}")).getMessage());
    assertTrue(error(lines("server:", "  host: ${env:HOST")).getMessage().contains("unterminated '${'"));
    assertTrue(error(lines("server:", "  host: ${env:1X}")).getMessage().contains("'1X' is not a variable name"));
  }

  @Test
  void keysAreNotInterpolated() {
    env.put("NAME", "files");

    ConfigException e = error(lines("upstreams:", "  ${env:NAME}:", "    transport: stdio", "    command: x"));

    assertTrue(e.getMessage().startsWith("config error at upstreams.${env:NAME} (line 2, column 3): upstream name"), e.getMessage());
  }

  @Test
  void valuesFromTheEnvironmentNeverAppearInErrors() {
    env.put("SECRET", SECRET);
    List<String> files =
        List.of(
            lines("server:", "  port: ${env:SECRET}"),
            lines("server:", "  host: ${env:SECRET}"),
            lines("server:", "  public_base_url: 'ftp://${env:SECRET}'"),
            lines("upstreams:", "  a:", "    transport: sse", "    url: ${env:SECRET}"),
            lines("upstreams:", "  a:", "    transport: sse", "    url: 'http://x/${env:SECRET} y'"),
            lines("upstreams:", "  a:", "    transport: stdio", "    command: x", "    timeouts: {call: '${env:SECRET}'}"),
            lines("upstreams:", "  a:", "    transport: stdio", "    command: x", "    enabled: ${env:SECRET}"),
            lines("upstreams:", "  a:", "    transport: ${env:SECRET}", "    command: x"),
            lines("upstreams:", "  a:", "    transport: stdio", "    command: ${env:SECRET}", "    args: {b: 1}"),
            lines("upstreams:", "  a:", "    transport: stdio", "    command: x", "    env: {K: '${env:SECRET}'}", "    bogus: 1"));

    for (String yaml : files) {
      ConfigException e = error(yaml);
      assertFalse(e.getMessage().contains(SECRET), e.getMessage());
      assertFalse(e.getMessage().contains("s3cr3t"), e.getMessage());
      assertFalse(String.valueOf(e).contains(SECRET), String.valueOf(e));
    }
  }

  @Test
  void errorAboutAValueFromTheEnvironmentNamesTheVariable() {
    env.put("PORT", SECRET);

    assertEquals(
        "config error at server.port (line 2, column 9): expected a whole number, got the value of '${env:PORT}'",
        error(lines("server:", "  port: ${env:PORT}")).getMessage());
    assertEquals(
        "config error at upstreams.a.url (line 4, column 10): expected a URL, got the value of 'http://${env:PORT}'",
        error(lines("upstreams:", "  a:", "    transport: sse", "    url: http://${env:PORT}")).getMessage());
    // Validation messages quote the value; the variable's part is masked.
    assertEquals(
        "config error at server.public_base_url (line 2, column 20): 'ftp://x/${env:PORT}' "
            + "(expected: an absolute http or https URL without query, e.g. https://gatehouse.example.com)",
        error(lines("server:", "  public_base_url: ftp://x/${env:PORT}")).getMessage());
  }

  @Test
  void onlyTrueAndFalseAreBooleans() {
    GatewayConfig config =
        parse(lines("upstreams:", "  a:", "    transport: stdio", "    command: x", "    args: [yes, no, on, off, 'true']", "    env: {NORWAY: no}"));
    UpstreamConfig.Stdio a = (UpstreamConfig.Stdio) config.upstreams().get("a");

    assertEquals(List.of("yes", "no", "on", "off", "true"), a.args());
    assertEquals(Map.of("NORWAY", "no"), a.env());
    assertEquals(
        "config error at upstreams.a.enabled (line 5, column 14): expected true or false, got 'yes'",
        error(lines("upstreams:", "  a:", "    transport: stdio", "    command: x", "    enabled: yes")).getMessage());
  }

  @Test
  void emptyStringIsValidatedNotDefaulted() {
    assertEquals(
        "config error at server.host (line 2, column 9): '' (expected: a host name or IP address to listen on, e.g. 127.0.0.1, 0.0.0.0 or ::)",
        error(lines("server:", "  host: ''")).getMessage());
    assertEquals(Optional.empty(), parse(lines("server:", "  public_base_url: ''")).server().publicBaseUrl());
  }

  // ---- server settings ----

  @ParameterizedTest
  @ValueSource(strings = {"localhost:*", "http://", "http://a b", "*://localhost", "http://localhost:99999", "http://localhost/path"})
  void malformedOriginPatternIsRejected(String pattern) {
    ConfigException e = error(lines("server:", "  allowed_origins: ['http://ok:*', '" + pattern + "']"));

    assertTrue(e.getMessage().startsWith("config error at server.allowed_origins[1] (line 2, column "), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"http://localhost", "https://*", "https://*:*", "http://[::1]:8080", "vscode-webview://abc", "https://a.example.com:443"})
  void originPatternsWithWildcardsAreAccepted(String pattern) {
    assertEquals(List.of(pattern), parse(lines("server:", "  allowed_origins: ['" + pattern + "']")).server().allowedOrigins());
  }

  @ParameterizedTest
  @ValueSource(strings = {"*", "localhost", "localhost:*", "example.com:8080", "[::1]", "[::1]:*", "10.0.0.1"})
  void hostPatternsAreAccepted(String pattern) {
    assertEquals(List.of(pattern), parse(lines("server:", "  allowed_hosts: ['" + pattern + "']")).server().allowedHosts());
  }

  @ParameterizedTest
  @ValueSource(strings = {"http://localhost", "local host", "localhost:port", "", "a:70000"})
  void malformedHostPatternIsRejected(String pattern) {
    assertThrows(ConfigException.class, () -> parse(lines("server:", "  allowed_hosts: ['" + pattern + "']")));
  }

  @ParameterizedTest
  @ValueSource(strings = {"''", "'.'", "'::'", "'_____'", "'a'", "' '"})
  void separatorMustBeOneToFourDashesOrUnderscores(String separator) {
    ConfigException e = error(lines("server:", "  tool_name_separator: " + separator));

    assertTrue(e.getMessage().contains("(expected: 1 to 4 characters of '_' and '-', e.g. __)"), e.getMessage());
  }

  @Test
  void otherServerValuesAreChecked() {
    assertTrue(error(lines("server:", "  max_request_bytes: 0")).getMessage().startsWith("config error at server.max_request_bytes (line 2, column 22): 0 (expected: 1.."));
    assertTrue(error(lines("server:", "  host: 'not a host'")).getMessage().startsWith("config error at server.host (line 2, column 9): 'not a host'"));
    assertTrue(error(lines("server:", "  public_base_url: /relative")).getMessage().startsWith("config error at server.public_base_url (line 2, column 20): '/relative'"));
  }

  @Test
  void commandLineOverridesReplaceHostAndPort() {
    ServerSettings server = ServerSettings.defaults().withHost("0.0.0.0").withPort(9999);

    assertEquals("0.0.0.0", server.host());
    assertEquals(9999, server.port());
    assertThrows(IllegalArgumentException.class, () -> server.withPort(-1));
  }
}
