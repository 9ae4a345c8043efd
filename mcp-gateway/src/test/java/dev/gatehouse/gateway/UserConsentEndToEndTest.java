package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.audit.UserTokenStore;
import dev.gatehouse.registry.Json;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code auth: {mode: user_consent}} end to end: mock-oauth2-server is both the callers' identity
 * provider and the upstream's authorization server; the upstream (TypeScript SDK) demands a bearer for
 * its audience and scope and names its authorization server in its RFC 9728 metadata (the gateway finds
 * it there, and uses its own Client ID Metadata Document as client id). A user without consent gets the
 * consent URL (execute: 403 consent_required; MCP: URL elicitation -32042) while the tool stays listed;
 * following it (authorization code + PKCE, as a browser would) connects the user; each user's calls go
 * with their own upstream token, never another's and never their gateway token; the store holds the
 * tokens sealed; tokens are refreshed before they expire; a refused refresh and a revocation turn into
 * the consent error again.
 */
@Timeout(180)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class UserConsentEndToEndTest {
  @TempDir
  static Path dir;
  static MockOAuth2Server idp;
  static NodeTooling.Listening upstream;
  static Gateway gateway;
  static String callerIssuer;
  static String upstreamIssuer;
  static final HttpClient BROWSER = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();

  @BeforeAll
  static void start() throws Exception {
    NodeTooling.require();
    idp = new MockOAuth2Server();
    idp.start(InetAddress.getLoopbackAddress(), 0);
    callerIssuer = idp.issuerUrl("acme").toString();
    upstreamIssuer = idp.issuerUrl("upstream-as").toString();
    upstream = NodeTooling.listening("oauth-upstream.mjs", upstreamIssuer, "mcp-upstream", "mcp:tools", "admin:all");
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server: { port: 0 }\n"
        + "identity:\n  issuers: [{ issuer: \"" + callerIssuer + "\", audience: gatehouse, allow_http: true }]\n"
        + "  api_keys:\n    - { id: admin, hash: \"" + dev.gatehouse.identity.ApiKeys.hash(ADMIN) + "\", subject: root, roles: [gatehouse-admin] }\n"
        + "audit: { store: \"sqlite:" + dir.resolve("audit.db") + "\" }\n"
        + "upstreams:\n"
        + "  prot:\n    transport: streamable-http\n    url: \"" + upstream.url() + "\"\n"
        + "    auth: { mode: user_consent, scopes: [openid, \"mcp:tools\"], allow_http: true }\n");
    gateway = Gateway.start(new ConfigLoader().load(file), Optional.of(file));
  }

  static final String ADMIN = dev.gatehouse.identity.ApiKeys.generate();

  @AfterAll
  static void stop() throws Exception {
    TestUpstreams.closeAll(gateway, upstream);
    if (idp != null) {
      idp.shutdown();
    }
  }

  /** A caller's access token at the gateway (audience gatehouse). */
  static String caller(String subject) {
    return idp.issueToken("acme", "agent-app", new DefaultOAuth2TokenCallback("acme", subject, "at+jwt", List.of("gatehouse"), Map.of(), 3600))
        .serialize();
  }

  static final Map<String, String> TOKENS = new java.util.concurrent.ConcurrentHashMap<>();

  static String token(String subject) {
    return TOKENS.computeIfAbsent(subject, UserConsentEndToEndTest::caller);
  }

  static HttpResponse<String> execute(String subject) {
    return TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve(ExecuteHandler.PATH)).header("Authorization", "Bearer " + token(subject))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"prot__whoami\",\"arguments\":\"{}\"}}"))
        .build());
  }

  /** The subject the upstream saw on a call of {@code subject}'s. */
  static String whoSeen(String subject) throws Exception {
    HttpResponse<String> r = execute(subject);
    assertEquals(200, r.statusCode(), r.body());
    return Json.MAPPER.readTree(Json.MAPPER.readTree(r.body()).path("content").asText()).path("sub").asText();
  }

  static HttpResponse<String> consent(String subject, String method) {
    return TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/v1/upstreams/prot/consent"))
        .header("Authorization", "Bearer " + token(subject)).method(method, HttpRequest.BodyPublishers.noBody()).build());
  }

  /** What a browser does with a consent URL: the gateway, the authorization server (which signs in {@code subject}), back. */
  static String follow(String consentUrl, String subject) throws Exception {
    return follow(consentUrl, subject, "mcp:tools");
  }

  /** The query of the last authorization request a consent link led to. */
  static String lastAuthorize;

  static String follow(String consentUrl, String subject, String grantedScope) throws Exception {
    idp.enqueueCallback(new DefaultOAuth2TokenCallback("upstream-as", subject, "JWT", List.of("mcp-upstream"), Map.of("scope", grantedScope), 3600));
    HttpResponse<String> toAs = BROWSER.send(HttpRequest.newBuilder(URI.create(consentUrl)).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(302, toAs.statusCode(), toAs.body());
    URI authorize = URI.create(toAs.headers().firstValue("Location").orElseThrow());
    String q = authorize.getRawQuery();
    lastAuthorize = java.net.URLDecoder.decode(q, StandardCharsets.UTF_8);
    assertTrue(q.contains("code_challenge_method=S256") && q.contains("code_challenge=") && q.contains("resource="), q);
    assertTrue(q.contains("client_id=" + java.net.URLEncoder.encode(gateway.baseUri().resolve(UserConsent.METADATA_PATH).toString(),
        StandardCharsets.UTF_8)), "the gateway's client ID metadata document is its client id: " + q);
    HttpResponse<String> back = BROWSER.send(HttpRequest.newBuilder(authorize).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(302, back.statusCode(), back.body());
    URI callback = URI.create(back.headers().firstValue("Location").orElseThrow());
    assertEquals(UserConsent.CALLBACK_PATH, callback.getPath());
    HttpResponse<String> done = BROWSER.send(HttpRequest.newBuilder(callback).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, done.statusCode(), done.body());
    return done.body();
  }

  static String consentUrl(String subject) throws Exception {
    HttpResponse<String> r = consent(subject, "POST");
    assertEquals(200, r.statusCode(), r.body());
    JsonNode body = Json.MAPPER.readTree(r.body());
    assertEquals("consent_required", body.path("status").asText(), r.body());
    return body.path("consent_url").asText();
  }

  static String sha256(String s) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  @Order(1)
  void theClientIdMetadataDocumentNamesTheGatewaysCallback() throws Exception {
    HttpResponse<String> r = TestUpstreams.get(gateway.baseUri().resolve(UserConsent.METADATA_PATH));
    assertEquals(200, r.statusCode());
    JsonNode doc = Json.MAPPER.readTree(r.body());
    assertEquals(gateway.baseUri().resolve(UserConsent.METADATA_PATH).toString(), doc.path("client_id").asText());
    assertEquals(gateway.baseUri().resolve(UserConsent.CALLBACK_PATH).toString(), doc.path("redirect_uris").path(0).asText());
    assertEquals("none", doc.path("token_endpoint_auth_method").asText());
  }

  @Test
  @Order(2)
  void theFirstUsersConsentConnectsTheUpstreamAndTheirCallsCarryTheirOwnToken() throws Exception {
    assertFalse(gateway.registry().status().get(0).connected(), "nobody has consented: nothing to list with");
    assertTrue(gateway.registry().status().get(0).lastError().orElse("").contains("no user has consented yet"),
        gateway.registry().status().get(0).toString());
    String page = follow(consentUrl("alice"), "alice");
    assertTrue(page.contains("Connected prot for alice@"), page);
    await("prot connected with alice's consent", Duration.ofSeconds(30), () -> gateway.registry().catalog().tool("prot__whoami").isPresent());
    assertEquals("alice", whoSeen("alice"));
    HttpResponse<String> mcp = McpHttp.modern(gateway.baseUri().resolve("/mcp"), 3, "tools/call", "prot__whoami",
        "\"name\":\"prot__whoami\",\"arguments\":{}", "Authorization", "Bearer " + token("alice"));
    assertEquals("alice", Json.MAPPER.readTree(mcp.body()).path("result").path("structuredContent").path("sub").asText(), mcp.body());
    HttpResponse<String> again = consent("alice", "POST");
    assertTrue(again.body().contains("\"status\":\"connected\""), again.body());
  }

  @Test
  @Order(3)
  void aUserWithoutConsentGetsTheConsentUrlAndTheToolStaysListed() throws Exception {
    HttpResponse<String> r = execute("bob");
    assertEquals(403, r.statusCode(), r.body());
    JsonNode err = Json.MAPPER.readTree(r.body()).path("error");
    assertEquals("consent_required", err.path("code").asText(), r.body());
    assertTrue(err.path("message").asText().contains(gateway.baseUri().resolve(UserConsent.CONSENT_PATH) + "?ticket="), r.body());
    // MCP: the tool is listed, and the call is a URL elicitation naming the consent URL.
    HttpResponse<String> list = McpHttp.modern(gateway.baseUri().resolve("/mcp"), 1, "tools/list", null, "", "Authorization", "Bearer " + token("bob"));
    assertTrue(list.body().contains("prot__whoami"), list.body());
    HttpResponse<String> call = McpHttp.modern(gateway.baseUri().resolve("/mcp"), 2, "tools/call", "prot__whoami",
        "\"name\":\"prot__whoami\",\"arguments\":{}", "Authorization", "Bearer " + token("bob"));
    JsonNode rpc = Json.MAPPER.readTree(call.body()).path("error");
    assertEquals(-32042, rpc.path("code").asInt(), call.body());
    assertEquals("url", rpc.path("data").path("elicitations").path(0).path("mode").asText(), call.body());
    assertTrue(rpc.path("data").path("elicitations").path(0).path("url").asText().contains("/oauth/consent?ticket="), call.body());
    // A consent link that was tampered with leads nowhere.
    HttpResponse<String> forged = BROWSER.send(HttpRequest.newBuilder(gateway.baseUri().resolve(UserConsent.CONSENT_PATH + "?ticket=v1.AAAA")).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(400, forged.statusCode());
    assertTrue(forged.body().contains("invalid or has expired"), forged.body());
  }

  @Test
  @Order(4)
  void twoUsersConcurrentCallsEachCarryTheirOwnUpstreamTokenNeverTheirGatewayToken() throws Exception {
    follow(consentUrl("bob"), "bob");
    List<CompletableFuture<String[]>> calls = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      String who = i % 2 == 0 ? "alice" : "bob";
      calls.add(CompletableFuture.supplyAsync(() -> {
        try {
          return new String[] {who, whoSeen(who)};
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      }));
    }
    for (CompletableFuture<String[]> c : calls) {
      String[] r = c.get();
      assertEquals(r[0], r[1], "a call of " + r[0] + " reached the upstream as " + r[1]);
    }
    JsonNode seen = Json.MAPPER.readTree(TestUpstreams.get(upstream.url().resolve("/seen")).body());
    List<String> bearers = new ArrayList<>();
    seen.path("bearers").forEach(b -> bearers.add(b.asText()));
    assertFalse(bearers.contains(sha256(token("alice"))), "alice's gateway token reached the upstream");
    assertFalse(bearers.contains(sha256(token("bob"))), "bob's gateway token reached the upstream");
  }

  @Test
  @Order(5)
  void theStoreHoldsTheTokensSealedAndTheAdminSeesWhoConsented() throws Exception {
    List<String[]> rows = new ArrayList<>();
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("audit.db"));
        ResultSet r = c.createStatement().executeQuery("SELECT principal, sealed FROM user_tokens")) {
      while (r.next()) {
        rows.add(new String[] {r.getString(1), r.getString(2)});
      }
    }
    assertEquals(2, rows.size());
    String file = new String(Files.readAllBytes(dir.resolve("audit.db")), StandardCharsets.ISO_8859_1)
        + (Files.exists(dir.resolve("audit.db-wal")) ? new String(Files.readAllBytes(dir.resolve("audit.db-wal")), StandardCharsets.ISO_8859_1) : "");
    TokenSeal seal = TokenSeal.load(Map.of(), dir);
    for (String[] row : rows) {
      assertTrue(row[1].startsWith("v1."), row[1].substring(0, 8));
      JsonNode t = Json.MAPPER.readTree(seal.open(row[1], ("user-token\0prot\0" + row[0]).getBytes(StandardCharsets.UTF_8)));
      String access = t.path("access_token").asText();
      assertTrue(access.startsWith("eyJ"), "a JWT was kept for " + row[0]);
      assertFalse(file.contains(access), "the access token of " + row[0] + " is in the database in clear");
      assertFalse(file.contains(t.path("refresh_token").asText()), "the refresh token of " + row[0] + " is in the database in clear");
    }
    HttpResponse<String> admin = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/admin/upstreams/prot/consents"))
        .header("Authorization", "Bearer " + ADMIN).GET().build());
    assertEquals(200, admin.statusCode(), admin.body());
    assertTrue(admin.body().contains("alice@") && admin.body().contains("bob@") && !admin.body().contains("token"), admin.body());
  }

  /** The sealed row of {@code subject}, opened with the gateway's key file, changed by {@code edit}, sealed again. */
  static void editStoredTokens(String subject, java.util.function.Consumer<ObjectNode> edit) throws Exception {
    TokenSeal seal = TokenSeal.load(Map.of(), dir);
    UserTokenStore store = gateway.auditRecorder().userTokens();
    String principal = subject + "@" + callerIssuer;
    UserTokenStore.Row row = store.get("prot", principal).orElseThrow();
    byte[] aad = ("user-token\0prot\0" + principal).getBytes(StandardCharsets.UTF_8);
    ObjectNode t = (ObjectNode) Json.MAPPER.readTree(seal.open(row.sealed(), aad));
    edit.accept(t);
    store.put(new UserTokenStore.Row("prot", principal, seal.seal(Json.MAPPER.writeValueAsBytes(t), aad), Instant.now()));
  }

  @Test
  @Order(6)
  void aTokenAboutToExpireIsRefreshedAndARefusedRefreshTurnsIntoTheConsentErrorAgain() throws Exception {
    String[] before = new String[1];
    editStoredTokens("alice", t -> {
      before[0] = t.path("access_token").asText();
      assertFalse(t.path("refresh_token").asText("").isEmpty(), "the authorization server gave a refresh token");
      t.put("expires_at", Instant.now().plusSeconds(10).getEpochSecond()); // within the refresh margin
    });
    idp.enqueueCallback(new DefaultOAuth2TokenCallback("upstream-as", "alice", "JWT", List.of("mcp-upstream"), Map.of("scope", "mcp:tools"), 3600));
    assertEquals("alice", whoSeen("alice"));
    String[] after = new String[1];
    editStoredTokens("alice", t -> after[0] = t.path("access_token").asText());
    assertNotEquals(before[0], after[0], "refreshed before it expired");

    editStoredTokens("alice", t -> {
      t.put("refresh_token", "revoked-by-the-authorization-server");
      t.put("expires_at", Instant.now().minusSeconds(5).getEpochSecond());
    });
    HttpResponse<String> r = execute("alice");
    assertEquals(403, r.statusCode(), r.body());
    assertTrue(r.body().contains("consent_required") && r.body().contains("could not be renewed"), r.body());
    assertTrue(gateway.registry().catalog().tool("prot__whoami").isPresent(), "the tool is not dropped");
  }

  @Test
  @Order(7)
  void aUserRevokesTheirConsentAndAnAdminRevokesAnothers() throws Exception {
    HttpResponse<String> r = consent("bob", "DELETE");
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.body().contains("\"revoked\":true"), r.body());
    assertEquals(403, execute("bob").statusCode());
    follow(consentUrl("carol"), "carol");
    assertEquals("carol", whoSeen("carol"));
    HttpResponse<String> admin = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/admin/upstreams/prot/consents?principal="
        + java.net.URLEncoder.encode("carol@" + callerIssuer, StandardCharsets.UTF_8))).header("Authorization", "Bearer " + ADMIN).DELETE().build());
    assertEquals(200, admin.statusCode(), admin.body());
    assertTrue(admin.body().contains("\"revoked\":true"), admin.body());
    assertEquals(403, execute("carol").statusCode());
    HttpResponse<String> steps = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/v1/audit/chains/upstream-auth"))
        .header("Authorization", "Bearer " + ADMIN).GET().build());
    String trail = steps.body();
    assertTrue(trail.contains("consented") && trail.contains("revoked") && trail.contains("by admin root"), trail);
    assertFalse(trail.contains("eyJ"), "no token in the audit trail");
  }

  @Test
  @Order(8)
  void anUpstreamAskingForMoreScopeGetsTheUserAConsentForItNotAFailure() throws Exception {
    follow(consentUrl("dana"), "dana");
    HttpResponse<String> call = McpHttp.modern(gateway.baseUri().resolve("/mcp"), 4, "tools/call", "prot__admin_whoami",
        "\"name\":\"prot__admin_whoami\",\"arguments\":{}", "Authorization", "Bearer " + token("dana"));
    JsonNode rpc = Json.MAPPER.readTree(call.body()).path("error");
    assertEquals(-32042, rpc.path("code").asInt(), call.body());
    assertTrue(rpc.path("message").asText().contains("asks for the scope 'admin:all'"), call.body());
    follow(rpc.path("data").path("consent_url").asText(), "dana", "mcp:tools admin:all");
    assertTrue(lastAuthorize.contains("scope=openid mcp:tools admin:all"), "the consent asks for the scope too: " + lastAuthorize);
    HttpResponse<String> again = McpHttp.modern(gateway.baseUri().resolve("/mcp"), 5, "tools/call", "prot__admin_whoami",
        "\"name\":\"prot__admin_whoami\",\"arguments\":{}", "Authorization", "Bearer " + token("dana"));
    assertTrue(again.body().contains("admin:all") && again.body().contains("dana"), again.body());
  }
}
