package dev.gatehouse.audit;

import static dev.gatehouse.audit.AuditFixtures.step;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The PostgreSQL store against a real, private PostgreSQL server: one database per test. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PostgresAuditStoreTest {
  private static LocalServers.Postgres pg;
  private String url;
  private final List<AuditStore> open = new ArrayList<>();

  @BeforeAll
  static void startPostgres() {
    pg = LocalServers.Postgres.start();
  }

  @AfterAll
  static void stopPostgres() {
    if (pg != null) {
      pg.close();
    }
  }

  @BeforeEach
  void database() {
    url = pg.database();
  }

  @AfterEach
  void closeStores() {
    open.forEach(AuditStore::close);
  }

  private AuditStore store() {
    return store(AuditSettings.defaults());
  }

  private AuditStore store(AuditSettings settings) {
    AuditStore s = AuditStore.open(settings.withStore(url), java.nio.file.Path.of("."), AuditStore.Listener.NONE);
    open.add(s);
    return s;
  }

  private Connection jdbc() throws Exception {
    PostgresUrl u = AuditSettings.postgres(url).orElseThrow();
    return DriverManager.getConnection(u.jdbcUrl(), u.user().orElseThrow(), "");
  }

  @Test
  void theStoreNamedByAPostgresqlUrlKeepsAVerifiableChain() {
    AuditStore s = store();
    assertInstanceOf(PostgresAuditStore.class, s);
    assertFalse(s.location().contains("password"));
    for (int i = 0; i < 20; i++) {
      s.append(step("c" + (i % 3), i)).join();
    }
    s.append(AuditFixtures.llm("c9", "m1", 1).build()).join();
    assertEquals(7, s.chain("c0").size());
    AuditVerifyResult v = s.verify();
    assertTrue(v.ok(), v.message());
    assertEquals(21, ((AuditVerifyResult.Ok) v).verified());
    assertEquals(new BigDecimal("0.00123"), s.spentSince("bob", "https://idp.example.com", AuditFixtures.T0));
    AuditPage page = s.steps(new AuditQuery(java.util.Optional.of("alice"), null, null, null, null, null, 5, null));
    assertEquals(5, page.steps().size());
    List<AuditRecord> all = new ArrayList<>();
    s.export(Instant.EPOCH, all::add);
    assertEquals(21, all.size());
    assertTrue(PostgresAuditStore.verify(AuditSettings.postgres(url).orElseThrow()).ok());
  }

  @Test
  void userTokensAndTheSummaryWorkOnPostgresAsOnSqlite() {
    AuditStore a = store();
    AuditStore b = store();
    String upstream = "u" + System.nanoTime();
    a.userTokens().put(new UserTokenStore.Row(upstream, "alice@idp", "v1.a", Instant.ofEpochMilli(1000)));
    b.userTokens().put(new UserTokenStore.Row(upstream, "alice@idp", "v1.a2", Instant.ofEpochMilli(2000)));
    assertEquals("v1.a2", a.userTokens().get(upstream, "alice@idp").orElseThrow().sealed(), "one row per user, seen by every replica");
    assertTrue(b.userTokens().delete(upstream, "alice@idp"));
    assertTrue(a.userTokens().latest(upstream).isEmpty());
    a.append(AuditFixtures.llm("sum-" + upstream, "m-" + upstream, 1).build()).join();
    var summary = a.summary(AuditFixtures.T0, AuditFixtures.T0.plusSeconds(3600)).toJson();
    assertTrue(summary.path("totals").path("steps").asLong() >= 1, summary.toString());
  }

  @Test
  void approvedDefinitionsAreSharedByReplicasAndReplacedByKey() {
    AuditStore a = store();
    AuditStore b = store();
    String server = "s" + System.nanoTime();
    a.definitions().approve(new DefinitionStore.Approved(server, "tool", "t", "h1", "{}", java.time.Instant.ofEpochMilli(1000), "first-seen"));
    b.definitions().approve(new DefinitionStore.Approved(server, "tool", "t", "h2", "{}", java.time.Instant.ofEpochMilli(2000), "root (iss)"));
    List<DefinitionStore.Approved> mine = a.definitions().all().stream().filter(d -> d.server().equals(server)).toList();
    assertEquals(1, mine.size(), mine.toString());
    assertEquals("h2", mine.get(0).hash(), "the other replica's approval is the one in force");
    assertEquals("root (iss)", mine.get(0).approvedBy());
  }

  @Test
  void twoReplicasWritingAtOnceMakeOneChainThatVerifies() {
    AuditStore a = store();
    AuditStore b = store();
    List<CompletableFuture<Void>> futures = new ArrayList<>();
    for (int i = 0; i < 600; i++) {
      futures.add((i % 2 == 0 ? a : b).append(step(i % 2 == 0 ? "a" : "b", i)));
    }
    CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).join();
    AuditVerifyResult v = a.verify();
    assertTrue(v.ok(), v.message());
    assertEquals(600, ((AuditVerifyResult.Ok) v).verified());
    assertEquals(300, b.chain("a").size());
  }

  @Test
  void aDuplicateStepIdFailsThatStepOnly() {
    AuditStore s = store();
    s.append(step("c", 1)).join();
    CompletableFuture<Void> dup = s.append(step("c", 1));
    CompletableFuture<Void> next = s.append(step("c", 2));
    CompletionException e = org.junit.jupiter.api.Assertions.assertThrows(CompletionException.class, dup::join);
    assertTrue(e.getCause().getMessage().contains("not recorded"), e.getCause().getMessage());
    next.join();
    assertTrue(s.verify().ok());
    assertEquals(2, s.chain("c").size());
  }

  @Test
  void retentionPurgesFromTheStartAndVerificationStartsAtTheCheckpoint() {
    AuditStore s = store();
    for (int i = 0; i < 50; i++) {
      s.append(step("c", i)).join();
    }
    assertEquals(20, s.purge(AuditFixtures.T0.plusSeconds(20)));
    AuditVerifyResult v = s.verify();
    assertTrue(v.ok(), v.message());
    assertEquals(30, ((AuditVerifyResult.Ok) v).verified());
  }

  @Test
  void anEditedRowIsNamedByVerify() throws Exception {
    AuditStore s = store();
    for (int i = 0; i < 5; i++) {
      s.append(step("c", i)).join();
    }
    try (Connection c = jdbc(); Statement st = c.createStatement()) {
      st.executeUpdate("UPDATE steps SET decision = 'deny' WHERE seq = 3");
    }
    AuditVerifyResult v = s.verify();
    assertFalse(v.ok());
    assertEquals(3, ((AuditVerifyResult.Broken) v).seq());
  }

  @Test
  void aPostgresRestartHoldsStepsBackAndLosesNone() throws Exception {
    AuditStore s = store();
    s.append(step("before", 0)).join();
    pg.kill();
    List<CompletableFuture<Void>> during = new ArrayList<>();
    for (int i = 1; i <= 50; i++) {
      during.add(s.append(step("during", i)));
    }
    // Nothing can be committed while the server is down: the writer notices, the steps wait, none fails.
    while (!((PostgresAuditStore) s).outage()) {
      Thread.onSpinWait();
    }
    assertTrue(during.stream().noneMatch(CompletableFuture::isDone));
    pg.restart();
    CompletableFuture.allOf(during.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    assertEquals(50, s.chain("during").size());
    AuditVerifyResult v = s.verify();
    assertTrue(v.ok(), v.message());
    assertEquals(51, ((AuditVerifyResult.Ok) v).verified());
    assertFalse(((PostgresAuditStore) s).outage());
  }

  @Test
  void replicasOpeningANewDatabaseTogetherMigrateItOnce() throws Exception {
    List<CompletableFuture<AuditStore>> opening = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      opening.add(CompletableFuture.supplyAsync(this::store));
    }
    CompletableFuture.allOf(opening.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    try (Connection c = jdbc(); Statement st = c.createStatement(); ResultSet r = st.executeQuery("SELECT count(*) FROM schema_version")) {
      r.next();
      assertEquals(AuditSchema.CURRENT, r.getInt(1));
    }
  }
}
