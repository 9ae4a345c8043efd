package dev.gatehouse.audit;

import static dev.gatehouse.audit.AuditFixtures.step;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class AuditStoreTest {
  @TempDir Path dir;
  private SqliteAuditStore store;

  private SqliteAuditStore open() {
    store = SqliteAuditStore.open(dir.resolve("nested/dirs/audit.db"), AuditFixtures.settings());
    return store;
  }

  @AfterEach
  void close() {
    if (store != null) {
      store.close();
    }
  }

  @Test
  void concurrentAppendsAreAllStoredInOneVerifiableChain() throws Exception {
    open();
    int threads = 8;
    int each = 250;
    List<CompletableFuture<Void>> futures = new CopyOnWriteArrayList<>();
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      for (int t = 0; t < threads; t++) {
        int thread = t;
        pool.submit(() -> {
          for (int i = 0; i < each; i++) {
            futures.add(store.append(step("chain-" + thread, i)));
          }
        });
      }
    }
    CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).join();

    AuditVerifyResult result = store.verify();
    assertEquals(new AuditVerifyResult.Ok(threads * each, 0, threads * each, headHash()), result);
    List<AuditRecord> all = new ArrayList<>();
    store.export(java.time.Instant.EPOCH, all::add);
    assertEquals(threads * each, all.size());
    String prev = AuditChain.GENESIS;
    for (int i = 0; i < all.size(); i++) {
      assertEquals(i + 1, all.get(i).seq());
      assertEquals(prev, all.get(i).prevHash());
      prev = all.get(i).hash();
    }
    // Each producer's steps keep their order within its chain.
    for (int t = 0; t < threads; t++) {
      List<AuditRecord> chain = store.chain("chain-" + t);
      assertEquals(each, chain.size());
      for (int i = 0; i < each; i++) {
        assertEquals("chain-" + t + "-" + i, chain.get(i).step().stepId());
      }
    }
  }

  @Test
  void storedStepsReadBackEqualToWhatWasAppended() {
    open();
    AuditStep tool = AuditFixtures.tool("c", "s1", 1).reason("ok by rule").toolCallId("call_1")
        .argsPayload("{\"path\":\"a.txt\"}").resultPayload("{\"content\":[]}").build();
    AuditStep llm = AuditFixtures.llm("c", "s2", 2).costUsd(new BigDecimal("0.000120")).build();
    store.append(tool).join();
    store.append(llm).join();
    List<AuditRecord> chain = store.chain("c");
    assertEquals(List.of(tool, llm), chain.stream().map(AuditRecord::step).toList());
    assertEquals(List.of(), store.chain("unknown"));
  }

  @Test
  void chainReturnsOrderedStepsWithParentLinks() {
    open();
    store.append(AuditFixtures.llm("task-1", "m1", 0).build());
    store.append(AuditFixtures.tool("task-1", "t1", 1).parentStepId("m1").toolCallId("call_a").build());
    store.append(AuditFixtures.tool("task-2", "other", 1).build());
    store.append(AuditFixtures.tool("task-1", "t2", 2).parentStepId("m1").toolCallId("call_b").build());
    store.append(AuditFixtures.llm("task-1", "m2", 3).parentStepId("t2").build()).join();

    List<AuditRecord> chain = store.chain("task-1");
    assertEquals(List.of("m1", "t1", "t2", "m2"), chain.stream().map(r -> r.step().stepId()).toList());
    assertEquals(List.of(Optional.empty(), Optional.of("m1"), Optional.of("m1"), Optional.of("t2")),
        chain.stream().map(r -> r.step().parentStepId()).toList());

    ObjectNode json = AuditRecord.chainJson("task-1", chain);
    assertEquals("task-1", json.get("chain_id").asText());
    assertEquals("m1", json.get("steps").get(1).get("parent_step_id").asText());
    assertTrue(json.get("steps").get(0).get("parent_step_id").isNull());
  }

  @Test
  void jsonFormUsesSnakeCaseKeysAndEmbedsPayloads() {
    open();
    store.append(AuditFixtures.llm("c", "s", 0).parentStepId("p").argsPayload("{\"messages\":[]}").build()).join();
    JsonNode j = store.chain("c").get(0).toJson();
    for (String key : List.of("seq", "chain_id", "step_id", "parent_step_id", "kind", "source", "subject", "issuer", "tenant", "action",
        "decision", "rule", "reason", "outcome", "status", "started_at", "duration_micros", "tokens_in", "tokens_out", "cost_usd",
        "args_digest", "result_digest", "args_payload", "result_payload", "tool_call_id", "prev_hash", "hash")) {
      assertTrue(j.has(key), key);
    }
    assertEquals(27, j.size());
    assertEquals("llm", j.get("kind").asText());
    assertEquals("acme", j.get("tenant").asText());
    assertEquals("2025-06-01T12:00:00Z", j.get("started_at").asText());
    assertEquals(new BigDecimal("0.00123"), j.get("cost_usd").decimalValue());
    assertTrue(j.get("args_payload").get("messages").isArray());
    assertTrue(j.get("result_payload").isNull());
  }

  @Test
  void stepsFilterByPrincipalToolModelDecisionAndTime() {
    open();
    store.append(AuditFixtures.tool("c", "t-allow", 0).build());
    store.append(AuditFixtures.tool("c", "t-deny", 1).decision("deny").outcome("denied").status(403).reason("no").build());
    store.append(AuditFixtures.tool("c", "t-other", 2).action("github/create_issue").build());
    store.append(AuditFixtures.llm("c", "m-gpt", 3).build());
    store.append(AuditFixtures.llm("c", "m-claude", 4).action("anthropic/claude-sonnet").build()).join();

    assertEquals(List.of("m-claude", "m-gpt"), ids(AuditQuery.all().withPrincipal("bob")));
    assertEquals(List.of("t-deny", "t-allow"), ids(AuditQuery.all().withTool("files/read_file")));
    assertEquals(List.of("t-other", "t-deny", "t-allow"), ids(AuditQuery.all().withTool("*")));
    assertEquals(List.of("t-other"), ids(AuditQuery.all().withTool("github/*")));
    assertEquals(List.of("m-gpt"), ids(AuditQuery.all().withModel("openai/gpt-4o")));
    assertEquals(List.of("m-claude"), ids(AuditQuery.all().withModel("anthropic/*")));
    assertEquals(List.of(), ids(AuditQuery.all().withModel("files/read_file")));
    assertEquals(List.of("t-deny"), ids(AuditQuery.all().withDecision("deny")));
    assertEquals(List.of("m-gpt", "t-other"),
        ids(AuditQuery.all().withSince(AuditFixtures.T0.plusSeconds(2)).withUntil(AuditFixtures.T0.plusSeconds(4))));
    assertEquals(List.of("t-deny"), ids(AuditQuery.all().withPrincipal("alice").withDecision("deny").withTool("files/*")));
  }

  @Test
  void pagesNeitherRepeatNorSkipStepsWhileOthersAreWritten() throws Exception {
    open();
    for (int i = 0; i < 300; i++) {
      store.append(step("c", i));
    }
    store.append(step("c", 300)).join();
    AtomicBoolean writing = new AtomicBoolean(true);
    AtomicInteger extra = new AtomicInteger();
    Thread writer = Thread.ofVirtual().start(() -> {
      while (writing.get()) {
        store.append(step("live", extra.getAndIncrement())).join();
      }
    });
    List<Long> seen = new ArrayList<>();
    AuditQuery q = AuditQuery.all().withLimit(7);
    long newestAtStart = -1;
    while (true) {
      AuditPage page = store.steps(q);
      if (newestAtStart < 0) {
        newestAtStart = page.steps().get(0).seq();
      }
      page.steps().forEach(r -> seen.add(r.seq()));
      assertTrue(page.steps().size() <= 7);
      if (page.nextCursor().isEmpty()) {
        break;
      }
      q = q.withCursor(page.nextCursor().get());
    }
    writing.set(false);
    writer.join();
    List<Long> expected = new ArrayList<>();
    for (long s = newestAtStart; s >= 1; s--) {
      expected.add(s);
    }
    assertEquals(expected, seen);
  }

  @Test
  void lastPageHasNoCursorAndJsonShowsIt() {
    open();
    for (int i = 0; i < 4; i++) {
      store.append(step("c", i)).join();
    }
    AuditPage first = store.steps(AuditQuery.all().withLimit(2));
    assertTrue(first.nextCursor().isPresent());
    AuditPage second = store.steps(AuditQuery.all().withLimit(2).withCursor(first.nextCursor().get()));
    assertEquals(List.of(2L, 1L), second.steps().stream().map(AuditRecord::seq).toList());
    assertTrue(second.nextCursor().isEmpty());
    assertTrue(second.toJson().get("next_cursor").isNull());
    assertEquals(2, second.toJson().get("steps").size());
  }

  @Test
  void exportStreamsStepsSinceAnInstantInSeqOrder() {
    open();
    for (int i = 0; i < 1200; i++) {
      store.append(step("c", i % 2 == 0 ? i : 1200 - i));
    }
    store.append(step("last", 5000)).join();
    List<Long> seqs = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    store.export(AuditFixtures.T0.plusSeconds(600), r -> {
      seqs.add(r.seq());
      ids.add(r.step().stepId());
      assertFalse(r.step().startedAt().isBefore(AuditFixtures.T0.plusSeconds(600)));
    });
    List<Long> sorted = new ArrayList<>(seqs);
    sorted.sort(null);
    assertEquals(sorted, seqs);
    assertEquals(600 + 1, seqs.size(), "the 600 steps that started at T0+600s or later, plus the last step");
    assertTrue(ids.contains("last-5000"));
  }

  @Test
  void duplicateStepIdFailsThatStepOnlyAndTheChainStaysIntact() {
    open();
    CompletableFuture<Void> first = store.append(step("c", 1));
    CompletableFuture<Void> dup = store.append(step("c", 1));
    CompletableFuture<Void> after = store.append(step("c", 2));
    first.join();
    after.join();
    CompletionException e = assertThrows(CompletionException.class, dup::join);
    assertInstanceOf(AuditException.class, e.getCause());
    assertTrue(e.getCause().getMessage().contains("step c-1 not recorded"), e.getCause().getMessage());
    assertEquals(2, store.chain("c").size());
    assertTrue(store.verify().ok(), store.verify().message());
  }

  @Test
  void reopeningContinuesTheChain() {
    open();
    for (int i = 0; i < 10; i++) {
      store.append(step("c", i));
    }
    store.close();
    store = SqliteAuditStore.open(dir.resolve("nested/dirs/audit.db"), AuditFixtures.settings());
    assertEquals(10, store.chain("c").size());
    store.append(step("c", 10)).join();
    AuditVerifyResult r = store.verify();
    assertTrue(r.ok(), r.message());
    assertEquals(11, ((AuditVerifyResult.Ok) r).verified());
  }

  @Test
  void aDeferredEntryIsSealedByTheWriterAndOneThatCannotBeMadeFailsAlone() {
    open();
    String caller = Thread.currentThread().getName();
    java.util.concurrent.atomic.AtomicReference<String> sealedOn = new java.util.concurrent.atomic.AtomicReference<>();
    CompletableFuture<Void> deferred = store.append(() -> {
      sealedOn.set(Thread.currentThread().getName());
      return step("c", 1);
    });
    CompletableFuture<Void> broken = store.append(() -> {
      throw new IllegalArgumentException("action: missing");
    });
    CompletableFuture<Void> after = store.append(step("c", 2));
    deferred.join();
    after.join();
    CompletionException e = assertThrows(CompletionException.class, broken::join);
    assertTrue(e.getCause().getMessage().contains("action: missing"), e.getCause().getMessage());
    assertEquals("gatehouse-audit-writer", sealedOn.get());
    assertTrue(!caller.equals(sealedOn.get()));
    assertEquals(List.of("c-1", "c-2"), store.chain("c").stream().map(r -> r.step().stepId()).toList());
    assertTrue(store.verify().ok());
  }

  @Test
  void appendAfterCloseFailsLoudly() {
    open();
    store.close();
    CompletionException e = assertThrows(CompletionException.class, () -> store.append(step("c", 1)).join());
    assertTrue(e.getCause().getMessage().startsWith("the audit store is closed: step c-1 not recorded"), e.getCause().getMessage());
    assertThrows(AuditException.class, () -> store.chain("c"));
    store.close();
  }

  @Test
  void aSecondStoreOnTheSameFileIsRefused() {
    open();
    AuditException e = assertThrows(AuditException.class,
        () -> SqliteAuditStore.open(dir.resolve("nested/dirs/audit.db"), AuditFixtures.settings()));
    assertTrue(e.getMessage().contains("is in use by another Gatehouse process"), e.getMessage());
  }

  @Test
  void listenerSeesEveryCommittedStep() {
    AtomicInteger committed = new AtomicInteger();
    AtomicInteger batches = new AtomicInteger();
    store = SqliteAuditStore.open(dir.resolve("a.db"), AuditFixtures.settings(), new SqliteAuditStore.Listener() {
      @Override
      public void committed(int steps, long micros) {
        committed.addAndGet(steps);
        batches.incrementAndGet();
        assertTrue(micros >= 0);
      }
    });
    List<CompletableFuture<Void>> fs = new ArrayList<>();
    for (int i = 0; i < 2000; i++) {
      fs.add(store.append(step("c", i)));
    }
    CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).join();
    assertEquals(2000, committed.get());
    assertTrue(batches.get() >= 2000 / SqliteAuditStore.MAX_BATCH, "batches: " + batches.get());
    assertEquals(0, store.queueDepth());
  }

  @Test
  void aQuerySeesEveryStepQueuedBeforeItWithoutWaitingForTheirCommits() {
    open();
    for (int i = 0; i < 20; i++) {
      store.append(step("q", i)); // not joined: durability queued answers before the commit
    }
    assertEquals(20, store.chain("q").size());
  }

  @Test
  void queuedStepsThatArriveTogetherShareOneCommit() {
    AtomicInteger batches = new AtomicInteger();
    store = SqliteAuditStore.open(dir.resolve("b.db"), AuditFixtures.settings(), new SqliteAuditStore.Listener() {
      @Override
      public void committed(int steps, long micros) {
        batches.incrementAndGet();
      }
    });
    List<CompletableFuture<Void>> fs = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      fs.add(store.append(step("g", i)));
    }
    CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).join();
    assertTrue(batches.get() < 50, "50 steps in " + batches.get() + " commits");
  }

  @Test
  void approvedDefinitionsAreKeptBesideTheChainAndReplacedByKey() throws Exception {
    Path db = dir.resolve("defs.db");
    try (SqliteAuditStore store = SqliteAuditStore.open(db, AuditFixtures.settings())) {
      store.definitions().approve(new DefinitionStore.Approved("s", "tool", "t", "h1", "{}", java.time.Instant.ofEpochMilli(1000), "first-seen"));
      store.definitions().approve(new DefinitionStore.Approved("s", "tool", "t", "h2", "{\"a\":1}", java.time.Instant.ofEpochMilli(2000), "root (iss)"));
      store.definitions().approve(new DefinitionStore.Approved("s", "prompt", "t", "h3", "{}", java.time.Instant.ofEpochMilli(3000), "first-seen"));
    }
    try (SqliteAuditStore store = SqliteAuditStore.open(db, AuditFixtures.settings())) {
      List<DefinitionStore.Approved> all = new ArrayList<>(store.definitions().all());
      all.sort(java.util.Comparator.comparing(DefinitionStore.Approved::kind));
      assertEquals(2, all.size(), all.toString());
      assertEquals("h3", all.get(0).hash());
      assertEquals(new DefinitionStore.Approved("s", "tool", "t", "h2", "{\"a\":1}", java.time.Instant.ofEpochMilli(2000), "root (iss)"), all.get(1));
      assertTrue(store.verify().ok(), "the chain is untouched");
    }
  }

  @Test
  void userTokensAreKeptPerUpstreamAndPrincipalAcrossARestart() throws Exception {
    Path db = dir.resolve("u.db");
    try (SqliteAuditStore store = SqliteAuditStore.open(db, AuditFixtures.settings())) {
      store.userTokens().put(new UserTokenStore.Row("gh", "alice@idp", "v1.a", java.time.Instant.ofEpochMilli(1000)));
      store.userTokens().put(new UserTokenStore.Row("gh", "bob@idp", "v1.b", java.time.Instant.ofEpochMilli(2000)));
      store.userTokens().put(new UserTokenStore.Row("gh", "alice@idp", "v1.a2", java.time.Instant.ofEpochMilli(3000)));
      store.userTokens().put(new UserTokenStore.Row("slack", "alice@idp", "v1.s", java.time.Instant.ofEpochMilli(500)));
    }
    try (SqliteAuditStore store = SqliteAuditStore.open(db, AuditFixtures.settings())) {
      assertEquals("v1.a2", store.userTokens().get("gh", "alice@idp").orElseThrow().sealed(), "replaced, not added");
      assertEquals("alice@idp", store.userTokens().latest("gh").orElseThrow().principal(), "the most recently updated");
      assertEquals(2, store.userTokens().all("gh").size());
      assertTrue(store.userTokens().delete("gh", "alice@idp"));
      assertFalse(store.userTokens().delete("gh", "alice@idp"));
      assertEquals("bob@idp", store.userTokens().latest("gh").orElseThrow().principal());
      assertEquals("v1.s", store.userTokens().get("slack", "alice@idp").orElseThrow().sealed(), "another upstream's row stays");
      assertTrue(store.verify().ok(), "the chain is untouched");
    }
  }

  @Test
  void schemaIsVersionedAndANewerStoreIsRefused() throws Exception {
    Path db = dir.resolve("v.db");
    SqliteAuditStore.open(db, AuditFixtures.settings()).close();
    try (Connection c = AuditFixtures.jdbc(db); ResultSet r = c.createStatement().executeQuery("SELECT version FROM schema_version ORDER BY version")) {
      assertTrue(r.next());
      assertEquals(1, r.getInt(1));
      assertTrue(r.next());
      assertEquals(2, r.getInt(1), "2: the approved definitions of tool integrity");
      assertTrue(r.next());
      assertEquals(3, r.getInt(1), "3: the sealed user tokens of user_consent upstreams");
      assertFalse(r.next());
    }
    try (Connection c = AuditFixtures.jdbc(db); ResultSet r = c.createStatement().executeQuery("PRAGMA journal_mode")) {
      assertTrue(r.next());
      assertEquals("wal", r.getString(1));
    }
    SqliteAuditStore.open(db, AuditFixtures.settings()).close();
    AuditFixtures.sql(db, "INSERT INTO schema_version (version, applied_at) VALUES (99, 0)");
    AuditException e = assertThrows(AuditException.class, () -> SqliteAuditStore.open(db, AuditFixtures.settings()));
    assertTrue(e.getMessage().contains("schema version 99, written by a newer Gatehouse"), e.getMessage());
  }

  private List<String> ids(AuditQuery q) {
    return store.steps(q).steps().stream().map(r -> r.step().stepId()).toList();
  }

  private String headHash() throws Exception {
    List<AuditRecord> all = new ArrayList<>();
    store.export(java.time.Instant.EPOCH, all::add);
    return all.get(all.size() - 1).hash();
  }
}
