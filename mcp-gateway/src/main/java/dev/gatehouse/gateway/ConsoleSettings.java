package dev.gatehouse.gateway;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;
import java.util.Optional;

/**
 * The {@code console:} section: the operator console at {@code /console} (on by default; it shows
 * nothing without an admin's or auditor's credentials) and its optional sign-in through an OpenID
 * Connect issuer (authorization code with PKCE; the gateway redeems the code, so a confidential
 * client's secret never reaches the browser).
 *
 * <pre>{@code
 * console:
 *   enabled: true
 *   oidc:
 *     issuer: https://idp.example.com/realms/acme   # one of identity.issuers
 *     client_id: gatehouse-console
 *     client_secret: ${env:CONSOLE_CLIENT_SECRET}   # omit for a public client
 *     scopes: [openid, profile]
 *   trace_url: https://jaeger.example.com/trace/{trace_id}   # a chain's trace, one click away
 * }</pre>
 */
public record ConsoleSettings(boolean enabled, Optional<Oidc> oidc, Optional<String> traceUrl) {

  /** Sign-in through an issuer the gateway already trusts. */
  public record Oidc(String issuer, String clientId, Optional<String> clientSecret, List<String> scopes) {
    public Oidc {
      if (issuer == null || issuer.isBlank()) {
        throw new IllegalArgumentException("console.oidc.issuer: required (one of identity.issuers)");
      }
      if (clientId == null || clientId.isBlank()) {
        throw new IllegalArgumentException("console.oidc.client_id: required (the console's client at the issuer)");
      }
      clientSecret = clientSecret == null ? Optional.empty() : clientSecret.filter(s -> !s.isEmpty());
      scopes = scopes == null || scopes.isEmpty() ? List.of("openid") : List.copyOf(scopes);
      for (String s : scopes) {
        if (s.isBlank() || s.chars().anyMatch(c -> c <= ' ' || c == '"' || c == '\\')) {
          throw new IllegalArgumentException("console.oidc.scopes: '" + s + "' (expected: scope tokens without spaces)");
        }
      }
    }

    @JsonCreator
    static Oidc fromConfig(@JsonProperty("issuer") String issuer, @JsonProperty("client_id") String clientId,
        @JsonProperty("client_secret") String clientSecret, @JsonProperty("scopes") List<String> scopes) {
      return new Oidc(issuer, clientId, Optional.ofNullable(clientSecret), scopes);
    }

    /** Never the client secret. */
    @Override
    public String toString() {
      return "Oidc[issuer=" + issuer + ", clientId=" + clientId + ", clientSecret=" + (clientSecret.isPresent() ? "(set)" : "(none)")
          + ", scopes=" + scopes + "]";
    }
  }

  public ConsoleSettings {
    oidc = oidc == null ? Optional.empty() : oidc;
    traceUrl = traceUrl == null ? Optional.empty() : traceUrl;
    traceUrl.ifPresent(t -> {
      if (!t.matches("https?://[^\\s\"<>]+") || !t.contains("{trace_id}")) {
        throw new IllegalArgumentException("console.trace_url: '" + t + "' (expected: an http or https URL with {trace_id} in it, "
            + "e.g. https://jaeger.example.com/trace/{trace_id})");
      }
    });
  }

  public static ConsoleSettings defaults() {
    return new ConsoleSettings(true, Optional.empty(), Optional.empty());
  }

  @JsonCreator
  static ConsoleSettings fromConfig(@JsonProperty("enabled") Boolean enabled, @JsonProperty("oidc") Oidc oidc,
      @JsonProperty("trace_url") String traceUrl) {
    return new ConsoleSettings(enabled == null || enabled, Optional.ofNullable(oidc), Optional.ofNullable(traceUrl));
  }
}
