package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.identity.ApiKeys;
import dev.gatehouse.registry.Json;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tool integrity with a real upstream process whose tool changes its description mid-session (a "rug
 * pull", announced with {@code list_changed}): in {@code pin} mode the tool leaves every list and its
 * calls are refused naming the change until an admin approves it (clients are told); in {@code warn}
 * mode it is served and the change recorded; approvals outlive a restart.
 */
@Timeout(120)
class IntegrityEndToEndTest {
  static final String AGENT = ApiKeys.generate();
  static final String ADMIN = ApiKeys.generate();
  @TempDir
  Path dir;
  NodeTooling.Listening upstream;
  dev.gatehouse.samples.RunningServer model;
  Gateway gateway;
  Path file;

  String config(String mode) {
    return config(mode, "");
  }

  String config(String mode, String integrityExtra) {
    return "server: { port: 0 }\nupstreams:\n"
        + "  v2: { transport: streamable-http, url: \"" + upstream.url() + "\", integrity: { mode: " + mode + " } }\n"
        + "integrity: { mode: warn" + integrityExtra + " }\n"
        + "identity:\n  api_keys:\n"
        + "    - { id: agent, hash: \"" + ApiKeys.hash(AGENT) + "\", subject: agent-1, groups: [agents] }\n"
        + "    - { id: admin, hash: \"" + ApiKeys.hash(ADMIN) + "\", subject: root, roles: [gatehouse-admin, gatehouse-auditor] }\n"
        + "policies:\n  - { id: agents, when: { groups: [agents] }, allow: { servers: [v2], models: [\"scripted/*\"] } }\n"
        + (model == null ? "" : "providers:\n  scripted: { kind: openai-compatible, base_url: \"" + model.url() + "\", keys: [{ value: sk-x }] }\n")
        + "audit: { store: \"sqlite:" + dir.resolve("audit.db") + "\" }\n";
  }

  void start(String mode) throws Exception {
    start(mode, "");
  }

  void start(String mode, String integrityExtra) throws Exception {
    file = dir.resolve("g.yaml");
    Files.writeString(file, config(mode, integrityExtra));
    gateway = Gateway.start(new ConfigLoader().load(file), Optional.of(file));
    await("upstream", Duration.ofSeconds(30), () -> gateway.registry().status().stream().allMatch(s -> s.connected()));
  }

  @BeforeEach
  void upstream() throws Exception {
    NodeTooling.require();
    upstream = NodeTooling.listening("ts-sdk-v2-upstream.mjs");
  }

  @AfterEach
  void stop() throws Exception {
    TestUpstreams.closeAll(gateway, upstream, model);
  }

  HttpResponse<String> modern(String method, String name, String params) {
    return McpHttp.modern(gateway.baseUri().resolve("/mcp"), 1, method, name, params, "Authorization", "Bearer " + AGENT);
  }

  List<String> tools() throws Exception {
    List<String> names = new ArrayList<>();
    Json.MAPPER.readTree(modern("tools/list", null, "").body()).path("result").path("tools").forEach(t -> names.add(t.path("name").asText()));
    return names;
  }

  JsonNode admin(String method, String path, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(gateway.baseUri().resolve(path)).header("Authorization", "Bearer " + ADMIN);
    b = body == null ? b.GET() : b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
    HttpResponse<String> r = TestUpstreams.send(b.build());
    assertEquals(200, r.statusCode(), r.body());
    return Json.MAPPER.readTree(r.body());
  }

  void rugPull(String description) throws Exception {
    HttpResponse<String> r = modern("tools/call", "v2__rug_pull", "\"name\":\"v2__rug_pull\",\"arguments\":{\"description\":\"" + description + "\"}");
    assertTrue(r.body().contains("description changed"), r.body());
  }

  JsonNode change() throws Exception {
    JsonNode[] found = {null};
    await("the change is seen", Duration.ofSeconds(20), () -> {
      try {
        for (JsonNode c : admin("GET", "/admin/integrity", null).path("changes")) {
          if (c.path("name").asText().equals("echo")) {
            found[0] = c;
          }
        }
        return found[0] != null;
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    return found[0];
  }

  @Test
  void inPinModeAChangedToolIsWithheldEverywhereUntilApprovedAndClientsAreTold() throws Exception {
    start("pin");
    assertTrue(tools().contains("v2__echo"));
    String session = McpHttp.session(gateway.baseUri().resolve("/mcp"), "Authorization", "Bearer " + AGENT);
    HttpResponse<Stream<String>> events = TestUpstreams.HTTP.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/mcp"))
        .header("Accept", "text/event-stream").header("Mcp-Session-Id", session).header("Authorization", "Bearer " + AGENT).GET().build(),
        HttpResponse.BodyHandlers.ofLines());

    rugPull("Echoes its text, and more.");
    JsonNode change = change();
    assertTrue(change.path("withheld").asBoolean(), change.toString());
    assertTrue(change.path("diff").toString().contains("description: \\\"Echoes its text.\\\" → \\\"Echoes its text, and more.\\\""),
        change.toString());
    assertFalse(tools().contains("v2__echo"), "withheld from tools/list");
    HttpResponse<String> single = McpHttp.modern(gateway.baseUri().resolve("/mcp/v2"), 2, "tools/list", null, "", "Authorization", "Bearer " + AGENT);
    assertFalse(single.body().contains("\"echo\""), "and from /mcp/<server>: " + single.body());
    HttpResponse<String> sessionList = McpHttp.post(gateway.baseUri().resolve("/mcp"), session,
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\"}", "Authorization", "Bearer " + AGENT);
    assertFalse(sessionList.body().contains("v2__echo"), "and from a 2025-11-25 session's list: " + sessionList.body());
    HttpResponse<String> refused = modern("tools/call", "v2__echo", "\"name\":\"v2__echo\",\"arguments\":{\"text\":\"hi\"}");
    JsonNode error = Json.MAPPER.readTree(refused.body()).path("error");
    assertEquals(RpcError.FORBIDDEN, error.path("code").asInt(), refused.body());
    assertTrue(error.path("message").asText().contains("Echoes its text, and more."), "the refusal names what changed: " + refused.body());
    HttpResponse<String> executed = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve(ExecuteHandler.PATH))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + AGENT)
        .POST(HttpRequest.BodyPublishers.ofString(ExecuteTest.chatCall("call_1", "v2__echo", "{\"text\":\"hi\"}"))).build());
    assertEquals(403, executed.statusCode(), "refused at the execute door too: " + executed.body());

    admin("POST", "/admin/integrity/decisions", "{\"server\":\"v2\",\"kind\":\"tool\",\"name\":\"echo\",\"hash\":\""
        + change.path("hash").asText() + "\",\"decision\":\"approve\"}");
    assertTrue(tools().contains("v2__echo"), "back after approval");
    assertTrue(modern("tools/call", "v2__echo", "\"name\":\"v2__echo\",\"arguments\":{\"text\":\"hi\"}").body().contains("echo: hi"));
    int listChanged = 0;
    try (Stream<String> lines = events.body()) {
      Iterator<String> it = lines.iterator();
      while (listChanged < 2 && it.hasNext()) {
        if (it.next().contains("notifications/tools/list_changed")) {
          listChanged++; // withheld, then served again
        }
      }
    }
    assertEquals(2, listChanged);
    JsonNode steps = admin("GET", "/v1/audit/chains/integrity", null).path("steps");
    assertTrue(steps.toString().contains("\"decision\":\"changed\"") && steps.toString().contains("\"decision\":\"approved\""), steps.toString());
    assertTrue(steps.toString().contains("\"subject\":\"root\""), "the approval names the admin: " + steps);
  }

  /** What the scripted model answers "echo hi" with when the caller's MCP tools are offered to it. */
  JsonNode askTheModel() throws Exception {
    HttpResponse<String> r = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/v1/chat/completions"))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + AGENT).header(ChatHandler.TOOLS_HEADER, "all")
        .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"scripted/scripted-1\",\"messages\":[{\"role\":\"user\",\"content\":\"echo hi\"}]}"))
        .build());
    assertEquals(200, r.statusCode(), r.body());
    return Json.MAPPER.readTree(r.body()).path("choices").path(0).path("message");
  }

  @Test
  void aWithheldToolIsNotOfferedToModels() throws Exception {
    model = dev.gatehouse.samples.Samples.startScriptedModel("127.0.0.1", 0);
    start("pin");
    assertEquals("v2__echo", askTheModel().path("tool_calls").path(0).path("function").path("name").asText(), "offered before the change");
    rugPull("Changed before a model saw it.");
    change();
    JsonNode after = askTheModel();
    assertTrue(after.path("tool_calls").isMissingNode() || after.path("tool_calls").isEmpty(), "not offered once withheld: " + after);
    assertEquals("You said: echo hi", after.path("content").asText(), after.toString());
  }

  @Test
  void inWarnModeAChangedToolIsServedAndTheChangeRecorded() throws Exception {
    start("warn");
    rugPull("Echoes its text, politely.");
    JsonNode change = change();
    assertFalse(change.path("withheld").asBoolean(), change.toString());
    assertTrue(tools().contains("v2__echo"));
    JsonNode steps = admin("GET", "/v1/audit/chains/integrity", null).path("steps");
    assertTrue(steps.toString().contains("v2/tool/echo"), steps.toString());
  }

  @Test
  void approvalsOutliveARestartAndSoDoesAPinnedChange() throws Exception {
    start("pin");
    rugPull("First change.");
    JsonNode change = change();
    admin("POST", "/admin/integrity/decisions", "{\"server\":\"v2\",\"kind\":\"tool\",\"name\":\"echo\",\"hash\":\""
        + change.path("hash").asText() + "\",\"decision\":\"approve\"}");
    gateway.close();
    rugPull2("Second change, while the gateway was down.");
    start("pin");
    await("the second change is seen after the restart", Duration.ofSeconds(20), () -> {
      try {
        return !tools().contains("v2__echo");
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    assertTrue(change().path("diff").toString().contains("First change."), "compared with what was approved before the restart");
  }

  @Test
  void aLockFileWrittenByTheCliPinsFingerprintsBeforeTheGatewayEverSawThem() throws Exception {
    file = dir.resolve("g.yaml");
    Files.writeString(file, config("pin"));
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
    int exit = Main.run(new String[] {"--config", file.toString(), "integrity", "lock"}, new java.io.PrintStream(out), new java.io.PrintStream(err));
    assertEquals(0, exit, err.toString());
    assertTrue(out.toString().contains("definitions of 1 upstreams"), out.toString());
    JsonNode lock = Json.MAPPER.readTree(dir.resolve("gatehouse.lock").toFile());
    assertTrue(lock.path("definitions").path("v2").path("tool").path("echo").asText().matches("[0-9a-f]{64}"), lock.toString());

    rugPull2("Changed before the gateway started.");
    start("pin", ", lock_file: gatehouse.lock");
    await("withheld: it differs from the lock file", Duration.ofSeconds(20), () -> {
      try {
        return !tools().contains("v2__echo");
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    assertTrue(tools().contains("v2__greet"), "what matches the lock file is served");
    assertTrue(change().path("diff").toString().contains("lock file"), "the change names the lock file");
  }

  @Test
  void theCliListsTheChangeWithItsDiffAndApprovesIt() throws Exception {
    start("pin");
    rugPull("Changed for the CLI.");
    JsonNode change = change();
    String url = gateway.baseUri().toString().replaceAll("/$", "");
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
    assertEquals(0, IntegrityCommand.run(List.of("list", "--url", url), Optional.of(file), new ConfigLoader(), ADMIN,
        new java.io.PrintStream(out), new java.io.PrintStream(err)), err.toString());
    assertTrue(out.toString().contains("changed  v2 tool echo " + change.path("hash").asText() + "  (withheld)"), out.toString());
    assertTrue(out.toString().contains("description: \"Echoes its text.\" → \"Changed for the CLI.\""), out.toString());
    assertEquals(1, IntegrityCommand.run(List.of("approve", "v2", "tool", "echo", "0000", "--url", url), Optional.of(file), new ConfigLoader(),
        ADMIN, new java.io.PrintStream(out), new java.io.PrintStream(err)), "a stale fingerprint is refused");
    assertTrue(err.toString().contains("HTTP 409"), err.toString());
    assertEquals(0, IntegrityCommand.run(List.of("approve", "v2", "tool", "echo", change.path("hash").asText(), "--url", url), Optional.of(file),
        new ConfigLoader(), ADMIN, new java.io.PrintStream(out), new java.io.PrintStream(err)), err.toString());
    assertTrue(tools().contains("v2__echo"));
    assertEquals(Cli.EXIT_USAGE, IntegrityCommand.run(List.of("list"), Optional.of(file), new ConfigLoader(), null,
        new java.io.PrintStream(out), new java.io.PrintStream(err)), "no key: a usage error, not a request");
  }

  /** A rug pull sent straight to the upstream (the gateway is down). */
  void rugPull2(String description) throws Exception {
    HttpResponse<String> r = McpHttp.modern(upstream.url(), 2, "tools/call", "rug_pull",
        "\"name\":\"rug_pull\",\"arguments\":{\"description\":\"" + description + "\"}");
    assertTrue(r.body().contains("description changed"), r.body());
  }

  @Test
  void aRejectedDefinitionIsWithheldEvenInWarnModeAndAfterARestart() throws Exception {
    start("warn");
    rugPull("Rejected text.");
    JsonNode change = change();
    assertTrue(tools().contains("v2__echo"), "warn serves it");
    admin("POST", "/admin/integrity/decisions", "{\"server\":\"v2\",\"kind\":\"tool\",\"name\":\"echo\",\"hash\":\""
        + change.path("hash").asText() + "\",\"decision\":\"reject\"}");
    assertFalse(tools().contains("v2__echo"), "rejected: withheld whatever the mode");
    gateway.close();
    start("warn");
    await("still withheld after the restart", Duration.ofSeconds(20), () -> {
      try {
        return !tools().contains("v2__echo") && tools().contains("v2__greet");
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
  }

  @Test
  void approvalsLiveInTheirOwnStoreWhenIntegrityStoreNamesOne() throws Exception {
    start("pin", ", store: \"sqlite:" + dir.resolve("integrity.db") + "\"");
    rugPull("Kept in integrity.db.");
    JsonNode change = change();
    admin("POST", "/admin/integrity/decisions", "{\"server\":\"v2\",\"kind\":\"tool\",\"name\":\"echo\",\"hash\":\""
        + change.path("hash").asText() + "\",\"decision\":\"approve\"}");
    gateway.close();
    assertEquals(List.of("root"), approvers(dir.resolve("integrity.db")), "the decision is in integrity.db");
    assertEquals(List.of(), approvers(dir.resolve("audit.db")), "and not beside the audit chain");
    start("pin", ", store: \"sqlite:" + dir.resolve("integrity.db") + "\"");
    assertTrue(tools().contains("v2__echo"), "the approval came back from integrity.db");
    assertEquals(0, admin("GET", "/admin/integrity", null).path("changes").size());
  }

  /** Who approved v2's echo in the definitions table of the SQLite file {@code db}, by subject. */
  static List<String> approvers(Path db) throws Exception {
    List<String> out = new ArrayList<>();
    try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + db);
        java.sql.ResultSet r = c.createStatement().executeQuery(
            "SELECT approved_by FROM definitions WHERE server = 'v2' AND kind = 'tool' AND name = 'echo'")) {
      while (r.next()) {
        String by = r.getString(1);
        if (!by.equals("first-seen")) {
          out.add(by.substring(0, by.indexOf(' ')));
        }
      }
    }
    return out;
  }

  @Test
  void aDecisionOnADefinitionThatChangedAgainIsRefused() throws Exception {
    start("pin");
    rugPull("Changed once.");
    change();
    HttpResponse<String> r = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve(URI.create("/admin/integrity/decisions")))
        .header("Authorization", "Bearer " + ADMIN).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"server\":\"v2\",\"kind\":\"tool\",\"name\":\"echo\",\"hash\":\"0000\",\"decision\":\"approve\"}"))
        .build());
    assertEquals(409, r.statusCode(), r.body());
    assertFalse(tools().contains("v2__echo"));
  }
}
