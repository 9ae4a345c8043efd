package dev.gatehouse.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The {@code auth:} block of an HTTP upstream: what it requires, and that its secret never shows. */
@Timeout(10)
class UpstreamAuthConfigTest {

  static UpstreamConfig.Auth auth(String mode, String tokenUrl, String issuer, Boolean allowHttp) {
    return new UpstreamConfig.Auth(mode, tokenUrl == null ? null : URI.create(tokenUrl), issuer == null ? null : URI.create(issuer),
        "gatehouse", "s3cret", null, List.of("mcp:tools"), null, null, allowHttp, null, null, null);
  }

  @Test
  void theClientSecretNeverShowsInWhatIsLoggedOrCompared() {
    UpstreamConfig.Auth a = auth("client_credentials", "https://as.example.com/token", null, null);
    UpstreamConfig.StreamableHttp h = new UpstreamConfig.StreamableHttp(URI.create("https://mcp.example.com/mcp")).withAuth(a);
    assertFalse(a.toString().contains("s3cret"), a.toString());
    assertFalse(h.toString().contains("s3cret"), h.toString());
    assertTrue(h.toString().contains("client_credentials"), h.toString());
    assertEquals("client_secret_basic", a.clientAuth());
  }

  @Test
  void theSecretOnlyTravelsOverHttpsUnlessALoopbackServerIsAllowedPlainHttp() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> auth("client_credentials", "http://as.example.com/token", null, true));
    assertTrue(e.getMessage().startsWith("auth.token_url"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> auth("client_credentials", "http://127.0.0.1:8080/token", null, null));
    auth("client_credentials", "http://127.0.0.1:8080/token", null, true);
  }

  @Test
  void unknownModesAndMissingFieldsAreRefusedByName() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> auth("password", null, "https://as.example.com", null))
        .getMessage().contains("expected: client_credentials, token_exchange or user_consent"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> auth("user_consent", "https://as.example.com/token", null, null))
        .getMessage().startsWith("auth.token_url: not with user_consent"));
    UpstreamConfig.Auth consent = new UpstreamConfig.Auth("user_consent", null, null, null, null, null, List.of("repo"), null, null, null,
        null, null, null);
    assertEquals(null, consent.clientId(), "without a client id, the gateway's client ID metadata document names it");
    assertTrue(assertThrows(IllegalArgumentException.class, () -> auth("client_credentials", null, null, null))
        .getMessage().contains("token_url or issuer"));
    IllegalArgumentException both = assertThrows(IllegalArgumentException.class, () -> new UpstreamConfig.StreamableHttp(
        URI.create("https://mcp.example.com/mcp"), Map.of("Authorization", "Bearer x"), true, UpstreamConfig.Timeouts.defaults())
        .withAuth(auth("client_credentials", "https://as.example.com/token", null, null)));
    assertTrue(both.getMessage().contains("headers.Authorization"), both.getMessage());
  }

  @Test
  void issuerMetadataIsLookedForWhereRfc8414AndOpenIdConnectPutIt() {
    assertEquals(List.of(URI.create("https://as.example.com/.well-known/oauth-authorization-server/tenant1"),
            URI.create("https://as.example.com/tenant1/.well-known/openid-configuration"),
            URI.create("https://as.example.com/tenant1/.well-known/oauth-authorization-server")),
        UpstreamTokens.candidates(URI.create("https://as.example.com/tenant1/")));
    assertEquals(List.of(URI.create("https://as.example.com/.well-known/oauth-authorization-server"),
            URI.create("https://as.example.com/.well-known/openid-configuration")),
        UpstreamTokens.candidates(URI.create("https://as.example.com")));
  }
}
