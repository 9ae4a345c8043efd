package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.registry.Json;
import dev.gatehouse.registry.UpstreamStatus;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stdio upstreams that misbehave, through a running gateway: a child that stops reading its stdin,
 * an answer larger than the gateway accepts (in a gateway on the shipped jvm.options), and children
 * left behind by a gateway killed with SIGKILL.
 */
@Timeout(180)
class StdioUpstreamEndToEndTest {
  @TempDir
  Path dir;

  static String faulty(String name, String timeouts) {
    return "  " + name + ":\n    transport: stdio\n    command: \"" + TestUpstreams.java() + "\"\n"
        + "    args: [\"-cp\", \"" + System.getProperty("java.class.path") + "\", \"-XX:TieredStopAtLevel=1\", "
        + "\"dev.gatehouse.samples.Samples\", \"faulty\"]\n    timeouts: " + timeouts + "\n";
  }

  static HttpResponse<String> execute(URI base, String tool, String arguments) {
    return TestUpstreams.send(HttpRequest.newBuilder(base.resolve(ExecuteHandler.PATH)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(ExecuteTest.chatCall("c1", tool, arguments))).build());
  }

  static long pidOf(URI base, String server) throws Exception {
    HttpResponse<String> r = execute(base, server + "__pid", "{}");
    assertEquals(200, r.statusCode(), r.body());
    return Long.parseLong(Json.MAPPER.readTree(r.body()).path("content").asText());
  }

  static void signal(String signal, long pid) throws Exception {
    assertEquals(0, new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).start().waitFor());
  }

  @Test
  void aChildThatStopsReadingItsStdinFailsCallsInTimeAndIsRestarted() throws Exception {
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server: { port: 0 }\nupstreams:\n" + faulty("stuck", "{ connect: 20s, call: 3s, health: 0s }")
        + "audit: { enabled: false }\n");
    try (Gateway g = Gateway.start(new ConfigLoader().load(file), Optional.of(file))) {
      await("connected", Duration.ofSeconds(30), () -> g.registry().catalog().tool("stuck__echo").isPresent());
      long pid = pidOf(g.baseUri(), "stuck");
      signal("STOP", pid);
      try {
        String big = "{\"text\":\"" + "y".repeat(200_000) + "\"}"; // more than a pipe's buffer
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
          calls.add(CompletableFuture.supplyAsync(() -> execute(g.baseUri(), "stuck__echo", big)));
        }
        for (CompletableFuture<HttpResponse<String>> c : calls) {
          HttpResponse<String> r = c.get(20, TimeUnit.SECONDS); // hung for good before
          assertTrue(r.statusCode() == 504 || r.statusCode() == 502, r.statusCode() + " " + r.body());
        }
        await("the stuck child replaced", Duration.ofSeconds(30), () -> g.registry().status().stream()
            .anyMatch(s -> s.name().equals("stuck") && s.connected() && s.pid() != pid));
        assertEquals(200, execute(g.baseUri(), "stuck__echo", "{\"text\":\"back\"}").statusCode());
        assertTrue(ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true), "the stopped child was ended");
      } finally {
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
  }

  @Test
  void anAnswerAboveTheLimitFailsItsCallAndTheUpstreamStaysUsableOnTheShippedHeap() throws Exception {
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server: { port: 0 }\nupstreams:\n" + faulty("big", "{ connect: 30s, call: 60s, health: 0s }")
        + "audit: { enabled: false }\n");
    try (GatewayProcess g = GatewayProcess.start(file, GatewayProcess.shippedJvmOptions())) {
      g.awaitReady();
      long pid = pidOf(g.base, "big");
      HttpResponse<String> tooBig = execute(g.base, "big__blob", "{\"chars\":20000000}");
      assertEquals(502, tooBig.statusCode(), tooBig.body());
      JsonNode error = Json.MAPPER.readTree(tooBig.body()).path("error");
      assertTrue(error.path("message").asText().contains("max_message_bytes"), tooBig.body());
      // Within the limit, a large answer still comes through on the 96 MB heap.
      HttpResponse<String> large = execute(g.base, "big__blob", "{\"chars\":12000000}");
      assertEquals(200, large.statusCode(), large.statusCode() + " " + g.output());
      assertTrue(large.body().length() > 12_000_000);
      assertEquals(pid, pidOf(g.base, "big"), "the same child serves on: nothing was restarted");
      assertTrue(!g.output().contains("OutOfMemoryError"), g.output());
    }
  }

  @Test
  void childrenLeftByAKilledGatewayAreEndedByItsNextRun() throws Exception {
    Path file = dir.resolve("g.yaml");
    // 'sleep' never reads its stdin and ignores its end: it outlives a killed gateway unless ended.
    Files.writeString(file, "server: { port: 0 }\nupstreams:\n" + faulty("polite", "{ connect: 30s, call: 10s, health: 0s }")
        + "  deaf:\n    transport: stdio\n    command: sleep\n    args: [\"300\"]\n    timeouts: { connect: 120s }\n"
        + "audit: { enabled: false }\n");
    long polite;
    long deaf;
    try (GatewayProcess g = GatewayProcess.start(file, List.of())) {
      await("polite connected", Duration.ofSeconds(60), () -> execute(g.base, "polite__pid", "{}").statusCode() == 200);
      polite = pidOf(g.base, "polite");
      deaf = g.process.descendants().filter(h -> h.info().command().orElse("").endsWith("sleep")).findFirst()
          .map(ProcessHandle::pid).orElseThrow();
      g.kill();
    }
    await("the sample server to exit when its stdin ends", Duration.ofSeconds(20),
        () -> ProcessHandle.of(polite).map(h -> !h.isAlive()).orElse(true));
    assertTrue(ProcessHandle.of(deaf).map(ProcessHandle::isAlive).orElse(false), "the deaf child outlived the gateway");
    try (GatewayProcess next = GatewayProcess.start(file, List.of())) {
      await("the orphan ended by the next run", Duration.ofSeconds(20),
          () -> ProcessHandle.of(deaf).map(h -> !h.isAlive()).orElse(true));
      // The gateway says so before it ends the orphan; its output reaches this test through a pipe, a little later.
      await("the next run to say why it ended the orphan", Duration.ofSeconds(20),
          () -> next.output().contains("left behind by an earlier gateway run"));
    } finally {
      ProcessHandle.of(deaf).ifPresent(ProcessHandle::destroyForcibly);
    }
    assertNotEquals(polite, deaf);
  }
}
