package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static dev.gatehouse.gateway.TestUpstreams.samplesYaml;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.spec.McpSchema;
import java.net.InetAddress;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
 * Real RS256 access tokens from an OIDC provider in the test JVM (mock-oauth2-server) through
 * {@code /mcp}: two users of different groups see and may call different tools.
 */
@Timeout(120)
class JwtEndToEndTest {
  @TempDir
  static Path dir;
  static MockOAuth2Server idp;
  static Gateway gateway;
  static String issuer;

  @BeforeAll
  static void start() throws Exception {
    idp = new MockOAuth2Server();
    idp.start(InetAddress.getLoopbackAddress(), 0);
    issuer = idp.issuerUrl("acme").toString();
    Path file = dir.resolve("g.yaml");
    Files.writeString(file, "server: { port: 0 }\nupstreams:\n" + samplesYaml("fin", "faulty") + samplesYaml("eng", "faulty")
        + "identity:\n  issuers:\n    - issuer: \"" + issuer + "\"\n      audience: gatehouse\n      allow_http: true\n"
        + "      token_types: [at+jwt, JWT]\n      claims: { groups: [groups], tenant: tid }\n"
        + "access: { required_scopes: [\"mcp:tools\"] }\n"
        + "policies:\n"
        + "  - { id: finance, when: { groups: [finance], tenants: [acme] }, allow: { servers: [fin] } }\n"
        + "  - { id: engineering, when: { groups: [engineering] }, allow: { servers: [eng] } }\n");
    gateway = Gateway.start(new ConfigLoader().load(file), Optional.of(file));
    await("upstreams", Duration.ofSeconds(60), () -> gateway.registry().status().stream().allMatch(s -> s.connected()));
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
    if (idp != null) {
      idp.shutdown();
    }
  }

  static String token(String subject, String group, String audience, String scope) {
    return idp.issueToken("acme", "agent-app", new DefaultOAuth2TokenCallback("acme", subject, "JWT", List.of(audience),
        Map.of("groups", List.of(group), "tid", "acme", "scope", scope), 300)).serialize();
  }

  static McpSyncClient client(String token) {
    return McpClient.sync(HttpClientStreamableHttpTransport.builder(gateway.baseUri().toString()).endpoint("/mcp")
            .httpRequestCustomizer((b, m, u, body, ctx) -> b.header("Authorization", "Bearer " + token)).build())
        .requestTimeout(Duration.ofSeconds(20)).build();
  }

  @Test
  void usersOfDifferentGroupsSeeAndCallDifferentTools() {
    try (McpSyncClient alice = client(token("alice", "finance", "gatehouse", "openid mcp:tools"));
        McpSyncClient bob = client(token("bob", "engineering", "gatehouse", "mcp:tools"))) {
      alice.initialize();
      bob.initialize();
      List<String> a = alice.listTools().tools().stream().map(McpSchema.Tool::name).toList();
      List<String> b = bob.listTools().tools().stream().map(McpSchema.Tool::name).toList();
      assertTrue(a.contains("fin__echo") && a.stream().noneMatch(n -> n.startsWith("eng__")), a.toString());
      assertTrue(b.contains("eng__echo") && b.stream().noneMatch(n -> n.startsWith("fin__")), b.toString());
      McpSchema.CallToolResult r = alice.callTool(new McpSchema.CallToolRequest("fin__echo", Map.of("text", "ledger")));
      assertEquals("ledger", ((McpSchema.TextContent) r.content().get(0)).text());
      Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class,
          () -> bob.callTool(new McpSchema.CallToolRequest("fin__echo", Map.of("text", "x"))));
      assertTrue(e.getMessage().contains("no policy allows tool 'fin__echo' for user 'bob'"), e.getMessage());
    }
  }

  @Test
  void aTokenForAnotherAudienceIs401AndMissingScopeIs403() {
    HttpResponse<String> wrongAud = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/mcp"))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + token("alice", "finance", "other-api", "mcp:tools"))
        .POST(HttpRequest.BodyPublishers.ofString(McpHttp.INIT)).build());
    assertEquals(401, wrongAud.statusCode(), wrongAud.body());
    assertTrue(wrongAud.headers().firstValue("WWW-Authenticate").orElse("").contains("error=\"invalid_token\""));

    HttpResponse<String> noScope = TestUpstreams.send(HttpRequest.newBuilder(gateway.baseUri().resolve("/mcp"))
        .header("Content-Type", "application/json").header("Authorization", "Bearer " + token("alice", "finance", "gatehouse", "openid"))
        .POST(HttpRequest.BodyPublishers.ofString(McpHttp.INIT)).build());
    assertEquals(403, noScope.statusCode(), noScope.body());
    String challenge = noScope.headers().firstValue("WWW-Authenticate").orElse("");
    assertTrue(challenge.contains("error=\"insufficient_scope\"") && challenge.contains("scope=\"mcp:tools\""), challenge);
  }

  static String tokenWithGroups(String subject, int extraGroups) {
    List<String> groups = new java.util.ArrayList<>(List.of("finance"));
    for (int i = 0; i < extraGroups; i++) {
      groups.add("directory-group-" + String.format("%05d", i)); // Entra ID and AD put every group in the token
    }
    return idp.issueToken("acme", "agent-app", new DefaultOAuth2TokenCallback("acme", subject, "JWT", List.of("gatehouse"),
        Map.of("groups", groups, "tid", "acme", "scope", "mcp:tools"), 300)).serialize();
  }

  static HttpResponse<String> initialize(String token) {
    return McpHttp.post(gateway.baseUri().resolve("/mcp"), null, McpHttp.INIT, McpHttp.bearer(token));
  }

  @Test
  void aLargeRealTokenWithinMaxTokenBytesIsAccepted() {
    String token = tokenWithGroups("alice", 400);
    assertTrue(token.length() > 12_000 && token.length() < 16_384, "token of " + token.length() + " bytes");
    HttpResponse<String> r = initialize(token);
    assertEquals(200, r.statusCode(), r.body());
  }

  @Test
  void aTokenAboveMaxTokenBytesIs401NamingTheLimit() {
    String token = tokenWithGroups("alice", 700);
    assertTrue(token.length() > 16_384, "token of " + token.length() + " bytes");
    HttpResponse<String> r = initialize(token);
    assertEquals(401, r.statusCode(), r.body());
    String challenge = r.headers().firstValue("WWW-Authenticate").orElse("");
    assertTrue(challenge.contains("error=\"invalid_token\"") && challenge.contains("larger than 16384"), challenge);
  }

  @Test
  void protectedResourceMetadataNamesTheIssuer() {
    String body = TestUpstreams.get(gateway.baseUri().resolve("/.well-known/oauth-protected-resource/mcp")).body();
    assertTrue(body.contains(issuer) && body.contains("mcp:tools"), body);
  }
}
