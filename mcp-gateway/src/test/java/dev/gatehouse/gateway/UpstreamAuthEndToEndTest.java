package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.registry.Json;
import java.net.InetAddress;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Upstream auth toward an upstream that is an OAuth protected resource (a TypeScript SDK server demanding
 * a bearer JWT of its authorization server, for its audience and scope), with mock-oauth2-server as the
 * authorization server. {@code client_credentials}: the gateway gets its own token (issuer metadata
 * discovered), sends it on every upstream request, replaces it before it expires. {@code token_exchange}:
 * each caller's call goes with a token exchanged for that caller's own (RFC 8693), so the upstream sees
 * the user; never another caller's, never the caller's own token, and an API-key caller is refused.
 */
@Timeout(120)
class UpstreamAuthEndToEndTest {
  @TempDir
  static Path dir;
  static MockOAuth2Server idp;
  static NodeTooling.Listening upstream;
  /** Another instance, for the upstreams whose tokens go wrong (so that the first one's counts stay clean). */
  static NodeTooling.Listening other;
  /** One that demands a scope the gateway's tokens do not have. */
  static NodeTooling.Listening strict;
  static Gateway gateway;
  static final String API_KEY = dev.gatehouse.identity.ApiKeys.generate();
  static final String AUDITOR = dev.gatehouse.identity.ApiKeys.generate();
  static String callerIssuer;
  static String upstreamIssuer;

  /** Tokens of the upstream's authorization server: for the upstream, with its scope, living 3 s (so refreshes show). */
  static void enqueueUpstreamTokens(int n) {
    for (int i = 0; i < n; i++) {
      idp.enqueueCallback(new DefaultOAuth2TokenCallback("upstream-as", "ignored", "JWT", List.of("mcp-upstream"),
          Map.of("scope", "mcp:tools"), 3));
    }
  }

  static java.security.KeyPair clientKey;

