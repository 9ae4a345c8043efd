/**
 * Identity: a request's credentials to one {@link dev.gatehouse.identity.Principal}.
 *
 * <p>Two kinds of credentials are accepted: OIDC access tokens (JWT), verified with Nimbus against
 * each configured issuer's keys (discovery, JWKS cache with refresh-ahead, rate-limited refetch and
 * outage tolerance, an algorithm allow-list, {@code typ}, {@code iss}, {@code aud}, {@code exp},
 * {@code nbf}, {@code iat} with clock skew), and gateway API keys ({@code gk_…}) stored as SHA-256
 * hashes. The public surface is {@link dev.gatehouse.identity.Authenticator}, its
 * {@link dev.gatehouse.identity.AuthResult}, the config records
 * ({@link dev.gatehouse.identity.IdentityConfig}, {@link dev.gatehouse.identity.IssuerConfig},
 * {@link dev.gatehouse.identity.ApiKeyConfig}) and {@link dev.gatehouse.identity.ApiKeys} for minting
 * keys; everything else is package-private.
 */
package dev.gatehouse.identity;
