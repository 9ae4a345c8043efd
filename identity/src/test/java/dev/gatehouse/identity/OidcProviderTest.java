package dev.gatehouse.identity;

import static dev.gatehouse.identity.Tokens.accepted;
import static dev.gatehouse.identity.Tokens.bearer;
import static dev.gatehouse.identity.Tokens.refused;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.util.Base64URL;
import dev.gatehouse.identity.AuthResult.Reason;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Against a real OIDC provider in the test JVM (mock-oauth2-server on 127.0.0.1): discovery, JWKS and
 * RS256 tokens exactly as it serves them, for two issuers. Its signing keys ship in its jar: trusted
 * here only because this is a test.
 */
@Timeout(30)
class OidcProviderTest {
  static MockOAuth2Server idp;
  static String issuerA;
  static String issuerB;
  static Authenticator auth;

  @BeforeAll
  static void start() {
    idp = new MockOAuth2Server();
    idp.start(InetAddress.getLoopbackAddress(), 0);
    issuerA = idp.issuerUrl("tenant-a").toString();
    issuerB = idp.issuerUrl("tenant-b").toString();
    // Tenant A: Keycloak-style roles under realm_access, tenant in "tid".
    IssuerConfig a = IssuerConfig.of(issuerA, "gatehouse", true)
        .withClaims(IssuerConfig.Claims.defaults().withTenant("tid").withRoles(List.of("realm_access.roles", "roles")));
    // Tenant B: another API audience, groups under a namespaced claim, and IdPs that send typ JWT.
    IssuerConfig b = IssuerConfig.of(issuerB, "api://gatehouse-b", true)
        .withTokenTypes(List.of("at+jwt", "JWT"))
        .withClaims(IssuerConfig.Claims.defaults().withGroups(List.of("https://gatehouse.dev/groups")));
    auth = DefaultAuthenticator.create(new IdentityConfig(List.of(a, b), List.of(), false), Clock.systemUTC(),
        new FetchSettings(Duration.ofSeconds(2), Duration.ofSeconds(5), 512 * 1024));
  }

  @AfterAll
  static void stop() {
    auth.close();
    idp.shutdown();
  }

  private static String token(String issuerId, String subject, String typ, String audience, Map<String, Object> claims) {
    return idp.issueToken(issuerId, "client-" + issuerId,
        new DefaultOAuth2TokenCallback(issuerId, subject, typ, List.of(audience), claims, 300)).serialize();
  }

  private static AuthResult check(String token) {
    return auth.authenticate(bearer(token), Optional.empty());
  }

  @Test
  void tokenOfTenantAIsAcceptedWithClaimsMapped() {
    String token = token("tenant-a", "alice", "at+jwt", "gatehouse", Map.of(
        "tid", "acme",
        "groups", List.of("engineering", "oncall"),
        "realm_access", Map.of("roles", List.of("admin", "viewer")),
        "scope", "openid tools:read tools:call"));
    Principal p = accepted(check(token));
    assertEquals("alice", p.subject());
    assertEquals(issuerA, p.issuer());
    assertEquals(Optional.of("acme"), p.tenant());
    assertEquals(Set.of("engineering", "oncall"), p.groups());
    assertEquals(Set.of("admin", "viewer"), p.roles());
    assertEquals(Set.of("openid", "tools:read", "tools:call"), p.scopes());
    assertEquals(Principal.Kind.JWT, p.kind());
    assertEquals(Optional.of(List.of("admin", "viewer")), p.claim("realm_access.roles"));
    assertEquals("acme", p.claims().get("tid"));
    assertInstanceOf(Long.class, p.claims().get("exp"));
  }

  @Test
  void tokenOfTenantBIsAcceptedWithScpArrayAndNamespacedGroups() {
    // typ JWT (the provider's default), accepted because tenant B lists it.
    String token = token("tenant-b", "bob", "JWT", "api://gatehouse-b", Map.of(
        "https://gatehouse.dev/groups", List.of("finance"),
        "scp", List.of("tools.read", "models.use")));
    Principal p = accepted(check(token));
    assertEquals("bob", p.subject());
    assertEquals(issuerB, p.issuer());
    assertEquals(Optional.empty(), p.tenant());
    assertEquals(Set.of("finance"), p.groups());
    assertEquals(Set.of("tools.read", "models.use"), p.scopes());
  }

  @Test
  void tokenOfTenantAIsNotAcceptedAsTenantB() {
    // A's token for B's audience is still A's token: A's audience rules apply and refuse it.
    refused(check(token("tenant-a", "alice", "at+jwt", "api://gatehouse-b", Map.of())), Reason.WRONG_AUDIENCE);
    // Rewriting iss to B breaks the signature or names a key B does not have.
    String genuine = token("tenant-a", "alice", "at+jwt", "api://gatehouse-b", Map.of());
    String[] parts = genuine.split("\\.");
    String payload = Base64URL.from(parts[1]).decodeToString().replace(issuerA, issuerB);
    AuthResult result = check(parts[0] + "." + Base64URL.encode(payload) + "." + parts[2]);
    Reason reason = assertInstanceOf(AuthResult.Failed.class, result).failure().reason();
    assertTrue(reason == Reason.UNKNOWN_KEY || reason == Reason.BAD_SIGNATURE, reason::toString);
    // And an authenticator that trusts only B does not know A at all.
    try (Authenticator onlyB = Authenticator.create(new IdentityConfig(
        List.of(IssuerConfig.of(issuerB, "gatehouse", true).withTokenTypes(List.of("at+jwt", "JWT"))), List.of(), false))) {
      refused(onlyB.authenticate(bearer(token("tenant-a", "alice", "at+jwt", "gatehouse", Map.of())), Optional.empty()),
          Reason.UNKNOWN_ISSUER);
    }
  }

  @Test
  void typJwtIsRefusedWhereOnlyAccessTokensAreAccepted() {
    refused(check(token("tenant-a", "alice", "JWT", "gatehouse", Map.of())), Reason.BAD_TYPE);
  }

  @Test
  void tokenOfTenantBWithTenantAAudienceIsRefused() {
    refused(check(token("tenant-b", "bob", "at+jwt", "gatehouse", Map.of())), Reason.WRONG_AUDIENCE);
  }

  @Test
  void principalToStringShowsNoClaimValuesBeyondIdentity() {
    String token = token("tenant-a", "alice", "at+jwt", "gatehouse", Map.of("secret_note", "do-not-log"));
    Principal p = accepted(check(token));
    assertFalse(p.toString().contains("do-not-log"), p::toString);
    assertFalse(p.toString().contains(token.split("\\.")[2]), p::toString);
  }
}