  @BeforeAll
  static void start() throws Exception {
    NodeTooling.require();
    java.security.KeyPairGenerator gen = java.security.KeyPairGenerator.getInstance("RSA");
    gen.initialize(2048);
    clientKey = gen.generateKeyPair();
    Files.writeString(dir.resolve("client-key.pem"), "-----BEGIN PRIVATE KEY-----\n"
        + java.util.Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(clientKey.getPrivate().getEncoded())
        + "\n-----END PRIVATE KEY-----\n");
    idp = new MockOAuth2Server();
    idp.start(InetAddress.getLoopbackAddress(), 0);
    callerIssuer = idp.issuerUrl("acme").toString();
    upstreamIssuer = idp.issuerUrl("upstream-as").toString();
    enqueueUpstreamTokens(200);
    upstream = NodeTooling.listening("oauth-upstream.mjs", upstreamIssuer, "mcp-upstream", "mcp:tools");
    other = NodeTooling.listening("oauth-upstream.mjs", upstreamIssuer, "mcp-upstream", "mcp:tools");
    strict = NodeTooling.listening("oauth-upstream.mjs", upstreamIssuer, "mcp-upstream", "admin:all");
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server: { port: 0 }\n"
        + "identity:\n  issuers: [{ issuer: \"" + callerIssuer + "\", audience: gatehouse, allow_http: true }]\n"
        + "  api_keys:\n    - { id: bot, hash: \"" + dev.gatehouse.identity.ApiKeys.hash(API_KEY) + "\", subject: bot }\n"
        + "    - { id: auditor, hash: \"" + dev.gatehouse.identity.ApiKeys.hash(AUDITOR) + "\", subject: carol, roles: [gatehouse-auditor] }\n"
        + "audit: { store: \"sqlite:" + dir.resolve("audit.db") + "\" }\n"
        + "upstreams:\n"
        + "  secure:\n    transport: streamable-http\n    url: \"" + upstream.url() + "\"\n"
        + "    auth: { mode: client_credentials, issuer: \"" + upstreamIssuer + "\", client_id: gatehouse, client_secret: s3cret-value,"
        + " scopes: [\"mcp:tools\"], audience: mcp-upstream, allow_http: true }\n"
        + "  asuser:\n    transport: streamable-http\n    url: \"" + upstream.url() + "\"\n"
        + "    auth: { mode: token_exchange, issuer: \"" + upstreamIssuer + "\", client_id: gatehouse, client_secret: s3cret-value,"
        + " scopes: [\"mcp:tools\"], audience: mcp-upstream, allow_http: true }\n"
        + "  keyed:\n    transport: streamable-http\n    url: \"" + upstream.url() + "\"\n"
        + "    auth: { mode: client_credentials, issuer: \"" + upstreamIssuer + "\", client_id: gatehouse-keyed,"
        + " client_auth: private_key_jwt, private_key_file: \"" + dir.resolve("client-key.pem") + "\", key_id: k1,"
        + " audience: mcp-upstream, allow_http: true }\n"
        + "  delegated:\n    transport: streamable-http\n    url: \"" + upstream.url() + "\"\n"
        + "    auth: { mode: token_exchange, issuer: \"" + upstreamIssuer + "\", client_id: gatehouse, client_secret: s3cret-value,"
        + " audience: mcp-upstream, actor_token: true, allow_http: true }\n"
        // Tokens of another issuer: the upstream refuses them.
        + "  foreign:\n    transport: streamable-http\n    url: \"" + other.url() + "\"\n"
        + "    auth: { mode: client_credentials, token_url: \"" + idp.tokenEndpointUrl("elsewhere") + "\", client_id: gatehouse,"
        + " client_secret: s3cret-value, allow_http: true }\n"
        // Tokens without the scope it demands.
        + "  strict:\n    transport: streamable-http\n    url: \"" + strict.url() + "\"\n"
        + "    auth: { mode: client_credentials, issuer: \"" + upstreamIssuer + "\", client_id: gatehouse, client_secret: s3cret-value,"
        + " audience: mcp-upstream, allow_http: true }\n"
        // A token endpoint nobody listens on.
        + "  unreachable:\n    transport: streamable-http\n    url: \"" + other.url() + "\"\n"
        + "    auth: { mode: client_credentials, token_url: \"http://127.0.0.1:1/token\", client_id: gatehouse,"
        + " client_secret: s3cret-value, allow_http: true }\n");
    gateway = Gateway.start(new ConfigLoader().load(file), Optional.of(file));
    await("secure connected", Duration.ofSeconds(30), () -> gateway.registry().catalog().tool("secure__whoami").isPresent());
  }

  @AfterAll
  static void stop() throws Exception {
    TestUpstreams.closeAll(gateway, upstream, other, strict);
    if (idp != null) {
      idp.shutdown();
    }
  }

  static String callerToken(String subject) {
    return idp.issueToken("acme", "agent-app", new DefaultOAuth2TokenCallback("acme", subject, "at+jwt", List.of("gatehouse"),
        Map.of(), 3600)).serialize();
  }

  static JsonNode whoami(String token) throws Exception {
    return whoami("secure", token);
  }

  static HttpResponse<String> execute(String server, String credential) {
    return TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve(ExecuteHandler.PATH))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + credential)
        .POST(HttpRequest.BodyPublishers.ofString("{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"" + server
            + "__whoami\",\"arguments\":\"{}\"}}"))
        .build());
  }

  static JsonNode whoami(String server, String token) throws Exception {
    HttpResponse<String> r = execute(server, token);
    assertEquals(200, r.statusCode(), r.body());
    return Json.MAPPER.readTree(Json.MAPPER.readTree(r.body()).path("content").asText());
  }

  static JsonNode seen() throws Exception {
    return Json.MAPPER.readTree(TestUpstreams.get(upstream.url().resolve("/seen")).body());
  }

  static String sha256(String s) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void theUpstreamGetsTheGatewaysOwnTokenForItsAudienceAndScopeNeverTheCallers() throws Exception {
    String caller = callerToken("alice");
    JsonNode claims = whoami(caller);
    assertEquals("gatehouse", claims.path("sub").asText(), "the client credentials grant's subject is the gateway's client: " + claims);
    assertTrue(claims.path("aud").toString().contains("mcp-upstream"), claims.toString());
    assertEquals("mcp:tools", claims.path("scope").asText(), claims.toString());
    assertEquals(upstreamIssuer, claims.path("iss").asText());
    JsonNode seen = seen();
    assertFalse(seen.path("bearers").toString().contains(sha256(caller)), "the caller's token reached the upstream: " + seen);
    assertEquals(0, seen.path("refused").asInt(), "every request the upstream saw carried a valid token: " + seen);
  }

  @Test
  void theTokenIsReplacedBeforeItExpiresAndCallsGoOn() throws Exception {
    String caller = callerToken("bob");
    int before = seen().path("bearers").size();
    // Tokens live 3 s and are replaced once 80 % of that is gone: within a few seconds of calls a new one shows.
    await("a new token", Duration.ofSeconds(20), () -> {
      try {
        whoami(caller);
        return seen().path("bearers").size() > before;
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    });
    assertEquals(0, seen().path("refused").asInt(), "no request went out with an expired token: " + seen());
  }

  @Test
  void withTokenExchangeEachCallerIsActedForWithItsOwnExchangedTokenConcurrentlyAndNeverAnothers() throws Exception {
    String alice = callerToken("alice");
    String bob = callerToken("bob");
    assertEquals("alice", whoami("asuser", alice).path("sub").asText());
    List<java.util.concurrent.CompletableFuture<String>> calls = new java.util.ArrayList<>();
    try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
      for (int i = 0; i < 20; i++) {
        String who = i % 2 == 0 ? "alice" : "bob";
        String token = i % 2 == 0 ? alice : bob;
        calls.add(java.util.concurrent.CompletableFuture.supplyAsync(() -> {
          try {
            JsonNode claims = whoami("asuser", token);
            return who + "=" + claims.path("sub").asText() + " " + claims.path("aud") + " " + claims.path("iss").asText();
          } catch (Exception e) {
            throw new AssertionError(e);
          }
        }, pool));
      }
      for (var c : calls) {
        String got = c.join();
        String who = got.substring(0, got.indexOf('='));
        assertTrue(got.startsWith(who + "=" + who + " "), "each call is made as its own caller: " + got);
        assertTrue(got.contains("mcp-upstream") && got.endsWith(upstreamIssuer), got);
      }
    }
    JsonNode seen = seen();
    assertFalse(seen.path("bearers").toString().contains(sha256(alice)), "alice's own token reached the upstream");
    assertFalse(seen.path("bearers").toString().contains(sha256(bob)), "bob's own token reached the upstream");
  }

  @Test
  void aCallerWithoutAnAccessTokenToExchangeIsRefusedPrecisely() throws Exception {
    HttpResponse<String> r = execute("asuser", API_KEY);
    assertEquals(502, r.statusCode(), r.body());
    assertTrue(r.body().contains("acts as the user") && r.body().contains("no access token to exchange"), r.body());
    HttpResponse<String> own = execute("secure", API_KEY);
    assertEquals(200, own.statusCode(), "an upstream of the gateway's own identity serves any caller: " + own.body());
  }

  @Test
  void everyTokenIssuedExchangedOrFailedIsAnAuditStepWithoutTheToken() throws Exception {
    String alice = callerToken("alice");
    whoami("asuser", alice);
    lastError("unreachable");
    await("token steps", Duration.ofSeconds(20), () -> {
      String steps = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/v1/audit/chains/upstream-auth"))
          .header("Authorization", "Bearer " + AUDITOR).GET().build()).body();
      return steps.contains("\"secure/token\"") && steps.contains("for subject 'alice'") && steps.contains("\"unreachable/token\"");
    });
    JsonNode steps = Json.MAPPER.readTree(TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/v1/audit/chains/upstream-auth"))
        .header("Authorization", "Bearer " + AUDITOR).GET().build()).body()).path("steps");
    boolean issued = false;
    boolean exchanged = false;
    boolean failed = false;
    for (JsonNode step : steps) {
      assertEquals("upstream_auth", step.path("kind").asText(), step.toString());
      String action = step.path("action").asText();
      String outcome = step.path("outcome").asText();
      String reason = step.path("reason").asText();
      issued |= action.equals("secure/token") && outcome.equals("issued") && reason.startsWith("client_credentials: from ");
      exchanged |= action.equals("asuser/token") && outcome.equals("issued") && reason.startsWith("token_exchange: for subject 'alice'");
      failed |= action.equals("unreachable/token") && outcome.equals("failed") && reason.contains("could not be reached");
      assertFalse(reason.contains("eyJ") || reason.contains("s3cret"), "no token, no secret: " + reason);
    }
    assertTrue(issued && exchanged && failed, steps.toString());
    // The store's files (its write-ahead log too): no JWT (they all begin with the same header) was written.
    for (String f : List.of("audit.db", "audit.db-wal")) {
      if (Files.exists(dir.resolve(f))) {
        String bytes = new String(Files.readAllBytes(dir.resolve(f)), StandardCharsets.ISO_8859_1);
        assertFalse(bytes.contains(alice.substring(0, 40)) || bytes.contains(alice.substring(alice.length() - 40)), f + " holds a token");
      }
    }
  }

  /** The form of the first token request the authorization server received that {@code match}es. */
  static Map<String, String> tokenRequest(java.util.function.Predicate<Map<String, String>> match) throws Exception {
    for (int i = 0; i < 500; i++) {
      var r = idp.takeRequest(5, java.util.concurrent.TimeUnit.SECONDS);
      if (r == null) {
        break;
      }
      if (r.getPath() == null || !r.getPath().endsWith("/token")) {
        continue;
      }
      Map<String, String> form = new java.util.HashMap<>();
      for (String pair : r.getBody().readUtf8().split("&")) {
        int eq = pair.indexOf('=');
        form.put(java.net.URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
            java.net.URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
      }
      if (match.test(form)) {
        return form;
      }
    }
    throw new AssertionError("no such token request");
  }

  @Test
  void privateKeyJwtAuthenticatesTheGatewayWithASignedAssertionAndTheActorTokenNamesItInAnExchange() throws Exception {
    assertEquals("gatehouse-keyed", whoami("keyed", callerToken("carol")).path("sub").asText());
    assertEquals("dave", whoami("delegated", callerToken("dave")).path("sub").asText());
    Map<String, String> keyed = tokenRequest(f -> f.containsKey("client_assertion"));
    assertEquals("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", keyed.get("client_assertion_type"));
    assertFalse(keyed.containsKey("client_secret"));
    com.nimbusds.jwt.SignedJWT assertion = com.nimbusds.jwt.SignedJWT.parse(keyed.get("client_assertion"));
    assertTrue(assertion.verify(new com.nimbusds.jose.crypto.RSASSAVerifier((java.security.interfaces.RSAPublicKey) clientKey.getPublic())),
        "signed with the configured key");
    assertEquals("k1", assertion.getHeader().getKeyID());
    assertEquals("gatehouse-keyed", assertion.getJWTClaimsSet().getIssuer());
    assertEquals("gatehouse-keyed", assertion.getJWTClaimsSet().getSubject());
    assertTrue(assertion.getJWTClaimsSet().getAudience().get(0).endsWith("/token"), assertion.getJWTClaimsSet().getAudience().toString());
    Map<String, String> exchange = tokenRequest(f -> f.containsKey("actor_token"));
    assertEquals("urn:ietf:params:oauth:grant-type:token-exchange", exchange.get("grant_type"));
    assertEquals("urn:ietf:params:oauth:token-type:access_token", exchange.get("actor_token_type"));
    assertEquals("gatehouse", com.nimbusds.jwt.SignedJWT.parse(exchange.get("actor_token")).getJWTClaimsSet().getSubject(),
        "the actor is the gateway's own client");
  }

  static String lastError(String upstream) {
    await(upstream + " reported", Duration.ofSeconds(30), () -> gateway.registry().status().stream()
        .anyMatch(s -> s.name().equals(upstream) && s.lastError().isPresent()));
    return gateway.registry().status().stream().filter(s -> s.name().equals(upstream)).findFirst().orElseThrow()
        .lastError().orElseThrow();
  }

  @Test
  void tokenFailuresAreReportedPreciselyWithoutTheSecretAndTheToolsOfOthersStay() throws Exception {
    String unreachable = lastError("unreachable");
    assertTrue(unreachable.contains("token endpoint http://127.0.0.1:1/token could not be reached"), unreachable);
    String foreign = lastError("foreign");
    assertTrue(foreign.contains("refused the gateway's token") && foreign.contains("invalid_token"), foreign);
    String strictError = lastError("strict");
    assertTrue(strictError.contains("HTTP 403 (WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"admin:all\""), strictError);
    for (String error : List.of(unreachable, foreign, strictError)) {
      assertFalse(error.contains("s3cret-value"), error);
    }
    assertTrue(gateway.registry().catalog().tool("secure__whoami").isPresent());
    // The admin view says how each upstream's credentials stand, in words.
    java.util.function.Supplier<String> auth = () -> gateway.registry().status().stream().filter(s -> s.name().equals("unreachable"))
        .findFirst().orElseThrow().auth().orElseThrow();
    await("the failure in the admin view", Duration.ofSeconds(20), () -> auth.get().contains("last failure"));
    String unreachableAuth = auth.get();
    assertTrue(unreachableAuth.startsWith("client_credentials: no token yet, 0 issued; last failure: "), unreachableAuth);
    String secureAuth = gateway.registry().status().stream().filter(s -> s.name().equals("secure")).findFirst()
        .orElseThrow().auth().orElseThrow();
    // Tokens live 3 s here: it may have run out since the last call, and is replaced at the next.
    assertTrue(secureAuth.matches("client_credentials: token (valid \\d+ s more|expired), [1-9]\\d* issued"), secureAuth);
  }
}
