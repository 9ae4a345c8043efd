package dev.gatehouse.gateway;

import dev.gatehouse.audit.AuditSettings;
import dev.gatehouse.audit.AuditFixtures;
import dev.gatehouse.audit.SqliteAuditStore;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 20, unit = TimeUnit.SECONDS)
class AuditCommandTest {
  @TempDir Path dir;
  private Path db;
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @BeforeEach
  void store() {
    db = dir.resolve("audit.db");
    try (SqliteAuditStore store = SqliteAuditStore.open(db, AuditFixtures.settings())) {
      for (int i = 1; i <= 5; i++) {
        store.append(AuditFixtures.step("c", i));
      }
    }
  }

  private int run(String... args) {
    return AuditCommand.run(List.of(args), new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  @Test
  void intactStoreExitsZeroWithTheHead() {
    assertEquals(0, run("verify", "--store", "sqlite:" + db));
    assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("audit chain OK: 5 steps verified from genesis; head seq 5 hash "), out.toString());
    assertEquals(0, run("verify", "--store=" + db));
  }

  @Test
  void brokenStoreExitsOneNamingTheRecord() throws Exception {
    AuditFixtures.sql(db, "UPDATE steps SET outcome = 'error' WHERE seq = 3");
    assertEquals(AuditCommand.EXIT_BROKEN, run("verify", "--store", db.toString()));
    assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("audit chain BROKEN at seq 3 (step c-3): hash mismatch"), err.toString());
  }

  @Test
  void storeDefaultsToTheConfiguredOne() {
    assertEquals(0, AuditCommand.run(List.of("verify"), AuditSettings.defaults().withStore("sqlite:" + db),
        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8)));
  }

  @Test
  void usageAndUnreadableStoresAreReported() {
    assertEquals(Cli.EXIT_USAGE, run());
    assertEquals(Cli.EXIT_USAGE, run("verify"));
    assertEquals(Cli.EXIT_USAGE, run("verify", "--store"));
    assertEquals(Cli.EXIT_USAGE, run("verify", "--store", "postgresql://db"));
    assertEquals(AuditCommand.EXIT_UNREADABLE, run("verify", "--store", dir.resolve("missing.db").toString()));
    String e = err.toString(StandardCharsets.UTF_8);
    assertTrue(e.contains("needs a host and a database"), e);
    assertTrue(e.contains("no audit store at " + dir.resolve("missing.db")), e);
  }
}
