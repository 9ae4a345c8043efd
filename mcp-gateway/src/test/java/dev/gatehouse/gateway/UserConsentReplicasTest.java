package dev.gatehouse.gateway;

import static dev.gatehouse.gateway.TestUpstreams.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.audit.LocalServers;
import dev.gatehouse.registry.Json;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
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
 * {@code user_consent} on two replicas sharing one PostgreSQL audit database and one token key: a consent
 * started through replica A is finished by the authorization server's redirect reaching replica B (its
 * sealed state opens there), and the user's calls then go with their own token through either replica.
 */
@Timeout(180)
class UserConsentReplicasTest {
  @TempDir
  static Path dir;
  static LocalServers.Postgres pg;
  static MockOAuth2Server idp;
  static NodeTooling.Listening upstream;
  static Gateway a;
  static Gateway b;
  static String caller;

  @BeforeAll
  static void start() throws Exception {
    NodeTooling.require();
    pg = LocalServers.Postgres.start();
    idp = new MockOAuth2Server();
    idp.start(InetAddress.getLoopbackAddress(), 0);
    String callerIssuer = idp.issuerUrl("acme").toString();
    upstream = NodeTooling.listening("oauth-upstream.mjs", idp.issuerUrl("upstream-as").toString(), "mcp-upstream", "mcp:tools");
    String config = "server: { port: 0 }\n"
        + "identity:\n  issuers: [{ issuer: \"" + callerIssuer + "\", audience: gatehouse, allow_http: true }]\n"
        + "audit: { store: \"" + pg.database() + "\" }\n"
        + "upstreams:\n  prot:\n    transport: streamable-http\n    url: \"" + upstream.url() + "\"\n"
        + "    auth: { mode: user_consent, scopes: [openid, \"mcp:tools\"], allow_http: true }\n";
    // Both config files in one directory: both replicas read the same gatehouse-token.key there (in
    // production, GATEHOUSE_TOKEN_KEY with the same value on every replica).
    Files.writeString(dir.resolve("a.yaml"), config);
    Files.writeString(dir.resolve("b.yaml"), config);
    a = Gateway.start(new ConfigLoader().load(dir.resolve("a.yaml")), Optional.of(dir.resolve("a.yaml")));
    b = Gateway.start(new ConfigLoader().load(dir.resolve("b.yaml")), Optional.of(dir.resolve("b.yaml")));
    caller = idp.issueToken("acme", "agent-app", new DefaultOAuth2TokenCallback("acme", "erin", "at+jwt", List.of("gatehouse"), Map.of(), 3600))
        .serialize();
  }

  @AfterAll
  static void stop() throws Exception {
    TestUpstreams.closeAll(a, b, upstream, pg);
    if (idp != null) {
      idp.shutdown();
    }
  }

  static String whoSeen(Gateway g) throws Exception {
    HttpResponse<String> r = TestUpstreams.send(HttpRequest.newBuilder(g.baseUri().resolve(ExecuteHandler.PATH))
        .header("Authorization", "Bearer " + caller).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"prot__whoami\",\"arguments\":\"{}\"}}"))
        .build());
    assertEquals(200, r.statusCode(), r.body());
    return Json.MAPPER.readTree(Json.MAPPER.readTree(r.body()).path("content").asText()).path("sub").asText();
  }

  @Test
  void aConsentStartedOnOneReplicaIsFinishedOnTheOtherAndServesCallsThroughBoth() throws Exception {
    HttpResponse<String> start = TestUpstreams.send(HttpRequest.newBuilder(a.baseUri().resolve("/v1/upstreams/prot/consent"))
        .header("Authorization", "Bearer " + caller).POST(HttpRequest.BodyPublishers.noBody()).build());
    JsonNode body = Json.MAPPER.readTree(start.body());
    assertEquals("consent_required", body.path("status").asText(), start.body());
    HttpClient browser = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER).build();
    idp.enqueueCallback(new DefaultOAuth2TokenCallback("upstream-as", "erin", "JWT", List.of("mcp-upstream"), Map.of("scope", "mcp:tools"), 3600));
    HttpResponse<String> toAs = browser.send(HttpRequest.newBuilder(URI.create(body.path("consent_url").asText())).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(302, toAs.statusCode(), toAs.body());
    HttpResponse<String> back = browser.send(HttpRequest.newBuilder(URI.create(toAs.headers().firstValue("Location").orElseThrow())).build(),
        HttpResponse.BodyHandlers.ofString());
    assertEquals(302, back.statusCode(), back.body());
    URI callbackOnA = URI.create(back.headers().firstValue("Location").orElseThrow());
    // A load balancer sends the redirect back to the other replica.
    URI callbackOnB = b.baseUri().resolve(callbackOnA.getRawPath() + "?" + callbackOnA.getRawQuery());
    HttpResponse<String> done = browser.send(HttpRequest.newBuilder(callbackOnB).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, done.statusCode(), done.body());
    assertTrue(done.body().contains("Connected prot for erin@"), done.body());

    await("both replicas list prot's tools", Duration.ofSeconds(60),
        () -> a.registry().catalog().tool("prot__whoami").isPresent() && b.registry().catalog().tool("prot__whoami").isPresent());
    assertEquals("erin", whoSeen(a));
    assertEquals("erin", whoSeen(b));
  }
}
