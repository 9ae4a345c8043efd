package dev.gatehouse.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store's own durability promise, at process level: a step whose future completed survives the
 * process being killed with SIGKILL right after, with no shutdown hook or close to help.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class AuditCrashTest {
  private static final int ACKNOWLEDGED = 200;

  @TempDir Path dir;

  @Test
  void everyAcknowledgedStepSurvivesSigkill() throws Exception {
    Path db = dir.resolve("audit.db");
    Path stderr = dir.resolve("child.err");
    String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    Process child = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
        Child.class.getName(), db.toString())
        .redirectError(stderr.toFile())
        .start();
    int acked = 0;
    try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        if (line.startsWith("ACK ")) {
          acked = Integer.parseInt(line.substring(4));
          if (acked == ACKNOWLEDGED) {
            // SIGKILL while the child keeps writing: no close, no shutdown hook, no flush.
            child.destroyForcibly();
            break;
          }
        }
      }
    } finally {
      child.destroyForcibly();
      child.waitFor();
    }
    assertEquals(ACKNOWLEDGED, acked, () -> "child ended early; stderr:\n" + read(stderr));
    assertEquals(137, child.exitValue(), "killed by SIGKILL");

    AuditVerifyResult.Ok ok = assertInstanceOf(AuditVerifyResult.Ok.class, SqliteAuditStore.verify(db));
    assertTrue(ok.verified() >= ACKNOWLEDGED, ok.message());
    try (SqliteAuditStore store = SqliteAuditStore.open(db, AuditFixtures.settings())) {
      Set<String> ids = new HashSet<>();
      store.chain("acked").forEach(r -> ids.add(r.step().stepId()));
      for (int i = 1; i <= ACKNOWLEDGED; i++) {
        assertTrue(ids.contains("ack-" + i), "ack-" + i + " is stored");
      }
      // The store reopens on the killed process's file and goes on writing a valid chain.
      store.append(AuditFixtures.step("after", 1)).join();
      assertTrue(store.verify().ok());
    }
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (Exception e) {
      return "(unreadable: " + e + ")";
    }
  }

  /**
   * The child process: appends steps one by one, printing {@code ACK n} after step n's future
   * completes, while a second thread keeps appending, waiting for room but not for commits, so the kill lands mid-write.
   */
  static final class Child {
    public static void main(String[] args) {
      // A small queue keeps each acknowledged step close behind the noise, so acks come quickly.
      SqliteAuditStore store = SqliteAuditStore.open(Path.of(args[0]), AuditSettings.defaults().withQueueCapacity(64));
      Thread.ofPlatform().daemon(true).start(() -> {
        for (int i = 0; ; i++) {
          // Waits for room only (as callers with durability: queued do), never for the commit.
          java.util.concurrent.CompletableFuture<Void> accepted = new java.util.concurrent.CompletableFuture<>();
          store.append(AuditFixtures.step("noise", i), accepted);
          accepted.join();
        }
      });
      for (int i = 1; ; i++) {
        store.append(AuditFixtures.tool("acked", "ack-" + i, i).build()).join();
        System.out.println("ACK " + i);
        System.out.flush();
      }
    }
  }
}
