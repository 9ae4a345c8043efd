package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static dev.gatehouse.gateway.TestUpstreams.samplesYaml;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.gatehouse.registry.UpstreamStatus;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.spec.McpSchema;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Editing the config file adds, removes and rejects upstreams without a restart. */
@Timeout(120)
class HotReloadTest {
  @TempDir
  Path dir;

  private static String config(String upstreams) {
    return "server:\n  port: 0\nupstreams:\n" + upstreams;
  }

  private void write(Path file, String text) throws Exception {
    Path tmp = Files.createTempFile(dir, "edit", ".yaml");
    Files.writeString(tmp, text);
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private static long pid(Gateway g, String name) {
    return g.registry().status().stream().filter(s -> s.name().equals(name)).mapToLong(UpstreamStatus::pid).findFirst().orElse(-1);
  }

  @Test
  void addRemoveAndInvalidEditsApplyLiveWithoutDisturbingOthers() throws Exception {
    Path file = dir.resolve("gatehouse.yaml");
    Files.writeString(file, config(samplesYaml("first", "faulty")));
    GatewayConfig initial = new ConfigLoader().load(file);
    try (Gateway g = Gateway.start(initial, Optional.of(file))) {
      await("first connected", Duration.ofSeconds(30), () -> g.registry().catalog().tool("first__echo").isPresent());
      long firstPid = pid(g, "first");
      List<List<McpSchema.Tool>> changes = new CopyOnWriteArrayList<>();
      try (McpSyncClient c = McpClient.sync(HttpClientStreamableHttpTransport.builder(g.baseUri().toString()).endpoint("/mcp").build())
          .toolsChangeConsumer(changes::add).build()) {
        c.initialize();

        // add
        write(file, config(samplesYaml("first", "faulty") + samplesYaml("second", "faulty")));
        await("second listed", Duration.ofSeconds(30), () -> g.registry().catalog().tool("second__echo").isPresent());
        await("client told", Duration.ofSeconds(10),
            () -> changes.stream().anyMatch(l -> l.stream().anyMatch(t -> t.name().equals("second__echo"))));
        assertEquals(firstPid, pid(g, "first"), "unchanged upstream was restarted");
        McpSchema.CallToolResult r = c.callTool(new McpSchema.CallToolRequest("first__echo", Map.of("text", "undisturbed")));
        assertEquals("undisturbed", ((McpSchema.TextContent) r.content().get(0)).text());

        // invalid: rejected, running config kept, error visible on /readyz
        write(file, config(samplesYaml("first", "faulty") + "  bad__name:\n    transport: stdio\n    command: x\n"));
        await("error on /readyz", Duration.ofSeconds(10),
            () -> TestUpstreams.get(g.baseUri().resolve("/readyz")).body().contains("bad__name"));
        assertEquals(503, TestUpstreams.get(g.baseUri().resolve("/readyz")).statusCode(), "a pending config error is not ready");
        assertTrue(g.registry().catalog().tool("second__echo").isPresent(), "running config must be kept");

        // remove
        long secondPid = pid(g, "second");
        write(file, config(samplesYaml("first", "faulty")));
        await("second gone", Duration.ofSeconds(30), () -> g.registry().catalog().tool("second__echo").isEmpty());
        await("second's child ended", Duration.ofSeconds(10),
            () -> !ProcessHandle.of(secondPid).map(ProcessHandle::isAlive).orElse(false));
        assertFalse(TestUpstreams.get(g.baseUri().resolve("/readyz")).body().contains("\"error\":\"config"), "error cleared after a good reload");
        assertEquals(firstPid, pid(g, "first"));
      }
    }
  }
}
